"""Relay faults end to end (LocalRelay, the bridge, the simulator): two relays with one
dead, then back; a relay restarted mid-run. No request lost once things are back: requests
sent on whatever relay is up are all answered (the device's own relay list holds both)."""
import asyncio

import pytest

from bridge import sim
from bridge.localrelay import LocalRelayServer
from harness import HEAP, Bridge, Person, provision, run_body
from nostrev import wait_until
from wsclient import WsClient

pytestmark = pytest.mark.timeout(150)


async def burst(c, n, method="ping"):
    """n requests at once; every one must come back."""
    futs = [(await c.send(method, []))[1] for _ in range(n)]
    res = await asyncio.wait_for(asyncio.gather(*futs), 30)
    return [r.get("result") for r in res]


def test_dead_relay_and_relay_restart(tmp_path):
    state = str(tmp_path / "state")

    async def body():
        async with LocalRelayServer() as a, LocalRelayServer() as b:
            holder = {"sim": sim.Sim(state, args=["--relay", a.url, "--relay", b.url], heap=HEAP)}
            person = None
            try:
                pub = provision(holder["sim"], state)
                bridge = Bridge(holder)
                url = await bridge.ready()
                pool = bridge.courier.pool
                person = Person(state)
                signer = bytes.fromhex(pub)
                async with WsClient([a.url, b.url], signer) as c:
                    assert "secret=" not in url  # the device keeps its bunker secret (its own QR only)
                    assert (await c.call("connect", [pub]))["result"] == "ack"
                    client = c.client
                # ---- relay B dies: requests on A still answered
                b.stop()
                await wait_until(lambda: not {s["url"]: s for s in pool.status()}[b.url]["connected"], 10, "B down")
                async with WsClient([a.url], signer, client=client) as c:
                    assert await burst(c, 5) == ["pong"] * 5
                    assert (await c.call("get_public_key", []))["result"] == pub
                # ---- B back: the bridge reconnects and resubscribes; requests on B alone answered
                await b.restart()
                await wait_until(lambda: {s["url"]: s for s in pool.status()}[b.url]["eose"], 20, "B resubscribed")
                async with WsClient([b.url], signer, client=client) as c:
                    assert await burst(c, 5) == ["pong"] * 5
                # ---- A restarted mid-run: requests sent at once after it is back, before the
                # bridge has resubscribed, are picked up by the resubscription and answered
                await a.restart(down_for=0.3)
                async with WsClient([a.url], signer, client=client) as c:
                    assert await burst(c, 5) == ["pong"] * 5
                    assert (await c.call("get_public_key", []))["result"] == pub
                st = {s["url"]: s for s in pool.status()}
                assert st[a.url]["connects"] >= 2 and st[b.url]["connects"] >= 2, st
                assert sum(" ping " in ln and " ok" in ln for ln in bridge.lines) >= 15
                assert await bridge.close() == 0
            finally:
                if person:
                    person.stop()
                holder["sim"].stop()
    run_body(body)
