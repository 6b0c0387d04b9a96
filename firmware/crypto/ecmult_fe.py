# crypto.ecmult's double-and-add loop on native field arithmetic: a board whose MicroPython
# has the Thumb inline assembler (the RP2040) calls install(crypto.fe_thumb.run) at boot,
# and ecmult.run hands every multiplication here. Elsewhere (the unix port, the ESP32)
# nothing imports this and ecmult keeps its bignum loop (install replaces ecmult.run).
#
# The point stays in a fixed bytearray (slots of 8 little-endian words, see fe_thumb) and
# each doubling or addition is one call running a short program of field operations:
# no bignum and no heap object in the loop, and the interpreter pays one call a step.
# The formulas are ecmult's (dbl-2009-l; the mixed addition of madd-2004-hmv's shape),
# and so are the schedule codes and tables read: a table entry goes to the machine code
# as (bytes, offset) and is read in place, in ROMFS for the comb.
from crypto import ecmult

# slots; 0 is fe_thumb's scratch, 1-2 its product, 3 its reversed multiplier
X, Y, Z, X2, Y2, ZZ, H, R, HH, HHH, V, T1, T2, BETA, ZERO, ONE = range(4, 20)
B, E, D = ZZ, H, R                       # the doubling's, in the addition's slots
# tables(): the 8 odd multiples' X, Y, Z (slots PT + 3i ...), the prefix products of the
# 9 values inverted together, the doubled point's Z, the kept base point
PT = 20
ACC = PT + 24
ZD, TINV, XB, YB, ZB = ACC + 9, ACC + 10, ACC + 11, ACC + 12, ACC + 13
SLOTS = ZB + 1
MUL, ADD, SUB, LDX, LDY, ZT, CAN, SQN = 1, 2, 3, 4, 5, 6, 7, 8

_DBL = (
    (MUL, B, Y, Y), (MUL, E, X, X), (ADD, T1, E, E), (ADD, E, T1, E),     # B = Y^2, E = 3X^2
    (MUL, D, X, B), (ADD, D, D, D), (ADD, D, D, D),                       # D = 4XB
    (MUL, Z, Y, Z), (ADD, Z, Z, Z),                                       # Z3 = 2YZ
    (MUL, T1, E, E), (SUB, T1, T1, D), (SUB, X, T1, D),                   # X3 = E^2 - 2D
    (SUB, T1, D, X), (MUL, T1, E, T1), (MUL, T2, B, B),
    (ADD, T2, T2, T2), (ADD, T2, T2, T2), (ADD, T2, T2, T2),
    (SUB, Y, T1, T2),                                                     # Y3 = E(D-X3) - 8B^2
)
_MADD = (
    (MUL, ZZ, Z, Z), (MUL, H, X2, ZZ), (SUB, H, H, X),                    # H = x2 Z^2 - X
    (MUL, T1, ZZ, Z), (MUL, R, Y2, T1), (SUB, R, R, Y),                   # R = y2 Z^3 - Y
    (ZT, 0, H, R),                       # H == 0: stop, 3 if R == 0 too (double), else 2
    (MUL, HH, H, H), (MUL, HHH, H, HH), (MUL, V, X, HH),
    (MUL, T1, R, R), (SUB, T1, T1, HHH), (SUB, T1, T1, V), (SUB, X, T1, V),  # X3
    (SUB, T1, V, X), (MUL, T1, R, T1), (MUL, T2, Y, HHH), (SUB, Y, T1, T2),  # Y3
    (MUL, Z, Z, H),                                                       # Z3
)
_FIN = ((CAN, X, X, 0), (CAN, Y, Y, 0), (CAN, Z, Z, 0))
# a^((p+1)/4), the square root's candidate, by ecmult.sqrt's addition chain (libsecp256k1's:
# 253 squarings, 13 multiplies); in X2, out in R; x2 = a^(2^2-1), x3 = a^(2^3-1), ...
_A, _X2, _X3, _T, _X11, _X22, _X44, _U = X2, Y2, ZZ, H, HH, HHH, V, T1
_SQRT = (
    (SQN, _X2, _A, 1), (MUL, _X2, _X2, _A), (SQN, _X3, _X2, 1), (MUL, _X3, _X3, _A),
    (SQN, _T, _X3, 3), (MUL, _T, _T, _X3), (SQN, _T, _T, 3), (MUL, _T, _T, _X3),
    (SQN, _X11, _T, 2), (MUL, _X11, _X11, _X2), (SQN, _X22, _X11, 11), (MUL, _X22, _X22, _X11),
    (SQN, _X44, _X22, 22), (MUL, _X44, _X44, _X22), (SQN, _U, _X44, 44), (MUL, _U, _U, _X44),
    (SQN, _T, _U, 88), (MUL, _T, _T, _U), (SQN, _T, _T, 44), (MUL, _T, _T, _X44),
    (SQN, _T, _T, 3), (MUL, _T, _T, _X3), (SQN, _T, _T, 23), (MUL, _T, _T, _X22),
    (SQN, _T, _T, 6), (MUL, _T, _T, _X2), (SQN, _T, _T, 2), (CAN, R, _T, 0),
)


