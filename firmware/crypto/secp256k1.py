# secp256k1 for the signer: BIP-340 Schnorr, x-only keys, ECDH x, and the point-level
# functions the embit shim needs. Pure Python ints (MicroPython bignums): NOT constant
# time, and no attempt is made to pretend otherwise. Points at the API are affine (x, y)
# int tuples, None = infinity; the multiplication itself (Jacobian, comb for G, GLV + wNAF
# otherwise) lives in crypto.ecmult.
#
# State kept between calls, all wiped by clear_cache(): the last secret key's keypair
# (like libsecp256k1's keypair object), the tables of recently used public keys and the
# ECDH x of one secret key with its recent peers.
try:
    import uhashlib as hashlib  # the port's own: lib/hashlib.py's shim costs 3 KB of heap
except ImportError:  # CPython
    import hashlib
import os

from crypto import ecmult as _em

# the field prime, the group order and the generator: ecmult's objects, not copies (each
# 256-bit literal is a heap int once loaded)
P, N, G = _em.P, _em.N, _em.G

_rng = os.urandom
_BYTES = (bytes, bytearray, memoryview)


def set_rng(fn):
    """fn(n) -> n random bytes; used for aux when schnorr_sign gets aux=None."""
    global _rng
    _rng = fn


# ---- helpers -----------------------------------------------------------------------------

def _b2i(b):
    return int.from_bytes(b, "big")


def _i2b(i):
    return i.to_bytes(32, "big")


def _sqrt(a):
    """Square root mod P, or None. P % 4 == 3, so a^((P+1)/4) is the candidate."""
    r = _em.sqrt(a)
    return r if r * r % P == a % P else None


def _aff(j):
    return _em.to_affine(*j)


# ---- point level (embit shim) ----------------------------------------------------------

def on_curve(p):
    """Affine p satisfies y^2 = x^3 + 7 (None, infinity, counts as on the curve)."""
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
    """p + q for affine points (None = infinity), including p == q and p == -q."""
    if p is None:
        return q
    if q is None:
        return p
    return _aff(_em.jadd(p[0], p[1], 1, q[0], q[1], 1))


def point_mul(p, k):
    """k * p for an affine point p on the curve (k any int, taken mod N)."""
    k %= N
    if p is None or not k:
        return None
    return _aff(_em.point_mul(_em.tables(p, 1), k))  # one use: no split


def base_mul(k):
    """k * G (k any int, taken mod N); None for k == 0 mod N."""
    k %= N
    return _aff(_em.base_mul(k)) if k else None


def base_mul_add(a, q, b):
    """a*G + b*q in one doubling loop (ECDSA verification's shape): cheaper than
    point_add(base_mul(a), point_mul(q, b))."""
    if q is None:
        return base_mul(a)
    return _aff(_em.mul_add(a % N, b % N, _em.tables(q, 1)))


def point_to_bytes(p, compressed=True):
    """SEC1 encoding: 33 bytes 02/03 || x, or 65 bytes 04 || x || y."""
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
    """sk is 32 bytes and 0 < int(sk) < N."""
    try:
        _seckey_int(sk)
        return True
    except ValueError:
        return False


# The device signs with one key over and over: like libsecp256k1's keypair, keep the last
# key's (secret, even-y secret, x-only pubkey) so a signature costs one comb multiply, not two.
_keypair = None


def _kp(sk):
    global _keypair
    kp = _keypair
    if kp is not None and kp[0] == sk:
        return kp
    d = _seckey_int(sk)
    x, y = base_mul(d)
    kp = (bytes(sk), d if y & 1 == 0 else N - d, _i2b(x))
    _keypair = kp
    return kp


def clear_cache():
    """Forget the cached keypair and lifted public keys (e.g. when the key is wiped)."""
    global _keypair
    _keypair = None
    for c in (_hot, _hot_order, _new, _new_order, _ecdh[1], _ecdh[2], _once):
        c.clear()
    _ecdh[0] = None


def pubkey(sk):
    """The 32-byte x-only public key of sk (ValueError "invalid secret key")."""
    return _kp(sk)[2]


# Lifted public keys with their multiplication tables: a signer verifies many events from
# (and does ECDH with) the same few clients, and lift_x alone costs a 0.3 ms square root.
# A key seen once gets the 1-base table (512 B, a 129-doubling verify: ~3.2 ms with the
# lift) in the NEW_KEYS cache; seen again, it moves to the HOT_KEYS cache with the 4-base
# table (2 KB, 33 doublings: ~1.6 ms). Two caches, so that a stream of one-off keys (a
# feed of events from many authors) cannot push the clients' keys out. Both LRU.
# Sizes set from the board's heap at boot (size_caches); these are the least.
HOT_KEYS = 2    # ~2.1 KB of heap each (4 bases), ~4.2 KB (8)
NEW_KEYS = 2    # ~0.6 KB of heap each
ECDH_PEERS = 8  # ~0.1 KB each (_ecdh below)
# A hot key's table: 4 bases (2 KB, a verify's loop 33 doublings) or, where the heap has
# room for ten of them, 8 (4 KB, 17 doublings: on the chip verify 207 -> 190 ms, ECDH
# with a known peer 144 -> 125, docs/speed.md)
HOT_BASES = 4
_hot = {}
_hot_order = []
_new = {}
_new_order = []
_changed = False  # their keys changed since the last settle()
_once = []  # the last 8 keys ecdh_x took with no tables (_fresh_x)


