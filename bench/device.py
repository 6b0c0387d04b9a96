"""Device benchmark (part of `make bench`): whole NIP-46 requests through the emulated
serial link. The simulator (firmware/main.py on the unix port) runs behind a pty; an
independent client (tests/refclient.py) builds the kind-24133 events; the bridge's
DeviceLink carries them. A rule allows sign_event kind 1, so no button wait is timed.

Reports the device's own time per request (from its `done` message: verify the envelope,
decrypt, sign, encrypt, sign the reply) and the round trip through the link. Prints one
JSON line (bench/run.py reads the last line).
"""
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import refclient as rc  # noqa: E402
from bridge import link as L  # noqa: E402
from bridge import sim as S  # noqa: E402

SK = bytes.fromhex("3b0f0c4d2dfc2d0e2f2b8c0e7f31c1a7d5d8a1c9e6c4a2b0f1e3d5c7a9b1c3d5")
PUB = rc.xonly(SK)
N = 30


def wait_screen(state, first, timeout=20):
    """Until the screen shows `first`, and a person has looked at it: a prompt ignores
    presses in its first moments (app.GUARD_MS, 400 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(state, "screen.txt")) as f:
                if f.read().startswith(first):
                    time.sleep(0.5)
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise RuntimeError("screen never showed " + first)


def publish_of(lk, rid):
    m = lk.wait_for(lambda m: m.get("rid") == rid and m.get("t") in ("publish", "error"), 30)
    if not m or m["t"] != "publish":
        raise RuntimeError("no answer: %r" % (m,))
    return m


def run_at(heap):
    state = tempfile.mkdtemp(prefix="bench-device-")
    sim = S.Sim(state, heap=heap)
    lk = L.DeviceLink(sim.tty)
    try:
        lk.hello(timeout=30)
        rid = lk.request({"t": "provision", "key": SK.hex()})
        wait_screen(state, "IMPORT KEY?")
        S.press(state, "approve")
        lk.answer(rid, 20)
        c = rc.Client()
        ev = c.request(PUB, "connect", [PUB.hex(), lk.device_hello.get("secret") or "",
                                        "sign_event:1", json.dumps({"name": "bench"})])
        rid = lk.request({"t": "event", "event": rc.strip(ev)})
        wait_screen(state, "CONNECT?")
        S.press(state, "approve")
        publish_of(lk, rid)
        lk.answer(rid, 10)

        out = {}
        for name, method, params in (
                ("ping", "ping", lambda i: []),
                ("sign_event", "sign_event", lambda i: [json.dumps(
                    {"kind": 1, "content": "bench note %d " % i + "x" * 200, "tags": [["t", "bench"]],
                     "created_at": int(time.time())})])):
            dev, rt = [], []
            for i in range(N):
                ev = c.request(PUB, method, params(i))
                t0 = time.perf_counter()
                rid = lk.request({"t": "event", "event": rc.strip(ev)})
                pub = publish_of(lk, rid)
                rt.append((time.perf_counter() - t0) * 1000)
                resp, _ = c.open(pub["event"], PUB)
                if "error" in resp and resp["error"]:
                    raise RuntimeError("%s refused: %s" % (method, resp["error"]))
                done = lk.answer(rid, 10)
                dev.append(done["ms"])
            out[name] = {"device_ms_p50": statistics.median(dev), "device_ms_max": max(dev),
                         "round_trip_ms_p50": round(statistics.median(rt), 2),
                         "round_trip_ms_p95": round(sorted(rt)[int(0.95 * len(rt)) - 1], 2)}
        out["heap"] = heap
        out["requests_each"] = N
        return out
    finally:
        lk.close()
        sim.stop()


def main():
    heaps = [os.environ.get("DEVICE_BENCH_HEAP", "128K"), "192K", "256K"]
    errors = {}
    for heap in heaps:
        try:
            res = run_at(heap)
            if errors:
                res["failed_at"] = errors
            print(json.dumps(res))
            return 0
        except Exception as e:  # report the heap it failed at, then try a larger one
            errors[heap] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps({"error": errors}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
