# HMAC-SHA256 (RFC 2104), HKDF (RFC 5869) and a constant-time compare.
# Pure functions over bytes; the only dependency is the port's sha256.
try:
    from uhashlib import sha256  # the port's own: lib/hashlib.py's shim costs 3 KB of heap
except ImportError:  # CPython
    from hashlib import sha256

_BLOCK = 64
# HMAC pads as one big integer: a single XOR per key instead of a 64-step byte loop
_IPAD = int.from_bytes(b"\x36" * _BLOCK, "big")
_OPAD = int.from_bytes(b"\x5c" * _BLOCK, "big")


def _pads(key):
    if len(key) > _BLOCK:
        key = sha256(key).digest()
    k = int.from_bytes(bytes(key) + bytes(_BLOCK - len(key)), "big")
    return (k ^ _IPAD).to_bytes(_BLOCK, "big"), (k ^ _OPAD).to_bytes(_BLOCK, "big")


def hmac_sha256(key, msg, *more):
    # `more` lets callers MAC a concatenation (NIP-44: nonce || ciphertext) without
    # building it: a 100 KB ciphertext is never copied just to be hashed
    ipad, opad = _pads(key)
    h = sha256(ipad)
    h.update(msg)
    for m in more:
        h.update(m)
    o = sha256(opad)
    o.update(h.digest())
    return o.digest()


def hkdf_extract(salt, ikm):
    # RFC 5869 2.2: PRK = HMAC(salt, IKM); an absent salt is HashLen zero bytes
    return hmac_sha256(salt if salt else bytes(32), ikm)


def hkdf_expand(prk, info, n):
    if n < 0 or n > 255 * 32:
        raise ValueError("invalid hkdf length")
    if len(prk) < 32:
        raise ValueError("invalid hkdf prk")
    out = bytearray()
    t = b""
    i = 1
    while len(out) < n:
        t = hmac_sha256(prk, t, info, bytes((i,)))
        out.extend(t)
        i += 1
    return bytes(out[:n])


def ct_equal(a, b):
    # Time depends only on the lengths (public: a MAC is always 32 bytes), never on
    # where the first difference is, so a forger learns nothing from timing.
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= a[i] ^ b[i]
    return d == 0
