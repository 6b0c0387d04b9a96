"""End to end with everything real: nostr-tools' BunkerSigner (node) <-> nostr-sdk LocalRelay <->
the bridge's `serve` <-> bridge/link.py over a pty <-> the firmware in the simulator, with
buttons pressed through the simulator's control FIFO as a person would.

The heap budget (128 KB) is the business of tests/test_sim.py; here the simulator gets room
so this test is about the protocol path only.
"""
import asyncio
import json
import time

import pytest

from bridge import sim
from bridge.localrelay import LocalRelayServer
from harness import HEAP, Bridge, Person, node_script, provision, run_body, signer_on_relay
from nostrev import wait_until

pytestmark = pytest.mark.timeout(180)


def test_bunker_signer_against_the_simulator(tmp_path, node_client):
    # approve everything except the note that says "reject me"
    decide = lambda lines: "reject" if "reject" in "".join(lines) else "approve"  # noqa: E731

    async def body():
        async with signer_on_relay(tmp_path, decide) as s:
            pub, bridge, url, person = s.pub, s.bridge, s.url, s.person
            assert url.startswith("bunker://%s?relay=" % pub) and "secret=" not in url  # the device keeps its bunker secret (its own QR only)
            secret_text = "plaintext the bridge must never see"
            now = int(time.time())
            calls = [
                {"op": "connect"}, {"op": "getPublicKey"}, {"op": "ping"},
                {"op": "signEvent", "args": [{"kind": 1, "content": secret_text, "tags": [], "created_at": now}]},
                {"op": "signEvent", "args": [{"kind": 1, "content": "reject me", "tags": [], "created_at": now}]},
                {"op": "nip44Encrypt", "args": [pub, secret_text]},
                {"op": "nip04Encrypt", "args": [pub, secret_text]},
                {"op": "sendRequest", "args": ["switch_relays", []]},
                {"op": "sendRequest", "args": ["no_such_method", []]},
            ]
            out = await node_script(node_client, {"bunker": url, "timeout": 30000, "calls": calls})
            res = [r for r in out if "i" in r]
            assert [r["ok"] for r in res] == [True, True, True, True, False, True, True, True, False], (
                res, bridge.lines, person.screens)
            assert res[1]["result"] == pub
            assert res[3]["result"]["pubkey"] == pub and res[3]["result"]["content"] == secret_text
            # the ciphertexts decrypt back on the device
            back = await node_script(node_client, {"bunker": url, "timeout": 30000, "calls": [
                {"op": "connect"},
                {"op": "nip44Decrypt", "args": [pub, res[5]["result"]]},
                {"op": "nip04Decrypt", "args": [pub, res[6]["result"]]}]})
            assert [r.get("result") for r in back if "i" in r][1:] == [secret_text, secret_text]
            # one log line per request, and never any plaintext
            text = "\n".join(bridge.lines)
            assert secret_text not in text and "reject me" not in text
            assert sum("sign_event kind=1" in ln for ln in bridge.lines) == 2
            assert any("rejected" in ln for ln in bridge.lines)
            assert await bridge.close() == 0
    run_body(body)


def test_device_restart_mid_run_and_nostrconnect_pairing(tmp_path, node_client):
    state = str(tmp_path / "state")

    async def body():
        async with LocalRelayServer() as relay, LocalRelayServer() as client_relay:
            holder = {"sim": sim.Sim(state, args=["--relay", relay.url], heap=HEAP)}
            person = None
            try:
                pub = provision(holder["sim"], state)
                bridge = Bridge(holder)
                url = await bridge.ready()
                person = Person(state)
                out = await node_script(node_client, {"bunker": url, "timeout": 30000, "calls": [
                    {"op": "connect"}, {"op": "ping"}]})
                assert all(r["ok"] for r in out if "i" in r), out
                # the device reboots (same flash): the bridge re-handshakes and carries on
                holder["sim"].stop()
                await wait_until(lambda: any("link lost" in ln for ln in bridge.lines), 20, "link lost")
                holder["sim"] = sim.Sim(state, args=["--relay", relay.url], heap=HEAP)
                await wait_until(lambda: any("device back" in ln for ln in bridge.lines), 30, "re-handshake")
                url = [ln.split("bunker URL: ", 1)[1] for ln in bridge.lines if "bunker URL: " in ln][-1]
                out = await node_script(node_client, {"bunker": url, "timeout": 30000, "calls": [
                    {"op": "connect"}, {"op": "getPublicKey"}]})
                assert [r.get("result") for r in out if "i" in r][1] == pub, out
                # nostrconnect: the client shows a URI, the person hands it to the device
                proc = await asyncio.create_subprocess_exec(
                    node_client.node_bin(), node_client.CLIENT, "-", cwd=node_client.HERE,
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                proc.stdin.write(json.dumps({
                    "nostrconnect": {"relays": [client_relay.url], "secret": "e2e-pair", "name": "e2e", "timeout": 60000},
                    "timeout": 30000, "calls": [{"op": "getPublicKey"}, {"op": "ping"}]}).encode())
                proc.stdin.close()
                first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
                await asyncio.sleep(1.0)   # the client subscribes on its relay first
                await bridge.courier.nostrconnect(first["uri"])
                rest = [json.loads(ln) for ln in
                        (await asyncio.wait_for(proc.stdout.read(), 90)).decode().splitlines()]
                await proc.wait()
                got = {r["op"]: r for r in rest}
                assert got["fromURI"]["ok"] and got["fromURI"]["signer"] == pub, rest
                assert got["getPublicKey"]["result"] == pub and got["ping"]["ok"], rest
                assert await bridge.close() == 0
            finally:
                if person:
                    person.stop()
                holder["sim"].stop()
    run_body(body)


