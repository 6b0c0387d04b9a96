"""The bridge and the device's own relay list (issue 13, items 2 and 7): the bunker URL
names the device's relays only, is printed only once the bridge is subscribed on one of
them (a client that connects at once gets answers), `run --relay` proposes the relays to
the device, and a hardware run with only loopback relays is warned about."""
import asyncio
import os
import subprocess
import sys

import pytest

from bridge import control
from bridge.courier import Courier, loopback_only
from bridge.localrelay import LocalRelayServer
from bridge.run import serve
from fakedevice import FakeDevice, FakeLink
from nostrev import run, wait_until
from test_run import FAST, Client, _closed_port, finish

pytestmark = pytest.mark.timeout(60)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def enc(url):
    return url.replace(":", "%3A").replace("/", "%2F")


async def bridge(device, **kw):
    link = FakeLink(device)
    lines, stop = [], asyncio.Event()
    courier = Courier(link, kw.pop("extra", ()), out=lines.append, qr=False, pool_options=FAST,
                      handshake_timeout=1, **kw)
    task = asyncio.create_task(serve(link, stop=stop, courier=courier))
    return link, courier, lines, stop, task


def urls(lines):
    return [ln.split("bunker URL: ", 1)[1] for ln in lines if "bunker URL: " in ln]


def test_no_url_while_no_relay_of_the_device_is_subscribed():
    async def body():
        dead = "ws://127.0.0.1:%d" % _closed_port()
        link, courier, lines, stop, task = await bridge(FakeDevice([dead]))
        await wait_until(lambda: courier.pool is not None, what="pool")
        await asyncio.sleep(1.5)
        assert urls(lines) == [] and not courier.url_live.is_set(), lines
        assert await finish(stop, task) == 0
    run(body())


def test_url_printed_once_subscribed_says_which_relays_are_live():
    async def body():
        async with LocalRelayServer() as a:
            dead = "ws://127.0.0.1:%d" % _closed_port()
            device = FakeDevice([a.url, dead])
            seen = []
            link, courier, lines, stop, task = await bridge(device)
            courier.out = lambda ln: (seen.append((ln, courier.live_relays())), lines.append(ln))
            await wait_until(lambda: urls(lines), what="the URL")
            at = [live for ln, live in seen if "bunker URL: " in ln]
            assert at == [[a.url]], seen     # subscribed (EOSE) on a when it was printed
            live = next(ln for ln in lines if "listening on" in ln)
            assert a.url in live and "not yet on " + dead in live
            assert enc(dead) in urls(lines)[0]      # still the device's list, all of it
            assert await finish(stop, task) == 0
    run(body())


def test_a_client_that_connects_the_moment_the_url_appears_is_answered():
    async def body():
        async with LocalRelayServer() as a:
            device = FakeDevice([a.url])
            client = Client([a.url], device.pubkey)
            await client.start()
            answers = []

            def out(ln):
                lines.append(ln)
                if "bunker URL: " in ln:    # like a script reading stdout: at once
                    answers.append(asyncio.ensure_future(client.call("ping")))
            link, courier, lines, stop, task = await bridge(device)
            courier.out = out
            await wait_until(lambda: answers, what="the URL")
            assert (await asyncio.wait_for(answers[0], 10))["result"] == "pong"
            assert await finish(stop, task, client.pool) == 0
    run(body())


def test_extra_listening_relays_stay_out_of_the_url():
    async def body():
        async with LocalRelayServer() as a, LocalRelayServer() as b:
            link, courier, lines, stop, task = await bridge(FakeDevice([a.url]), extra=[b.url])
            await wait_until(lambda: urls(lines), what="the URL")
            assert enc(a.url) in urls(lines)[0] and enc(b.url) not in urls(lines)[0]
            assert await finish(stop, task) == 0
    run(body())


def test_proposed_relays_become_the_devices_once_confirmed_and_the_old_one_is_in_no_url():
    async def body():
        async with LocalRelayServer() as b:
            old = "ws://127.0.0.1:%d" % _closed_port()     # the device's list: nobody runs it
            device = FakeDevice([old])
            link, courier, lines, stop, task = await bridge(device, propose=[b.url])
            await wait_until(lambda: urls(lines), what="the URL")
            assert [m["relays"] for m in link.sent if m["t"] == "relays"] == [[b.url]]
            assert device.relays == [b.url] and courier.device_relays == [b.url]
            assert all(old not in ln and enc(old) not in ln for ln in lines if "bunker" in ln), lines
            assert any("confirm SET RELAYS?" in ln for ln in lines)
            assert await finish(stop, task) == 0
    run(body())


def test_proposal_rejected_on_the_device_keeps_its_list_and_says_so():
    async def body():
        async with LocalRelayServer() as a, LocalRelayServer() as b:
            device = FakeDevice([a.url])
            device.relays_answer = "rejected"
            link, courier, lines, stop, task = await bridge(device, propose=[b.url])
            await wait_until(lambda: urls(lines), what="the URL")
            assert enc(a.url) in urls(lines)[0] and enc(b.url) not in urls(lines)[0]
            assert any("rejected" in ln and "keeps " + a.url in ln for ln in lines), lines
            assert await finish(stop, task) == 0
    run(body())


def test_hardware_run_with_only_loopback_relays_warns_loudly():
    async def body():
        async with LocalRelayServer() as a:
            for hw in (True, False):
                link = FakeLink(FakeDevice([a.url]))
                lines, stop = [], asyncio.Event()
                courier = Courier(link, out=lines.append, qr=False, pool_options=FAST, handshake_timeout=1)
                courier.hardware = hw
                task = asyncio.create_task(serve(link, stop=stop, courier=courier))
                await wait_until(lambda: urls(lines), what="the URL")
                warned = [ln for ln in lines if "WARNING" in ln and "this machine" in ln]
                assert bool(warned) == hw, lines
                assert await finish(stop, task) == 0
    run(body())
    assert loopback_only(["ws://127.0.0.1:7777", "ws://localhost:1", "ws://[::1]:2"])
    assert not loopback_only(["ws://127.0.0.1:7777", "wss://nos.lol"]) and not loopback_only([])


def test_control_url_wait_answers_once_live(tmp_path):
    async def body():
        async with LocalRelayServer() as a:
            link, courier, lines, stop, task = await bridge(FakeDevice([a.url]))
            path = control.sock_path(str(tmp_path / "st"))
            ctl = await control.start(courier, path)
            try:
                rep = await control.ask(path, {"cmd": "url", "wait": 20})
                assert rep["ok"] and rep["live"] == [a.url] and urls(lines) == [rep["url"]]
                st = {s["url"]: s for s in courier.pool.status()}
                assert st[a.url]["eose"]
            finally:
                await control.stop(ctl, path)
            assert await finish(stop, task) == 0
    run(body())


def test_cli_url_wait_without_a_bridge_gives_up_with_a_reason(tmp_path):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    p = subprocess.run([sys.executable, "-m", "bridge", "url", "--wait", "1", "--state", str(tmp_path / "no")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "no bridge subscribed" in p.stderr, p.stderr
