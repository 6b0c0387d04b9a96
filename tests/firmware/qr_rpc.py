# RPC helper for tests/test_qr.py: a QR matrix as rows of '0'/'1' strings.
import gc
from ui import qr


def _rows(size, m):
    return ["".join("1" if qr.get(m, r * size + c) else "0" for c in range(size)) for r in range(size)]


def matrix(data, ecc, version, mask):
    size, m = qr.encode(data, ecc, version, mask)
    return _rows(size, m)


def auto(data, ecc):
    size, m = qr.encode(data, ecc)
    return [size] + _rows(size, m)


def fragmented(data, ecc, hole):
    """auto(data, ecc) in a heap whose free space is only holes of about `hole` bytes,
    as a 128 KB heap can be after start-up and a few requests: every block of that
    size the heap gives is taken, then every other one freed."""
    keep = [None] * 4000
    gc.collect()
    n = 0
    try:
        while n < len(keep):
            keep[n] = bytearray(hole)
            n += 1
    except MemoryError:
        pass
    for i in range(0, n, 2):
        keep[i] = None
    gc.collect()
    try:
        size, m = qr.encode(data, ecc)
        err = None
    except MemoryError as e:
        size = m = None
        err = "MemoryError"
    keep = None
    gc.collect()
    return [err] if err else [size] + _rows(size, m)
