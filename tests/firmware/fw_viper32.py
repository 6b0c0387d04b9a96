# heap: 4M
# Every viper routine against its 32-bit twin (viper_twins.py) on random and edge inputs:
# the viper code runs as machine code with 64-bit words here, the twin runs the same
# source with 32-bit words; equal results and equal output buffers mean the routine
# does not depend on the word size. tests/test_viper32.py checks both against CPython
# references. The canaries at the end are routines that do rely on 64-bit words: the
# same check must catch them, or it could not catch a firmware routine either.
# (4 MB heap: one check hashes a string near _fill's 1 MB limit; no heap budget here.)
import random
import micropython

import viper_twins as V
from crypto import nip01, chacha20, sha512, nip44, jsonspan
from signer import envelope
from boards import st7789

random.seed(3212)


def rbytes(n, pool=None):
    if pool is None:
        return bytes(random.getrandbits(8) for _ in range(n))
    return bytes(pool[random.getrandbits(16) % len(pool)] for _ in range(n))


def word_edges():
    # words whose sign or top bits differ between a 32- and a 64-bit reading
    return (0, 1, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0xFFFFFFFF,
            0x7FFF8000, 0xFFFF0000, 0x0000FFFF)


def words(ws):
    out = bytearray(4 * len(ws))
    for i, w in enumerate(ws):
        out[4 * i:4 * i + 4] = w.to_bytes(4, "little")
    return out


def check(rel, name, fn, args, outs=(), path=None):
    """fn(*args) and its twin on copies of args agree, result and every argument index
    in outs (buffers the routine writes)."""
    tw = V.twin(path, name) if path else V.fw_twin(rel, name)
    a1 = [bytearray(x) if i in outs else x for i, x in enumerate(args)]
    a2 = [bytearray(x) if i in outs else x for i, x in enumerate(args)]
    r1 = fn(*a1)
    r2 = tw(*a2)
    assert r1 == r2, "%s: viper %r, 32-bit twin %r" % (name, r1, r2)
    for i in outs:
        assert a1[i] == a2[i], "%s: argument %d differs (viper vs 32-bit twin)" % (name, i)
    return r1


# ---- crypto/nip01.py -----------------------------------------------------------------

_JS = b'ab "\\\x00\x01\x08\x09\x0a\x0c\x0d\x1f\x7f\xc3\xa9\xed\xa0\xb0\xed\x9f\xbf\xf0\x9f\x98\x80'


def test_nip01_fill_random():
    for _ in range(300):
        n = random.getrandbits(9)
        src = rbytes(n, _JS)
        i = random.getrandbits(9) % (n + 1)
        cap = 1 + random.getrandbits(9) % 506
        check("crypto/nip01.py", "_fill", nip01._fill, (src, i, n, bytearray(cap + 6), cap), (3,))


def test_nip01_fill_near_the_1mb_limit():
    # the packed result (i << 10 | k) needs bit 30 here: still a small int on 32 bits
    n = (1 << 20) - 1
    src = bytearray(n)
    for j in range(n - 600, n):
        src[j] = _JS[j % len(_JS)]
    for i in (n - 600, n - 3, n - 1, n):
        r = check("crypto/nip01.py", "_fill", nip01._fill, (src, i, n, bytearray(512), 506), (3,))
        assert r >> 10 <= n and r >= 0


# ---- crypto/chacha20.py --------------------------------------------------------------

def _chacha_state(words16):
    st = bytearray(128)
    st[0:64] = words(words16)
    return st


def test_chacha20_blocks_random():
    for _ in range(60):
        ws = [random.getrandbits(32) for _ in range(16)]
        n = random.getrandbits(9)
        check("crypto/chacha20.py", "_blocks", chacha20._blocks,
              (_chacha_state(ws), rbytes(n), bytearray(n), n), (0, 2))


def test_chacha20_blocks_edges():
    e = word_edges()
    for k in range(len(e)):
        ws = [e[(k + j) % len(e)] for j in range(16)]
        for n in (0, 1, 63, 64, 65, 128, 129):
            check("crypto/chacha20.py", "_blocks", chacha20._blocks,
                  (_chacha_state(ws), rbytes(n), bytearray(n), n), (0, 2))
    # the block counter at 2^31 - 1, 2^32 - 1 (it wraps), all-ones key and nonce
    for ctr in (0x7FFFFFFF, 0x80000000, 0xFFFFFFFF):
        ws = [0xFFFFFFFF] * 16
        ws[12] = ctr
        check("crypto/chacha20.py", "_blocks", chacha20._blocks,
              (_chacha_state(ws), bytes(200), bytearray(200), 200), (0, 2))


# ---- crypto/sha512.py ----------------------------------------------------------------

def test_sha512_compress_random():
    for _ in range(12):
        st = rbytes(64)
        k = random.getrandbits(1) and sha512._KW or rbytes(640)
        check("crypto/sha512.py", "_compress", sha512._compress,
              (st, bytearray(640), k, rbytes(128)), (0, 1))


