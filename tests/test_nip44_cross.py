"""NIP-44 v2 on MicroPython against an independent CPython implementation.

The reference below is written here from `cryptography` primitives (ChaCha20, HKDF-Expand,
HMAC) and coincurve for the unhashed ECDH x-coordinate, following the current spec/44.md
(6-byte prefix for plaintexts of 65536 bytes and more). It is first checked against the
official vectors and the extended-prefix table, then the firmware and it must agree both
ways on hundreds of random keys, nonces and plaintexts; garbage and tampered payloads must
make the firmware raise ValueError("invalid ...") and nothing else.
"""
import base64
import hashlib
import hmac
import json
import os
import random

import coincurve
import pytest
from cryptography.hazmat.primitives import hashes, hmac as chmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

import mpy
from mpy import FirmwareError

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


# ---- the reference ---------------------------------------------------------------------

def ref_hmac(key, *parts):
    h = chmac.HMAC(key, hashes.SHA256())
    for p in parts:
        h.update(p)
    return h.finalize()


def ref_conversation_key(sk, pub32):
    shared = coincurve.PublicKey(b"\x02" + pub32).multiply(sk).format(compressed=True)[1:]
    return ref_hmac(b"nip44-v2", shared)  # HKDF-Extract(salt, IKM) is HMAC(salt, IKM)


def ref_message_keys(ck, nonce):
    k = HKDFExpand(hashes.SHA256(), 76, nonce).derive(ck)
    return k[:32], k[32:44], k[44:]


def ref_chacha(key, nonce, data):
    # cryptography's ChaCha20 nonce is the 32-bit little-endian counter then the 96-bit nonce
    return Cipher(algorithms.ChaCha20(key, bytes(4) + nonce), None).encryptor().update(data)


