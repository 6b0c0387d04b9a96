"""`make bench`: speed and memory of the firmware on the MicroPython unix port.

Everything is measured in one run on this machine and reported as ratios against anchors
measured in the same run: embit's pure-Python secp256k1 (embit/util/key.py) on the same
`micropython` binary, and libsecp256k1 (coincurve) on CPython. Absolute times differ from
a Cortex-M0+ by a large factor; the ratios carry over far better.

Writes bench/results.json and prints a table.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import mpy  # noqa: E402

EMBIT_UTIL = os.path.join(ROOT, ".venv", "mpylib", "embit", "util")
OUR_OPS = ["sign", "sign_fresh_key", "verify", "verify_fresh_key", "pubkey", "ecdh", "nip44_1k", "nip01_id_16k", "nip06_key"]
EMBIT_OPS = ["embit_sign", "embit_verify", "embit_pubkey", "embit_ecdh"]
HEAP_LIMIT_K = 128


def run_mpy(args, heap="%dK" % HEAP_LIMIT_K, timeout=600):
    # embit's util folder goes last on the path: only `key` is taken from it. The chip's
    # C stack, as every firmware run on the unix port (mpy.mpy_cmd: boards/simstack.py,
    # docs/stack.md; SIGNER_STACK=0 for the x64 main thread's), the heap as given
    env = mpy.mpy_env()
    env["MICROPYPATH"] += ":" + EMBIT_UTIL
    cmd = mpy.mpy_cmd(os.path.join(HERE, "bench_mpy.py"), heap) + args
    return subprocess.run(cmd, capture_output=True, env=env, timeout=timeout, cwd=ROOT)


def mpy_measure(mode, op, heap):
    """One op in a fresh micropython process, so ops don't share a fragmented heap."""
    p = run_mpy([mode, op], heap=heap)
    if p.returncode != 0:
        return "failed: " + p.stderr.decode()[-300:]
    return json.loads(p.stdout.decode().strip().splitlines()[-1])[op]


ROUNDS = 3


def mpy_times(ops, heap):
    """Best of ROUNDS interleaved rounds (ours and the anchors alternate), so a busy
    machine slows both sides of a ratio alike and the minimum is the undisturbed time."""
    out = {"times_us": {}, "alloc_bytes": {}, "errors": {}}
    for _ in range(ROUNDS):
        for op in ops:
            if op in out["errors"]:
                continue
            t = mpy_measure("time", op, heap)
            if isinstance(t, str):
                out["errors"][op] = t
                out["times_us"].pop(op, None)
                continue
            out["times_us"][op] = min(t, out["times_us"].get(op, t))
    for op in out["times_us"]:
        a = mpy_measure("alloc", op, "16M")
        out["alloc_bytes"][op] = a if not isinstance(a, str) else None
    return out


def min_heap_k(op, lo=8, hi=1024):
    """Smallest -X heapsize (KB) in which the op, its imports and tables included, runs."""
    if run_mpy(["once", op], heap="%dK" % hi).returncode != 0:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if run_mpy(["once", op], heap="%dK" % mid).returncode == 0:
            hi = mid
        else:
            lo = mid + 1
    return lo


def libsecp_times():
    import coincurve
    sk = bytes.fromhex("b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef")
    msg, aux = bytes(range(32)), bytes(32)
    priv = coincurve.PrivateKey(sk)
    pub = coincurve.PublicKeyXOnly(priv.public_key_xonly.format())
    sig = priv.sign_schnorr(msg, aux)
    other = coincurve.PrivateKey(bytes([7]) * 32).public_key

    def t(f, n=2000):
        f()
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        return (time.perf_counter() - t0) / n * 1e6

    return {
        "libsecp256k1_sign": t(lambda: priv.sign_schnorr(msg, aux)),
        "libsecp256k1_verify": t(lambda: pub.verify(sig, msg)),
        "libsecp256k1_pubkey": t(lambda: coincurve.PrivateKey(sk).public_key_xonly.format()),
        "libsecp256k1_ecdh": t(lambda: other.multiply(sk).format()),
    }


def extra_sections():
    """Device and end-to-end benchmarks add themselves here (bench/device.py, bench/e2e.py)."""
    out = {}
    for name in ("device", "e2e", "count"):
        path = os.path.join(HERE, name + ".py")
        if os.path.exists(path):
            p = subprocess.run([sys.executable, path], capture_output=True, timeout=900, cwd=ROOT)
            if p.returncode == 0:
                out[name] = json.loads(p.stdout.decode().strip().splitlines()[-1])
            else:
                out[name] = {"error": p.stderr.decode()[-2000:]}
    return out


def print_count(cnt):
    """The chip estimate's table (bench/count.py's section of the results)."""
    cnt = cnt or {}
    if cnt and "error" not in cnt:
        print("\nchip estimate (bench/count.py: primitive counts on the unix port x the RP2040's "
              "costs, with the emulator's USB interrupts, as the goals are measured; chip: the "
              "RP2040's path, ecmult on crypto/fe_thumb.py's machine code; bignum: the bignum "
              "loop, a board without the Thumb assembler):")
        print("  %-17s %9s %9s %8s %6s  %s" % ("operation", "x64 (us)", "chip (ms)", "bignum", "goal",
                                              "counts (256-bit mul, % p, bignum add/shift, calls, "
                                              "allocs, native calls, native field mul)"))
        for op, r in cnt.items():
            if "counts" not in r:
                print("  %-17s %s" % (op, r.get("error", r)))
                continue
            c, g = r["counts"], r.get("goal_ms")
            un = r.get("uncounted_ms") or 0
            print("  %-17s %9s %9.1f %8s %6s  %d %d %d %d %d %d %d%s%s" % (
                op, "%.0f" % r["x64_us"] if isinstance(r.get("x64_us"), (int, float)) else "-",
                r["chip_ms"], "%.1f" % r["chip_ms_bignum"] if r.get("chip_ms_bignum") is not None else "-",
                "<=%d" % g if g else "", c["mul"], c["mod"], c["big_add"],
                c["call"] + c["method"] + c["builtin"], c["allocs"], c.get("fe_call", 0), c.get("fe_mul", 0),
                "  (+%d not counted)" % un if un else "",
                "" if g is None else ("  goal met" if r["meets_goal"] else "  goal NOT met")))
    elif cnt:
        print("\nchip estimate: %s" % cnt.get("error"))


