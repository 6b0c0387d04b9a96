"""nostr-tools 2.25.2 BunkerSigner (node) as the NIP-46 client.

Proves the node toolchain installs and runs from a clean clone, and drives the bridge's
`serve` end to end with the stand-in device (tests/fakedevice.py) until the real firmware
link lands: real client library, real relay, real bridge.
"""
import asyncio
import json
import time

import pytest

from bridge.localrelay import LocalRelayServer
from bridge.qr import bunker_url
from bridge.relays import RelayPool
from bridge.courier import Courier
from bridge.run import serve
from fakedevice import FakeDevice, FakeLink
from nostrev import keypair, run, wait_until

pytestmark = pytest.mark.timeout(120)

FAST = dict(backoff_min=0.05, backoff_max=0.4, open_timeout=2)


async def node_run(node, script, timeout=60):
    """bunker_client.mjs as an asyncio subprocess (the relay and bridge share this loop)."""
    proc = await asyncio.create_subprocess_exec(
        node.node_bin(), node.CLIENT, "-", cwd=node.HERE, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(script).encode()), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    lines = [json.loads(ln) for ln in out.decode().splitlines() if ln.startswith("{")]
    assert proc.returncode == 0, (proc.returncode, lines, err.decode()[-3000:])
    return lines


def test_node_client_times_out_cleanly_against_missing_bunker(node_client):
    async def body():
        async with LocalRelayServer() as relay:
            _, nobody = keypair()
            # listen where the bunker would: the client's requests must reach the relay
            watcher = RelayPool([relay.url], pubkey=nobody, **FAST)
            await watcher.start()
            await wait_until(lambda: watcher.status()[0]["eose"], what="watcher subscription")
            url = bunker_url(nobody, [relay.url], secret="s3cret ~+/")
            t0 = time.monotonic()
            lines = await node_run(node_client, {"bunker": url, "timeout": 1500, "calls": [
                {"op": "connect"}, {"op": "ping", "timeout": 500}]})
            assert time.monotonic() - t0 < 20
            init = lines[0]
            assert init["op"] == "init"
            # nostr-tools parses our bunker URL back exactly (percent-encoding round trip)
            assert init["bunker"] == {"pubkey": nobody, "relays": [relay.url], "secret": "s3cret ~+/"}
            res = [ln for ln in lines if "i" in ln]
            assert [(r["op"], r["ok"], r["timeout"]) for r in res] == [("connect", False, True), ("ping", False, True)]
            assert lines[-1] == {"op": "end", "failed": 2}
            got = [await asyncio.wait_for(watcher.queue.get(), 5) for _ in range(2)]
            assert all(ev["pubkey"] == init["clientPubkey"] and ev["kind"] == 24133 for ev, _ in got)
            await watcher.close()
    run(body(), timeout=90)


def test_bunker_signer_through_serve_and_fake_device(node_client):
    async def body():
        async with LocalRelayServer() as relay:
            device = FakeDevice([relay.url])
            lines, stop = [], asyncio.Event()
            courier = Courier(FakeLink(device), out=lines.append, qr=False, pool_options=FAST)
            task = asyncio.create_task(serve(None, stop=stop, courier=courier))
            await wait_until(lambda: courier.pool is not None and courier.pool.status()[0]["eose"],
                             what="bridge subscription")
            url = next(ln.split("bunker URL: ", 1)[1] for ln in lines if "bunker URL: " in ln)
            tmpl = {"kind": 1, "content": "hello from node", "tags": [], "created_at": 1714078911}
            out = await node_run(node_client, {"bunker": url, "timeout": 8000, "calls": [
                {"op": "connect"}, {"op": "getPublicKey"}, {"op": "ping"}, {"op": "signEvent", "args": [tmpl]},
                {"op": "sendRequest", "args": ["switch_relays", []]},
                {"op": "sendRequest", "args": ["no_such_method", []]}]})
            res = {r["op"] + str(r["i"]): r for r in out if "i" in r}
            assert res["connect0"]["ok"] and res["getPublicKey1"]["result"] == device.pubkey
            assert res["ping2"]["ok"]
            signed = res["signEvent3"]["result"]            # nostr-tools verified it already
            assert signed["pubkey"] == device.pubkey and signed["content"] == "hello from node"
            assert json.loads(res["sendRequest4"]["result"]) == [relay.url]
            assert not res["sendRequest5"]["ok"] and "unknown method" in res["sendRequest5"]["error"]
            stop.set()
            assert await asyncio.wait_for(task, 15) == 0
            assert sum(" ok " in ln + " " for ln in lines) >= 5
            # the used secret was rotated on the device: the bridge printed the new URL
            await asyncio.sleep(0)
            assert any("bunker URL: " in ln and "secret=pair-secret-1" in ln for ln in lines)
            assert "hello from node" not in "\n".join(lines)
    run(body(), timeout=90)


def test_nostrconnect_from_uri_through_serve(node_client):
    async def body():
        async with LocalRelayServer() as device_relay, LocalRelayServer() as client_relay:
            device = FakeDevice([device_relay.url])
            lines, stop = [], asyncio.Event()
            courier = Courier(FakeLink(device), out=lines.append, qr=False, pool_options=FAST)
            task = asyncio.create_task(serve(None, stop=stop, courier=courier))
            await wait_until(lambda: courier.pool is not None and courier.pool.status()[0]["eose"],
                             what="bridge subscription")
            proc = await asyncio.create_subprocess_exec(
                node_client.node_bin(), node_client.CLIENT, "-", cwd=node_client.HERE,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            script = {"nostrconnect": {"relays": [client_relay.url], "secret": "pair-me", "name": "e2e",
                                       "timeout": 15000},
                      "timeout": 8000, "calls": [{"op": "getPublicKey"}, {"op": "ping"}]}
            proc.stdin.write(json.dumps(script).encode())
            proc.stdin.close()
            first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
            assert first["op"] == "uri" and first["uri"].startswith("nostrconnect://")
            # The connect response is ephemeral: if it reaches the relay before the client's
            # subscription does, it is gone. Pair again until the client has it (as a person would).
            rest = []
            for attempt in range(5):
                await asyncio.sleep(0.3 + attempt)
                await courier.nostrconnect(first["uri"])
                try:
                    rest.append(json.loads(await asyncio.wait_for(proc.stdout.readline(), 3)))
                    break
                except asyncio.TimeoutError:
                    continue
            rest += [json.loads(ln) for ln in (await asyncio.wait_for(proc.stdout.read(), 60)).decode().splitlines()]
            await proc.wait()
            got = {r["op"]: r for r in rest}
            assert got["fromURI"]["ok"] and got["fromURI"]["signer"] == device.pubkey, rest
            # after switch_relays the client talks on the device's relay
            assert got["fromURI"]["relays"] == [device_relay.url]
            assert got["getPublicKey"]["result"] == device.pubkey and got["ping"]["ok"]
            stop.set()
            assert await asyncio.wait_for(task, 15) == 0
    run(body(), timeout=90)
