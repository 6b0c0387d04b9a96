"""`python -m bridge url|status|connect` with the simulator: on their own (they open the
device) and while a bridge runs (they ask it over its control socket)."""
import asyncio
import json
import os
import sys
import urllib.parse

import pytest

from bridge import control, sim
from bridge.localrelay import LocalRelayServer
from harness import HEAP, Bridge, Person, provision, run_body
from nostrev import wait_until
from wsclient import WsClient

pytestmark = pytest.mark.timeout(150)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


async def cli(*args, timeout=60):
    p = await asyncio.create_subprocess_exec(sys.executable, "-m", "bridge", *args, cwd=ROOT,
                                             stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(p.communicate(), timeout)
    except asyncio.TimeoutError:
        p.kill()
        out, err = await p.communicate()
        raise AssertionError("bridge %s hung: %s %s" % (args[0], out.decode()[-2000:], err.decode()[-2000:]))
    return p.returncode, out.decode(), err.decode()


def nostrconnect_uri(client, relay, secret):
    return "nostrconnect://%s?relay=%s&secret=%s&name=cli-test" % (
        client.client.pubhex, urllib.parse.quote(relay, safe=""), secret)


async def pair(state, pub, client_relay, args, secret, then_ask=False):
    """`connect URI` with a client listening on its own relay: the device's answer reaches it."""
    async with WsClient([client_relay.url], bytes.fromhex(pub)) as c:
        rc, out, err = await cli("connect", nostrconnect_uri(c, client_relay.url, secret), *args, timeout=40)
        await wait_until(lambda: any(r.get("result") == secret for r in c.got), 15, "connect response")
        if then_ask:   # paired, and a bridge carries requests: the client's next one is answered
            assert (await c.call("get_public_key", [], timeout=20))["result"] == pub
    return rc, out, err


def test_commands_without_and_with_a_running_bridge(tmp_path):
    state = str(tmp_path / "state")
    dev = ["--device", "sim", "--state", state]

    async def body():
        async with LocalRelayServer() as relay, LocalRelayServer() as client_relay:
            holder = {"sim": sim.Sim(state, args=["--relay", relay.url], heap=HEAP)}
            person = None
            try:
                pub = provision(holder["sim"], state)
                # ---- no bridge running: each command opens the device itself
                rc, out, err = await cli("url", *dev)
                assert rc == 0, err
                url = out.strip().splitlines()[0]
                assert url.startswith("bunker://%s?relay=" % pub) and "secret=" not in url  # the device keeps its bunker secret (its own QR only)
                rc, out, err = await cli("status", "--json", *dev)
                assert rc == 0, err
                st = json.loads(out)
                assert st["device"]["pubkey"] == pub and st["bridge"] == "not running"
                assert st["relays"] == [{"url": relay.url, "connected": True, "last_error": None}]
                assert st["clients"] == []
                person = Person(state)
                rc, out, err = await pair(state, pub, client_relay, dev, "pair-one")
                assert rc == 0 and "connect: ok" in out, (out, err)
                rc, out, err = await cli("status", *dev)
                assert rc == 0 and "clients: 1" in out and "cli-test" in out, (out, err)
                # ---- a bridge runs and holds the port: the commands go through its socket
                bridge = Bridge(holder)
                await bridge.ready()
                sock = control.sock_path(state)
                ctl = await control.start(bridge.courier, sock)
                try:
                    rc, out, err = await cli("url", *dev)
                    assert rc == 0 and out.strip().startswith("bunker://" + pub), err
                    rc, out, err = await cli("status", "--json", *dev)
                    st = json.loads(out)
                    assert "bridge" not in st and st["relays"][0]["eose"] and len(st["clients"]) == 1, st
                    rc, out, err = await pair(state, pub, client_relay, dev, "pair-two", then_ask=True)
                    assert rc == 0 and "connect: ok" in out, (out, err)
                    assert any("nostrconnect: ok" in ln for ln in bridge.lines), bridge.lines
                    # refused on the device: exit status 1
                    person.decide = lambda lines: "reject"
                    async with WsClient([client_relay.url], bytes.fromhex(pub)) as c:
                        rc, out, err = await cli("connect", nostrconnect_uri(c, client_relay.url, "x3"), *dev)
                    assert rc == 1 and "rejected" in out, (out, err)
                finally:
                    await control.stop(ctl, sock)
                assert await bridge.close() == 0
                # a bad URI never reaches the device
                rc, out, err = await cli("connect", "bunker://nope", *dev)
                assert rc == 2 and "nostrconnect://" in err
            finally:
                if person:
                    person.stop()
                holder["sim"].stop()
    run_body(body)


def test_relays_set_through_the_running_bridge_moves_the_device_and_the_url(tmp_path):
    # issue 13 items 2 and 7: the person sets the device's relays from the host, confirms
    # them on the device; the bridge, the URL and the device all follow that one list
    state = str(tmp_path / "state")
    dev = ["--device", "sim", "--state", state]

    async def body():
        async with LocalRelayServer() as a, LocalRelayServer() as b:
            holder = {"sim": sim.Sim(state, args=["--relay", a.url], heap=HEAP)}
            person = None
            try:
                pub = provision(holder["sim"], state)
                bridge = Bridge(holder)
                await bridge.ready()
                sock = control.sock_path(state)
                ctl = await control.start(bridge.courier, sock)
                person = Person(state)
                try:
                    rc, out, err = await cli("relays", "set", b.url, *dev)
                    assert rc == 0 and "relays: ok" in out and b.url in out, (out, err)
                    assert any(p[0].startswith("SET RELAYS?") for p in person.seen), person.seen
                    rc, out, err = await cli("url", "--wait", "20", *dev)
                    assert rc == 0, err
                    url = out.strip()
                    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
                    assert q["relay"] == [b.url], url
                    assert bridge.lines[-1].endswith(url) or any(url in ln for ln in bridge.lines)
                    async with WsClient([b.url], bytes.fromhex(pub)) as c:
                        assert (await c.call("connect", [pub]))["result"] == "ack"
                        assert (await c.call("get_relays", []))["result"] == json.dumps(
                            {b.url: {"read": True, "write": True}}, separators=(",", ":"))
                    rc, out, err = await cli("relays", *dev)
                    assert rc == 0 and out.split() == [b.url], (out, err)
                finally:
                    await control.stop(ctl, sock)
                assert await bridge.close() == 0
            finally:
                if person:
                    person.stop()
                holder["sim"].stop()
    run_body(body)
