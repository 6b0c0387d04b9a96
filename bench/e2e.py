"""End-to-end benchmark (part of `make bench`): client -> relay -> bridge -> simulator ->
relay -> client, everything real and on loopback: nostr-sdk's LocalRelay, the bridge's
serve() with its relay pool and device link, the firmware on the unix port behind a pty,
and an independent client (tests/refclient.py over websockets, tests/e2e/wsclient.py).

The client connects with perms "sign_event:1" (approved once on the simulated screen), so
every timed request is answered without a button: what is measured is the path, not a
person. Reports p50/p95 of one-at-a-time sign_event kind-1 round trips, requests per second
for a bounded burst (BURST requests sent at once), and the share of the round trip spent on
the device (its own `done` ms over the client's round trip). Targets on the unix port:
p50 <= 50 ms, >= 20 requests/s.

The simulator runs at bridge.sim.HEAP (the device's budget) when it boots and answers
there; otherwise at the next larger heap, and the JSON says which and why. Prints one JSON
line last (bench/run.py reads it).
"""
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "e2e")]

from bridge import sim as S  # noqa: E402
from bridge.courier import Courier  # noqa: E402
from bridge.link import AsyncDeviceLink, DeviceLink  # noqa: E402
from bridge.localrelay import LocalRelayServer  # noqa: E402
from bridge.run import serve  # noqa: E402
from harness import FAST, Person, provision  # noqa: E402
from wsclient import WsClient  # noqa: E402

SK = bytes.fromhex("3b0f0c4d2dfc2d0e2f2b8c0e7f31c1a7d5d8a1c9e6c4a2b0f1e3d5c7a9b1c3d5")
SEQ = 50        # one-at-a-time requests for the latency figures
# requests sent at once for the throughput figure: fewer than the device's ring of
# answered ids holds (96, signer/replay.py), and created in a second of their own
# (measure() waits one out first): once the ring pushes out an entry of the second a
# request was created in, that request cannot be told from a replay and is answered
# "busy" (docs/threat-model.md)
BURST = 90
WARM = 5


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p * len(xs))) - 1))]


def note(i):
    return [json.dumps({"kind": 1, "content": "bench note %d " % i + "x" * 200, "tags": [["t", "bench"]],
                        "created_at": int(time.time())})]


async def measure(heap):
    state = tempfile.mkdtemp(prefix="bench-e2e-")
    async with LocalRelayServer() as relay:
        sim = S.Sim(state, args=["--relay", relay.url], heap=heap)
        person = None
        try:
            pub = provision(sim, state, SK)
            lines, dev_ms = [], {}
            link = AsyncDeviceLink(lambda: DeviceLink(sim.tty))
            c = Courier(link, out=lines.append, qr=False, pool_options=FAST, handshake_timeout=10)
            on_done = c.on_done

            def record(rid, msg):   # the device's own time per request, from its `done`
                if msg.get("method") == "sign_event" and isinstance(msg.get("ms"), (int, float)):
                    dev_ms[rid] = msg["ms"]
                on_done(rid, msg)
            c.on_done = record
            stop = asyncio.Event()
            task = asyncio.create_task(serve(link, stop=stop, courier=c))
            t_end = time.monotonic() + 30
            while not (c.pool and all(s["eose"] for s in c.pool.status())):
                if time.monotonic() > t_end or task.done():
                    raise RuntimeError("bridge did not subscribe: %s" % lines[-5:])
                await asyncio.sleep(0.05)
            secret = c.hello.get("secret") or ""
            person = Person(state)
            try:
                async with WsClient([relay.url], bytes.fromhex(pub)) as cl:
                    r = await cl.call("connect", [pub, secret, "sign_event:1", json.dumps({"name": "bench"})], 30)
                    if r.get("result") != "ack":
                        raise RuntimeError("connect: %r" % r)
                    person.stop()   # from here nothing may need a button
                    for i in range(WARM):
                        await cl.call("sign_event", note(i))
                    rt = []
                    dev_before = len(dev_ms)
                    for i in range(SEQ):
                        t0 = time.perf_counter()
                        r = await cl.call("sign_event", note(i))
                        rt.append((time.perf_counter() - t0) * 1000)
                        if "error" in r:
                            raise RuntimeError("sign_event refused: %r" % r)
                    await asyncio.sleep(0.1)    # the last `done` follows its publish
                    dev = list(dev_ms.values())[dev_before:dev_before + SEQ]
                    await asyncio.sleep(1.1)    # the burst's second is its own (BURST above)
                    t0 = time.perf_counter()
                    futs = [(await cl.send("sign_event", note(i)))[1] for i in range(BURST)]
                    res = await asyncio.wait_for(asyncio.gather(*futs), 120)
                    burst_s = time.perf_counter() - t0
                    if any("error" in x for x in res):
                        raise RuntimeError("burst: %d refused: %r" % (sum("error" in x for x in res), sorted(
                            {x["error"] for x in res if "error" in x})))
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)
                link.close()
            return {
                "heap": heap, "method": "sign_event kind 1 (always-allow rule)",
                "round_trip_ms_p50": round(statistics.median(rt), 2), "round_trip_ms_p95": round(pct(rt, 0.95), 2),
                "requests": SEQ, "burst": BURST, "burst_s": round(burst_s, 3),
                "requests_per_s": round(BURST / burst_s, 1),
                "device_ms_p50": statistics.median(dev) if dev else None,
                "device_share": round(sum(dev) / sum(rt), 3) if dev else None,
                "targets": {"p50_ms<=50": statistics.median(rt) <= 50, "rps>=20": BURST / burst_s >= 20},
            }
        finally:
            if person:
                person.stop()
            sim.stop()


def main():
    heaps = [os.environ.get("E2E_BENCH_HEAP", S.HEAP)] + [h for h in ("192K", "256K", "512K")
                                                          if h != os.environ.get("E2E_BENCH_HEAP", S.HEAP)]
    errors = {}
    for heap in heaps:
        try:
            res = asyncio.run(asyncio.wait_for(measure(heap), 300))
        except Exception as e:  # report the heap it failed at, then try a larger one
            errors[heap] = "%s: %s" % (type(e).__name__, str(e)[:300])
            continue
        if errors:
            res["failed_at"] = errors
        print(json.dumps(res))
        return 0
    print(json.dumps({"error": errors}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
