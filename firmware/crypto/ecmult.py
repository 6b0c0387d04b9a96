# secp256k1 point multiplication, tuned for MicroPython bignums (crypto.secp256k1 is the API).
#
# Costs on the unix port that shaped this file: a 256x256-bit multiply ~0.3 us, `% p` of
# the 512-bit product ~0.8 us, an add/sub/shift ~0.1 us, a Python function call ~0.9 us,
# pow(a, p-2, p) ~490 us but an inversion (crypto/modinv.py) ~45 us; every bignum result is
# a fresh heap object (a verify allocates ~400 KB), so the GC is ~10% of the time at 128 KB.
# So: Jacobian coordinates, affine addends (mixed additions), one inversion per multiply,
# doubling inlined in one loop, few field operations, little else live on the heap.
#
# - fixed base G: a signed comb, 4 blocks x 8 teeth x 8 spacing (ecmult_table4, 32 KB of
#   bytes read in place from ROMFS/flash): 7 doublings + 32 additions; 1 x 8 x 32 (8 KB,
#   31 + 32) where the big one would sit on the heap (comb()). 24 doublings ~ 26 ms a sign
#   on the chip.
# - variable base: GLV endomorphism (lambda*(x, y) = (beta*x, y)) splits the scalar into two
#   128-bit halves, each in width-5 wNAF over 8 odd multiples of Q, 2^32*Q, 2^64*Q, 2^96*Q
#   (tables(), cached per public key by crypto.secp256k1): 33 doublings, ~43 additions;
#   with 8 bases (2^16 apart, where the heap has room: secp256k1.HOT_BASES) 17 and ~46.
# - verify (s*G + e*P): the two run in one doubling loop; the comb columns go in its last
#   8 steps (32 with the small comb), so a verify with a known key is 33 doublings + ~75
#   additions (17 + ~78 with 8 bases).
# None of this is constant time (bignum arithmetic never is in MicroPython).
from crypto.modinv import P, inv  # p, and a^-1 mod p by divsteps

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
BETA = 0x7AE96A2B657C07106E64479EAC3434E99CF0497512F58995C1396C28719501EE
LAMBDA = 0x5363AD4CC05C30E0A5261C028812645A122E22EA20816678DF02967C1B23BD72

# GLV basis (Guide to ECC, alg. 3.74): k = k1 + k2*LAMBDA (mod N), |k1|, |k2| < 2^128
_A1 = 0x3086D221A7D46BCDE86C90E49284EB15
_B1 = -0xE4437ED6010E88286F547FA90ABFE4C3
_A2 = 0x114CA50F7A8E2F3F657C1108D9D44CFD8
_B2 = _A1

WNAF_W = 5            # digits odd in [-15, 15]: tables of 8 odd multiples
COMB_TEETH = 8       # both combs (ecmult_table*.py): a block's pattern is a byte
_COMB_OFS = (1 << 256) - 1      # signed-digit comb recoding: k = 2d - (2^256 - 1)
_HALF = (N + 1) // 2
# p = 2^256 - _C: x == (x & _M) + (x >> 256) * _C (mod p), "a fold"
_M = (1 << 256) - 1
_C = 0x1000003D1
_ZS = (0, P, -P, 2 * P, -2 * P)   # what is 0 mod p among two-fold results minus one


def _sqn(x, n, M=_M, C=_C, p=P):
    # n squarings with two folds each (see run): the result is congruent, not canonical
    for _ in range(n):
        x = x * x
        x = (x & M) + (x >> 256) * C
        x = x - (x >> 256) * p
    return x


def sqrt(a, p=P):
    """a^((p+1)/4): the square root of a if there is one. libsecp256k1's addition chain
    (253 squarings, 13 multiplies): 290 us here against 480 us for pow()."""
    x2 = a * a % p * a % p
    x3 = x2 * x2 % p * a % p
    x6 = _sqn(x3, 3) * x3 % p
    x9 = _sqn(x6, 3) * x3 % p
    x11 = _sqn(x9, 2) * x2 % p
    x22 = _sqn(x11, 11) * x11 % p
    x44 = _sqn(x22, 22) * x22 % p
    x88 = _sqn(x44, 44) * x44 % p
    x176 = _sqn(x88, 88) * x88 % p
    x220 = _sqn(x176, 44) * x44 % p
    x223 = _sqn(x220, 3) * x3 % p
    t = _sqn(x223, 23) * x22 % p
    t = _sqn(t, 6) * x2 % p
    return _sqn(t, 2) % p


