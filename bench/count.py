"""Primitive counts and a chip-time estimate (part of `make bench`; `--quick` alone).

The shipped firmware has no counters. This script (CPython) writes an instrumented copy
of the crypto core to build/count/ (a source-to-source rewrite with `ast`): every binary
operation, comparison, call, attribute load, subscript and loop iteration in
crypto/secp256k1.py, ecmult.py, nip01.py, kdf.py and nip44.py goes through a counter in
bench/counters.py, which classifies it by operand size (a 256-bit multiply, a `% P` of a
512-bit product, a bignum add or shift, a small-int op, a bytes slice, int.from_bytes,
sha256 bytes, a call of a viper routine priced per step ...). bench/count_mpy.py runs each operation on the
unix port with that copy first on the path and prints the counts; this script multiplies
them by what each primitive costs on the chip (CHIP_US, from docs/FIELD-NOTES.md,
"What primitives cost on the chip") and prints the estimate beside the x64 time of the
uninstrumented firmware.

    python bench/count.py [--quick] [OP ...]
"""
import ast
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import mpy  # noqa: E402

OUT = os.path.join(ROOT, "build", "count")
INSTRUMENT = {"crypto": ("secp256k1.py", "ecmult.py", "ecmult_fe.py", "modinv.py", "nip01.py", "kdf.py",
                         "nip44.py"),
              # the signer's own Python, for request_device (a whole request's code)
              "signer": ("envelope.py", "rpc.py", "methods.py", "replay.py", "clients.py"),
              "": ("link.py",)}

# µs on the RP2040 at 125 MHz, interrupts off (FIELD-NOTES.md, measured 2026-12-02).
CHIP_US = {
    "loop": 3.3, "call": 7.2, "method": 11.9, "attr": 1.7, "small": 1.6,
    "big_add": 13.5, "mul": 55.6,
    # `% P` of a 512-bit product: the table's 198 is `x % P` alone; "our field multiply
    # a * b % p 231" less the multiply's 55.6 gives 175 in the loops that matter here
    "mod512": 175.0, "slice_bytes": 18.4, "slice_mv": 7.7,
    "from_bytes": 18.6, "to_bytes": 29.2, "new_obj": 13.0, "gc_byte": 0.057,
    "sha_base": 144.0, "sha_byte": 1.148,      # 64 B: 217, 1 KB: 1319 (a line through both)
    "pow": 120000.0,
    # crypto/modinv.py's _divsteps, 29 steps of machine code a call. Not measured on the
    # chip: priced at 1 µs a step plus a call with four arguments (10). The table's viper
    # rows agree: a byte-loop iteration 0.25, and a 16x16-limb schoolbook multiply 273 for
    # 256 inner steps of about ten word operations (1.07 a step; a divstep is a dozen).
    # Counted with the interpreter rows (x3 under the emulator's interrupts), to err high.
    "divsteps": 29 * 1.0 + 10.0,
}
# The Euclid inversion crypto/modinv.py replaced: 12.3 ms measured (FIELD-NOTES), 10.3
# by these rows counted step by step (its divisions, products, differences): rows
# priced so can run ~20 % low, as inv's are now.
# The chip figures the goals are in were taken with rp2040js's USB interrupts running:
# bytecode-heavy work 3.0x slower (an empty loop 3.3 -> 9.9 µs), a long C call +2 %.
IRQ_INTERP = 9.9 / 3.3
# The RP2040 runs ecmult's loop on crypto/fe_thumb.py's machine code (boards/pico.py).
# Its operations are priced by their Cortex-M0+ cycles, counted on the machine code
# mpy-cross assembles, in the emulated Cortex-M0 of tests/thumb_emu.py, at 125 MHz; with
# the C rows' x1.02 for the interrupts (C was slowed 2 % and bytecode 3x, presumably by
# the VM's own polling, which machine code does not run: inferred, not measured; at x3
# request_device would be ~90 ms more). A call of it from Python: a call with four
# arguments converted (a buffer's address or a small int's value each).
CPU_MHZ = 125.0
FE_ARG_US = 1.7


