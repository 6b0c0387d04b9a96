# a^-1 mod p for secp256k1's field, by Bernstein-Yang divsteps ("Fast constant-time gcd
# computation and modular inversion", 2019; libsecp256k1's modinv32 is the same idea).
#
# Why not Euclid: on the chip every Euclid step is a bignum division and four bignum
# products or differences (~150 steps, ~750 new objects, 12.3 ms measured). Divsteps
# look only at the low bits of f and g, so 29 of them run as machine code on two small
# ints (_divsteps) and give a 2x2 matrix of small ints; the bignums are touched once per
# 29 steps (8 small-by-big products, 4 sums, 2 shifts). delta starts at 1/2, as in
# libsecp256k1 (its "eta"): ~517 steps for a random input (~531 from 1), 18 batches, and
# at most 590 for 256 bits (741 from 1: Bernstein-Yang theorem 11.2): 21 batches.
# Variable time, like Euclid before it (no bignum arithmetic is constant time here).
import array
import micropython

P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F  # (ecmult's too)
# With C = 2^256 mod p = 0x1000003D1, the j-th 32 bytes of _CI are C^-j mod p = 2^(-256 j):
# the 2^-k the matrices leave on d is 2^(256 j - k) C^-j, j = ceil(k / 256), k <= 21 * 29
# = 609 < 768. Bytes, read in place from ROMFS or flash (as ints: 256 B of heap)
_CI = (b"\xc9\xbd\x19\x05\x15\x53\x83\x99\x9c\x46\xc2\xc2\x95\xf2\xb7\x61"
       b"\xbc\xb2\x23\xfe\xdc\x24\xa0\x59\xd8\x38\x09\x1d\x08\x68\x19\x2a"
       b"\x35\xc2\x3d\x44\x9f\x71\x46\x20\x96\x06\xe1\x3d\x0c\x05\x28\xc7"
       b"\xb6\x42\x15\x33\x2a\x7f\x3b\xb9\xac\x91\xb0\xbe\x0a\x72\x44\xf9"
       b"\x5c\xc2\x49\xf8\x34\x45\xf1\x05\x20\x84\x71\x8f\x7c\x91\x7c\xa2"
       b"\xa4\xc8\x80\x10\xd5\x11\x54\xf6\x03\x59\xfc\xd6\x85\x61\x75\x4f")
_LOW = 0x1FFFFFFF  # the 29 bits _divsteps reads
_T = array.array("i", (0, 0, 0, 0))  # its matrix; one request at a time, no reentry


@micropython.viper
def _divsteps(delta: int, f: int, g: int, t: ptr32) -> int:
    # 29 divsteps on the low 29 bits of f (odd) and g; t = (u, v, q, r) with
    # 2^29 f' = u f + v g and 2^29 g' = q f + r g. delta in halves (odd: 1 is 1/2; a
    # step maps it to 1 - delta or delta + 1). The new delta. Step i reads bit 0 of
    # g, which depends on bits 0..i of the inputs only. |f|, |g| stay < 2^30 (each step
    # halves a sum or difference of two of them) and |u|, |v|, |q|, |r| <= 2^29 (each
    # step at most doubles them): nothing wraps on a 32-bit word, no mask is needed.
    u = 1
    v = 0
    q = 0
    r = 1
    i = 0
    while i < 29:
        if g & 1:
            if delta > 0:
                delta = 2 - delta
                x = f
                f = g
                g = (g - x) >> 1
                x = u
                u = q << 1
                q = q - x
                x = v
                v = r << 1
                r = r - x
            else:
                delta += 2
                g = (g + f) >> 1
                q += u
                r += v
                u = u << 1
                v = v << 1
        else:
            delta += 2
            g = g >> 1
            u = u << 1
            v = v << 1
        i += 1
    t[0] = u
    t[1] = v
    t[2] = q
    t[3] = r
    return delta


def inv(a, p=P, low=_LOW, t=_T):
    """a^-1 mod p for a != 0 (mod p); 0 for 0. Invariants: f = d a 2^-k and g = e a 2^-k
    (mod p), k the steps so far. g reaches 0 and f = +-1 (p is prime)."""
    f = p
    g = a % p
    if not g:
        return 0
    d = 0
    e = 1
    delta = 1  # 1/2
    k = 0
    while g:
        delta = _divsteps(delta, f & low, g & low, t)
        u, v, q, r = t
        f, g = (u * f + v * g) >> 29, (q * f + r * g) >> 29
        d, e = u * d + v * e, q * d + r * e
        k += 29
    j = (k + 255) >> 8
    x = (d << ((j << 8) - k)) * int.from_bytes(_CI[(j << 5) - 32:j << 5], "big") % p
    return x if f == 1 else p - x
