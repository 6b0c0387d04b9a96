"""crypto/fe_thumb.py, the field arithmetic in Thumb-1 machine code, as the RP2040 gets it:
assembled by mpy-cross -march=armv6m, run in an emulated Cortex-M0 (tests/thumb_emu.py),
and compared with its model (tests/firmware/fe_model.py) and with field arithmetic by
Python integers. The model is what crypto.ecmult's board path runs on machines without
the assembler (tests/test_ecmult_thumb.py), so the chain is: machine code == model ==
the field."""
import os
import random
import sys

import pytest

import thumb_emu as te

sys.path.insert(0, os.path.join(te.HERE, "firmware"))
import fe_model as fm  # noqa: E402

SRC = os.path.join(te.ROOT, "firmware", "crypto", "fe_thumb.py")
P = fm.P
SLOTS = 20
EDGES = (0, 1, 2, P - 1, P, P + 1, 2**256 - 1, 2**256 - 2, fm.C - 1, fm.C, fm.C + 1,
         2**255, 2**32 - 1, 2**32, (2**256 - 1) // 3, 0xFFFF << 240)
END, MUL, ADD, SUB, LDX, LDY, ZT, CAN, SQN = 0, 1, 2, 3, 4, 5, 6, 7, 8


@pytest.fixture(scope="module")
def cpu():
    fns = te.asm_functions(te.compile_armv6m(SRC))
    assert list(fns) == ["run"]
    return te.Thumb(fns["run"])


def test_the_machine_code_is_thumb_1_throughout(cpu, tmp_path):
    assert te.not_armv6m(cpu.code) == []
    # the check sees Thumb-2 (mpy-cross -march=armv7m allows movw; unicorn runs it)
    src = tmp_path / "t2.py"
    src.write_text("@micropython.asm_thumb\ndef f(r0):\n    movw(r0, 1234)\n    add(r0, 1)\n")
    assert te.not_armv6m(te.asm_functions(te.compile_armv6m(str(src), "armv7m"))["f"]) == [2]


def test_an_unaligned_word_access_is_caught(tmp_path):
    # the chip faults on it; the emulator alone would not
    src = tmp_path / "u.py"
    src.write_text("@micropython.asm_thumb\ndef f(r0):\n    ldr(r0, [r0, 0])\n")
    cpu = te.Thumb(te.asm_functions(te.compile_armv6m(str(src)))["f"])
    a = cpu.buffer(bytes(8))
    assert cpu.call(a)[0] == 0
    with pytest.raises(AssertionError, match="unaligned"):
        cpu.call(a + 2)


def _ws(values):
    ws = bytearray(32 * SLOTS)
    for s, v in values.items():
        ws[32 * s:32 * s + 32] = v.to_bytes(32, "little")
    return ws


def _slot(ws, s):
    return int.from_bytes(ws[32 * s:32 * s + 32], "little")


def _both(cpu, ws, prog, tab=b"\0" * 64, off=0):
    """Run prog on the emulated chip and on the model: (r0, ws after, cycles), checked
    equal. Slot 0 is the machine code's scratch, slots 1-2 its product, 3 a multiplier
    reversed: not compared."""
    base = cpu.heap
    wa, pa, ta = cpu.buffer(ws), cpu.buffer(prog), cpu.buffer(tab)
    r, cycles = cpu.call(wa, pa, ta, off)
    got = cpu.read(wa, len(ws))
    cpu.heap = base
    model = bytearray(ws)
    assert r == fm.run(model, prog, tab, off), list(prog)
    assert got[128:] == bytes(model[128:]), "machine code and model differ on %r" % list(prog)
    return r, bytearray(got), cycles


def test_each_operation_agrees_with_the_model_on_random_and_edge_values(cpu):
    rnd = random.Random(46)
    tab = bytes(rnd.getrandbits(8) for _ in range(256))
    for _ in range(400):
        vals = {s: rnd.choice(EDGES) if rnd.random() < 0.35 else rnd.getrandbits(256)
                for s in range(4, SLOTS)}
        prog = []
        for _ in range(8):
            prog += [rnd.choice((MUL, MUL, ADD, SUB, LDX, LDY, ZT, CAN, SQN)),
                     rnd.randrange(4, SLOTS), rnd.randrange(4, SLOTS), rnd.randrange(4, SLOTS)]
        _both(cpu, _ws(vals), bytes(prog + [END] * 4), tab, 64 * rnd.randrange(4))


def test_results_are_the_field_operations_below_2_to_the_256(cpu):
    rnd = random.Random(7)
    for _ in range(150):
        a = rnd.choice(EDGES) if rnd.random() < 0.5 else rnd.getrandbits(256)
        b = rnd.choice(EDGES) if rnd.random() < 0.5 else rnd.getrandbits(256)
        prog = bytes([MUL, 5, 10, 4, ADD, 6, 10, 4, SUB, 7, 10, 4, CAN, 8, 10, 0, MUL, 9, 10, 10, END, 0, 0, 0])
        r, ws, _ = _both(cpu, _ws({10: a, 4: b}), prog)
        assert r == 0
        for s, want in ((5, a * b), (6, a + b), (7, a - b), (8, a), (9, a * a)):
            assert _slot(ws, s) % P == want % P and _slot(ws, s) < 2**256, (s, hex(a), hex(b))
        assert _slot(ws, 8) == a % P


def test_repeated_squaring_is_a_to_the_2_to_the_n(cpu):
    rnd = random.Random(9)
    for n in (1, 2, 3, 11, 44):
        a = rnd.getrandbits(256)
        _, ws, _ = _both(cpu, _ws({4: a}), bytes([SQN, 10, 4, n, SQN, 4, 4, 1, END, 0, 0, 0]))
        assert _slot(ws, 10) % P == pow(a, 2**n, P)
        assert _slot(ws, 4) % P == a * a % P     # in place


def test_an_operand_may_be_its_own_result(cpu):
    rnd = random.Random(8)
    a, b = rnd.getrandbits(256), rnd.getrandbits(256)
    for op, want in ((MUL, a * b), (ADD, a + b), (SUB, a - b)):
        _, ws, _ = _both(cpu, _ws({10: a, 4: b}), bytes([op, 10, 10, 4, END, 0, 0, 0]))
        assert _slot(ws, 10) % P == want % P
        _, ws, _ = _both(cpu, _ws({10: a, 4: b}), bytes([op, 4, 10, 4, END, 0, 0, 0]))
        assert _slot(ws, 4) % P == want % P


def test_table_entries_load_big_endian_from_an_offset(cpu):
    x, y = 0x0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20, P - 5
    tab = b"\xAA" * 64 + x.to_bytes(32, "big") + y.to_bytes(32, "big")
    _, ws, _ = _both(cpu, _ws({}), bytes([LDX, 10, 0, 0, LDY, 4, 0, 0, END, 0, 0, 0]), tab, 64)
    assert (_slot(ws, 10), _slot(ws, 4)) == (x, y)


@pytest.mark.parametrize("a,b,want", [(0, 5, 2), (P, 5, 2), (0, 0, 3), (P, P, 3), (0, P, 3),
                                      (1, 0, 0), (P - 1, 0, 0), (2**256 - 1, 0, 0), (fm.C, 0, 0)])
def test_the_zero_test_stops_at_0_or_p_and_says_whether_b_is_zero(cpu, a, b, want):
    # ZT a, b, then a MUL that must not run when it stops
    prog = bytes([ZT, 0, 10, 4, MUL, 5, 6, 6, END, 0, 0, 0])
    r, ws, _ = _both(cpu, _ws({10: a, 4: b, 6: 3}), prog)
    assert r == want
    assert _slot(ws, 5) == (0 if want else 9)


def test_an_unknown_operation_ends_the_run(cpu):
    r, ws, _ = _both(cpu, _ws({10: 2}), bytes([MUL, 4, 10, 10, 200, 0, 0, 0, MUL, 5, 10, 10, END, 0, 0, 0]))
    assert r == 0 and _slot(ws, 4) == 4 and _slot(ws, 5) == 0


def cycles_per_operation(cpu=None):
    """{op name: Cortex-M0+ cycles} of one operation, the run's own cost apart: the
    bench's chip estimate prices crypto.ecmult's board path with these."""
    cpu = cpu or te.Thumb(te.asm_functions(te.compile_armv6m(SRC))["run"])
    rnd = random.Random(1)
    vals = {s: rnd.getrandbits(256) for s in range(4, SLOTS)}
    _, _, empty = _both(cpu, _ws(vals), bytes(4))
    out = {"run": empty}
    for name, op in (("mul", MUL), ("add", ADD), ("sub", SUB), ("ld", LDX), ("can", CAN), ("zt", ZT)):
        _, _, c = _both(cpu, _ws(vals), bytes([op, 5, 6, 7, END, 0, 0, 0]))
        out[name] = c - empty
    # SQN d, a, n: "sqn" once and "sq" a squaring
    _, _, c1 = _both(cpu, _ws(vals), bytes([SQN, 5, 6, 1, END, 0, 0, 0]))
    _, _, c9 = _both(cpu, _ws(vals), bytes([SQN, 5, 6, 9, END, 0, 0, 0]))
    out["sq"] = (c9 - c1) // 8
    out["sqn"] = c1 - empty - out["sq"]
    return out


def test_a_multiply_takes_a_few_thousand_cycles_and_the_rest_a_few_hundred(cpu):
    c = cycles_per_operation(cpu)
    print(c)
    # 256 half-word products at 7 cycles (a jump into an unrolled block a column), the
    # column ends and the reduction: 3,190 (25 us at 125 MHz, against ~110 us for a
    # bignum multiply and folds on the chip); 4,130 with a counted loop a column
    assert 2000 < c["mul"] < 3400
    assert all(c[k] < 300 for k in ("add", "sub", "ld", "can", "zt", "run", "sqn"))
    assert abs(c["sq"] - c["mul"]) < 100     # a squaring is a multiply (for now)


def test_every_inline_assembler_function_in_the_firmware_is_checked_here():
    # machine code no test runs on a Cortex-M0 would be right only by luck: each file
    # with @micropython.asm_thumb must be this file's SRC
    found = []
    for root, _, files in os.walk(os.path.join(te.ROOT, "firmware")):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(root, f)
                with open(path) as fh:
                    if "@micropython.asm_thumb" in fh.read():
                        found.append(os.path.relpath(path, te.ROOT))
    assert found == [os.path.relpath(SRC, te.ROOT)]


def test_the_bundle_carries_the_machine_code_these_tests_run(cpu, tmp_path):
    # compiled as tools/flash.py builds the pico bundle (its flags, its -s name)
    sys.path.insert(0, os.path.join(te.ROOT, "tools"))
    import flash
    out = tmp_path / "fe_thumb.mpy"
    flash._compile(SRC, "crypto/fe_thumb.py", str(out), flash.BOARDS["pico"]["arch"], flash.mpy_flags())
    assert te.asm_functions(out.read_bytes())["run"] == cpu.code
