"""Time the curve operations on a board, to put beside bench/count.py's chip estimate.

    python tools/chip_speed.py --port /dev/ttyACM0 [--runs 5]

No board was at hand while the RP2040's native field path (crypto/fe_thumb.py) was
built: its speed is an estimate (docs/speed.md). With a flashed board in maintenance mode
(hold LEFT while plugging it in: the signer itself ignores Ctrl-C), this runs SNIPPET on
it through mpremote: it installs the native path as boards/pico.py does at boot, then
times BIP-340 sign and verify and an ECDH with a new peer on the native path and on the
bignum loop, by the board's own clock, and prints one JSON line. The same SNIPPET runs
on the unix port in tests/test_chip_speed.py (there with the machine code's model).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

SNIPPET = r"""
import gc, json, time
from crypto import ecmult, secp256k1 as ec
BIGNUM = (ecmult.run, ecmult.sqrt, ecmult.tables, ecmult.jacobi)
try:
    from boards import pico
    native = pico.native_field()
except ImportError:
    native = False
NATIVE = (ecmult.run, ecmult.sqrt, ecmult.tables, ecmult.jacobi)


def use(fns):
    ecmult.run, ecmult.sqrt, ecmult.tables, ecmult.jacobi = fns
    ec.clear_cache()


def ms(f, runs):
    f()
    best = None
    for _ in range(runs):
        gc.collect()
        t0 = time.ticks_us()
        f()
        dt = time.ticks_diff(time.ticks_us(), t0) / 1000
        best = dt if best is None or dt < best else best
    return round(best, 1)


def ops(runs):
    sk, msg, aux = bytes(range(1, 33)), bytes(32), bytes(32)
    pub = ec.pubkey(sk)
    sig = ec.schnorr_sign(msg, sk, aux)
    ec.schnorr_verify(msg, pub, sig)
    peers = [ec.pubkey(bytes([i + 7]) * 32) for i in range(runs + 1)]
    ec.clear_cache()
    ec.pubkey(sk)
    ec.schnorr_verify(msg, pub, sig)   # the client's key known (its tables made)
    n = [0]

    def fresh():
        n[0] += 1
        ec.ecdh_x(sk, peers[n[0] % len(peers)])
        ec._ecdh[1].clear()
        del ec._once[:]
    return {"sign": ms(lambda: ec.schnorr_sign(msg, sk, aux), runs),
            "verify": ms(lambda: ec.schnorr_verify(msg, pub, sig), runs),
            "ecdh_fresh_key": ms(fresh, runs)}


out = {"native_installed": native}
if native:
    out["native"] = ops(RUNS)
use(BIGNUM)
out["bignum"] = ops(RUNS)
use(NATIVE)
print("@@CHIP " + json.dumps(out))
"""


def snippet(runs):
    return "RUNS = %d\n" % runs + SNIPPET


def parse(stdout):
    for line in stdout.splitlines():
        if line.startswith("@@CHIP "):
            return json.loads(line[7:])
    raise ValueError("no result in the board's output:\n" + stdout[-800:])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="tools/chip_speed.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", required=True)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args(argv)
    sys.path.insert(0, HERE)
    import flash
    p = flash.run_mpremote(a.port, ["exec", snippet(a.runs)], capture=True)
    try:
        res = parse(p.stdout or "")
    except ValueError as e:
        print(e, p.stderr or "", file=sys.stderr)
        return 1
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
