"""Viper routines: the x64 machine code, the 32-bit twin and a CPython reference agree.

A viper word is 64 bits on the x64 unix port and 32 on the RP2040/ESP32, so a vector test
on the unix port cannot show a routine is right on the chip. Here each routine runs three
ways on random and edge inputs (all-ones words, words >= 2^31, lengths at block
boundaries):
- viper, on the unix port (tests/mpy.py's Firmware, through tests/firmware/viper_rpc.py);
- its twin (tests/firmware/viper_twins.py: the routine's own source under a 32-bit word
  model), here in CPython, with the firmware module's plain-Python code around it;
- a reference: hashlib, cryptography, json, or a few lines of big-int Python.
tests/firmware/fw_viper32.py compares viper with the twin directly on MicroPython;
tests/test_viper32_cover.py makes sure no viper routine in firmware/ escapes all this.
"""
import json
import os
import random
import re
import sys
import types
from fractions import Fraction

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

import mpy

sys.path.insert(0, os.path.join(mpy.ROOT, "tests", "firmware"))
import viper_twins as V  # noqa: E402



def twinned(rel, path=None):
    """The firmware module at firmware/rel (or path) loaded into CPython with each viper
    routine replaced by its 32-bit twin (annotations resolve to the model's types)."""
    path = path or os.path.join(mpy.FIRMWARE, rel)
    fake = types.ModuleType("micropython")
    fake.viper = lambda f: V.twin(path, f.__name__)
    fake.native = lambda f: f
    fake.const = lambda x: x
    mod = types.ModuleType("twin_" + rel.replace("/", "_")[:-3])
    mod.__dict__.update(ptr8=V.Ptr8, ptr16=V.Ptr16, ptr32=V.Ptr32, uint=V.uint)
    saved = sys.modules.get("micropython")
    sys.modules["micropython"] = fake
    try:
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), mod.__dict__)
    finally:
        if saved is None:
            del sys.modules["micropython"]
        else:
            sys.modules["micropython"] = saved
    return mod


@pytest.fixture(scope="module")
def fwv():
    # roomy: one call carries a string near nip01's 1 MB limit as hex in JSON
    with mpy.Firmware(heap="32M") as f:
        yield f


# ---- ChaCha20 ----------------------------------------------------------------------------

def ref_chacha(key, nonce, data, counter):
    return Cipher(algorithms.ChaCha20(key, counter.to_bytes(4, "little") + nonce), None).encryptor().update(data)


def chacha_cases(rng):
    lengths = (0, 1, 63, 64, 65, 127, 128, 129, 255, 256, 257)
    for n in lengths:
        yield rng.randbytes(32), rng.randbytes(12), rng.randbytes(n), rng.getrandbits(31)
    for n in (1, 64, 200):
        yield b"\xff" * 32, b"\xff" * 12, b"\xff" * n, 0
        yield b"\xff" * 32, b"\xff" * 12, rng.randbytes(n), 0x7FFFFFFF
        yield rng.randbytes(32), b"\x80" * 12, rng.randbytes(n), 0x80000000
        yield b"\x7f\xff\xff\xff" * 8, b"\x00\x00\x00\x80" * 3, rng.randbytes(n), 0xFFFFFFFC  # its last block is 2^32 - 1
    for _ in range(8):
        yield rng.randbytes(32), rng.randbytes(12), rng.randbytes(rng.randrange(600)), rng.getrandbits(32) >> 1


def test_chacha20_twin_and_viper_match_cryptography(fwv):
    tw = twinned("crypto/chacha20.py")
    for key, nonce, data, ctr in chacha_cases(random.Random(20)):
        want = ref_chacha(key, nonce, data, ctr)
        assert bytes(tw.chacha20_xor(key, nonce, data, ctr)) == want, (len(data), hex(ctr))
        assert fwv.call("crypto.chacha20", "chacha20_xor", key, nonce, data, ctr) == want