def jacobi(a, n=P):
    # the Jacobi symbol (a/n), n odd: 1 for a square mod the prime P, -1 if not, 0 for 0
    # (a binary Euclid: no square root; crypto.ecmult_fe puts the native one here)
    a %= n
    t = 1
    while a:
        while not a & 1:
            a >>= 1
            if n & 7 in (3, 5):
                t = -t
        a, n = n, a
        if a & 3 == 3 and n & 3 == 3:
            t = -t
        a %= n
    return t if n == 1 else 0


# ---- Jacobian point arithmetic: (X, Y, Z), x = X/Z^2, y = Y/Z^3; Z == 0 is infinity --------

def jdbl(X, Y, Z, p=P):
    # dbl-2009-l for a = 0, with the 8*Y^4 and 2*D terms folded into one reduction each
    B = Y * Y % p
    E = X * X % p * 3
    D = (X * B << 2) % p
    X3 = (E * E - (D << 1)) % p
    return X3, (E * (D - X3) - (B * B << 3)) % p, (Y * Z << 1) % p


def jdbl_n(X, Y, Z, n, p=P):
    """2^n * (X, Y, Z): jdbl in a loop without a call per doubling (folds as in run, whose
    bounds hold for X, Y, Z in [0, p))."""
    M = _M
    C = _C
    for _ in range(n):
        t = Y * Y
        B = (t & M) + (t >> 256) * C
        t = X * X
        E = ((t & M) + (t >> 256) * C) * 3
        t = X * B << 2
        t = (t & M) + (t >> 256) * C
        D = t - (t >> 256) * p
        t = Y * Z << 1
        t = (t & M) + (t >> 256) * C
        Z = t - (t >> 256) * p
        t = E * E - (D << 1)
        t = (t & M) + (t >> 256) * C
        X = t - (t >> 256) * p
        t = E * (D - X) - (B * B << 3)
        t = (t & M) + (t >> 256) * C
        Y = t - (t >> 256) * p
    return X % p, Y % p, Z % p


def jadd(X1, Y1, Z1, X2, Y2, Z2, p=P):
    """General Jacobian addition, including the equal and opposite cases."""
    if not Z1:
        return X2, Y2, Z2
    if not Z2:
        return X1, Y1, Z1
    Z1Z1 = Z1 * Z1 % p
    Z2Z2 = Z2 * Z2 % p
    U1 = X1 * Z2Z2 % p
    S1 = Y1 * (Z2 * Z2Z2 % p) % p
    H = X2 * Z1Z1 % p - U1
    R = Y2 * (Z1 * Z1Z1 % p) % p - S1
    if not H:
        return jdbl(X1, Y1, Z1) if not R else (0, 0, 0)
    HH = H * H % p
    HHH = H * HH % p
    V = U1 * HH % p
    X3 = (R * R - HHH - (V << 1)) % p
    return X3, (R * (V - X3) - S1 * HHH) % p, Z1 * Z2 % p * H % p


def to_affine(X, Y, Z, p=P):
    if not Z:
        return None
    zi = inv(Z)
    zi2 = zi * zi % p
    return X * zi2 % p, Y * zi2 % p * zi % p


def batch_affine(pts, p=P):
    """Jacobian points (none infinite) -> affine, with one inversion (Montgomery's trick)."""
    n = len(pts)
    acc = [1] * n
    a = 1
    for i in range(n):
        acc[i] = a
        a = a * pts[i][2] % p
    a = inv(a)
    out = [None] * n
    for i in range(n - 1, -1, -1):
        X, Y, Z = pts[i]
        zi = a * acc[i] % p          # 1/Z_i
        a = a * Z % p
        zi2 = zi * zi % p
        out[i] = (X * zi2 % p, Y * zi2 % p * zi % p)
    return out


