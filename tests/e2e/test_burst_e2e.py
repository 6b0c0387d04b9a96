"""A burst is answered in full (issue 10, 3): 10 admitted clients send 100 requests each,
all at once, through a real relay and the bridge to the simulator (128 KB, the chip's C
stack). Every request id gets exactly one response, and none is answered twice with a
result. Before, the bridge dropped what passed 512 waiting events, and then the device
dropped 934 of 1000 unanswered as "replayed": all were created in the same second, and
once its ring of answered ids wrapped it could not tell them from replays
(signer/replay.py). Those it cannot tell are now answered "busy" (docs/threat-model.md)."""
import asyncio
import collections
import json
import time

import pytest

from harness import run_body, signer_on_relay
from wsclient import WsClient

pytestmark = pytest.mark.timeout(240)

CLIENTS = 10
EACH = 100
SIGNS = 10  # of each client's 100: rule-allowed sign_event kind 1; the rest ping


def test_a_1000_request_burst_from_10_clients_is_answered_in_full(tmp_path):
    async def body():
        async with signer_on_relay(tmp_path) as s:
            clients = []
            try:
                for i in range(CLIENTS):
                    c = WsClient([s.relay.url], bytes.fromhex(s.pub))
                    await c.__aenter__()
                    clients.append(c)
                    r = await c.call("connect", [s.pub, "", "sign_event:1", json.dumps({"name": "c%d" % i})], 30)
                    assert r.get("result") == "ack", r
                s.person.stop()  # from here nothing needs a button
                sent = {}  # client index -> request ids in the order sent
                t0 = time.monotonic()

                async def fire(i, c):
                    futs = []
                    for j in range(EACH):
                        if j % (EACH // SIGNS) == 0:
                            tpl = {"kind": 1, "content": "burst %d %d" % (i, j), "tags": [],
                                   "created_at": int(time.time())}
                            rid, fut = await c.send("sign_event", [json.dumps(tpl)])
                        else:
                            rid, fut = await c.send("ping", [])
                        sent.setdefault(i, []).append(rid)
                        futs.append(fut)
                    return futs

                futs = [f for fs in await asyncio.gather(*[fire(i, c) for i, c in enumerate(clients)]) for f in fs]
                fired = time.monotonic() - t0
                done, pending = await asyncio.wait(futs, timeout=150)
                await asyncio.sleep(2)  # a second answer to anything would have come by now
                took = time.monotonic() - t0
                outcomes = collections.Counter()
                for i, c in enumerate(clients):
                    ids = sent[i]
                    assert len(set(ids)) == EACH
                    per = collections.Counter(r.get("id") for r in c.got)
                    missing = [x for x in ids if per[x] == 0]
                    assert not missing, "client %d: %d of %d never answered (bridge: %s)" % (
                        i, len(missing), EACH, s.bridge.lines[-6:])
                    twice = {x: n for x, n in per.items() if x in ids and n > 1}
                    assert not twice, "client %d: answered more than once: %r" % (i, twice)
                    for r in c.got:
                        if r.get("id") in ids:
                            outcomes["result" if "error" not in r or not r["error"]
                                     else r["error"].split(":")[0]] += 1
                assert not pending
                # every answer is a result or a refusal a client can show, never garbage
                assert set(outcomes) <= {"result", "busy"}, outcomes
                assert outcomes["result"] >= 96, outcomes  # at least what the ring holds
                print("burst: %d requests sent in %.1f s, answered in %.1f s: %r"
                      % (CLIENTS * EACH, fired, took, dict(outcomes)))
            finally:
                for c in clients:
                    await c.close()
            assert not [ln for ln in s.bridge.lines if "dropped" in ln or "expired" in ln], s.bridge.lines[-10:]
            assert await s.bridge.close() == 0
    run_body(body)
