"""The model of crypto/fe_thumb.run in plain Python (MicroPython or CPython): the same
operations on the same bytes, value for value, so that the machine code can be compared
with it (tests/test_fe_thumb.py) and crypto.ecmult's code for boards with the assembler
can run where there is none (the unix port, CPython). COUNTS tallies the operations run,
for the bench's chip estimate."""
P = 2**256 - 0x1000003D1
C = 0x1000003D1
M = 2**256 - 1
COUNTS = {}


def _get(ws, s):
    return int.from_bytes(ws[32 * s:32 * s + 32], "little")


def _put(ws, s, v):
    ws[32 * s:32 * s + 32] = v.to_bytes(32, "little")


def _mul(a, b):
    # the machine code's value: the product folded twice, then + C once if it carried
    v = a * b
    v = (v & M) + (v >> 256) * C
    v = (v & M) + (v >> 256) * C
    if v >> 256:
        v = (v & M) + C
    return v


def run(ws, prog, tab, off):
    i = 0
    counts = COUNTS
    while True:
        op, d, a, b = prog[i], prog[i + 1], prog[i + 2], prog[i + 3]
        i += 4
        counts[op] = counts.get(op, 0) + 1
        if op == 1:
            _put(ws, d, _mul(_get(ws, a), _get(ws, b)))
        elif op == 2:
            v = _get(ws, a) + _get(ws, b)
            for _ in range(2):
                if v >> 256:
                    v = (v & M) + C
            _put(ws, d, v)
        elif op == 3:
            v = _get(ws, a) - _get(ws, b)
            for _ in range(2):
                if v < 0:
                    v += P
            _put(ws, d, v)
        elif op == 4 or op == 5:
            o = off + 32 * (op - 4)
            _put(ws, d, int.from_bytes(tab[o:o + 32], "big"))
        elif op == 6:
            if _get(ws, a) % P == 0:
                return 2 + (_get(ws, b) % P == 0)
        elif op == 7:
            _put(ws, d, _get(ws, a) % P)
        elif op == 8:
            v = _get(ws, a)
            for _ in range(b):
                v = _mul(v, v)
            _put(ws, d, v)
            counts[9] = counts.get(9, 0) + b   # its squarings, priced apart from the op
        else:
            return 0