def main():
    heap = "%dK" % HEAP_LIMIT_K
    # embit's pure code runs on the same binary and the same 128 KB heap, interleaved with ours
    both = mpy_times(OUR_OPS + EMBIT_OPS, heap)
    split = lambda d, keys: {k: v for k, v in d.items() if k in keys}  # noqa: E731
    ours = {k: split(v, OUR_OPS) for k, v in both.items()}
    anchors = {k: split(v, EMBIT_OPS) for k, v in both.items()}
    times = dict(ours["times_us"])
    times.update(anchors["times_us"])
    times.update(libsecp_times())
    errors = dict(ours["errors"], **anchors["errors"])

    def ratio(a, b):
        return round(times[a] / times[b], 4) if a in times and b in times else None

    ratios = {
        "sign_vs_embit": ratio("sign", "embit_sign"),
        "verify_vs_embit": ratio("verify", "embit_verify"),
        "ecdh_vs_embit": ratio("ecdh", "embit_ecdh"),
        "pubkey_vs_embit": ratio("pubkey", "embit_pubkey"),
        "sign_fresh_key_vs_embit": ratio("sign_fresh_key", "embit_sign"),
        "verify_fresh_key_vs_embit": ratio("verify_fresh_key", "embit_verify"),
        "sign_vs_libsecp256k1": ratio("sign", "libsecp256k1_sign"),
        "verify_vs_libsecp256k1": ratio("verify", "libsecp256k1_verify"),
        "ecdh_vs_libsecp256k1": ratio("ecdh", "libsecp256k1_ecdh"),
    }
    peak = {op: min_heap_k(op) for op in OUR_OPS if op in times}
    results = {
        "machine": os.uname().machine,
        "heap_limit_bytes": HEAP_LIMIT_K * 1024,
        "ratios": ratios,
        "times_us": {k: round(v, 1) for k, v in times.items()},
        "peak_heap_bytes": {k: (v * 1024 if v else None) for k, v in peak.items()},
        "alloc_bytes_per_call": dict(ours["alloc_bytes"], **anchors["alloc_bytes"]),
        "errors": errors,
    }
    results.update(extra_sections())
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump(results, f, indent=2)

    print("%-16s %12s %14s %12s" % ("operation", "time (us)", "min heap (KB)", "garbage/call"))
    for op in OUR_OPS:
        if op in times:
            print("%-16s %12.1f %14s %12s" % (op, times[op], peak.get(op), ours["alloc_bytes"].get(op)))
    for op in EMBIT_OPS + sorted(k for k in times if k.startswith("libsecp")):
        print("%-16s %12.1f" % (op, times[op]))
    print()
    targets = {"sign_vs_embit": 0.10, "verify_vs_embit": 0.25}
    for k, v in ratios.items():
        goal = targets.get(k)
        mark = "" if goal is None or v is None else ("  (target <= %.2f: %s)" % (goal, "met" if v <= goal else "NOT met"))
        print("%-26s %s%s" % (k, v, mark))
    d = results.get("device") or {}
    if "one_client" in d:
        print("\ndevice (bench/device.py, %s heap, %d clients admitted; device ms p50):" % (d["heap"], d["clients_admitted"]))
        for m in d["one_client"]:
            print("  %-12s 1 client %6.1f   10 taking turns %6.1f   (%.2fx)" % (
                m, d["one_client"][m]["device_ms_p50"], d["ten_clients_alternating"][m]["device_ms_p50"], d["ten_vs_one"][m]))
        cr = d.get("at_chip_room") or {}
        if "one_client" in cr:
            print("  at %s (the key caches' room on an RP2040 with ROMFS):" % cr["heap"])
            for m in cr["one_client"]:
                print("  %-12s 1 client %6.1f   10 taking turns %6.1f   (%.2fx)" % (
                    m, cr["one_client"][m]["device_ms_p50"], cr["ten_clients_alternating"][m]["device_ms_p50"],
                    cr["ten_vs_one"][m]))
        elif cr:
            print("  at the chip's room: %s" % cr.get("error"))
        print("  largest that fits:")
        for when, fit in d["largest_that_fits"].items():
            hb = fit.get("heap_before") or {}
            print("    %-14s (free %s, largest block %s) %s" % (when, hb.get("free"), hb.get("largest"), ", ".join(
                "%s %s" % (k, v["largest"]) for k, v in fit.items() if k != "heap_before" and "largest" in v)))
        print("  peak C stack (bytes of %s): %s" % (d.get("stack_limit_bytes"), json.dumps(d["stack_peak_bytes"])))
        if d.get("unanswered"):
            print("  ANSWERED NOTHING to: %s" % d["unanswered"])
    elif d:
        print("\ndevice: %s" % json.dumps(d, indent=1))
    print_count(results.get("count"))
    if "e2e" in results:
        print("\ne2e: %s" % json.dumps(results["e2e"], indent=1))
    if errors:
        print("\nerrors:", errors)
    print("\nmin heap = smallest -X heapsize the operation runs in, imports and tables included;")
    print("garbage/call = bytes allocated by one call, collected afterwards")
    print("wrote bench/results.json")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