def fe_cycles():
    """{op: cycles} of fe_thumb's operations (tests/test_fe_thumb.py measures them)."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import test_fe_thumb
    return test_fe_thumb.cycles_per_operation()


_FE_CYCLES = []
IRQ_C = 1.02
INTERP = ("loop", "call", "method", "attr", "small", "index", "cmp", "divsteps", "fe_call")


def _cost_rows(c):
    """counts (from counters.py) -> {row: chip µs, interrupts off}."""
    k = CHIP_US
    rows = {
        "loop": c["loop"] * k["loop"],
        "call": c["call"] * k["call"] + c["builtin"] * k["call"],
        "method": c["method"] * k["method"],
        "attr": c["attr"] * k["attr"],
        "small": c["small"] * k["small"],
        "index": c["index"] * k["small"],
        "cmp": c["cmp"] * k["small"],
        "big_add": c["big_add"] * k["big_add"],
        # a multiply's digit work scales with (digits a) x (digits b), 16-bit digits;
        # c["mul_w"] is that product summed over multiplies, in units of 16 x 16
        "mul": c["mul"] * k["new_obj"] + c["mul_w"] * (k["mul"] - k["new_obj"]),
        # a % of a 2n-digit x by an n-digit modulus: quotient digits x divisor digits,
        # c["mod_w"] in units of a 512-bit % 256-bit
        "mod": c["mod"] * k["new_obj"] + c["mod_w"] * (k["mod512"] - k["new_obj"]),
        "slice": c["slice_bytes"] * k["slice_bytes"] + c["slice_mv"] * k["slice_mv"],
        "from_bytes": c["from_bytes"] * k["from_bytes"],
        "to_bytes": c["to_bytes"] * k["to_bytes"],
        "sha256": c["sha_blocks"] * k["sha_base"] + c["sha_bytes"] * k["sha_byte"],
        "divsteps": c["divsteps"] * k["divsteps"],
        "pow": c["pow"] * k["pow"],
        "fe_call": c.get("fe_call", 0) * (k["call"] + 4 * FE_ARG_US),
    }
    if c.get("fe_call"):
        if not _FE_CYCLES:
            _FE_CYCLES.append(fe_cycles())
        cy = _FE_CYCLES[0]
        rows["native"] = (c["fe_call"] * cy["run"] + sum(
            c.get("fe_" + op, 0) * cy[op] for op in ("mul", "add", "sub", "ld", "zt", "can", "sqn", "sq"))) / CPU_MHZ
    # The table's rows were timed in loops that allocate, so their collections are in
    # them already; the bytes are reported (gc_ms) but not added again.
    return rows


def gc_ms(c):
    return c["alloc_bytes"] * CHIP_US["gc_byte"] / 1000


def estimate(c):
    """(ms interrupts off, ms as the goals are measured: with USB interrupts, rows)."""
    rows = _cost_rows(c)
    off = sum(rows.values()) / 1000
    irq = sum(v * (IRQ_INTERP if r in INTERP else IRQ_C) for r, v in rows.items()) / 1000
    return off, irq, rows


# ---- the rewrite ----------------------------------------------------------------------------

_BIN = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Mod: "mod", ast.FloorDiv: "div",
        ast.LShift: "shl", ast.RShift: "shr", ast.BitAnd: "and", ast.BitOr: "or",
        ast.BitXor: "xor", ast.Pow: "pow", ast.Div: "tdiv"}


def _viper(fn):
    for d in fn.decorator_list:
        if isinstance(d, ast.Attribute) and d.attr in ("viper", "native"):
            return True
    return False


def _call(name, *args):
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


class _Count(ast.NodeTransformer):
    def visit_FunctionDef(self, node):
        if _viper(node):
            return node  # machine code on the chip: timed as a whole, not rewritten
        node.body = [self.visit(s) for s in node.body]
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        op = _BIN.get(type(node.op))
        if op is None:
            return node
        return _call("_kb", ast.Constant(op), node.left, node.right)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        op = _BIN.get(type(node.op))
        if op is None or not isinstance(node.target, ast.Name):
            return node
        load = ast.Name(id=node.target.id, ctx=ast.Load())
        return ast.Assign(targets=[node.target], value=_call("_kb", ast.Constant(op), load, node.value))

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.USub, ast.Invert)):
            return _call("_ku", ast.Constant("neg" if isinstance(node.op, ast.USub) else "inv"), node.operand)
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        return _call("_kcmp", node)

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _call("_ka", node.value)
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            if isinstance(node.slice, ast.Slice):
                return _call("_kslice", node.value, node.slice.lower or ast.Constant(None),
                             node.slice.upper or ast.Constant(None))
            node.value = _call("_kidx", node.value)
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else (f.id if isinstance(f, ast.Name) else "")
        kind = {"from_bytes": "from_bytes", "fb": "from_bytes", "to_bytes": "to_bytes",
                "_divsteps": "divsteps", "pow": "pow", "sha256": "sha", "update": "sha_update",
                "digest": "sha_digest", "fe": "fe_call", "_fe": "fe_call"}.get(name)
        if kind is None:
            kind = "method" if isinstance(f, ast.Attribute) else (
                "builtin" if name in ("len", "range", "isinstance", "abs", "bytes", "int",
                                      "tuple", "list", "max", "min", "bytearray", "memoryview")
                else "call")
        node.args = [ast.Constant(kind), f] + node.args
        node.func = ast.Name(id="_kc", ctx=ast.Load())
        return node

    def _loop(self, node):
        self.generic_visit(node)
        node.body.insert(0, ast.Expr(_call("_kloop")))
        return node

    visit_For = visit_While = _loop


_HEADER = "from counters import _kb, _ku, _kcmp, _ka, _kidx, _kslice, _kc, _kloop\n"


def instrument(src):
    tree = _Count().visit(ast.parse(src))
    ast.fix_missing_locations(tree)
    body = ast.unparse(tree)
    # `from __future__`-free sources: the counter import goes first
    return _HEADER + body + "\n"


def build():
    """build/count/: firmware/crypto with the chosen modules rewritten, the rest copied."""
    shutil.rmtree(OUT, ignore_errors=True)
    for pkg, files in INSTRUMENT.items():
        src_dir = os.path.join(ROOT, "firmware", pkg)
        dst = os.path.join(OUT, pkg)
        os.makedirs(dst, exist_ok=True)
        for fn in os.listdir(src_dir):
            # a package whole (its other modules copied as they are); top level: the
            # files named only
            if not fn.endswith(".py") or (not pkg and fn not in files):
                continue
            with open(os.path.join(src_dir, fn)) as f:
                src = f.read()
            if fn in files:
                src = instrument(src)
            with open(os.path.join(dst, fn), "w") as f:
                f.write(src)
    shutil.copy(os.path.join(HERE, "counters.py"), OUT)
    return OUT


OPS = ["sign", "verify", "verify_fresh_key", "ecdh", "ecdh_again", "ecdh_fresh_key", "inv",
       "nip44_1k", "request", "request_device", "native_check"]
# the RP2040's path only: nothing to count or time on the bignum loop
NATIVE_ONLY = ("native_check",)
# what the chip measured for today's code (FIELD-NOTES.md), and the goals (issue 12)
CHIP_MEASURED_MS = {"sign": 139, "verify": 266, "verify_fresh_key": 550, "ecdh_fresh_key": 490,
                    "inv": 12.3, "nip44_1k": 27, "request_device": 735}
GOAL_MS = {"sign": 70, "verify": 130, "ecdh_fresh_key": 200, "request_device": 300}
# What no row prices in a request on the device (C builtins' work by the byte, the main
# loop, the `done` line): the measured 700-770 ms less the estimate of the code then,
# less the signer's Python request_device counts since (docs/speed.md, "Model error").
UNCOUNTED_MS = {"request_device": 75}


def run_counts(ops, quick=False, native=True):
    """Counts of each op; native: on the RP2040's path (ecmult's loop on fe_thumb's
    machine code, here its model tests/firmware/fe_model.py), else the bignum loop
    (boards without the Thumb assembler: the ESP32, the simulator)."""
    env = mpy.mpy_env(compiled=False)
    env["MICROPYPATH"] = OUT + ":" + os.path.join(ROOT, "tests", "firmware") + ":" + env["MICROPYPATH"]
    env["NATIVE_FIELD"] = "1" if native else "0"
    out = {}
    for op in ops:
        if not native and op in NATIVE_ONLY:
            continue
        p = subprocess.run([mpy.micropython_bin(), "-X", "heapsize=16M",
                            os.path.join(HERE, "count_mpy.py"), "count", op],
                           capture_output=True, env=env, cwd=ROOT, timeout=600)
        if p.returncode:
            out[op] = {"error": p.stderr.decode()[-800:]}
            continue
        out[op] = json.loads(p.stdout.decode().strip().splitlines()[-1])
    return out


# request_device loads the signer's code as .mpy files onto the heap (a board runs it
# from ROMFS or flash): it is timed at a heap that holds it
TIME_HEAP = {"request_device": "256K"}


def run_times(ops, quick=False):
    """x64 time of the shipped (uninstrumented, compiled) firmware, same ops; at 128K
    unless TIME_HEAP says otherwise, each op in its own process as it is counted (in one
    process at 128K, ten 8-base key tables from one op left the next no room)."""
    env = mpy.mpy_env()
    out = {}
    for op in ops:
        if op in NATIVE_ONLY:
            continue
        p = subprocess.run([mpy.micropython_bin(), "-X", "heapsize=" + TIME_HEAP.get(op, "128K"),
                            os.path.join(HERE, "count_mpy.py"), "time" + ("q" if quick else ""), op],
                           capture_output=True, env=env, cwd=ROOT, timeout=900)
        if p.returncode:
            out[op] = None
            # MicroPython prints a traceback on stdout
            out["error"] = (p.stdout.decode()[-600:] + p.stderr.decode()[-200:]).strip()
            continue
        out.update(json.loads(p.stdout.decode().strip().splitlines()[-1]))
    return out


SHOW = ("mul", "mod", "big_add", "small", "call", "method", "attr", "loop", "from_bytes",
        "to_bytes", "slice_bytes", "slice_mv", "sha_bytes", "divsteps", "allocs")


def report(counts, times, bignum=None):
    res = {}
    bignum = bignum or {}
    print("%-17s %9s %9s %8s %8s %6s  %s" % ("operation", "x64 (us)", "chip (ms)", "bignum", "measured",
                                            "goal", "counts (mul mod bigadd small call meth attr loop "
                                            "fromb tob slice mvslice shaB divsteps allocs; fe calls mul)"))
    for op, c in counts.items():
        if "error" in c:
            print("%-17s failed: %s" % (op, c["error"]))
            res[op] = c
            continue
        off, irq, rows = estimate(c)
        b = bignum.get(op)
        big = estimate(b)[1] if b and "error" not in b else None
        meas = CHIP_MEASURED_MS.get(op)
        goal = GOAL_MS.get(op)
        print("%-17s %9.0f %9.1f %8s %8s %6s  %s; %d %d" % (
            op, times.get(op, 0) if isinstance(times.get(op), (int, float)) else -1, irq,
            "%.1f" % big if big is not None else "", meas if meas else "", ("<=%d" % goal) if goal else "",
            " ".join(str(c.get(k, 0)) for k in SHOW), c.get("fe_call", 0), c.get("fe_mul", 0)))
        top = sorted(rows.items(), key=lambda kv: -kv[1])[:5]
        print("%-17s   chip ms by row (interrupts off): %s" % ("", ", ".join(
            "%s %.1f" % (r, v / 1000) for r, v in top)))
        res[op] = {"counts": c, "chip_ms": round(irq, 1), "chip_ms_irq_off": round(off, 1),
                   "chip_rows_ms": {r: round(v / 1000, 2) for r, v in rows.items()},
                   "chip_ms_bignum": round(big, 1) if big is not None else None,
                   "x64_us": times.get(op), "garbage_bytes": c["alloc_bytes"],
                   "gc_ms_if_not_in_rows": round(gc_ms(c), 1), "goal_ms": goal, "measured_before_ms": meas,
                   "uncounted_ms": UNCOUNTED_MS.get(op, 0),
                   "meets_goal": (irq + UNCOUNTED_MS.get(op, 0) <= goal) if goal else None}
    return res


def main(argv):
    quick = "--quick" in argv
    ops = [a for a in argv if not a.startswith("--")] or OPS
    build()
    counts = run_counts(ops, quick)
    bignum = run_counts(ops, quick, native=False)
    times = run_times(ops, quick)
    res = report(counts, times, bignum)
    print("\nchip (ms) = counts x the chip's primitive costs (bench/count.py CHIP_US, from "
          "FIELD-NOTES), with interpreter rows x%.1f and C rows x%.2f for the emulator's USB "
          "interrupts, as the measured figures and goals were taken; the RP2040's path, ecmult's "
          "loop on crypto/fe_thumb.py's machine code (priced by its Cortex-M0+ cycles: %s). "
          "bignum: the same on the bignum loop (a board without the Thumb assembler, the ESP32)"
          % (IRQ_INTERP, IRQ_C, fe_cycles()))
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
