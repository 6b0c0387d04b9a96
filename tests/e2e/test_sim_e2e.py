"""End to end with everything real: nostr-tools' BunkerSigner (node) <-> nostr-sdk LocalRelay <->
the bridge's `serve` <-> bridge/link.py over a pty <-> the firmware in the simulator, with
buttons pressed through the simulator's control FIFO as a person would.

The heap budget (128 KB) is the business of tests/test_sim.py; here the simulator gets room
so this test is about the protocol path only.
"""
import asyncio
import json
import os
import re
import threading
import time

import pytest

from bridge import sim
from bridge.courier import Courier
from bridge.link import DeviceLink, AsyncDeviceLink
from bridge.localrelay import LocalRelayServer
from bridge.run import serve
from nostrev import keypair, wait_until

pytestmark = pytest.mark.timeout(180)

HEAP = "512K"
FAST = dict(backoff_min=0.05, backoff_max=0.4, open_timeout=2)


class Person:
    """Watches the simulator's screen and answers every prompt (an upper-case title ending in "?")."""

    def __init__(self, state, decide=lambda screen: "approve"):
        self.state = state
        self.decide = decide
        self.seen = []          # prompts answered
        self.screens = []       # every screen drawn (for failure messages)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._watch, daemon=True)
        self._t.start()

    def _watch(self):
        path = os.path.join(self.state, "screen.txt")
        last = pressed = None
        while not self._stop.is_set():
            try:
                st = os.stat(path)
                stamp = (st.st_mtime_ns, st.st_size)
                text = open(path).read() if stamp != last else None
            except OSError:
                text = None
            if text is not None:
                last = stamp
                lines = text.splitlines()
                self.screens.append(lines)
                # titles: "CONNECT?", "IMPORT KEY?", "APPROVE? +1    v" (queue count, scroll mark)
                if not (lines and re.match(r"[A-Z][A-Z ]*\?", lines[0])):
                    pressed = None          # back to a non-prompt screen
                elif lines != pressed:
                    # once per prompt: a redraw of the same prompt is not a new question
                    pressed = lines
                    self.seen.append(lines)
                    time.sleep(0.05)
                    sim.press(self.state, self.decide(lines))
            time.sleep(0.05)

    def stop(self):
        self._stop.set()
        self._t.join(2)


def provision(s, state):
    sk, pub = keypair()
    link = DeviceLink(s.tty)
    try:
        link.hello(timeout=30)
        rid = link.request({"t": "provision", "key": sk.hex()})
        person = Person(state)
        ans = link.answer(rid, 30)
        person.stop()
    finally:
        link.close()
    assert ans and ans.get("outcome") == "ok" and ans.get("pubkey") == pub, ans
    return pub


async def node_script(node, script, timeout=120):
    proc = await asyncio.create_subprocess_exec(
        node.node_bin(), node.CLIENT, "-", cwd=node.HERE, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(script).encode()), timeout)
    assert proc.returncode == 0, err.decode()[-3000:]
    return [json.loads(ln) for ln in out.decode().splitlines() if ln.startswith("{")]


class Bridge:
    """serve() on the simulator's link, in this event loop, with its output collected."""

    def __init__(self, holder):
        self.lines = []
        self.stop = asyncio.Event()
        self.link = AsyncDeviceLink(lambda: DeviceLink(holder["sim"].tty))
        self.courier = Courier(self.link, out=self.lines.append, qr=False, pool_options=FAST,
                               handshake_timeout=10)
        self.task = asyncio.create_task(serve(self.link, stop=self.stop, courier=self.courier))

    async def ready(self):
        c = self.courier
        await wait_until(lambda: c.pool is not None and all(s["eose"] for s in c.pool.status()),
                         timeout=30, what="bridge subscribed")
        return [ln.split("bunker URL: ", 1)[1] for ln in self.lines if "bunker URL: " in ln][-1]

    async def close(self):
        self.stop.set()
        rc = await asyncio.wait_for(self.task, 30)
        self.link.close()
        return rc


def test_bunker_signer_against_the_simulator(tmp_path, node_client):
    state = str(tmp_path / "state")

    async def body():
        async with LocalRelayServer() as relay:
            holder = {"sim": sim.Sim(state, args=["--relay", relay.url], heap=HEAP)}
            person = None
            try:
                pub = provision(holder["sim"], state)
                bridge = Bridge(holder)
                url = await bridge.ready()
                assert url.startswith("bunker://%s?relay=" % pub) and "&secret=" in url
                # approve everything except the note that says "reject me"
                person = Person(state, lambda lines: "reject" if "reject" in "".join(lines) else "approve")
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
            finally:
                if person:
                    person.stop()
                holder["sim"].stop()
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


def run_body(body):
    asyncio.run(asyncio.wait_for(body(), 170))