# A schedule lists, per bit index, the table points to add there, as small ints (no heap):
# code = (src << 11) | (entry << 2) | (endo << 1) | neg, where src indexes srcs = (the
# comb, tables()' blocks...), bytes of packed x || y (64 bytes an entry), entry is the
# point's slot in it, endo means lambda*point = (beta*x, y), neg means -point = (x, p - y).
# Decoding at the addition, not before, keeps a multiply's transient heap to a few KB:
# 75 decoded points waiting in a schedule held ~12 KB.
# Two combs for G, one chosen when this module is imported (comb(), at the end):
# ecmult_table4 (4 blocks x 8 teeth x spacing 8, 32 KB: 7 doublings a k*G) where its
# bytes are read in place (ROMFS or frozen: a board, the simulator), else ecmult_table
# (1 x 8 x 32, 8 KB: 31 doublings): loaded from a filesystem .mpy the big one would put
# 32 KB on the heap. A variable-base multiply (ECDH) reads no comb (_NO_COMB). Each comb
# is one bytes object: in place, one small header on the heap, not one a chunk.
_NO_COMB = (None,)
_comb = None


def run(sched, srcs, p=P, beta=BETA, fb=int.from_bytes, M=_M, C=_C, zs=_ZS):
    """The shared double-and-add loop: from the top index down, double, then add the points
    coded in sched[i] (None or a list of codes). Returns Jacobian (X, Y, Z) reduced mod p;
    Z == 0 is infinity.

    Reduction inside the loop is the fold for p = 2^256 - C: x == (x & M) + (x >> 256)*C,
    and a second fold as t - (t >> 256)*p (the same value, one object fewer: t >> 256 is
    a few digits there). On the chip two folds cost ~110 us against 198 for `% p`, and
    each fold left out saves three bignum objects (~48 us). Values are congruent, not
    canonical; their bounds (docs/speed.md, "Lazy folds"): the loop's X, Y, Z and H are
    two-folded, D = (-2^146, 2^256 + 2^146); a product of two D values folded once is S,
    |S| < 2^293, and one of S x D folded once is S2, |S2| < 2^328. A value is folded once
    only when it is a factor of (or a term in) a product folded twice next, which brings
    anything under 2^590 back into D; so every product stays under 2^590, H is 0 mod p
    only at 0 or +-p, and only the returned coordinates need `% p`."""
    X = Y = Z = 0
    for i in range(len(sched) - 1, -1, -1):
        if Z:  # jdbl, inlined: a call costs as much as a field multiply and a half
            t = Y * Y
            B = (t & M) + (t >> 256) * C                 # S
            t = X * X
            E = ((t & M) + (t >> 256) * C) * 3           # 3 S
            t = X * B << 2
            t = (t & M) + (t >> 256) * C
            D = t - (t >> 256) * p
            t = Y * Z << 1
            t = (t & M) + (t >> 256) * C
            Z = t - (t >> 256) * p
            t = E * E - (D << 1)
            t = (t & M) + (t >> 256) * C
            X = t - (t >> 256) * p
            t = E * (D - X) - (B * B << 3)
            t = (t & M) + (t >> 256) * C
            Y = t - (t >> 256) * p
        adds = sched[i]
        if adds is None:
            continue
        for c in adds:
            t = srcs[c >> 11]
            o = (c & 0x7FC) << 4
            x2 = fb(t[o:o + 32], "big")
            y2 = fb(t[o + 32:o + 64], "big")
            if c & 2:
                t = beta * x2
                x2 = (t & M) + (t >> 256) * C            # S
            if c & 1:
                y2 = p - y2
            if not Z:
                X, Y, Z = x2 % p, y2, 1
                continue
            # mixed addition (Z2 = 1), madd-2004-hmv shape
            t = Z * Z
            ZZ = (t & M) + (t >> 256) * C                # S
            t = x2 * ZZ
            t = (t & M) + (t >> 256) * C
            H = t - (t >> 256) * p - X
            t = ZZ * Z
            t = y2 * ((t & M) + (t >> 256) * C)          # y2 x S2
            t = (t & M) + (t >> 256) * C
            R = t - (t >> 256) * p - Y
            if H in zs:  # H == 0 mod p: same x, doubling or P + (-P); rare
                X, Y, Z = jdbl(X % p, Y % p, Z % p) if not R % p else (0, 0, 0)
                continue
            t = H * H
            HH = (t & M) + (t >> 256) * C                # S
            t = H * HH
            HHH = (t & M) + (t >> 256) * C               # S2
            t = X * HH
            V = (t & M) + (t >> 256) * C                 # S2
            t = R * R - HHH - (V << 1)
            t = (t & M) + (t >> 256) * C
            X = t - (t >> 256) * p
            t = R * (V - X) - Y * HHH
            t = (t & M) + (t >> 256) * C
            Y = t - (t >> 256) * p
            t = Z * H
            t = (t & M) + (t >> 256) * C
            Z = t - (t >> 256) * p
    return X % p, Y % p, Z % p


