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

# slots; 0 is fe_thumb's scratch and 1-2 its product
X, Y, Z, X2, Y2, ZZ, H, R, HH, HHH, V, T1, T2, BETA, ZERO, ONE = range(3, 19)
B, E, D = ZZ, H, R                       # the doubling's, in the addition's slots
SLOTS = 19
MUL, ADD, SUB, LDX, LDY, ZT, CAN = 1, 2, 3, 4, 5, 6, 7

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


def install(fe):
    """Route ecmult's multiplications through fe (crypto.fe_thumb.run, or a model of it)."""
    global _fe, _ws, _progs
    _fe = fe
    _ws = bytearray(32 * SLOTS)
    _ws[32 * BETA:32 * BETA + 32] = ecmult.BETA.to_bytes(32, "little")
    _ws[32 * ONE] = 1
    first = tuple(_prog(_load(X, Y, c) + [(ADD, Z, ONE, ZERO)]) for c in range(4))
    madd = tuple(_prog(_load(X2, Y2, c) + list(_MADD)) for c in range(4))
    _progs = (_prog(_DBL), first, madd, _prog(_FIN))
    # base_mul, point_mul and mul_add find run by name in ecmult's globals at each call
    ecmult.run = run


def run(sched, srcs):
    """ecmult.run, the same schedule and result: Jacobian (X, Y, Z) reduced mod p,
    (0, 0, 0) for infinity."""
    fe = _fe
    ws = _ws
    dbl, first, madd, fin = _progs
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