def size_caches(free):
    """Size the key caches from the heap free once the board is up (app boot): what
    is beyond the ~48 KB a big request needs goes to them, up to ten clients' keys hot
    and ten new. So on an RP2040 with ROMFS (~175 KB free) ten alternating clients
    cost what one costs (issue 10, item 5), with 8-base tables; the 128 KB simulator
    (~55 KB free on this 64-bit port, whose objects are twice a board's) keeps 2 + 2,
    with 4. -> HOT_KEYS"""
    global HOT_KEYS, NEW_KEYS, ECDH_PEERS, HOT_BASES
    room = free - 48 * 1024
    HOT_BASES = 8 if room >= 10 * 12288 else 4
    HOT_KEYS = max(2, min(10, room // (1536 * HOT_BASES)))
    NEW_KEYS = max(2, min(10, room // 4096))
    ECDH_PEERS = max(8, min(32, room // 2048))
    return HOT_KEYS


def _lru_put(cache, order, cap, key, val):
    global _changed
    if key in cache:
        order.remove(key)
    elif len(order) >= cap:
        del cache[order.pop(0)]
    cache[key] = val
    order.append(key)
    _changed = True


def settle(high):
    """Copy the cached key tables if high(obj) says part of them sits high in the heap
    (made during a request, above its temporaries): after a gc.collect the copies go to
    the lowest free space and the originals die, so the big free block is whole again.
    The caches' dicts and order lists are made anew too once their keys changed: a dict
    or list that grew got its table then, in the request."""
    global _hot, _new, _keypair, _changed, _hot_order, _new_order, _once
    ch = _changed
    _hot, _hot_order = _settle(_hot, _hot_order, high, ch)
    _new, _new_order = _settle(_new, _new_order, high, ch)
    _ecdh[1], _ecdh[2] = _settle(_ecdh[1], _ecdh[2], high, ch)
    _changed = False
    if ch:  # _once grows with a new peer's ECDH, which is in _ecdh then: a new list
        _once = [k[:] if high(k) else k for k in _once]
    if high(_ecdh[0]):  # the secret key its entries are for, set by the first ECDH
        _ecdh[0] = _ecdh[0][:]
    kp = _keypair  # made by the first signature, in a request
    if kp is not None and (high(kp) or high(kp[0]) or high(kp[1]) or high(kp[2])):
        _keypair = (kp[0][:], _b2i(_i2b(kp[1])), kp[2][:])


def _settle(c, order, high, changed):
    copy = False
    for k in order:
        if high(k) or high(c[k]) or high(c[k][0]):
            copy = True
            break
    if not (copy or changed):
        return c, order
    d = {}
    for i in range(len(order)):
        k = order[i]
        v = c[k]
        if copy:
            k = order[i] = k[:]  # [:] copies bytes (bytes() would not)
            v = tuple([b[:] for b in v])
        d[k] = v
    return d, order[:]


def _pub_tables(pub):
    """32-byte x-only key -> ecmult tables of lift_x(pub), or None if not on the curve."""
    if not isinstance(pub, _BYTES) or len(pub) != 32:
        return None
    pub = bytes(pub)
    t = _hot.get(pub)
    if t is not None:
        if _hot_order[-1] != pub:
            _hot_order.remove(pub)
            _hot_order.append(pub)
        return t
    t = _new.get(pub)
    if t is not None:  # second use: worth the bigger tables now
        try:
            t4 = _em.tables(_em.table_point(t), HOT_BASES, t)
        except MemoryError:
            return t  # the 1-base table works too, only slower
        del _new[pub]
        _new_order.remove(pub)
        if len(_hot_order) >= HOT_KEYS:
            # the hot key it displaces keeps its 1-base table (no lift_x next time)
            k = _hot_order[0]
            _lru_put(_new, _new_order, NEW_KEYS, k, _hot[k][:1])
        _lru_put(_hot, _hot_order, HOT_KEYS, pub, t4)
        return t4
    pt = lift_x(_b2i(pub))
    if pt is None:
        return None
    t = _em.tables(pt)
    _lru_put(_new, _new_order, NEW_KEYS, pub, t)
    return t


def pubkey_valid(x32):
    """x32 is 32 bytes and an x-coordinate on the curve: x < p and x^3 + 7 a square (by
    its Jacobi symbol: no square root, which lift_x would take)."""
    return isinstance(x32, _BYTES) and len(x32) == 32 and _rhs_square(_b2i(x32)) is not None


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
    """BIP-340 signature (64 bytes) of msg (bytes, any length) with sk. aux: 32 bytes of
    auxiliary randomness; None takes them from the RNG (set_rng)."""
    _, d, pb = _kp(sk)
    if not isinstance(msg, _BYTES):
        raise ValueError("invalid message: need bytes")
    if aux is None:
        aux = _rng(32)
    if not isinstance(aux, _BYTES) or len(aux) != 32:
        raise ValueError("invalid aux: need 32 bytes")
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
    """BIP-340 verification. Any bad input (type, length, range, off-curve key) is simply
    False; only MemoryError gets out."""
    try:
        # MicroPython's sha256 would hash a str too: insist on bytes like CPython does
        if not (isinstance(msg, _BYTES) and isinstance(pub, _BYTES) and isinstance(sig, _BYTES)):
            return False
        if len(sig) != 64 or len(pub) != 32:
            return False
        r = _b2i(sig[:32])
        s = _b2i(sig[32:])
        if r >= P or s >= N:
            return False
        tbls = _pub_tables(pub)
        if tbls is None:
            return False
        e = _b2i(_thash(_TAG_CHAL, sig[:32], pub, msg)) % N
        X, Y, Z = _em.mul_add(s, N - e, tbls)   # R = s*G - e*P
        if not Z:
            return False
        # x(R) == r without an inversion first: X == r*Z^2; most forgeries stop here
        zz = Z * Z % P
        if X != r * zz % P:
            return False
        return (Y * _em.inv(zz * Z % P) % P) & 1 == 0
    except MemoryError:
        raise  # not a verdict on the signature
    except Exception:
        return False


# ECDH x of the last secret key with its recent peers: a NIP-46 nip04/nip44 request for
# a peer (signer/methods.py) does an ECDH each time, ~150 ms on the chip with the peer's
# tables hot, ~360 ms without, and a conversation with a peer is many requests. It is
# what envelope._CK keeps for clients, one step earlier: secret-derived, so RAM only,
# bounded (ECDH_PEERS, ~100 B of heap each on a 32-bit board), dropped when another secret
# key asks, wiped by clear_cache(). One list, [secret key, {pub: (x,)}, [pub, ... most
# recent last]], and no new function: every new name costs the interned-name pool.
_ecdh = [None, {}, []]


def _rhs_square(x):
    # g = x^3 + 7 mod p if x < p and g is a square (x on the curve), else None
    if not 0 <= x < P:
        return None
    g = (x * x * x + 7) % P
    return g if _em.jacobi(g) == 1 else None


def _fresh_x(x, d):
    """x(d * lift_x(x)) without lift_x's square root (253 squarings), or None if x is not
    on the curve. With g = x^3 + 7, the point (g*x, g^2) lies on y^2 = x^3 + 7g^3, which
    the map (X, Y) -> (X/g, Y/g^(3/2)) takes onto our curve (same doubling and addition
    formulas: they do not use b; the same endomorphism) when g is a square, and onto its
    twist when it is not. So g must be a square: the Jacobi symbol refuses the rest, or a
    twist point of small order would leak d modulo it. x(d*P) = X/(Z^2 g)."""
    g = _rhs_square(x)
    if g is None:
        return None
    X, Y, Z = _em.point_mul(_em.tables((g * x % P, g * g % P)), d)
    return X * _em.inv(Z * Z % P * g % P) % P


def ecdh_x(sk, pub):
    """x-coordinate (32 bytes) of sk * lift_x(pub), the shared secret NIP-04/NIP-44 use."""
    c = _ecdh
    if isinstance(sk, _BYTES) and isinstance(pub, _BYTES) and len(pub) == 32:
        sk = bytes(sk)
        pub = bytes(pub)
        if sk == c[0]:
            x = c[1].get(pub)
            if x is not None:
                if c[2][-1] != pub:
                    c[2].remove(pub)
                    c[2].append(pub)
                return x[0]
    d = _seckey_int(sk)
    if isinstance(pub, _BYTES) and len(pub) == 32 and pub not in _hot and pub not in _new and pub not in _once:
        # a key not seen before (a gift wrap's ephemeral key): no tables made or kept; one
        # that comes again gets them (below), as verify gives them
        x = _fresh_x(_b2i(pub), d)
        if x is not None:
            _once.append(pub)
            if len(_once) > 8:
                _once.pop(0)
    else:
        tbls = _pub_tables(pub)
        x = None if tbls is None else _aff(_em.point_mul(tbls, d))[0]
    if x is None:
        raise ValueError("invalid public key")
    x = _i2b(x)
    if sk != c[0]:
        c[1].clear()
        c[2].clear()
        c[0] = sk
    _lru_put(c[1], c[2], ECDH_PEERS, pub, (x,))
    return x