def _sched_add(sched, i, code):
    adds = sched[i]
    if adds is None:
        sched[i] = [code]
    else:
        adds.append(code)


# ---- fixed base: signed comb ----------------------------------------------------------------

# Gathering the comb's teeth: tooth u of block b for column j is bit j + S*(T*b + u) of d
# (S = spacing, T = teeth). One product collects all blocks: ((d >> j) & teeth) * gather
# puts that bit at S*T*b + S*(T-1) + u, and nothing else lands there and no two partial
# products share a bit (S*du == (S-1)*dv has no other solution while T <= S), so no carries.
# After >> S*(T-1), block b's pattern is byte S*T*b/8 of the little-endian bytes: one
# to_bytes instead of a shift and a mask of a bignum per block.
_HALF_T = 1 << (COMB_TEETH - 1)


def _layout(tbl, bases, n, T=COMB_TEETH):
    # (names the module has already: each new one costs the interned-name pool)
    teeth = gather = 0
    for u in range(bases * T):
        teeth |= 1 << (n * u)
    top = n * (T - 1)
    for u in range(T):
        gather |= 1 << (top - (n - 1) * u)
    return ((tbl,), bases, n, teeth, gather, top, T * n // 8,
            (n * (bases * T - 1) + 9) // 8)


def comb():
    """The comb in use: (srcs, blocks, spacing, teeth mask, gather, shift, bytes between
    blocks, gathered bytes). Where this module lies tells where the tables lie: ROMFS
    (/rom/...) or frozen (no absolute path) is read in place."""
    global _comb
    if _comb is None:
        try:
            f = __file__
        except NameError:
            f = ""
        if f[:1] != "/" or f[:5] == "/rom/":
            from crypto.ecmult_table4 import COMB
            _comb = _layout(COMB, 4, 8)
        else:
            from crypto.ecmult_table import COMB
            _comb = _layout(COMB, 1, 32)
    return _comb


def comb_sched(k, sched, tbls):
    """Add the comb additions for k*G to sched (indices 0..spacing-1). The
    table stores tooth patterns with the top tooth set; any other pattern is the negation
    of its complement's entry. Entry i of the comb is code i << 2.
    tbls: comb()."""
    _, blocks, spacing, teeth, gather, top, bb, vlen = tbls
    d = (k + _COMB_OFS) * _HALF % N   # sum_i (2*d_i - 1) 2^i == k (mod N)
    for j in range(spacing):
        v = (((d >> j) & teeth) * gather >> top).to_bytes(vlen, "little")
        for b in range(blocks):
            m = v[b * bb]
            if m & _HALF_T:
                code = (b * _HALF_T + (m & (_HALF_T - 1))) << 2
            else:
                code = ((b * _HALF_T + (~m & (_HALF_T - 1))) << 2) | 1
            _sched_add(sched, j, code)


def base_mul(k):
    """k*G as Jacobian (k any int; reduced mod N)."""
    cb = comb()
    sched = [None] * cb[2]
    comb_sched(k % N, sched, cb)
    return run(sched, cb[0])


# ---- variable base: GLV + wNAF ------------------------------------------------------------

def glv_split(k):
    """k mod N -> (k1, k2), k == k1 + k2*LAMBDA (mod N), both |.| < 2^128."""
    c1 = (2 * _B2 * k + N) // (2 * N)
    c2 = (-2 * _B1 * k + N) // (2 * N)
    return k - c1 * _A1 - c2 * _A2, -c1 * _B1 - c2 * _B2


def wnaf(k, w=WNAF_W):
    """0 <= k < 2^136 -> list of (bit index, odd digit in (-2^(w-1), 2^(w-1))).

    libsecp256k1's recoding (secp256k1_ecmult_wnaf) on k's bytes: bit by bit only where
    no digit starts, w bits at a stride after one, and no bignum made on the way (a
    bignum shift and mask for every bit were most of a verify's bignum operations once
    the field went native)."""
    out = []
    # (MicroPython's int has no bit_length): two zero bytes above k's top one at least
    b = k.to_bytes(19, "little")    # k < 2^129 here (a GLV half); up to 2^136 works
    n = 8 * len(b.rstrip(b"\0")) + 8
    full = 1 << w
    mask = full - 1
    top = full >> 1
    i = 0
    carry = 0
    while i < n:
        j = i >> 3
        if (b[j] >> (i & 7)) & 1 == carry:
            i += 1
            continue
        d = (((b[j] | b[j + 1] << 8) >> (i & 7)) & mask) + carry
        carry = 0
        if d & top:
            d -= full
            carry = 1
        out.append((i, d))
        i += w
    return out


def _odd_multiples_jac(X, Y, Z, out, n=1 << (WNAF_W - 2)):
    """Append Jacobian [Q, 3Q, ..., (2n-1)Q] for a Jacobian Q to out."""
    d = jdbl(X, Y, Z)
    out.append((X, Y, Z))
    for i in range(n - 1):
        X, Y, Z = jadd(X, Y, Z, d[0], d[1], d[2])
        out.append((X, Y, Z))


def tables(pt, bases=1, have=()):
    """The precomputation for a variable base point pt (affine): odd multiples 1..15 of
    pt, 2^s*pt, 2^2s*pt, ... (bases of them, s = 128/bases), as affine points packed into
    bytes (64 each: x || y), one 512-byte block per base. `have`: blocks already made for
    the first bases (a cached key's 1-base table, upgraded on its second use).

    With b bases a later multiply by pt needs 128/b + 1 doublings instead of 129: the
    doublings move here, into the precomputation, which pays from the second use of a
    cached key (verify, ECDH). Bytes, not ints: 8 points as ints hold ~1.9 KB of heap.
    (pt has prime order, so no multiple is infinite.)"""
    x, y = pt
    X, Y, Z = x, y, 1
    out = list(have)
    for b in range(bases):
        if b:
            X, Y, Z = jdbl_n(X, Y, Z, 128 // bases)
        if b < len(have):
            continue
        # one inversion per base, not one for all: 3 more inversions (~75 us) keep the
        # transient heap to 8 Jacobian points instead of 32 (~10 KB of scattered ints)
        jac = []
        _odd_multiples_jac(X, Y, Z, jac)
        out.append(b"".join(c.to_bytes(32, "big") for pt in batch_affine(jac) for c in pt))
    return tuple(out)


def table_point(tbl):
    """The base point of tables(pt): its first entry."""
    t = tbl[0]
    return int.from_bytes(t[:32], "big"), int.from_bytes(t[32:64], "big")


_SHIFT = {1: 7, 2: 6, 4: 5, 8: 4}   # bases -> log2(128 / bases)


def wnaf_sched(k, tbl, sched, endo=False):
    """Add the additions for k*Q (k signed, |k| < 2^128) from Q's tables (blocks
    1.. of srcs); with endo, for k*lambda*Q. With b bases of spacing s = 128/b, a
    digit at bit i goes to base t = i // s at bit i - t*s (a wNAF carry into bit 128 stays
    on the top base)."""
    neg = k < 0
    sh = _SHIFT[len(tbl)]
    top = len(tbl) - 1
    flags = 2 if endo else 0
    for i, d in wnaf(-k if neg else k):
        t = i >> sh
        if t > top:
            t = top
        code = ((1 + t) << 11) | ((abs(d) >> 1) << 2) | flags | ((d < 0) != neg)
        _sched_add(sched, i - (t << sh), code)


def _sched_len(tbl):
    # wNAF digits of |k| < 2^128 sit at bits 0..128
    return 129 - ((len(tbl) - 1) << _SHIFT[len(tbl)])


def point_mul(tbls, k):
    """k*Q as Jacobian, with tbls = tables(Q)."""
    k1, k2 = glv_split(k % N)
    sched = [None] * _sched_len(tbls)
    wnaf_sched(k1, tbls, sched)
    wnaf_sched(k2, tbls, sched, True)
    return run(sched, _NO_COMB + tbls)


def mul_add(a, b, tbls):
    """a*G + b*Q as Jacobian (Q given by tables(Q)): one shared doubling chain."""
    k1, k2 = glv_split(b % N)
    cb = comb()
    sched = [None] * max(_sched_len(tbls), cb[2])
    wnaf_sched(k1, tbls, sched)
    wnaf_sched(k2, tbls, sched, True)
    comb_sched(a % N, sched, cb)
    return run(sched, cb[0] + tbls)

# chosen now, at boot: made during a request, the comb's few objects would stay in the
# middle of the heap, between that request's temporaries, and split its free block
comb()
