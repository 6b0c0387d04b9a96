"""NIP-42 end to end: relays that require AUTH for reading and writing (nostr-sdk
LocalRelay, auth="both"); the bridge authenticates with kind-22242 events the simulated
device signs, and only for the device's own relays."""
import pytest

import refclient as rc
from bridge import sim
from bridge.localrelay import LocalRelayServer
from harness import HEAP, Bridge, Person, provision, run_body
from nostrev import wait_until
from wsclient import WsClient

pytestmark = pytest.mark.timeout(120)


def test_device_signs_auth_for_its_relays_only(tmp_path):
    state = str(tmp_path / "state")

    async def body():
        async with LocalRelayServer(auth="both") as relay, LocalRelayServer(auth="both") as stranger:
            holder = {"sim": sim.Sim(state, args=["--relay", relay.url], heap=HEAP)}
            person = None
            try:
                pub = provision(holder["sim"], state)
                # the stranger relay is the bridge's own addition (CLI --relay), not the device's
                bridge = Bridge(holder, relays=[stranger.url])
                # the stranger may leave a response unanswered (no OK): don't wait 10 s at close
                bridge.courier.publish_timeout = 3
                url = await bridge.ready(only=[relay.url])
                assert "secret=" not in url  # the device keeps its bunker secret (its own QR only)
                person = Person(state)
                async with WsClient([relay.url], bytes.fromhex(pub)) as c:
                    assert (await c.call("connect", [pub]))["result"] == "ack"
                    assert (await c.call("ping", []))["result"] == "pong"
                    assert (await c.call("get_public_key", []))["result"] == pub
                st = {s["url"]: s for s in bridge.courier.pool.status()}
                assert st[relay.url]["authed"] and st[relay.url]["eose"], st
                await wait_until(lambda: any("unauthorized" in ln and "auth" in ln for ln in bridge.lines),
                                 10, "refused AUTH logged")
                assert not st[stranger.url]["authed"], st
                seen = {(a["relay"], a["outcome"]) for a in bridge.courier.auths}
                assert {(relay.url, "ok"), (stranger.url, "unauthorized")} <= seen, seen
                assert any("auth" in ln and " ok" in ln for ln in bridge.lines), bridge.lines
                assert await bridge.close() == 0
            finally:
                if person:
                    person.stop()
                holder["sim"].stop()
    run_body(body)
