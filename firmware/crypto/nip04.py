# NIP-04: AES-256-CBC keyed by the unhashed ECDH x-coordinate, PKCS#7 padding,
# content "base64(ciphertext)?iv=base64(iv)". Deprecated by NIP-44 but still spoken by
# older NIP-46 clients, so the device decrypts and answers in it.
#
# A big text (a memoryview in the request's buffer, signer/rpc.py) is never copied:
# decrypt opens it in place, and seal_stream encrypts it as the response is read out.
import binascii
import os

from crypto import aes, jsonspan
from crypto.secp256k1 import ecdh_x
from crypto.nip44 import _b64_ok  # the same strict base64 check (viper)

_STAGE = 768  # bytes encrypted at a time: whole AES blocks, whole base64 groups


def is_nip04(content):
    """NIP-04 shaped content: base64, "?iv=", a 16-byte base64 IV (24 chars)."""
    if not isinstance(content, str):
        return False
    i = content.find("?iv=")
    return i > 0 and len(content) - i - 4 == 24


def shape(payload):
    """-> where "?iv=" starts in a payload (a str, or a memoryview of its text) that is
    "b64?iv=b64" in strict base64, with 24 characters of IV and whole AES blocks: all
    that can be checked without the key. ValueError otherwise."""
    b = memoryview(payload)
    n = len(b)
    i = n - 28
    # strict base64: a2b_base64 skips junk characters, and with no MAC in NIP-04 nothing
    # later would notice
    if (n != len(payload) or i < 4 or bytes(b[i:i + 4]) != b"?iv=" or i % 4
            or not _b64_ok(b, i) or not _b64_ok(b[i + 4:], 24)):
        raise ValueError("invalid NIP-04 payload")
    k = i // 4 * 3 - (b[i - 1] == 61) - (b[i - 2] == 61)
    if k % 16:
        raise ValueError("invalid NIP-04 payload: bad lengths")
    return i


def encrypt(sk, pub, text, iv=None):
    if iv is None:
        iv = os.urandom(16)
    data = text.encode() if isinstance(text, str) else bytes(text)
    pad = 16 - len(data) % 16
    ct = aes.cbc_encrypt(ecdh_x(sk, pub), iv, data + bytes((pad,)) * pad)
    return (binascii.b2a_base64(ct, newline=False) + b"?iv="
            + binascii.b2a_base64(iv, newline=False)).decode()


def seal_stream(sk, pub, text, iv=None):
    """encrypt() of text (bytes-like) without a buffer of its size: -> emit, a function
    whose call yields the payload's ASCII in ~1 KB pieces, the same every call (CBC
    chains each stage from the last block of the one before)."""
    if iv is None:
        iv = os.urandom(16)
    key = ecdh_x(sk, pub)
    n = len(text)
    pad = 16 - n % 16

    def emit():
        b64 = binascii.b2a_base64
        st = bytearray(_STAGE + 16)
        sv = memoryview(st)
        prev = iv
        i = 0
        while True:
            k = min(n - i, _STAGE)
            st[0:k] = text[i:i + k]
            i += k
            last = k < _STAGE
            if last:  # the rest and its padding (a whole block when the rest is none)
                st[k:k + pad] = bytes((pad,)) * pad
                k += pad
            c = aes.cbc_encrypt(key, prev, sv[0:k])
            prev = c[-16:]
            yield b64(c, newline=False)
            if last:
                break
        yield b"?iv=" + b64(iv, newline=False)

    return emit


def decrypt(sk, pub, payload):
    """-> the plaintext: a str, or for a memoryview payload (writable: a request in the
    link's buffer) a memoryview of its UTF-8 inside it, decoded and decrypted in place."""
    if type(payload) is memoryview:
        return _open(sk, pub, payload)
    if not isinstance(payload, str):
        raise ValueError("invalid NIP-04 payload: not a string")
    shape(payload)  # ASCII (one byte a character) before it is copied as bytes
    return str(_open(sk, pub, memoryview(bytearray(payload.encode()))), "utf-8")


def _open(sk, pub, mv):
    i = shape(mv)
    iv = binascii.a2b_base64(mv[i + 4:])
    o = 0
    for j in range(0, i, 1024):  # 3 bytes out for every 4 read: never overtakes
        part = binascii.a2b_base64(mv[j:min(j + 1024, i)])
        mv[o:o + len(part)] = part
        o += len(part)
    if not o:
        raise ValueError("invalid NIP-04 payload: bad lengths")
    key = ecdh_x(sk, pub)
    prev = iv
    for j in range(0, o, _STAGE):
        c = mv[j:min(j + _STAGE, o)]
        nxt = bytes(c[-16:])  # the next stage's IV, before it is decrypted over
        c[:] = aes.cbc_decrypt(key, prev, c)
        prev = nxt
    pad = mv[o - 1]
    if not 1 <= pad <= 16 or bytes(mv[o - pad:o]) != bytes((pad,)) * pad:
        raise ValueError("invalid NIP-04 padding")
    pt = mv[0:o - pad]
    if not jsonspan.utf8_ok(pt, len(pt)):
        raise ValueError("invalid NIP-04 plaintext: not UTF-8")
    return pt
