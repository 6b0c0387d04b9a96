"""Sessions end to end (LocalRelay, the bridge, the simulator): bunker connect without a
secret (nostr-tools; the device still asks on its screen), `logout` (the client's next
request is unauthorized), and a client on NIP-04 transport as in the older NIP-46 draft
(refclient over websockets: kind-24133 requests encrypted with NIP-04, answered in NIP-04)."""
import time

import pytest

from harness import node_script, run_body, signer_on_relay
from nostrev import wait_until
from wsclient import WsClient

pytestmark = pytest.mark.timeout(150)


def test_no_secret_connect_logout_and_nip04_transport(tmp_path, node_client):
    async def body():
        async with signer_on_relay(tmp_path) as s:
            relay, pub, bridge, url, person = s.relay, s.pub, s.bridge, s.url, s.person
            # ---- bunker:// without a secret (the host's URL has none): still a prompt
            assert "secret=" not in url  # the device keeps its bunker secret (its own QR only)
            bare = url
            out = await node_script(node_client, {"bunker": bare, "timeout": 30000, "calls": [
                {"op": "connect"}, {"op": "getPublicKey"}]})
            res = [r for r in out if "i" in r]
            assert [r["ok"] for r in res] == [True, True] and res[1]["result"] == pub, out
            assert any(s[0].startswith("CONNECT?") for s in person.seen), person.seen
            prompts = len(person.seen)
            # ---- logout: "ack", then the same client is a stranger
            async with WsClient([relay.url], bytes.fromhex(pub)) as c:
                assert (await c.call("connect", [pub]))["result"] == "ack"
                assert len(person.seen) == prompts + 1       # approved on the screen
                assert (await c.call("get_public_key", []))["result"] == pub
                assert (await c.call("logout", []))["result"] == "ack"
                r = await c.call("get_public_key", [])
                assert (r.get("result"), r.get("error")) == ("error", "unauthorized"), r
                r = await c.call("sign_event", ['{"kind":1,"content":"x","tags":[],"created_at":%d}'
                                                % int(time.time())])
                assert r.get("error") == "unauthorized", r
                # the bridge logs a request once the device's `done` reaches it, which
                # may be just after the client has its answer from the relay
                await wait_until(lambda: sum("unauthorized" in ln for ln in bridge.lines) >= 2,
                                 what="two 'unauthorized' lines in the bridge log")
            # ---- NIP-04 transport (older draft): requests and answers in NIP-04
            async with WsClient([relay.url], bytes.fromhex(pub), scheme="nip04") as c:
                r = await c.call("connect", [pub])
                assert r["result"] == "ack" and r["_scheme"] == "nip04", r
                r = await c.call("get_public_key", [])
                assert r["result"] == pub and r["_scheme"] == "nip04", r
                r = await c.call("ping", [])
                assert r["result"] == "pong" and r["_scheme"] == "nip04"
                r = await c.call("sign_event", ['{"kind":1,"content":"old draft","tags":[],"created_at":%d}'
                                                % int(time.time())])
                assert r["_scheme"] == "nip04" and '"sig"' in r["result"], r
            assert "old draft" not in "\n".join(bridge.lines)
            assert await bridge.close() == 0
    run_body(body)