def test_sha512_compress_edges():
    e = word_edges()
    for k in range(0, len(e), 2):
        st = words([e[(k + j) % len(e)] for j in range(16)])
        blk = words([e[(k + 3 * j) % len(e)] for j in range(32)])
        check("crypto/sha512.py", "_compress", sha512._compress,
              (st, bytearray(640), sha512._KW, blk), (0, 1))
    check("crypto/sha512.py", "_compress", sha512._compress,
          (b"\xff" * 64, bytearray(640), b"\xff" * 640, b"\xff" * 128), (0, 1))


def test_sha512_to_bytes_and_xor():
    for _ in range(50):
        st = words([random.getrandbits(32) for _ in range(16)] if _ else list(word_edges()) + [0xFFFFFFFF] * 6)
        check("crypto/sha512.py", "_to_bytes", sha512._to_bytes, (st, bytearray(64)), (1,))
        n = random.getrandbits(7)
        check("crypto/sha512.py", "_xor_into", sha512._xor_into, (rbytes(n), rbytes(n), n), (0,))


# ---- crypto/nip44.py, signer/envelope.py: base64 scans ------------------------------

_B64 = b"AZaz09+/==?\"- \x00\x80\xff\x7f"


def _b64ish(n):
    if random.getrandbits(1):
        s = bytearray(rbytes(n, b"ABCXYZabcxyz0189+/"))
        for j in range(min(n, random.getrandbits(2))):
            s[n - 1 - j] = 61
        return bytes(s)
    return rbytes(n, _B64)


def test_b64_scans_random():
    for _ in range(400):
        n = random.getrandbits(6)
        s = _b64ish(n)
        check("crypto/nip44.py", "_b64_ok", nip44._b64_ok, (s, n))
        check("crypto/nip44.py", "_b64_eq", nip44._b64_eq, (s, n))
        i = random.getrandbits(6) % (n + 1)
        check("signer/envelope.py", "_b64_end", envelope._b64_end, (s, i, n))
        check("signer/envelope.py", "_b64_run", envelope._b64_run, (s, i, n))


def test_nip01_utf8_strict_random():
    alphabet = b"a\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xed\xee\xef\xf0\xf4\xf5\xff"
    for _ in range(600):
        n = random.getrandbits(4)
        b = rbytes(n, alphabet)
        check("crypto/nip01.py", "utf8_strict", nip01.utf8_strict, (b, n))


# ---- crypto/jsonspan.py --------------------------------------------------------------

_UTF = b"a\"\\/bfnrtu0123456789abcdefABCDEF\x00\x7f\x80\xbf\xc0\xc3\xdf\xe0\xed\xef\xf0\xf4\xf7\xf8\xff"


_CESU = b"a\xed\xa0\xaf\xb0\xbf\x80\x9f\xc3\xa9"


def test_jsonspan_random():
    for _ in range(400):
        n = random.getrandbits(6)
        b = rbytes(n, _UTF)
        check("crypto/jsonspan.py", "utf8_ok", jsonspan.utf8_ok, (b, n))
        check("crypto/jsonspan.py", "chars", jsonspan.chars, (b, n))
        c = rbytes(n, _CESU)
        check("crypto/jsonspan.py", "utf8_of_cesu", jsonspan.utf8_of_cesu, (c, n), (0,))
        i = random.getrandbits(6) % (n + 1)
        check("crypto/jsonspan.py", "unescape", jsonspan.unescape, (b, i, n), (0,))
        check("crypto/jsonspan.py", "string_end", jsonspan.string_end, (b, i, n))
        m = random.getrandbits(2)
        pat = rbytes(m, b"a\\\"u")
        check("crypto/jsonspan.py", "find", jsonspan.find, (b, n, pat, m, i))


def test_jsonspan_unicode_escapes():
    # every \uXXXX boundary of the 1/2/3-byte UTF-8 forms, surrogates, the top code unit
    for u in (0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xE000, 0xFFFF):
        b = b"x\\u%04x\\u%04Xy" % (u, u)
        check("crypto/jsonspan.py", "unescape", jsonspan.unescape, (b, 0, len(b)), (0,))


# ---- crypto/keyset.py ----------------------------------------------------------------

def test_keyset_sort_keys_random():
    from crypto import keyset
    for _ in range(150):
        n = random.getrandbits(4)
        # few byte values: long equal prefixes, and repeats to drop
        b = rbytes(32 * n, b"\x00\x01\x80\xff") if random.getrandbits(1) else bytes(32) * n
        out = check("crypto/keyset.py", "sort_keys", keyset.sort_keys, (b, n), (0,))
        want = sorted(set([bytes(b[i * 32:i * 32 + 32]) for i in range(n)]))
        got = bytearray(b)
        assert keyset.sort_keys(got, n) == len(want) == out
        assert [bytes(got[i * 32:i * 32 + 32]) for i in range(out)] == want


