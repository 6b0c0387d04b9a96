# secp256k1 for the signer: BIP-340 Schnorr, x-only keys, ECDH x, and the point-level
# functions the embit shim needs. Pure Python ints (MicroPython bignums): NOT constant
# time. Points at the API are affine (x, y) int tuples, None = infinity; inside, Jacobian
# (X, Y, Z) with x = X/Z^2, y = Y/Z^3, so a multiply needs one inversion at the end.
import hashlib
import os

P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)

_rng = os.urandom
_BYTES = (bytes, bytearray, memoryview)


def set_rng(fn):
    """fn(n) -> n random bytes; used for aux when schnorr_sign gets aux=None."""
    global _rng
    _rng = fn


# ---- field and scalar helpers -------------------------------------------------------

def _inv(a):
    return pow(a, P - 2, P)


def _b2i(b):
    return int.from_bytes(b, "big")


def _i2b(i):
    return i.to_bytes(32, "big")


def _sqrt(a):
    """Square root mod P, or None. P % 4 == 3, so a^((P+1)/4) is the candidate."""
    r = pow(a, (P + 1) // 4, P)
    return r if r * r % P == a % P else None


# ---- Jacobian arithmetic -------------------------------------------------------------

def _jdouble(p):
    X, Y, Z = p
    if not Y:
        return None
    YY = Y * Y % P
    S = 4 * X * YY % P
    M = 3 * X * X % P          # a = 0 on secp256k1
    X3 = (M * M - 2 * S) % P
    Y3 = (M * (S - X3) - 8 * YY * YY) % P
    return (X3, Y3, 2 * Y * Z % P)


def _jadd(p, q):
    if p is None:
        return q
    if q is None:
        return p
    X1, Y1, Z1 = p
    X2, Y2, Z2 = q
    Z1Z1 = Z1 * Z1 % P
    Z2Z2 = Z2 * Z2 % P
    U1 = X1 * Z2Z2 % P
    U2 = X2 * Z1Z1 % P
    S1 = Y1 * Z2 * Z2Z2 % P
    S2 = Y2 * Z1 * Z1Z1 % P
    H = (U2 - U1) % P
    R = (S2 - S1) % P
    if not H:
        return _jdouble(p) if not R else None
    HH = H * H % P
    HHH = H * HH % P
    V = U1 * HH % P
    X3 = (R * R - HHH - 2 * V) % P
    Y3 = (R * (V - X3) - S1 * HHH) % P
    return (X3, Y3, Z1 * Z2 * H % P)


def _to_jac(p):
    return None if p is None else (p[0], p[1], 1)


def _to_aff(p):
    if p is None:
        return None
    X, Y, Z = p
    zi = _inv(Z)
    zi2 = zi * zi % P
    return (X * zi2 % P, Y * zi2 * zi % P)


def _jmul(p, k):
    """k * p for a Jacobian p (0 <= k < 2^256), double-and-add from the top bit."""
    r = None
    for i in range(255, -1, -1):
        if r is not None:
            r = _jdouble(r)
        if (k >> i) & 1:
            r = _jadd(r, p)
    return r


# ---- point level (embit shim) ----------------------------------------------------------

def on_curve(p):
    return p is None or (p[1] * p[1] - p[0] * p[0] * p[0] - 7) % P == 0


def lift_x(x):
    """The point with x-coordinate x and even y, or None if x is not on the curve."""
    if not 0 <= x < P:
        return None
    y = _sqrt((x * x * x + 7) % P)
    if y is None:
        return None
    return (x, y if y & 1 == 0 else P - y)


def point_add(p, q):
    return _to_aff(_jadd(_to_jac(p), _to_jac(q)))


def point_mul(p, k):
    k %= N
    if p is None or not k:
        return None
    return _to_aff(_jmul(_to_jac(p), k))


def base_mul(k):
    return point_mul(G, k)


def point_to_bytes(p, compressed=True):
    if p is None:
        raise ValueError("invalid point: infinity")
    x, y = p
    if compressed:
        return bytes((2 + (y & 1),)) + _i2b(x)
    return b"\x04" + _i2b(x) + _i2b(y)


def point_from_bytes(b):
    """SEC1 33-byte compressed or 65-byte uncompressed encoding -> affine point."""
    if not isinstance(b, _BYTES):
        raise ValueError("invalid point encoding")
    if len(b) == 33 and b[0] in (2, 3):
        p = lift_x(_b2i(b[1:]))
        if p is None:
            raise ValueError("invalid point: x not on curve")
        if (p[1] & 1) != (b[0] & 1):
            p = (p[0], P - p[1])
        return p
    if len(b) == 65 and b[0] == 4:
        p = (_b2i(b[1:33]), _b2i(b[33:]))
        if p[0] >= P or p[1] >= P or not on_curve(p):
            raise ValueError("invalid point: not on curve")
        return p
    raise ValueError("invalid point encoding")


# ---- keys --------------------------------------------------------------------------------

def _seckey_int(sk):
    if not isinstance(sk, _BYTES) or len(sk) != 32:
        raise ValueError("invalid secret key")
    d = _b2i(sk)
    if not 0 < d < N:
        raise ValueError("invalid secret key")
    return d


def seckey_valid(sk):
    try:
        _seckey_int(sk)
        return True
    except ValueError:
        return False


def pubkey(sk):
    return _i2b(base_mul(_seckey_int(sk))[0])


def _lift_pub(pub):
    if not isinstance(pub, _BYTES) or len(pub) != 32:
        return None
    return lift_x(_b2i(pub))


def pubkey_valid(x32):
    return _lift_pub(x32) is not None


# ---- BIP-340 -------------------------------------------------------------------------------

def _tagged_prefix(tag):
    t = hashlib.sha256(tag).digest()
    return t + t


_TAG_AUX = _tagged_prefix(b"BIP0340/aux")
_TAG_NONCE = _tagged_prefix(b"BIP0340/nonce")
_TAG_CHAL = _tagged_prefix(b"BIP0340/challenge")


def _thash(prefix, *parts):
    h = hashlib.sha256(prefix)
    for p in parts:
        h.update(p)
    return h.digest()


def schnorr_sign(msg, sk, aux=None):
    d0 = _seckey_int(sk)
    if not isinstance(msg, _BYTES):
        raise ValueError("invalid message: need bytes")
    if aux is None:
        aux = _rng(32)
    if len(aux) != 32:
        raise ValueError("invalid aux: need 32 bytes")
    px, py = base_mul(d0)
    d = d0 if py & 1 == 0 else N - d0
    pb = _i2b(px)
    t = _i2b(d ^ _b2i(_thash(_TAG_AUX, aux)))
    k0 = _b2i(_thash(_TAG_NONCE, t, pb, msg)) % N
    if not k0:
        raise ValueError("invalid nonce")  # probability ~2^-256
    rx, ry = base_mul(k0)
    k = k0 if ry & 1 == 0 else N - k0
    rb = _i2b(rx)
    e = _b2i(_thash(_TAG_CHAL, rb, pb, msg)) % N
    return rb + _i2b((k + e * d) % N)


def schnorr_verify(msg, pub, sig):
    try:
        # MicroPython's sha256 would hash a str too: insist on bytes like CPython does
        if not (isinstance(msg, _BYTES) and isinstance(pub, _BYTES) and isinstance(sig, _BYTES)):
            return False
        if len(sig) != 64 or len(pub) != 32:
            return False
        Pt = _lift_pub(pub)
        if Pt is None:
            return False
        r = _b2i(sig[:32])
        s = _b2i(sig[32:])
        if r >= P or s >= N:
            return False
        e = _b2i(_thash(_TAG_CHAL, sig[:32], pub, msg)) % N
        R = _jadd(_jmul(_to_jac(G), s) if s else None,
                  _jmul(_to_jac(Pt), N - e) if e else None)
        if R is None:
            return False
        X, Y, Z = R
        # x(R) == r and y(R) even, checked in affine
        zi = _inv(Z)
        zi2 = zi * zi % P
        return X * zi2 % P == r and (Y * zi2 * zi % P) & 1 == 0
    except Exception:
        return False


def ecdh_x(sk, pub):
    Pt = _lift_pub(pub)
    if Pt is None:
        raise ValueError("invalid public key")
    d = _seckey_int(sk)
    return _i2b(point_mul(Pt, d)[0])
