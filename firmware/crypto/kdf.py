# HMAC-SHA256 and HKDF (RFC 2104, RFC 5869) on the port's hashlib.sha256, and a
# constant-time comparison. NIP-44 derives every message key through these.
import hashlib

_IPAD = bytes(0x36 for _ in range(64))
_OPAD = bytes(0x5C for _ in range(64))


def _xor(key, pad):
    return bytes(k ^ p for k, p in zip(key, pad))


def hmac_sha256(key, msg, msg2=None):
    """HMAC-SHA256(key, msg || msg2): msg2 saves joining two big buffers (NIP-44's nonce || ciphertext)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key + bytes(64 - len(key))
    inner = hashlib.sha256(_xor(key, _IPAD))
    inner.update(msg)
    if msg2 is not None:
        inner.update(msg2)
    outer = hashlib.sha256(_xor(key, _OPAD))
    outer.update(inner.digest())
    return outer.digest()


def hkdf_extract(salt, ikm):
    return hmac_sha256(salt, ikm)


def hkdf_expand(prk, info, length):
    if length > 255 * 32:
        raise ValueError("invalid HKDF length")
    out = b""
    t = b""
    i = 1
    while len(out) < length:
        t = hmac_sha256(prk, t + info + bytes((i,)))
        out += t
        i += 1
    return out[:length]


def ct_equal(a, b):
    """Compare without an early exit, so timing doesn't reveal where a MAC differs."""
    if len(a) != len(b):
        return False
    d = 0
    for x, y in zip(a, b):
        d |= x ^ y
    return d == 0