def _copy(d, a):
    return (ADD, d, a, ZERO)


# The odd multiples P, 3P, ..., 15P of the Jacobian P in (X, Y, Z), by libsecp256k1's
# "effective affine" trick: with D = 2P = (Xd, Yd, Zd), on the isomorphic curve
# y^2 = x^3 + 7 Zd^6 (the formulas do not use b) D is the affine (Xd, Yd) and P is
# (X Zd^2, Y Zd^3, Z), so each next multiple is a mixed addition; the true Z of each is
# its Z times Zd. Leaves the multiples in PT.. and the product of all 9 Zs in ACC + 8.
def _odd():
    ops = [_copy(XB, X), _copy(YB, Y), _copy(ZB, Z),
           _copy(PT, X), _copy(PT + 1, Y), _copy(PT + 2, Z)]
    ops += list(_DBL)
    ops += [_copy(X2, X), _copy(Y2, Y), _copy(ZD, Z), (MUL, T1, Z, Z), (MUL, T2, T1, Z),
            (MUL, X, PT, T1), (MUL, Y, PT + 1, T2), _copy(Z, PT + 2),
            _copy(PT, X), _copy(PT + 1, Y)]
    for i in range(1, 8):
        ops += [op for op in _MADD if op[0] != ZT]   # i*P == +-2P never: 2i + 1 != +-2
        ops += [_copy(PT + 3 * i, X), _copy(PT + 3 * i + 1, Y), _copy(PT + 3 * i + 2, Z)]
    # Montgomery's trick over the 9 Zs (the multiples' and Zd)
    ops.append(_copy(ACC, PT + 2))
    for i in range(1, 8):
        ops.append((MUL, ACC + i, ACC + i - 1, PT + 3 * i + 2))
    ops.append((MUL, ACC + 8, ACC + 7, ZD))
    return ops


def _affine():
    # with TINV = 1/(ACC + 8): each Z becomes its inverse, then x = X/(Z Zd)^2 and
    # y = Y/(Z Zd)^3, canonical; the base point back in (X, Y, Z)
    zs = [PT + 3 * i + 2 for i in range(8)] + [ZD]
    ops = []
    for j in range(8, 0, -1):
        ops += [(MUL, T1, TINV, ACC + j - 1), (MUL, TINV, TINV, zs[j]), _copy(zs[j], T1)]
    ops.append(_copy(zs[0], TINV))
    for i in range(8):
        x, y, z = PT + 3 * i, PT + 3 * i + 1, PT + 3 * i + 2
        ops += [(MUL, T1, z, ZD), (MUL, T2, T1, T1), (MUL, x, x, T2), (MUL, T2, T2, T1),
                (MUL, y, y, T2), (CAN, x, x, 0), (CAN, y, y, 0)]
    ops += [_copy(X, XB), _copy(Y, YB), _copy(Z, ZB)]
    return ops