def ref_padded_len(n):
    if n <= 32:
        return 32
    next_power = 1 << ((n - 1).bit_length())
    chunk = 32 if next_power <= 256 else next_power // 8
    return chunk * ((n - 1) // chunk + 1)


def ref_encrypt(plain, ck, nonce):
    if not 1 <= len(plain) <= 0xFFFFFFFF:
        raise ValueError("invalid plaintext length")
    prefix = len(plain).to_bytes(2, "big") if len(plain) < 65536 else bytes(2) + len(plain).to_bytes(4, "big")
    padded = prefix + plain + bytes(ref_padded_len(len(plain)) - len(plain))
    k, n, mk = ref_message_keys(ck, nonce)
    ct = ref_chacha(k, n, padded)
    return base64.b64encode(b"\x02" + nonce + ct + ref_hmac(mk, nonce, ct)).decode()


def ref_decrypt(payload, ck):
    if not payload or payload[0] == "#" or len(payload) < 132:
        raise ValueError("invalid payload")
    raw = base64.b64decode(payload, validate=True)
    if len(raw) < 99 or raw[0] != 2:
        raise ValueError("invalid payload")
    nonce, ct, mac = raw[1:33], raw[33:-32], raw[-32:]
    k, n, mk = ref_message_keys(ck, nonce)
    if not hmac.compare_digest(ref_hmac(mk, nonce, ct), mac):
        raise ValueError("invalid MAC")
    padded = ref_chacha(k, n, ct)
    ln = int.from_bytes(padded[:2], "big")
    start = 2
    if ln == 0:
        ln = int.from_bytes(padded[2:6], "big")
        start = 6
        if ln < 65536:
            raise ValueError("invalid padding")
    if ln == 0 or len(padded) != start + ref_padded_len(ln) or start + ln > len(padded):
        raise ValueError("invalid padding")
    return padded[start:start + ln].decode("utf-8")


def xonly(sk):
    return coincurve.PrivateKey(sk).public_key.format(compressed=True)[1:]


def rand_sk(rng):
    while True:
        sk = rng.randbytes(32)
        if 0 < int.from_bytes(sk, "big") < N:
            return sk


def rand_text(rng, n):
    # a mix of ASCII, 2-, 3- and 4-byte UTF-8, cut to about n bytes
    pool = "abc xyz 0189 {}\"\\\n\té✓ж🦄\u2028\x00"
    out = "".join(rng.choice(pool) for _ in range(n))
    b = out.encode()[:n]
    return b.decode("utf-8", "ignore") or "a"


def vectors():
    with open(os.path.join(mpy.VECTORS, "nip44.vectors.json")) as f:
        return json.load(f)["v2"]


# ---- the reference is right ---------------------------------------------------------------

def test_reference_matches_official_vectors():
    v = vectors()
    for c in v["valid"]["get_conversation_key"]:
        assert ref_conversation_key(bytes.fromhex(c["sec1"]), bytes.fromhex(c["pub2"])).hex() == c["conversation_key"]
    for c in v["valid"]["encrypt_decrypt"]:
        ck = bytes.fromhex(c["conversation_key"])
        assert ref_conversation_key(bytes.fromhex(c["sec1"]), xonly(bytes.fromhex(c["sec2"]))) == ck
        p = ref_encrypt(c["plaintext"].encode(), ck, bytes.fromhex(c["nonce"]))
        assert p == c["payload"]
        assert ref_decrypt(p, ck) == c["plaintext"]
    for n, want in v["valid"]["calc_padded_len"]:
        assert ref_padded_len(n) == want
    for c in v["valid"]["encrypt_decrypt_long_msg"]:
        text = (c["pattern"] * c["repeat"]).encode()
        p = ref_encrypt(text, bytes.fromhex(c["conversation_key"]), bytes.fromhex(c["nonce"]))
        assert hashlib.sha256(p.encode()).hexdigest() == c["payload_sha256"]


def test_reference_matches_extended_prefix_table():
    with open(os.path.join(mpy.VECTORS, "nip44-extended-prefix.json")) as f:
        x = json.load(f)
    for c in x["vectors"]:
        text = (x["pattern"] * c["plaintext_len"]).encode()
        assert hashlib.sha256(text).hexdigest() == c["plaintext_sha256"]
        p = ref_encrypt(text, bytes.fromhex(x["conversation_key"]), bytes.fromhex(x["nonce"]))
        assert hashlib.sha256(p.encode()).hexdigest() == c["payload_sha256"]


# ---- firmware vs reference -------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_fw():
    with mpy.Firmware(heap="1024K") as f:
        yield f


def test_conversation_keys_agree_on_random_keys(fw):
    rng = random.Random(4401)
    for _ in range(60):
        a, b = rand_sk(rng), rand_sk(rng)
        ck = fw.call("crypto.nip44", "conversation_key", a, xonly(b))
        assert ck == ref_conversation_key(a, xonly(b)) == ref_conversation_key(b, xonly(a))


def test_message_keys_and_padded_len_agree(fw):
    rng = random.Random(4402)
    for _ in range(50):
        ck, nonce = rng.randbytes(32), rng.randbytes(32)
        assert fw.call("crypto.nip44", "message_keys", ck, nonce) == list(ref_message_keys(ck, nonce))
    for n in list(range(1, 600)) + [rng.randrange(1, 1 << 32) for _ in range(300)] + [65535, 65536, 0xFFFFFFFF]:
        assert fw.call("crypto.nip44", "padded_len", n) == ref_padded_len(n), n


def _lengths(rng, count):
    edges = [1, 2, 31, 32, 33, 63, 64, 65, 255, 256, 257, 320, 1000, 1024, 1025, 3000]
    return edges + [rng.choice((rng.randrange(1, 300), rng.randrange(1, 5000))) for _ in range(count - len(edges))]


def test_firmware_encrypts_reference_decrypts(fw):
    rng = random.Random(4403)
    for n in _lengths(rng, 220):
        ck, nonce = rng.randbytes(32), rng.randbytes(32)
        text = rand_text(rng, n)
        p = fw.call("crypto.nip44", "encrypt", text, ck, nonce)
        assert p == ref_encrypt(text.encode(), ck, nonce)
        assert ref_decrypt(p, ck) == text


def test_reference_encrypts_firmware_decrypts(fw):
    rng = random.Random(4404)
    for n in _lengths(rng, 220):
        ck, nonce = rng.randbytes(32), rng.randbytes(32)
        text = rand_text(rng, n)
        assert fw.call("crypto.nip44", "decrypt", ref_encrypt(text.encode(), ck, nonce), ck) == text


def test_full_conversation_with_random_keys_and_firmware_nonces(fw):
    rng = random.Random(4405)
    for _ in range(30):
        a, b = rand_sk(rng), rand_sk(rng)
        text = rand_text(rng, rng.randrange(1, 400))
        p = fw.call("crypto.nip44", "encrypt", text, fw.call("crypto.nip44", "conversation_key", a, xonly(b)))
        assert ref_decrypt(p, ref_conversation_key(b, xonly(a))) == text


def test_extended_prefix_sizes_agree_both_ways(big_fw):
    rng = random.Random(4406)
    for n in (65535, 65536, 65537, 81920, 100000):
        ck, nonce = rng.randbytes(32), rng.randbytes(32)
        text = "q" * n
        p = big_fw.call("crypto.nip44", "encrypt", text, ck, nonce)
        assert p == ref_encrypt(text.encode(), ck, nonce), n
        assert big_fw.call("crypto.nip44", "decrypt", p, ck) == text


# ---- refusals: ValueError("invalid ..."), never another exception -----------------------------

def _must_refuse(fw, payload, ck):
    with pytest.raises(FirmwareError) as e:
        fw.call("crypto.nip44", "decrypt", payload, ck)
    assert e.value.type == "ValueError", (e.value.type, e.value.msg, payload[:80])
    assert e.value.msg.startswith("invalid"), e.value.msg
    return e.value.msg


def test_random_garbage_is_refused(fw):
    rng = random.Random(4407)
    ck = rng.randbytes(32)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    for i in range(250):
        kind = i % 5
        if kind == 0:  # random base64 of random bytes, version 2 or not
            raw = rng.randbytes(rng.randrange(0, 400))
            if raw and rng.random() < 0.7:
                raw = b"\x02" + raw[1:]
            p = base64.b64encode(raw).decode()
        elif kind == 1:  # random characters from the base64 alphabet
            p = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))
        elif kind == 2:  # random printable text
            p = "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(0, 400)))
        elif kind == 3:  # random unicode
            p = "".join(chr(rng.choice((rng.randrange(32, 0xD800), rng.randrange(0xE000, 0x10FFFF))))
                        for _ in range(rng.randrange(0, 200)))
        else:  # a real payload, version 2, decrypted under the wrong key
            p = ref_encrypt(rand_text(rng, rng.randrange(1, 200)).encode(), rng.randbytes(32), rng.randbytes(32))
        _must_refuse(fw, p, ck)


