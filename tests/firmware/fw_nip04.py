# NIP-04 on the unix port: the collected vectors both ways, and strict refusals.
import os
import json

from crypto import nip04, aes
from crypto.secp256k1 import ecdh_x


def vec():
    with open(os.getenv("VECTORS") + "/nip04-vectors.json") as f:
        return json.load(f)


def h(s):
    return bytes.fromhex(s)


def test_shared_x_matches_vectors():
    for c in vec()["valid"]:
        assert ecdh_x(h(c["sender_secret_key"]), h(c["recipient_public_key"])) == h(c["shared_x"])


def test_vectors_decrypt_in_both_directions():
    for c in vec()["valid"]:
        assert nip04.decrypt(h(c["recipient_secret_key"]), h(c["sender_public_key"]), c["ciphertext"]) == c["plaintext"]
        assert nip04.decrypt(h(c["sender_secret_key"]), h(c["recipient_public_key"]), c["ciphertext"]) == c["plaintext"]


def test_encrypt_reproduces_vector_with_its_iv():
    import binascii
    for c in vec()["valid"]:
        iv = binascii.a2b_base64(c["ciphertext"].split("?iv=")[1])
        got = nip04.encrypt(h(c["sender_secret_key"]), h(c["recipient_public_key"]), c["plaintext"], iv)
        assert got == c["ciphertext"], c["source"]


def test_invalid_vectors_are_refused():
    for c in vec()["invalid"]:
        try:
            nip04.decrypt(h(c["secret_key"]), h(c["public_key"]), c["ciphertext"])
        except ValueError as e:
            assert str(e).startswith("invalid"), e
            continue
        assert False, c["note"]


def test_is_nip04_tells_the_shapes_apart():
    c = vec()["valid"][0]["ciphertext"]
    assert nip04.is_nip04(c)
    assert not nip04.is_nip04("Ag" + "A" * 130)
    assert not nip04.is_nip04(None)


def test_round_trip_of_unicode():
    a, b = bytes([1]) * 32, bytes([2]) * 32
    from crypto.secp256k1 import pubkey
    p = nip04.encrypt(a, pubkey(b), "héllo ✓ \u202e")
    assert nip04.decrypt(b, pubkey(a), p) == "héllo ✓ \u202e"


def test_our_aes_fallback_matches_cryptolib():
    import cryptolib
    for n in (16, 48, 256):
        k, iv, d = os.urandom(32), os.urandom(16), os.urandom(n)
        ct = aes.soft_cbc_encrypt(k, iv, d)
        assert ct == cryptolib.aes(k, 2, iv).encrypt(d)
        assert aes.soft_cbc_decrypt(k, iv, ct) == d


def test_strict_base64_and_pkcs7():
    a, b = bytes([1]) * 32, bytes([2]) * 32
    from crypto.secp256k1 import pubkey
    p = nip04.encrypt(a, pubkey(b), "strict", bytes(range(16)))
    ct, iv = p.split("?iv=")
    assert nip04.decrypt(b, pubkey(a), p) == "strict"
    for bad in (ct[:5] + "\n" + ct[5:] + "?iv=" + iv, ct + "?iv=" + iv[:3] + "!" + iv[4:],
                ct + "?iv=" + iv + "=", "?iv=" + iv, ct + "?iv=", "", "no separator"):
        try:
            nip04.decrypt(b, pubkey(a), bad)
        except ValueError as e:
            assert str(e).startswith("invalid"), e
            continue
        assert False, bad
    # a well-formed block whose PKCS#7 tail is wrong: 0x00, 0x11, and 0x02 0x03
    import binascii
    key = ecdh_x(a, pubkey(b))
    for tail in (b"\x00", b"\x11", b"\x02\x03"):
        data = b"x" * (16 - len(tail)) + tail
        c = aes.cbc_encrypt(key, bytes(16), data)
        q = binascii.b2a_base64(c, newline=False).decode() + "?iv=" + \
            binascii.b2a_base64(bytes(16), newline=False).decode()
        try:
            nip04.decrypt(b, pubkey(a), q)
        except ValueError as e:
            assert "padding" in str(e)
            continue
        assert False, tail