def test_chacha20_counter_wraps_to_zero_on_both():
    # block 2^32 - 1 and then the counter wraps (the NIP-44 sizes never get there): the
    # word is masked, so on 32 and 64 bits alike the next block is block 0
    tw = twinned("crypto/chacha20.py")
    key, nonce = bytes(range(32)), bytes(12)
    ks = bytes(tw.chacha20_xor(key, nonce, bytes(128), 0xFFFFFFFF))
    assert ks[:64] == ref_chacha(key, nonce, bytes(64), 0xFFFFFFFF)
    assert ks[64:] == ref_chacha(key, nonce, bytes(64), 0)


def test_chacha20_raw_state_words_on_both(fwv):
    # the block function on arbitrary 16-word states (words >= 2^31, all ones): the
    # keystream and the state it leaves (counter word) agree on both word sizes
    tw = twinned("crypto/chacha20.py")
    rng = random.Random(21)
    for k in range(12):
        st = bytearray(128)
        st[0:64] = (b"\xff" * 64) if k == 0 else rng.randbytes(64)
        st[48:52] = (0xFFFFFFFF if k < 3 else rng.getrandbits(32)).to_bytes(4, "little")
        n = (64, 129, 1, 200)[k % 4]
        data = rng.randbytes(n)
        a = bytearray(st)
        out = bytearray(n)
        tw._blocks(a, data, out, n)
        vst, vout = fwv.call("viper_rpc", "chacha_blocks", bytes(st), data, n)
        assert (vst, vout) == (bytes(a), bytes(out))


# ---- SHA-512 -----------------------------------------------------------------------------

def test_sha512_twin_and_viper_match_hashlib(fwv):
    import hashlib
    tw = twinned("crypto/sha512.py")
    rng = random.Random(512)
    for n in (0, 1, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257, 383, 384):
        for data in (rng.randbytes(n), b"\xff" * n):
            want = hashlib.sha512(data).digest()
            assert tw.digest(data) == want, n
            assert fwv.call("crypto.sha512", "digest", data) == want
    h = tw.sha512(b"\xff" * 100)  # split updates across the block boundary
    h.update(b"\x80" * 100)
    assert h.digest() == hashlib.sha512(b"\xff" * 100 + b"\x80" * 100).digest()


def test_sha512_compress_of_all_ones_on_both(fwv):
    tw = twinned("crypto/sha512.py")
    st = bytearray(b"\xff" * 64)
    tw._compress(st, bytearray(640), tw._KW, b"\xff" * 128)
    assert fwv.call("viper_rpc", "sha512_compress", b"\xff" * 64, bytes(tw._KW), b"\xff" * 128) == bytes(st)


# ---- JSON (nip01 escaping, jsonspan) ------------------------------------------------------

_POOL = "ab \"\\/\x00\x01\x08\t\n\x0c\r\x1f\x7f é✓\u2028\u2029🦄\uffff"


def ref_escape(s):
    # JSON.stringify of a string without surrogates = json.dumps without ensure_ascii
    return json.dumps(s, ensure_ascii=False)[1:-1].encode()


def fill_all(fill, src, i, n, cap):
    out = bytearray(cap + 6)
    acc = bytearray()
    while i < n:
        r = fill(src, i, n, out, cap)
        i = r >> 10
        acc += out[0:r & 1023]
        if (r & 1023) < cap:
            break
    return bytes(acc), i


def test_nip01_escaping_twin_and_viper_match_json(fwv):
    tw = twinned("crypto/nip01.py")
    rng = random.Random(1)
    for _ in range(150):
        s = "".join(rng.choice(_POOL) for _ in range(rng.randrange(120)))
        b = s.encode()
        cap = rng.choice((1, 2, 5, 6, 7, 64, 506))
        assert fill_all(tw._fill, b, 0, len(b), cap) == (ref_escape(s), len(b))
        assert fwv.call("viper_rpc", "fill_all", b, 0, len(b), cap) == [ref_escape(s), len(b)]
        assert fwv.call("crypto.nip01", "json_string", s) == json.dumps(s, ensure_ascii=False)
    # a surrogate's CESU-8 form stops the scan where it starts
    b = b"ab\n" + "\ud83d".encode("utf-8", "surrogatepass") + b"c"
    assert fill_all(tw._fill, b, 0, len(b), 506) == (b"ab\\n", 3)
    assert fwv.call("viper_rpc", "fill_all", b, 0, len(b), 506) == [b"ab\\n", 3]


