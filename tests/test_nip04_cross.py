"""NIP-04 on MicroPython against `cryptography`'s AES-256-CBC and coincurve's ECDH.

The reference here: key = unhashed ECDH x (coincurve), AES-256-CBC with PKCS#7 padding
(cryptography), content "base64(ct)?iv=base64(iv)". The firmware and it must agree both
ways on hundreds of random messages; our own AES (the fallback for ports without
cryptolib) must equal cryptography's in both directions; broken padding and garbage make
the firmware raise ValueError("invalid ...") and never anything else. NIP-04 has no MAC,
so a tampered payload may still decrypt (to other text): then it must be a str.
"""
import base64
import json
import os
import random

import coincurve
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import mpy
from mpy import FirmwareError

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def shared_x(sk, pub32):
    return coincurve.PublicKey(b"\x02" + pub32).multiply(sk).format(compressed=True)[1:]


def xonly(sk):
    return coincurve.PrivateKey(sk).public_key.format(compressed=True)[1:]


def cbc(key, iv):
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def ref_encrypt(sk, pub, plain, iv):
    p = padding.PKCS7(128).padder()
    data = p.update(plain) + p.finalize()
    e = cbc(shared_x(sk, pub), iv).encryptor()
    ct = e.update(data) + e.finalize()
    return base64.b64encode(ct).decode() + "?iv=" + base64.b64encode(iv).decode()


def ref_decrypt(sk, pub, payload):
    ct_b64, iv_b64 = payload.split("?iv=")
    d = cbc(shared_x(sk, pub), base64.b64decode(iv_b64, validate=True)).decryptor()
    data = d.update(base64.b64decode(ct_b64, validate=True)) + d.finalize()
    u = padding.PKCS7(128).unpadder()
    return (u.update(data) + u.finalize()).decode()


def rand_sk(rng):
    while True:
        sk = rng.randbytes(32)
        if 0 < int.from_bytes(sk, "big") < N:
            return sk


def rand_text(rng, n):
    pool = "abc XYZ 09 {}\"\\\n\té✓ж🦄\x00"
    b = "".join(rng.choice(pool) for _ in range(n)).encode()[:n]
    return b.decode("utf-8", "ignore")


def vectors():
    with open(os.path.join(mpy.VECTORS, "nip04-vectors.json")) as f:
        return json.load(f)


def test_reference_decrypts_the_vectors():
    for c in vectors()["valid"]:
        sk, pub = bytes.fromhex(c["recipient_secret_key"]), bytes.fromhex(c["sender_public_key"])
        assert shared_x(sk, pub).hex() == c["shared_x"]
        assert ref_decrypt(sk, pub, c["ciphertext"]) == c["plaintext"]


def _lengths(rng, count):
    edges = [0, 1, 15, 16, 17, 31, 32, 33, 255, 256, 1000]
    return edges + [rng.randrange(0, 2000) for _ in range(count - len(edges))]


def test_firmware_encrypts_reference_decrypts(fw):
    rng = random.Random(401)
    a, b = rand_sk(rng), rand_sk(rng)
    for i, n in enumerate(_lengths(rng, 210)):
        if i % 20 == 0:
            a, b = rand_sk(rng), rand_sk(rng)
        text = rand_text(rng, n)
        iv = rng.randbytes(16)
        p = fw.call("crypto.nip04", "encrypt", a, xonly(b), text, iv)
        assert p == ref_encrypt(a, xonly(b), text.encode(), iv)
        assert ref_decrypt(b, xonly(a), p) == text
    # and with the firmware's own random IV
    p = fw.call("crypto.nip04", "encrypt", a, xonly(b), "random iv")
    assert ref_decrypt(b, xonly(a), p) == "random iv"
    assert fw.call("crypto.nip04", "is_nip04", p)


def test_reference_encrypts_firmware_decrypts(fw):
    rng = random.Random(402)
    a, b = rand_sk(rng), rand_sk(rng)
    for i, n in enumerate(_lengths(rng, 210)):
        if i % 20 == 0:
            a, b = rand_sk(rng), rand_sk(rng)
        text = rand_text(rng, n)
        p = ref_encrypt(a, xonly(b), text.encode(), rng.randbytes(16))
        assert fw.call("crypto.nip04", "decrypt", b, xonly(a), p) == text


def test_our_aes_equals_cryptography_both_ways(fw):
    rng = random.Random(403)
    for _ in range(220):
        key, iv = rng.randbytes(32), rng.randbytes(16)
        data = rng.randbytes(16 * rng.randrange(0, 20))
        e = cbc(key, iv).encryptor()
        want = e.update(data) + e.finalize()
        assert fw.call("crypto.aes", "soft_cbc_encrypt", key, iv, data) == want
        assert fw.call("crypto.aes", "soft_cbc_decrypt", key, iv, want) == data
        assert fw.call("crypto.aes", "cbc_encrypt", key, iv, data) == want  # cryptolib on unix
        assert fw.call("crypto.aes", "cbc_decrypt", key, iv, want) == data


