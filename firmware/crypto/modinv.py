# a^-1 mod p for secp256k1's field, by Bernstein-Yang divsteps ("Fast constant-time gcd
# computation and modular inversion", 2019; libsecp256k1's modinv32 is the same idea).
#
# Why not Euclid: on the chip every Euclid step is a bignum division and four bignum
# products or differences (~150 steps, ~750 new objects, 12.3 ms measured). Divsteps
# look only at the low bits of f and g, so 29 of them run as machine code on two small
# ints (_divsteps) and give a 2x2 matrix of small ints; the bignums are touched once per
# 29 steps (8 small-by-big products, 4 sums, 2 shifts). About 19 batches for a random
# input; the bound (741 steps for 256 bits, Bernstein-Yang theorem 11.2) is 26 batches.
# Variable time, like Euclid before it (no bignum arithmetic is constant time here).
import array
import micropython

P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
_C = 0x1000003D1  # 2^256 = _C (mod p)
# _CI[j] = _C^-j mod p = 2^(-256 j): the 2^-k the matrices leave on d is
# 2^(256 j - k) * _CI[j] with j = ceil(k / 256), k <= 26 * 29 = 754 < 768
_CI = (1, 0xC9BD1905155383999C46C2C295F2B761BCB223FEDC24A059D838091D0868192A,
       0x35C23D449F7146209606E13D0C0528C7B64215332A7F3BB9AC91B0BE0A7244F9,
       0x5CC249F83445F1052084718F7C917CA2A4C88010D51154F60359FCD68561754F)
_LOW = 0x1FFFFFFF  # the 29 bits _divsteps reads
_T = array.array("i", (0, 0, 0, 0))  # its matrix; one request at a time, no reentry


@micropython.viper
def _divsteps(delta: int, f: int, g: int, t: ptr32) -> int:
    # 29 divsteps on the low 29 bits of f (odd) and g; t = (u, v, q, r) with
    # 2^29 f' = u f + v g and 2^29 g' = q f + r g. The new delta. Step i reads bit 0 of
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
                delta = 1 - delta
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
                delta += 1
                g = (g + f) >> 1
                q += u
                r += v
                u = u << 1
                v = v << 1
        else:
            delta += 1
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
    delta = 1
    k = 0
    while g:
        delta = _divsteps(delta, f & low, g & low, t)
        u, v, q, r = t
        f, g = (u * f + v * g) >> 29, (q * f + r * g) >> 29
        d, e = u * d + v * e, q * d + r * e
        k += 29
    j = (k + 255) >> 8
    x = (d << ((j << 8) - k)) * _CI[j] % p
    return x if f == 1 else p - x