def test_nip01_escaping_near_the_1mb_limit(fwv):
    # the packed result needs 30 bits there: fine in a 32-bit word, and the caller
    # refuses longer strings, where it would not be
    tw = twinned("crypto/nip01.py")
    n = (1 << 20) - 1
    tail = ("é\"\x01" * 200).encode()
    src = bytes(n - len(tail)) + tail
    for i in (n - len(tail), n - 4):
        want = (ref_escape(src[i:].decode()), n)
        assert fill_all(tw._fill, src, i, n, 506) == want
        assert fwv.call("viper_rpc", "fill_all", src, i, n, 506) == list(want)


def test_nip01_utf8_strict_is_cpythons_strict_decoder(fwv):
    # RFC 3629 as CPython's decoder has it: overlongs, CESU-8 surrogates and past U+10FFFF
    # refused, in the twin and in viper on the unix port alike
    tw = twinned("crypto/nip01.py")
    rng = random.Random(3629)

    def ref(b):
        try:
            b.decode("utf-8")
            return 1
        except UnicodeDecodeError:
            return 0
    pool = b"a\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xed\xee\xef\xf0\xf4\xf5\xff"
    cases = [bytes(rng.choice(pool) for _ in range(rng.randrange(7))) for _ in range(400)]
    cases += ["é漢😀\U0010ffff".encode(), b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"]
    for b in cases:
        assert tw.utf8_strict(b, len(b)) == ref(b), b
        assert fwv.call("crypto.nip01", "utf8_strict", b, len(b)) == ref(b), b


def test_nip01_refuses_what_a_32_bit_word_cannot_pack(fwv):
    # _fill packs i << 10 | k into its int result: from i = 2^21 on that is negative in a
    # 32-bit word (the x64 port would not notice), so the caller must refuse such strings
    tw = twinned("crypto/nip01.py")
    src = bytes(1 << 21) + b"a"
    assert tw._fill(src, 1 << 21, (1 << 21) + 1, bytearray(512), 506) < 0
    assert fwv.call("viper_rpc", "fill_all", src, 1 << 21, (1 << 21) + 1, 506) == [b"a", (1 << 21) + 1]
    with pytest.raises(mpy.FirmwareError, match="longer than 1 MB"):
        fwv.call("crypto.nip01", "json_string", "a" * (1 << 20))


def ref_unescape(part):
    # one JSON string piece as MicroPython's json.loads leaves it: a \uXXXX is that UTF-16
    # unit's own UTF-8 form (a surrogate too, paired or not: CESU-8), the rest is as UTF-8
    if part.startswith("\\u"):
        return chr(int(part[2:], 16)).encode("utf-8", "surrogatepass")
    return json.loads('"' + part + '"').encode()


def ref_utf8_shape(b):
    need = 0
    for c in b:
        if need:
            if c & 0xC0 != 0x80:
                return False
            need -= 1
        elif c >= 0xF8 or 0x80 <= c < 0xC0:
            return False
        elif c >= 0xF0:
            need = 3
        elif c >= 0xE0:
            need = 2
        elif c >= 0xC0:
            need = 1
    return need == 0


def test_jsonspan_twin_and_viper_match_references(fwv):
    tw = twinned("crypto/jsonspan.py")
    rng = random.Random(2)
    esc = ["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "a", "é", "🦄"]
    units = (0, 0x1F, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xE000, 0xFFFF)
    for _ in range(200):
        parts = [rng.choice(esc) if rng.random() < 0.7 else "\\u%04x" % rng.choice(units) for _ in range(rng.randrange(12))]
        body = "".join(parts).encode()
        want = b"".join(ref_unescape(p) for p in parts)
        buf = bytearray(body)
        o = tw.unescape(buf, 0, len(buf))
        assert bytes(buf[:o]) == want
        vo, vbuf = fwv.call("viper_rpc", "unescape", body, 0, len(body))
        assert vbuf[:vo] == want
        assert tw.string_end(body + b'"x', 0, len(body) + 2) == len(body)
        assert fwv.call("crypto.jsonspan", "string_end", body + b'"x', 0, len(body) + 2) == len(body)
    for _ in range(300):
        b = bytes(rng.choice(b"a\x7f\x80\xbf\xc0\xdf\xe0\xef\xf0\xf7\xf8\xff") for _ in range(rng.randrange(9)))
        assert tw.utf8_ok(b, len(b)) == ref_utf8_shape(b)
        assert fwv.call("crypto.jsonspan", "utf8_ok", b, len(b)) == ref_utf8_shape(b)
        pat = bytes(rng.choice(b"a\x80\xff") for _ in range(rng.randrange(3)))
        i = rng.randrange(len(b) + 1)
        assert tw.find(b, len(b), pat, len(pat), i) == b.find(pat, i)
        assert fwv.call("crypto.jsonspan", "find", b, len(b), pat, len(pat), i) == b.find(pat, i)


# ---- base64 scans (nip44, envelope) ------------------------------------------------------

_ALPHA = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def ref_b64_eq(s):
    if any(c not in _ALPHA and c != 61 for c in s):
        return -1
    eq = s.find(b"=")
    if eq < 0:
        return len(s)
    return eq if set(s[eq:]) == {61} else -1


def ref_b64_end(s, i):
    for j in range(i, len(s)):
        if s[j] == 0x22:
            return j
        if s[j] not in _ALPHA and s[j] not in b"=?":
            return -1
    return -1


def ref_b64_run(s, i):
    for j in range(i, len(s)):
        if s[j] not in _ALPHA and s[j] not in b"=?":
            return j
    return len(s)


def test_base64_scans_twin_and_viper_match_references(fwv):
    n44 = {n: V.twin(os.path.join(mpy.FIRMWARE, "crypto/nip44.py"), n) for n in ("_b64_ok", "_b64_eq")}
    env = {n: V.twin(os.path.join(mpy.FIRMWARE, "signer/envelope.py"), n) for n in ("_b64_end", "_b64_run")}
    rng = random.Random(64)
    for _ in range(300):
        s = bytes(rng.choice(b"Az09+/==?\"-\x00\x80\xff") for _ in range(rng.randrange(10)))
        n = len(s)
        ok = re.fullmatch(rb"[A-Za-z0-9+/]*={0,2}", s) is not None
        assert n44["_b64_ok"](s, n) == ok
        assert fwv.call("crypto.nip44", "_b64_ok", s, n) == ok
        assert n44["_b64_eq"](s, n) == ref_b64_eq(s)
        assert fwv.call("crypto.nip44", "_b64_eq", s, n) == ref_b64_eq(s)
        i = rng.randrange(n + 1)
        assert env["_b64_end"](s, i, n) == ref_b64_end(s, i)
        assert fwv.call("signer.envelope", "_b64_end", s, i, n) == ref_b64_end(s, i)
        assert env["_b64_run"](s, i, n) == ref_b64_run(s, i)
        assert fwv.call("signer.envelope", "_b64_run", s, i, n) == ref_b64_run(s, i)


# ---- ST7789 row expansion ----------------------------------------------------------------

def ref_expand_row(src, stride, row, reps, n, out_w, rows, fg, bg):
    line = bytearray()
    for x in range(n):
        on = src[(row >> 3) * stride + x] >> (row & 7) & 1
        c = fg if on else bg
        line += bytes((c >> 8, c & 0xFF)) * reps[x]
    assert len(line) == out_w * 2
    return bytes(line) * rows


def test_st7789_expand_row_twin_and_viper_match_reference(fwv):
    tw = V.twin(os.path.join(mpy.FIRMWARE, "boards/st7789.py"), "expand_row")
    rng = random.Random(7789)
    reps = bytearray((x + 1) * 240 // 128 - x * 240 // 128 for x in range(128))
    for k in range(20):
        src = rng.randbytes(1024) if k else b"\xff" * 1024
        row, rows = rng.randrange(64), rng.randrange(1, 4)
        fg, bg = (0xFFFF, 0x8000) if k < 2 else (rng.getrandbits(16), rng.getrandbits(16))
        want = ref_expand_row(src, 128, row, reps, 128, 240, rows, fg, bg)
        dst = bytearray(240 * 2 * rows)
        tw(src, 128, row, reps, 128, dst, 240, rows, fg, bg)
        assert bytes(dst) == want
        assert fwv.call("viper_rpc", "expand_row", src, 128, row, bytes(reps), 128, 240, rows, fg, bg) == want


# ---- crypto/modinv.py ----------------------------------------------------------------

P_FIELD = 2**256 - 2**32 - 977


def ref_divsteps(delta, f, g, n=29):
    # Bernstein-Yang divsteps on whole ints, delta a Fraction: (delta, f, g) after n steps
    # and the matrix M with 2^n (f', g') = M (f, g)
    u, v, q, r = 1, 0, 0, 1
    for _ in range(n):
        if delta > 0 and g & 1:
            delta, f, g, u, v, q, r = 1 - delta, g, (g - f) >> 1, 2 * q, 2 * r, q - u, r - v
        elif g & 1:
            delta, g, u, v, q, r = 1 + delta, (g + f) >> 1, 2 * u, 2 * v, q + u, r + v
        else:
            delta, g, u, v = 1 + delta, g >> 1, 2 * u, 2 * v
    return delta, f, g, (u, v, q, r)


def divsteps_cases(rng):
    lo = (1 << 29) - 1
    # delta in halves, as _divsteps takes it: odd (from 1/2 on it stays a half-integer)
    for f in (1, lo, 1 << 28 | 1, 0x15555555):
        for g in (0, 1, lo, 1 << 28, 0x0AAAAAAA):
            for delta in (1, -1, 3, 57, -57, 1179, -1179):
                yield delta, f, g
    for _ in range(300):
        yield 2 * rng.randrange(-600, 600) + 1, rng.getrandbits(29) | 1, rng.getrandbits(29)


def test_divsteps_twin_and_viper_give_the_matrix_of_the_whole_numbers(fwv):
    # _divsteps sees 29 low bits; the matrix must be the one the full 256-bit f and g give,
    # and its entries small ints on a 32-bit port (|x| < 2^30)
    tw = twinned("crypto/modinv.py")
    rng = random.Random(7)
    cases = list(divsteps_cases(rng))
    got = fwv.call("viper_rpc", "divsteps_all", [list(c) for c in cases])
    for (delta, f, g), v in zip(cases, got):
        hi_f = (rng.getrandbits(227) << 29) | f
        hi_g = (rng.getrandbits(227) << 29) | g
        if rng.getrandbits(1):
            hi_g = -hi_g
            g = hi_g & ((1 << 29) - 1)
            v = fwv.call("viper_rpc", "divsteps", delta, f, g)
        d2, f2, g2, m = ref_divsteps(Fraction(delta, 2), hi_f, hi_g)
        t = bytearray(16)
        d_tw = tw._divsteps(delta, f, g, t)
        m_tw = tuple(int.from_bytes(t[i:i + 4], "little", signed=True) for i in range(0, 16, 4))
        assert (Fraction(d_tw, 2), m_tw) == (d2, m) == (Fraction(v[0], 2), tuple(v[1:])), (delta, f, g)
        u, w, q, r = m
        assert (u * hi_f + w * hi_g, q * hi_f + r * hi_g) == (f2 << 29, g2 << 29)
        assert all(-(1 << 30) < x < (1 << 30) for x in m)


def test_inverse_in_the_field_on_both_equals_pow(fwv):
    tw = twinned("crypto/modinv.py")
    rng = random.Random(8)
    xs = [1, 2, 3, P_FIELD - 1, P_FIELD - 2, 1 << 255, (1 << 256) - 1, P_FIELD + 5, (1 << 128) + 1,
          0x1000003D1] + [rng.randrange(1, P_FIELD) for _ in range(60)]
    got = fwv.call("viper_rpc", "inv_all", xs)
    for x, y in zip(xs, got):
        want = pow(x, -1, P_FIELD)
        assert y == want == tw.inv(x), hex(x)
    assert fwv.call("crypto.modinv", "inv", 0) == tw.inv(P_FIELD) == 0