# ---- crypto/modinv.py ----------------------------------------------------------------

def test_modinv_divsteps_random_and_edges():
    from crypto import modinv
    lo = (1 << 29) - 1
    cases = [(d, f, g) for f in (1, lo, 1 << 28 | 1) for g in (0, 1, lo, 1 << 28)
             for d in (1, -1, 3, 1179, -1179)]  # delta in halves: odd
    cases += [(2 * (random.getrandbits(11) - 1024) + 1, random.getrandbits(29) | 1,
               random.getrandbits(29)) for _ in range(300)]
    for d, f, g in cases:
        check("crypto/modinv.py", "_divsteps", modinv._divsteps, (d, f, g, bytearray(16)), (3,))


# ---- boards/st7789.py ----------------------------------------------------------------

def test_st7789_expand_row():
    reps = st7789.reps(128, 240)
    for _ in range(40):
        src = rbytes(1024)
        rows = 1 + random.getrandbits(2) % 3
        fg = random.getrandbits(16) if _ else 0xFFFF
        bg = random.getrandbits(16) if _ else 0x8000
        row = random.getrandbits(6)
        check("boards/st7789.py", "expand_row", st7789.expand_row,
              (src, 128, row, reps, 128, bytearray(240 * 2 * rows), 240, rows, fg, bg), (5,))


# ---- canaries: code that is right only with 64-bit words -----------------------------

_HERE = "tests/firmware/fw_viper32.py"


@micropython.viper
def _canary_mulhi(a: uint, b: uint) -> uint:
    # the high half of a 32x32-bit product: only a 64-bit word holds it
    return (a * b) >> 16 >> 16


@micropython.viper
def _canary_pack(i: int, k: int) -> int:
    # _fill's packing without its 1 MB guard
    return (i << 10) | k


@micropython.viper
def _canary_top(p: ptr32) -> int:
    # a loaded word is an int: >= 2^31 it is negative on a 32-bit port, so >> is signed
    return p[0] >> 24


@micropython.viper
def _canary_sum(p: ptr32, n: int) -> int:
    # a sum of words in an int: it overflows 32 bits long before 64
    s = 0
    for i in range(n):
        s += p[i]
    return s


def _caught(name, fn, args):
    try:
        check(None, name, fn, args, (), _HERE)
    except AssertionError:
        return True
    return False


def test_canaries_are_caught():
    assert _canary_mulhi(0xFFFFFFFF, 0xFFFFFFFF) == 0xFFFFFFFE  # right on x64
    assert _caught("_canary_mulhi", _canary_mulhi, (0xFFFFFFFF, 0xFFFFFFFF))
    assert not _caught("_canary_mulhi", _canary_mulhi, (0xFFFF, 0xFFFF))
    assert _caught("_canary_pack", _canary_pack, (1 << 21, 5))
    assert not _caught("_canary_pack", _canary_pack, ((1 << 20) - 1, 5))
    big = words([0x40000000] * 4)
    assert _canary_sum(big, 4) == 1 << 32
    assert _caught("_canary_sum", _canary_sum, (big, 4))
    assert not _caught("_canary_sum", _canary_sum, (big, 1))
    assert _canary_top(words([0xFF000000])) == 255
    assert _caught("_canary_top", _canary_top, (words([0xFF000000]),))
    assert not _caught("_canary_top", _canary_top, (words([0x7F000000]),))


@micropython.viper
def _canary_shift(x: uint, n: int) -> uint:
    return x << n


def test_model_refuses_what_32_bits_leave_undefined():
    shift = V.twin(_HERE, "_canary_shift")
    assert shift(1, 31) == 0x80000000 and _canary_shift(1, 31) == 0x80000000
    for n in (32, 33, -1):
        try:
            shift(1, n)
        except V.ViperError:
            continue
        raise AssertionError("shift by %d not refused" % n)
    try:
        V.U32(1) & 0xFFFFFFFF
    except V.ViperError:
        pass
    else:
        raise AssertionError("a literal above 2^30 in an expression must be refused")
    try:
        V.U32(1) < 2
    except V.ViperError:
        pass
    else:
        raise AssertionError("uint compared with an int literal must be refused")
    try:
        V.Ptr8(bytearray(4))[4]
    except V.ViperError:
        pass
    else:
        raise AssertionError("a read past the buffer must be refused")
    try:
        V.Ptr32(V.uint(V.Ptr8(bytearray(8))) + 2)
    except V.ViperError:
        pass
    else:
        raise AssertionError("a ptr32 off word alignment must be refused (armv6m faults)")
    try:
        V.I32(1) < V.U32(2)
    except V.ViperError:
        pass
    else:
        raise AssertionError("int compared with uint must be refused")
    # a loaded word is signed; its uint cast is not
    p = V.Ptr32(words([0xFF000000]))
    assert (p[0] >> 24).s() == -1 and (V.uint(p[0]) >> 24).v == 255
