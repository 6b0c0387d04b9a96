# RPC helper for tests/test_qr.py: a QR matrix as rows of '0'/'1' strings.
from ui import qr


def matrix(data, ecc, version, mask):
    size, m = qr.encode(data, ecc, version, mask)
    return ["".join("1" if m[r * size + c] else "0" for c in range(size)) for r in range(size)]


def auto(data, ecc):
    size, m = qr.encode(data, ecc)
    return [size] + ["".join("1" if m[r * size + c] else "0" for c in range(size)) for r in range(size)]
