# crypto.ecmult_fe, the RP2040's loop on native field arithmetic, on MicroPython: here the
# machine code is replaced by its model (fe_model.py, checked against the machine code in
# tests/test_fe_thumb.py), so what runs is the board's Python around it, on the real
# MicroPython runtime. Results must equal the bignum loop's, and the BIP-340 vectors pass.
# heap: 1M (the model of the machine code computes with bignums: its heap is not the chip's)
import os

from crypto import ecmult, secp256k1 as ec
import fe_model
from fw_secp256k1 import _vectors  # the BIP-340 vectors, as that file reads them

BIGNUM_RUN = ecmult.run
BIGNUM = (ecmult.sqrt, ecmult.tables, ecmult.jacobi)


def _installed():
    from crypto import ecmult_fe
    if ecmult.run is BIGNUM_RUN:
        ecmult_fe.install(fe_model.run)
        ec.clear_cache()
    return ecmult_fe


def _scalars(n):
    out = [1, 2, ecmult.N - 1, 1 << 128, ecmult.LAMBDA]
    for _ in range(n):
        out.append(int.from_bytes(os.urandom(32), "big") % ecmult.N)
    return out


def test_installing_the_native_loop_takes_little_heap():
    # the 1,824-byte workspace and the programs (1.8 KB of bytes): 4.4 KB here (the
    # module's code is in ROMFS on a board, and the machine code is fe_thumb's, about
    # 1 KB). Tests run in name order: whatever an earlier one installed is let go first.
    import gc
    from crypto import ecmult_fe
    _installed()
    ecmult_fe._ws = ecmult_fe._progs = None
    gc.collect()
    before = gc.mem_alloc()
    ecmult_fe.install(fe_model.run)
    gc.collect()
    used = gc.mem_alloc() - before
    assert 3072 < used < 5120, used


def test_the_native_loop_gives_the_bignum_loops_points():
    ks = _scalars(12)
    q = ecmult.G
    for _ in range(3):
        q = ec._aff(ecmult.base_mul(int.from_bytes(os.urandom(32), "big")))
    t = ecmult.tables(q, 4)
    want = [(ecmult.base_mul(k), ecmult.point_mul(t, k), ecmult.mul_add(k, k + 7, t)) for k in ks]
    want = [tuple(ecmult.to_affine(*j) for j in w) for w in want]
    _installed()
    got = [(ecmult.base_mul(k), ecmult.point_mul(t, k), ecmult.mul_add(k, k + 7, t)) for k in ks]
    got = [tuple(ecmult.to_affine(*j) for j in g) for g in got]
    assert got == want
    assert ecmult.mul_add(5, ecmult.N - 5, ecmult.tables(ecmult.G, 4)) == (0, 0, 0)


def test_bip340_vectors_on_the_native_loop():
    _installed()
    for i, (sk, pub, aux, msg, sig), ok, comment in _vectors():
        if sk:
            assert ec.pubkey(sk) == pub, i
            assert ec.schnorr_sign(msg, sk, aux) == sig, i
        assert ec.schnorr_verify(msg, pub, sig) is ok, (i, comment)


def test_ecdh_on_the_native_loop_agrees_both_ways():
    _installed()
    a = os.urandom(32)
    b = os.urandom(32)
    pa, pb = ec.pubkey(a), ec.pubkey(b)
    assert ec.ecdh_x(a, pb) == ec.ecdh_x(b, pa)


def _pico():
    # boards/pico.py against the fake `machine` (as fw_boards.py loads it)
    import sys
    for p in sys.path:
        try:
            os.stat(p + "/fake_machine/machine.py")
            sys.path.insert(0, p + "/fake_machine")
            break
        except OSError:
            pass
    from boards import pico
    return pico


def _as_fe_thumb(run):
    # crypto.fe_thumb as a board would import it, its machine code replaced by `run`
    import sys
    import crypto

    class M:
        pass
    m = M()
    m.run = run
    sys.modules["crypto.fe_thumb"] = m
    crypto.fe_thumb = m


def test_the_pico_board_keeps_the_bignum_loop_when_the_machine_code_answers_wrong():
    import sys
    from crypto import ecmult_fe
    pico = _pico()
    ecmult.run, ecmult.sqrt, ecmult.tables = BIGNUM_RUN, BIGNUM[0], BIGNUM[1]
    ecmult.jacobi = BIGNUM[2]
    ec.clear_cache()

    def wrong(ws, prog, tab, off):
        r = fe_model.run(ws, prog, tab, off)
        ws[32 * ecmult_fe.X] ^= 1
        return r
    _as_fe_thumb(wrong)
    assert pico.native_field() is False
    assert ecmult.run is BIGNUM_RUN and ecmult.jacobi is BIGNUM[2]
    assert "crypto.ecmult_fe" not in sys.modules and "crypto.fe_thumb" not in sys.modules
    # and with an answer that holds, the board installs it
    _as_fe_thumb(fe_model.run)
    assert pico.native_field() is True
    assert ecmult.run is not BIGNUM_RUN
    assert ec.schnorr_verify(bytes(32), ec.pubkey(bytes([3]) * 32),
                             ec.schnorr_sign(bytes(32), bytes([3]) * 32, bytes(32)))
