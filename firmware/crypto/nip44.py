# NIP-44 v2 encryption, per the current spec/44.md, including the extended length prefix
# (plaintexts of 65536 bytes and more carry 0x0000 + u32).
# Memory: the padded plaintext, the ciphertext and the base64 text each exist once;
# ChaCha20 works in place on the padded buffer.
import binascii
import os

from crypto import kdf
from crypto.chacha20 import chacha20_xor
from crypto.secp256k1 import ecdh_x

_SALT = b"nip44-v2"
MAX_PLAINTEXT = 0xFFFFFFFF


def conversation_key(sk, pub):
    return kdf.hkdf_extract(_SALT, ecdh_x(sk, pub))


def message_keys(conv_key, nonce):
    if len(conv_key) != 32:
        raise ValueError("invalid conversation key length")
    if len(nonce) != 32:
        raise ValueError("invalid nonce length")
    k = kdf.hkdf_expand(conv_key, nonce, 76)
    return k[0:32], k[32:44], k[44:76]


def padded_len(n):
    if n < 1:
        raise ValueError("invalid plaintext length")
    if n <= 32:
        return 32
    next_power = 1
    while next_power < n:  # MicroPython ints have no bit_length()
        next_power <<= 1
    chunk = 32 if next_power <= 256 else next_power // 8
    return chunk * ((n - 1) // chunk + 1)


def _pad(data):
    n = len(data)
    if n < 1 or n > MAX_PLAINTEXT:
        raise ValueError("invalid plaintext length")
    prefix = n.to_bytes(2, "big") if n < 65536 else b"\x00\x00" + n.to_bytes(4, "big")
    buf = bytearray(len(prefix) + padded_len(n))
    buf[0:len(prefix)] = prefix
    buf[len(prefix):len(prefix) + n] = data
    return buf


def _unpad(padded):
    n = (padded[0] << 8) | padded[1]
    start = 2
    if n == 0:
        if len(padded) < 6:
            raise ValueError("invalid padding")
        n = int.from_bytes(padded[2:6], "big")
        start = 6
        if n < 65536:
            raise ValueError("invalid padding")
    if n == 0 or start + n > len(padded) or len(padded) != start + padded_len(n):
        raise ValueError("invalid padding")
    return bytes(memoryview(padded)[start:start + n])


def encrypt(text, conv_key, nonce=None):
    """text (str or bytes) -> base64 payload string."""
    if nonce is None:
        nonce = os.urandom(32)
    data = text.encode() if isinstance(text, str) else text
    ck, cn, hk = message_keys(conv_key, nonce)
    ct = _pad(data)
    chacha20_xor(ck, cn, ct, 0, ct)
    mac = kdf.hmac_sha256(hk, nonce, ct)
    raw = bytearray(1 + 32 + len(ct) + 32)
    raw[0] = 2
    raw[1:33] = nonce
    raw[33:33 + len(ct)] = ct
    raw[33 + len(ct):] = mac
    del ct
    return binascii.b2a_base64(raw, newline=False).decode()


def _decode(payload):
    if not isinstance(payload, str):
        raise ValueError("invalid payload: not a string")
    plen = len(payload)
    if plen == 0 or payload[0] == "#":
        raise ValueError("invalid payload: unknown version")
    if plen < 132:
        raise ValueError("invalid payload size")
    try:
        data = binascii.a2b_base64(payload)
    except Exception:
        raise ValueError("invalid payload: bad base64")
    if len(data) < 99:
        raise ValueError("invalid payload: data too short")
    if data[0] != 2:
        raise ValueError("invalid payload: unknown version %d" % data[0])
    return data


def decrypt(payload, conv_key):
    """base64 payload -> plaintext str. Every failure is a ValueError starting "invalid"."""
    data = _decode(payload)
    mv = memoryview(data)
    nonce = bytes(mv[1:33])
    ct = mv[33:len(data) - 32]
    ck, cn, hk = message_keys(conv_key, nonce)
    if not kdf.ct_equal(kdf.hmac_sha256(hk, nonce, ct), mv[len(data) - 32:]):
        raise ValueError("invalid MAC")
    plain = _unpad(chacha20_xor(ck, cn, ct))
    try:
        return plain.decode()
    except UnicodeError:
        raise ValueError("invalid plaintext: not UTF-8")
