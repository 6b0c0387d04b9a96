# Calls of viper routines that write into buffers, for tests/test_viper32.py over
# tests/mpy.py's Firmware pipe (which carries bytes, not writable buffers): each copies
# its input into a bytearray, runs the viper routine, returns what it wrote.
# Test-only; never part of the firmware image.
from crypto import jsonspan, chacha20, sha512, nip01, modinv
from boards import st7789


def unescape(b, i, n):
    buf = bytearray(b)
    return [jsonspan.unescape(buf, i, n), buf]


def chacha_blocks(st, data, n):
    st = bytearray(st)
    out = bytearray(n)
    chacha20._blocks(st, data, out, n)
    return [st, out]


def sha512_compress(st, k, blk):
    st = bytearray(st)
    w = bytearray(640)
    sha512._compress(st, w, k, blk)
    return st


def fill_all(src, i, n, cap):
    # _fill repeated from i until the end or a surrogate: the escaped bytes and the stop
    out = bytearray(cap + 6)
    acc = bytearray()
    while i < n:
        r = nip01._fill(src, i, n, out, cap)
        i = r >> 10
        acc.extend(out[0:r & 1023])
        if (r & 1023) < cap:
            break
    return [acc, i]


def expand_row(src, stride, row, reps, n, out_w, rows, fg, bg):
    dst = bytearray(out_w * 2 * rows)
    st7789.expand_row(src, stride, row, reps, n, dst, out_w, rows, fg, bg)
    return dst


def divsteps(delta, f, g):
    t = modinv.array.array("i", (0, 0, 0, 0))
    return [modinv._divsteps(delta, f, g, t)] + list(t)


def divsteps_all(cases):
    return [divsteps(*c) for c in cases]


def inv_all(xs):
    return [modinv.inv(x) for x in xs]