def tables(pt, bases=1, have=()):
    """ecmult.tables on the native field: the same bytes (8 affine odd multiples of
    pt, 2^s pt, ... a block each, big-endian x || y), one inversion a base."""
    fe = _fe
    ws = _ws
    P = ecmult.P
    dbl, odd, aff = _progs[0], _progs[5], _progs[6]
    ws[32 * X:32 * X + 32] = pt[0].to_bytes(32, "little")
    ws[32 * Y:32 * Y + 32] = pt[1].to_bytes(32, "little")
    ws[32 * Z:32 * Z + 32] = ws[32 * ONE:32 * ONE + 32]
    out = list(have)
    fb = int.from_bytes
    for b in range(bases):
        if b:
            for _ in range(128 // bases):
                fe(ws, dbl, None, 0)
        if b < len(have):
            continue
        fe(ws, odd, None, 0)
        t = ecmult.inv(fb(ws[32 * (ACC + 8):32 * (ACC + 9)], "little") % P)
        ws[32 * TINV:32 * TINV + 32] = t.to_bytes(32, "little")
        fe(ws, aff, None, 0)
        blk = bytearray(512)
        for i in range(16):
            o = 32 * (PT + 3 * (i >> 1) + (i & 1))
            blk[32 * i:32 * i + 32] = fb(ws[o:o + 32], "little").to_bytes(32, "big")
        out.append(bytes(blk))
    return tuple(out)


def _load(x, y, code):
    # the entry into (x, y): code & 2, lambda*point = (beta*x, y); code & 1, -point
    ops = [(LDX, x, 0, 0), (LDY, y, 0, 0)]
    if code & 2:
        ops.append((MUL, x, x, BETA))
    if code & 1:
        ops.append((SUB, y, ZERO, y))
    return ops


def _prog(ops):
    return bytes(b for op in ops for b in op) + bytes(4)


_fe = None
_ws = None
_progs = None


# a known answer: x(k G) for k = SHA-256("ecmult_fe self-test") mod n (by libsecp256k1)
_KAT_K = b"\xa6\xf5\x5d\xd9\x70\x44\x43\x42\x34\x96\x8f\x2d\xeb\x84\xc9\x15\xb9\xd9\x3f\x3c\xf7\x43\x3b\x76\xe1\x43\x3e\x41\x9c\x31\xc8\x5f"
_KAT_X = b"\x15\x96\xf1\x1c\xc0\x70\xc2\x05\x62\x2b\x89\x20\x1f\x74\x92\xb5\xf4\x3d\x67\x8b\x16\x26\x83\x5b\x73\xcd\x16\xd6\xe5\x93\x43\xc2"


def _works():
    # every program once: the comb (table loads in place), tables() and the GLV loop
    # (both load flags), the square root; ~125 ms on the chip (the estimate), at boot
    k = int.from_bytes(_KAT_K, "big")
    P = ecmult.P
    for X, Y, Z in (ecmult.base_mul(k), ecmult.point_mul(tables(ecmult.G), k)):
        if not Z:
            return False
        zi = ecmult.inv(Z)
        if (X * zi * zi % P).to_bytes(32, "big") != _KAT_X:
            return False
    return sqrt(4) in (2, P - 2) and sqrt(9) in (3, P - 3)


def install(fe):
    """Route ecmult's multiplications through fe (crypto.fe_thumb.run, or a model of it)
    if it gives a known answer; else leave the bignum code in place. True if installed:
    a machine code that goes wrong on some board or build must not sign."""
    global _fe, _ws, _progs
    before = (ecmult.run, ecmult.sqrt, ecmult.tables, ecmult.jacobi)
    _fe = fe
    _ws = bytearray(32 * SLOTS)
    _ws[32 * BETA:32 * BETA + 32] = ecmult.BETA.to_bytes(32, "little")
    _ws[32 * ONE] = 1
    first = tuple(_prog(_load(X, Y, c) + [(ADD, Z, ONE, ZERO)]) for c in range(4))
    madd = tuple(_prog(_load(X2, Y2, c) + list(_MADD)) for c in range(4))
    _progs = (_prog(_DBL), first, madd, _prog(_FIN), _prog(_SQRT), _prog(_odd()), _prog(_affine()))
    # base_mul, point_mul and mul_add find run by name in ecmult's globals at each call;
    # crypto.secp256k1 calls ecmult.sqrt, tables and jacobi by name too
    ecmult.run = run
    ecmult.sqrt = sqrt
    ecmult.tables = tables
    ecmult.jacobi = jacobi
    try:
        ok = _works()
    except Exception:   # the machine code's answers are not even field elements
        ok = False
    if not ok:
        ecmult.run, ecmult.sqrt, ecmult.tables, ecmult.jacobi = before
        _fe = _ws = _progs = None
    return ok


def sqrt(a):
    """ecmult.sqrt: a^((p+1)/4) mod p, canonical (the square root of a if it has one)."""
    ws = _ws
    ws[32 * _A:32 * _A + 32] = (a % ecmult.P).to_bytes(32, "little")
    _fe(ws, _progs[4], None, 0)
    return int.from_bytes(ws[32 * R:32 * R + 32], "little")


def jacobi(a):
    """ecmult.jacobi for the prime p: 1 for a square, -1 for a non-square, 0 for 0,
    by the square root's candidate (7 ms of machine code on the chip, where the binary
    Euclid in bignums took about 11)."""
    a %= ecmult.P
    if not a:
        return 0
    r = sqrt(a)
    return 1 if r * r % ecmult.P == a else -1


def run(sched, srcs):
    """ecmult.run, the same schedule and result: Jacobian (X, Y, Z) reduced mod p,
    (0, 0, 0) for infinity."""
    fe = _fe
    ws = _ws
    dbl, first, madd, fin = _progs[:4]
    inf = True
    for i in range(len(sched) - 1, -1, -1):
        if not inf:
            fe(ws, dbl, None, 0)
        adds = sched[i]
        if adds is None:
            continue
        for c in adds:
            if inf:
                fe(ws, first[c & 3], srcs[c >> 11], (c & 0x7FC) << 4)
                inf = False
                continue
            r = fe(ws, madd[c & 3], srcs[c >> 11], (c & 0x7FC) << 4)
            if r:           # the same x: the same point (double it) or its negation
                if r == 3:
                    fe(ws, dbl, None, 0)
                else:
                    inf = True
    if inf:
        return 0, 0, 0
    fe(ws, fin, None, 0)
    fb = int.from_bytes
    return (fb(ws[32 * X:32 * X + 32], "little"), fb(ws[32 * Y:32 * Y + 32], "little"),
            fb(ws[32 * Z:32 * Z + 32], "little"))