def test_tampered_payloads_are_refused(fw):
    rng = random.Random(4408)
    for _ in range(220):
        ck, nonce = rng.randbytes(32), rng.randbytes(32)
        p = ref_encrypt(rand_text(rng, rng.randrange(1, 300)).encode(), ck, nonce)
        raw = bytearray(base64.b64decode(p))
        how = rng.randrange(6)
        if how == 0:  # flip a bit anywhere
            i = rng.randrange(len(raw))
            raw[i] ^= 1 << rng.randrange(8)
            t = base64.b64encode(raw).decode()
        elif how == 1:  # drop or add bytes at the end (moves the MAC)
            t = base64.b64encode(raw[:-rng.randrange(1, 40)] if rng.random() < 0.5 else raw + rng.randbytes(rng.randrange(1, 40))).decode()
        elif how == 2:  # swap in another payload's MAC
            other = base64.b64decode(ref_encrypt(b"other", ck, nonce))
            t = base64.b64encode(raw[:-32] + other[-32:]).decode()
        elif how == 3:  # change a base64 character (not in the last quad, whose spare bits are ignored)
            i = rng.randrange(len(p) - 4)
            c = rng.choice([ch for ch in "AQgw+/9z" if ch != p[i]])
            t = p[:i] + c + p[i + 1:]
        elif how == 4:  # insert a character base64 decoders often skip
            i = rng.randrange(len(p))
            t = p[:i] + rng.choice(" \n\t!*\u0444") + p[i:]
        else:  # the "#" future-version flag
            t = "#" + p[1:]
        if t == p:
            continue
        _must_refuse(fw, t, ck)


