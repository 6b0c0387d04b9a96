"""crypto/ecmult_fe.py, ecmult's loop on fe_thumb's native field arithmetic (the RP2040's
path), against libsecp256k1: in CPython with the machine code's model
(tests/firmware/fe_model.py, itself checked against the machine code in
tests/test_fe_thumb.py), and end to end with the machine code itself in the emulated
Cortex-M0."""
import os
import random
import sys

import coincurve
import pytest

import test_ecmult_bounds as tb
import thumb_emu as te

sys.path.insert(0, os.path.join(te.HERE, "firmware"))
import fe_model as fm  # noqa: E402

N = tb.N
_cc, _aff, _scalars, _sum = tb._cc, tb._aff, tb._scalars, tb.cc_sum


def _loaded(fe):
    em = tb.load_ecmult(rewrite=False, extra=("secp256k1", "ecmult_fe"),
                        then=lambda em: em.ecmult_fe.install(fe))
    assert em.run is em.ecmult_fe.run and em.sqrt is em.ecmult_fe.sqrt and em.tables is em.ecmult_fe.tables
    assert em.jacobi is em.ecmult_fe.jacobi
    return em


@pytest.fixture(scope="module")
def ef():
    return _loaded(fm.run)


def test_a_field_code_that_answers_wrong_is_not_installed():
    # every 64th call flips a bit of X: the known answer at install catches it, and the
    # bignum code stays in place (a board must not sign with it)
    calls = [0]

    def broken(ws, prog, tab, off):
        r = fm.run(ws, prog, tab, off)
        calls[0] += 1
        if calls[0] % 64 == 0:
            ws[32 * 4] ^= 1          # X's lowest byte
        return r

    got = []
    em = tb.load_ecmult(rewrite=False, extra=("secp256k1", "ecmult_fe"),
                        then=lambda m: got.append(m.ecmult_fe.install(broken)))
    assert got == [False] and calls[0] > 64
    assert em.ecmult_fe._ws is None
    assert em.run is not em.ecmult_fe.run and em.tables is not em.ecmult_fe.tables
    assert em.sqrt is not em.ecmult_fe.sqrt and em.jacobi is not em.ecmult_fe.jacobi
    # and the model itself passes it
    good = []
    tb.load_ecmult(rewrite=False, extra=("secp256k1", "ecmult_fe"),
                   then=lambda m: good.append(m.ecmult_fe.install(fm.run)))
    assert good == [True]


@pytest.mark.parametrize("blocks", [1, 4])
def test_base_multiples_on_the_native_loop_are_libsecp256k1s(ef, blocks):
    rnd = random.Random(30 + blocks)
    ef._comb = ef.layouts[blocks]
    for k in _scalars(rnd, 40):
        assert _aff(ef, ef.base_mul(k)) == _cc(k), hex(k)


def test_variable_base_and_combined_multiples_on_the_native_loop_are_libsecp256k1s(ef):
    rnd = random.Random(33)
    ef._comb = ef.layouts[4]
    for k in _scalars(rnd, 12):
        q = _cc(rnd.randrange(1, N))
        for bases in (1, 4, 8):
            t = ef.tables(q, bases)
            assert _aff(ef, ef.point_mul(t, k)) == _cc(k, q), hex(k)
            a = rnd.randrange(1, N)
            assert _aff(ef, ef.mul_add(a, k, t)) == _sum(_cc(a), _cc(k, q))


def test_a_point_added_to_itself_or_its_negation_on_the_native_loop(ef):
    # a*G + a*G meets H == 0 with R == 0 (the machine code's zero test returns 3: double)
    # and a*G - a*G with R != 0 (2: infinity), with G's own tables beside the comb
    ef._comb = ef.layouts[4]
    for tg in (ef.tables(ef.G, 4), ef.tables(ef.G, 8)):
        for a in (5, 1 << 70, N - 3):
            assert _aff(ef, ef.mul_add(a, a, tg)) == _cc(2 * a % N)
            assert ef.mul_add(a, N - a, tg) == (0, 0, 0)
    assert ef.base_mul(N) == (0, 0, 0) and ef.base_mul(0) == (0, 0, 0)