def _refused(fw, sk, pub, payload):
    with pytest.raises(FirmwareError) as e:
        fw.call("crypto.nip04", "decrypt", sk, pub, payload)
    assert e.value.type == "ValueError", (e.value, payload[:80])
    assert e.value.msg.startswith("invalid"), e.value.msg
    return e.value.msg


def test_broken_pkcs7_padding_is_refused(fw):
    rng = random.Random(404)
    a, b = rand_sk(rng), rand_sk(rng)
    key = shared_x(a, xonly(b))
    bad_tails = [b"\x00", b"\x11", b"\xff", b"\x02\x03", b"\x01\x04\x04\x04", bytes(15) + b"\x10"]
    for _ in range(30):
        for tail in bad_tails:
            body = rng.randbytes(16 * rng.randrange(1, 4))
            data = body[:len(body) - len(tail)] + tail
            iv = rng.randbytes(16)
            e = cbc(key, iv).encryptor()
            ct = e.update(data) + e.finalize()
            p = base64.b64encode(ct).decode() + "?iv=" + base64.b64encode(iv).decode()
            assert "padding" in _refused(fw, b, xonly(a), p)
    # a full block of 16 x 0x10 is the padding of an empty text, and is fine
    e = cbc(key, bytes(16)).encryptor()
    ct = e.update(bytes([16]) * 16) + e.finalize()
    p = base64.b64encode(ct).decode() + "?iv=" + base64.b64encode(bytes(16)).decode()
    assert fw.call("crypto.nip04", "decrypt", b, xonly(a), p) == ""


def test_malformed_payloads_are_refused(fw):
    rng = random.Random(405)
    a, b = rand_sk(rng), rand_sk(rng)
    good = ref_encrypt(a, xonly(b), b"hello there", bytes(range(16)))
    ct, iv = good.split("?iv=")
    cases = [
        "", "?iv=", "no separator", ct, ct + "?iv=", "?iv=" + iv, ct + "?iv=" + iv[:-4],
        ct + "?iv=" + base64.b64encode(bytes(12)).decode(), ct + "?iv=" + iv + "AAAA",
        ct[:-4] + "?iv=" + iv if len(ct) > 24 else "x?iv=" + iv,
        base64.b64encode(b"fifteen bytes!!"[:15]).decode() + "?iv=" + iv,
        ct[:10] + "*" + ct[11:] + "?iv=" + iv,           # junk inside the base64
        ct[:10] + "\n" + ct[10:] + "?iv=" + iv,
        ct + "?iv=" + iv[:5] + "\u0444" + iv[6:],
        "badbase64?iv=encode",
    ]
    for p in cases:
        _refused(fw, b, xonly(a), p)
    for p in (None, 7, b"bytes?iv=AAAA"):
        with pytest.raises(FirmwareError) as e:
            fw.call("crypto.nip04", "decrypt", b, xonly(a), p)
        assert e.value.type == "ValueError"


def test_garbage_and_tampering_never_raise_other_exceptions(fw):
    rng = random.Random(406)
    a, b = rand_sk(rng), rand_sk(rng)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    refused = 0
    for i in range(240):
        if i % 3 == 0:
            p = ("".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120)))
                 + "?iv=" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30))))
        elif i % 3 == 1:
            p = (base64.b64encode(rng.randbytes(16 * rng.randrange(0, 8))).decode() + "?iv="
                 + base64.b64encode(rng.randbytes(16)).decode())
        else:
            text = rand_text(rng, rng.randrange(0, 100)).encode()
            raw = bytearray(base64.b64decode(ref_encrypt(a, xonly(b), text, rng.randbytes(16)).split("?iv=")[0]))
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            p = base64.b64encode(raw).decode() + "?iv=" + base64.b64encode(rng.randbytes(16)).decode()
        try:
            r = fw.call("crypto.nip04", "decrypt", b, xonly(a), p)
            assert isinstance(r, str)  # no MAC in NIP-04: some garbage decrypts to text
        except FirmwareError as e:
            assert e.type == "ValueError" and e.msg.startswith("invalid"), e
            refused += 1
    assert refused > 200


def test_is_nip04(fw):
    v = vectors()["valid"][0]["ciphertext"]
    assert fw.call("crypto.nip04", "is_nip04", v)
    nip44ish = "Ag" + "A" * 130
    for c in (nip44ish, "", "?iv=" + "A" * 24, "abc?iv=short", None, 5):
        assert not fw.call("crypto.nip04", "is_nip04", c), c