def test_other_exception_types_never_escape(fw):
    for bad in (None, 5, b"Ag" + b"A" * 200, ["x"], "", "#"):
        with pytest.raises(FirmwareError) as e:
            fw.call("crypto.nip44", "decrypt", bad, bytes(32))
        assert e.value.type == "ValueError", (bad, e.value)
    for ck in (b"", bytes(31)):
        with pytest.raises(FirmwareError) as e:
            fw.call("crypto.nip44", "decrypt", ref_encrypt(b"x", bytes(32), bytes(32)), ck)
        assert e.value.type == "ValueError"


# ---- the primitives underneath, against cryptography / hashlib on random lengths ------------

def test_chacha20_matches_cryptography(fw):
    rng = random.Random(4409)
    lengths = [0, 1, 63, 64, 65, 127, 128, 129, 1000] + [rng.randrange(0, 3000) for _ in range(200)]
    for n in lengths:
        key, nonce, data = rng.randbytes(32), rng.randbytes(12), rng.randbytes(n)
        counter = rng.choice((0, 1, rng.randrange(1 << 32)))
        want = Cipher(algorithms.ChaCha20(key, counter.to_bytes(4, "little") + nonce), None).encryptor().update(data)
        if counter + (n + 63) // 64 > 1 << 32:
            continue  # cryptography carries the counter into the nonce; RFC 8439 wraps: not a real case
        assert fw.call("crypto.chacha20", "chacha20_xor", key, nonce, data, counter) == want, (n, counter)


def test_sha512_matches_hashlib(fw):
    rng = random.Random(4410)
    lengths = list(range(0, 260)) + [rng.randrange(0, 2500) for _ in range(60)]
    for n in lengths:
        data = rng.randbytes(n)
        assert fw.call("crypto.sha512", "digest", data) == hashlib.sha512(data).digest(), n


def test_hmac_hkdf_pbkdf2_match_cpython(fw):
    rng = random.Random(4411)
    for _ in range(120):
        key, msg = rng.randbytes(rng.randrange(0, 200)), rng.randbytes(rng.randrange(0, 700))
        assert fw.call("crypto.kdf", "hmac_sha256", key, msg) == hmac.new(key, msg, "sha256").digest()
        assert fw.call("hmac", "digest", key, msg, "sha512") == hmac.new(key, msg, "sha512").digest()
        prk = rng.randbytes(32)
        info, n = rng.randbytes(rng.randrange(0, 80)), rng.randrange(1, 300)
        assert fw.call("crypto.kdf", "hkdf_expand", prk, info, n) == HKDFExpand(hashes.SHA256(), n, info).derive(prk)
    for _ in range(12):
        pw, salt = rng.randbytes(rng.randrange(0, 300)), rng.randbytes(rng.randrange(0, 100))
        it, dk = rng.randrange(1, 300), rng.randrange(1, 200)
        for name in ("sha512", "sha256"):
            assert fw.call("hashlib", "pbkdf2_hmac", name, pw, salt, it, dk) == \
                hashlib.pbkdf2_hmac(name, pw, salt, it, dk), (name, len(pw), it, dk)