def test_tables_on_the_native_field_are_the_bignum_tables_byte_for_byte(ef):
    rnd = random.Random(37)
    big = tb.load_ecmult(rewrite=False)
    for _ in range(6):
        q = _cc(rnd.randrange(1, N))
        for bases in (1, 4, 8):
            t = ef.tables(q, bases)
            assert t == big.tables(q, bases)
            assert ef.tables(q, bases, t[:1]) == t      # a 1-base table upgraded
    # the isomorphic point a new peer's ECDH uses (secp256k1._fresh_x): (g x, g^2)
    x = _cc(5)[0]
    g = (x ** 3 + 7) % ef.P
    iso = (g * x % ef.P, g * g % ef.P)
    assert ef.tables(iso) == big.tables(iso)


def test_square_roots_and_the_jacobi_symbol_on_the_native_chain(ef):
    rnd = random.Random(36)
    P = ef.P
    big = tb.load_ecmult(rewrite=False)      # its bignum sqrt, for comparison
    for a in [0, 1, 2, 3, 4, 7, P - 1, P - 4] + [rnd.randrange(P) for _ in range(60)]:
        r = ef.sqrt(a)
        assert r == big.sqrt(a) and 0 <= r < P
        want = 0 if a == 0 else (1 if pow(a, (P - 1) // 2, P) == 1 else -1)
        assert ef.jacobi(a) == want, a
    sec = ef.secp256k1
    # lift_x and the new peer's ECDH (the Jacobi symbol) against libsecp256k1
    for _ in range(20):
        x = rnd.randrange(P)
        try:
            want = coincurve.PublicKey(b"\x02" + x.to_bytes(32, "big")).format(compressed=False)
        except ValueError:
            want = None
        got = sec.lift_x(x)
        assert (got is None) == (want is None)
        if got:
            assert got[0] == x and got[1] % 2 == 0 and pow(got[1], 2, P) == (x ** 3 + 7) % P
            assert sec.pubkey_valid(x.to_bytes(32, "big"))
            d = rnd.randrange(1, N)
            shared = coincurve.PublicKey(want).multiply(d.to_bytes(32, "big")).format()[1:]
            sec.clear_cache()
            assert sec.ecdh_x(d.to_bytes(32, "big"), x.to_bytes(32, "big")) == shared
        else:
            assert not sec.pubkey_valid(x.to_bytes(32, "big"))


class _Chip:
    """fe_thumb.run as the chip runs it: the machine code in the emulated Cortex-M0, its
    buffers copied in and out at each call."""

    def __init__(self):
        self.cpu = te.Thumb(te.asm_functions(te.compile_armv6m(os.path.join(
            te.ROOT, "firmware", "crypto", "fe_thumb.py")))["run"], count=False)
        self.tabs = {}
        self.calls = 0

    def __call__(self, ws, prog, tab, off):
        cpu = self.cpu
        if tab is not None and id(tab) not in self.tabs:
            self.tabs[id(tab)] = (cpu.buffer(tab), tab)
        base = cpu.heap
        wa, pa = cpu.buffer(ws), cpu.buffer(prog)
        r, _ = cpu.call(wa, pa, self.tabs[id(tab)][0] if tab is not None else 0, off)
        ws[:] = cpu.read(wa, len(ws))
        cpu.heap = base
        self.calls += 1
        return r


def test_sign_verify_and_ecdh_multiplications_with_the_machine_code_itself():
    chip = _Chip()
    em = _loaded(chip)
    em._comb = em.layouts[4]
    rnd = random.Random(35)
    for k in (1, N - 1, rnd.randrange(1, N)):
        assert _aff(em, em.base_mul(k)) == _cc(k)
    q = _cc(rnd.randrange(1, N))
    t = em.tables(q, 4)
    k, a = rnd.randrange(1, N), rnd.randrange(1, N)
    assert _aff(em, em.point_mul(t, k)) == _cc(k, q)
    assert _aff(em, em.mul_add(a, k, t)) == _sum(_cc(a), _cc(k, q))
    assert em.mul_add(a, N - a, em.tables(em.G, 4)) == (0, 0, 0)
    assert chip.calls > 300
