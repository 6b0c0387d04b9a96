"""bridge/run.py `serve`: relays <-> a stand-in device (tests/fakedevice.py) over a real LocalRelay.

A Python NIP-46 client (NIP-44 + a RelayPool of its own) sends requests to the device's key
and waits for the encrypted answers, like BunkerSigner would.
"""
import asyncio
import json
import time
import uuid

import pytest

from bridge.localrelay import LocalRelayServer
from bridge.relays import RelayPool
from bridge.courier import Courier
from bridge.run import serve
from fakedevice import FakeDevice, FakeLink
from nostrev import conversation_key, keypair, make_event, nip44_decrypt, nip44_encrypt, run, wait_until

pytestmark = pytest.mark.timeout(60)

FAST = dict(backoff_min=0.05, backoff_max=0.4, open_timeout=2)


class Client:
    """Minimal NIP-46 client: encrypt, sign, publish, wait for the matching answer."""

    def __init__(self, relays, signer_pub):
        self.sk, self.pub = keypair()
        self.signer = signer_pub
        self.ck = conversation_key(self.sk, signer_pub)
        self.pool = RelayPool(relays, pubkey=self.pub, **FAST)
        self.answers = {}

    async def start(self):
        await self.pool.start()
        await wait_until(lambda: all(s["eose"] for s in self.pool.status()), what="client subscription")

    def request(self, method, params=()):
        rid = uuid.uuid4().hex[:12]
        body = json.dumps({"id": rid, "method": method, "params": list(params)})
        ev = make_event(self.sk, 24133, nip44_encrypt(self.ck, body), [["p", self.signer]])
        return rid, ev

    async def send(self, ev):
        res = await self.pool.publish(ev, timeout=5)
        assert all(ok for ok, _ in res.values()), res

    async def answer(self, rid, timeout=10):
        while rid not in self.answers:
            ev, _ = await asyncio.wait_for(self.pool.queue.get(), timeout)
            msg = json.loads(nip44_decrypt(self.ck, ev["content"]))
            assert msg["id"] not in self.answers, "answered twice"
            self.answers[msg["id"]] = msg
        return self.answers[rid]

    async def call(self, method, params=()):
        rid, ev = self.request(method, params)
        await self.send(ev)
        return await self.answer(rid)


async def started(relay_url, device=None, **kw):
    device = device or FakeDevice([relay_url])
    link = FakeLink(device)
    lines = []
    stop = asyncio.Event()
    courier = Courier(link, kw.pop("extra", ()), out=lines.append, qr=kw.pop("qr", False),
                      pool_options=FAST, handshake_timeout=1)
    task = asyncio.create_task(serve(link, stop=stop, courier=courier))
    await wait_until(lambda: courier.pool is not None and all(s["eose"] for s in courier.pool.status()),
                     what="bridge subscription")
    return device, link, courier, stop, task, lines


async def finish(stop, task, *pools):
    stop.set()
    rc = await asyncio.wait_for(task, 15)
    for p in pools:
        await p.close()
    return rc


def test_serve_round_trip_and_log_lines():
    async def body():
        async with LocalRelayServer() as a:
            device, link, courier, stop, task, lines = await started(a.url, qr=True)
            client = Client([a.url], device.pubkey)
            await client.start()
            assert (await client.call("ping"))["result"] == "pong"
            assert (await client.call("get_public_key"))["result"] == device.pubkey
            tmpl = {"kind": 1, "content": "secret words", "tags": [], "created_at": 1714078911}
            signed = json.loads((await client.call("sign_event", [json.dumps(tmpl)]))["result"])
            assert signed["pubkey"] == device.pubkey and signed["kind"] == 1
            await wait_until(lambda: sum("published" in ln for ln in lines) == 3, what="publish lines")
            assert await finish(stop, task, client.pool) == 0
            # forwarded as docs/protocol.md says
            ev_msgs = [m for m in link.sent if m["t"] == "event"]
            assert len(ev_msgs) == 3 and all(isinstance(m["now"], int) and m["rid"] for m in ev_msgs)
            text = "\n".join(lines)
            enc = a.url.replace(":", "%3A").replace("/", "%2F")
            assert "bunker://%s?relay=%s&secret=pair-secret" % (device.pubkey, enc) in text
            assert "\u2588" in text or "\u2580" in text            # the QR code
            done = [ln for ln in lines if client.pub[:8] in ln]
            assert len(done) == 3 and "ping" in done[0] and " ok " in done[0] + " "
            assert "sign_event kind=1" in done[2]
            assert "secret words" not in text and "pong" not in text   # never plaintext
    run(body())


def test_unplug_reconnect_resends_unanswered_and_never_publishes_twice():
    async def body():
        async with LocalRelayServer() as a:
            device = FakeDevice([a.url], hold=True)
            device, link, courier, stop, task, lines = await started(a.url, device)
            client = Client([a.url], device.pubkey)
            await client.start()
            rid1, ev1 = client.request("ping")
            await client.send(ev1)
            await wait_until(lambda: len(device.held) == 1, what="device took request 1")
            # the device answers request 1 (publish) but the cable goes before its `done`
            resp1, _ = device.response_event(ev1)
            device.emit({"t": "publish", "rid": device.held[0][0], "event": resp1, "relays": []})
            await wait_until(lambda: courier.publishes == 1, what="publish 1")
            device.held.clear()
            link.unplug()
            await wait_until(lambda: any("link lost" in ln for ln in lines), what="link lost")
            # while unplugged: another request arrives and waits in the bridge
            rid2, ev2 = client.request("get_public_key")
            await client.send(ev2)
            await asyncio.sleep(0.3)
            assert (await client.answer(rid1))["result"] == "pong"
            device.hold = False
            link.plug()
            await wait_until(lambda: any("device back" in ln for ln in lines), what="re-handshake")
            assert (await client.answer(rid2))["result"] == device.pubkey
            # request 1 was answered already: not sent to the device again
            assert [eid for _, eid in device.seen].count(ev1["id"]) == 1
            # the device replays its earlier publish after the reset: the bridge doesn't resend it
            device.emit({"t": "publish", "rid": 99, "event": resp1, "relays": []})
            await wait_until(lambda: any("not sending it twice" in ln for ln in lines), what="dup publish")
            assert courier.publishes == 2 and link.hellos == 2
            await asyncio.sleep(0.2)
            assert set(client.answers) == {rid1, rid2}
            assert await finish(stop, task, client.pool) == 0
    run(body())


def test_device_reset_resends_what_it_forgot():
    async def body():
        async with LocalRelayServer() as a:
            device = FakeDevice([a.url], hold=True)
            device, link, courier, stop, task, lines = await started(a.url, device)
            client = Client([a.url], device.pubkey)
            await client.start()
            rid, ev = client.request("ping")
            await client.send(ev)
            await wait_until(lambda: len(device.held) == 1, what="device took the request")
            # reboot: queued work is gone, the firmware says hello on its own
            device.held.clear()
            device.hold = False
            device.emit(device.hello())
            assert (await client.answer(rid))["result"] == "pong"
            assert [eid for _, eid in device.seen] == [ev["id"], ev["id"]]
            assert any("device restarted" in ln for ln in lines)
            assert await finish(stop, task, client.pool) == 0
    run(body())


def test_extra_relays_device_auth_and_status():
    async def body():
        async with LocalRelayServer() as a, LocalRelayServer(auth="read") as b, LocalRelayServer() as c:
            device = FakeDevice([a.url])
            device.features = ["auth"]
            device, link, courier, stop, task, lines = await started(a.url, device, extra=[b.url])
            # b needs AUTH: the bridge asked the device to sign it (the bridge holds no key)
            auth = [m for m in link.sent if m["t"] == "auth"]
            assert auth and auth[0]["relay"] == b.url and auth[0]["challenge"]
            # a publish with its own relays (a nostrconnect client's): sent there and listened on
            client = Client([c.url], device.pubkey)
            await client.start()
            resp = make_event(device.sk, 24133, "ct", [["p", client.pub]])
            device.emit({"t": "publish", "rid": 7, "event": resp, "relays": [c.url]})
            ev, _ = await asyncio.wait_for(client.pool.queue.get(), 5)
            assert ev["id"] == resp["id"]
            await wait_until(lambda: any(s["url"] == c.url and s["eose"] for s in courier.pool.status()),
                             what="subscription on the client's relay")
            st = courier.status_text()
            assert a.url in st and b.url in st and "authed" in st
            assert await finish(stop, task, client.pool) == 0
    run(body())


def test_device_without_key_exits_2():
    async def body():
        device = FakeDevice(["ws://127.0.0.1:9"])
        device.pubkey = None
        lines = []
        rc = await serve(FakeLink(device), out=lines.append, qr=False)
        assert rc == 2 and any("provision" in ln for ln in lines)
    run(body())


def test_waits_for_device_then_starts():
    async def body():
        async with LocalRelayServer() as a:
            device = FakeDevice([a.url])
            link = FakeLink(device)
            link.present = False
            lines, stop = [], asyncio.Event()
            courier = Courier(link, out=lines.append, qr=False, pool_options=FAST, handshake_timeout=1)
            task = asyncio.create_task(serve(link, stop=stop, courier=courier))
            await wait_until(lambda: any("waiting for the device" in ln for ln in lines), what="waiting")
            assert courier.pool is None
            link.present = True
            await wait_until(lambda: courier.pool is not None, timeout=10, what="handshake")
            assert await finish(stop, task) == 0
    run(body())


def test_request_refused_as_too_large_does_not_drop_the_link():
    async def body():
        from bridge.link import TooLarge
        async with LocalRelayServer() as a:
            device, link, courier, stop, task, lines = await started(a.url)
            client = Client([a.url], device.pubkey)
            await client.start()
            send = link.send
            link.send = lambda msg: (_ for _ in ()).throw(TooLarge("too large")) if msg["t"] == "event" else send(msg)
            rid, ev = client.request("ping")
            await client.send(ev)
            await wait_until(lambda: any("not taken by the device" in ln for ln in lines), what="refusal")
            link.send = send
            assert (await client.call("ping"))["result"] == "pong"
            assert link.hellos == 1 and not any("link lost" in ln for ln in lines)
            assert await finish(stop, task, client.pool) == 0
    run(body())


def sent_again_in_pieces(device_says):
    """A request in flight to a device that takes pieces of 2048, then `device_says` about
    it -> what the bridge sent the device next."""
    async def body():
        link = _Sink()
        c = Courier(link, out=lambda s: None, qr=False)
        c.adopt({"t": "hello", "proto": 1, "fw": "0.1.0", "board": "sim", "pubkey": "ab" * 32,
                 "relays": ["ws://127.0.0.1:1"], "limits": {"stream": 2048}})
        ev = {"id": "11" * 32, "kind": 24133, "content": "QUJD" * 1300}
        c.inflight[7] = (ev, time.monotonic())
        c.handle(dict(device_says, rid=7))
        task = asyncio.create_task(c.forward())
        try:
            await asyncio.sleep(0.2)
        finally:
            task.cancel()
        return ev, link.sent
    return run(body())


def test_a_request_the_device_took_whole_but_asks_for_in_pieces_is_sent_in_pieces():
    ev, msgs = sent_again_in_pieces({"t": "done", "outcome": "too large: asked for in pieces",
                                     "pieces": True, "client": None})
    assert [m["t"] for m in msgs] == ["big", "more", "more", "more"]
    assert msgs[0]["n"] == len(ev["content"]) and "content" not in msgs[0]["event"]
    assert "".join(m["data"] for m in msgs[1:]) == ev["content"] and msgs[-1]["end"] is True


def test_a_request_too_large_for_the_device_to_parse_is_sent_in_pieces():
    ev, msgs = sent_again_in_pieces({"t": "error", "error": "too large"})
    assert [m["t"] for m in msgs] == ["big", "more", "more", "more"]


def test_a_request_is_sent_in_pieces_once_whatever_the_device_says_then():
    async def body():
        link = _Sink()
        c = Courier(link, out=lambda s: None, qr=False)
        c.adopt({"t": "hello", "proto": 1, "fw": "0.1.0", "board": "sim", "pubkey": "ab" * 32,
                 "relays": ["ws://127.0.0.1:1"], "limits": {"stream": 2048}})
        ev = {"id": "11" * 32, "kind": 24133, "content": "QUJD" * 100}
        c.inflight[7] = (ev, time.monotonic())
        task = asyncio.create_task(c.forward())
        try:
            c.handle({"t": "error", "rid": 7, "error": "too large"})
            await asyncio.sleep(0.1)
            rid = link.sent[-1]["rid"]
            c.handle({"t": "error", "rid": rid, "error": "too large"})
            await asyncio.sleep(0.1)
        finally:
            task.cancel()
        return [m["t"] for m in link.sent]
    assert run(body()) == ["big", "more"]


def test_a_request_the_device_answered_is_not_sent_again():
    _, msgs = sent_again_in_pieces({"t": "done", "outcome": "too large", "client": "cd" * 32})
    assert msgs == []
    _, msgs = sent_again_in_pieces({"t": "error", "error": "invalid message: not JSON"})
    assert msgs == []


def test_bridge_says_when_the_device_is_locked():
    from bridge.courier import Courier
    said = []
    c = Courier(None, out=said.append, qr=False)
    c.adopt({"t": "hello", "proto": 1, "fw": "0.1.0", "board": "sim", "pubkey": "ab" * 32,
             "relays": ["ws://127.0.0.1:1"], "locked": True})
    assert any("locked: enter the PIN on the device" in s for s in said)
    said.clear()
    c.adopt({"t": "hello", "proto": 1, "fw": "0.1.0", "board": "sim", "pubkey": "ab" * 32,
             "relays": ["ws://127.0.0.1:1"], "locked": False})
    assert not any("locked" in s for s in said)


def test_requests_refused_while_locked_are_sent_again_after_the_unlock():
    from bridge.courier import Courier
    said = []
    c = Courier(None, out=said.append, qr=False)
    hello = {"t": "hello", "proto": 1, "fw": "0.1.0", "board": "sim", "pubkey": "ab" * 32,
             "relays": ["ws://127.0.0.1:1"], "locked": True}
    c.adopt(hello)
    ev = {"id": "11" * 32, "kind": 24133}
    c.inflight[7] = (ev, time.monotonic())
    c.handle({"t": "done", "rid": 7, "outcome": "dropped: locked", "client": "cd" * 32})
    assert not c.queue and any("kept until the device is unlocked" in s for s in said)
    c.handle(dict(hello, locked=False))
    assert [q[0] for q in c.queue] == [ev]
    assert any("device unlocked" in s for s in said)


def test_requests_refused_while_locked_are_not_sent_again_when_still_locked():
    from bridge.courier import Courier
    c = Courier(None, out=lambda s: None, qr=False)
    hello = {"t": "hello", "proto": 1, "fw": "0.1.0", "board": "sim", "pubkey": "ab" * 32,
             "relays": ["ws://127.0.0.1:1"], "locked": True}
    c.adopt(hello)
    c.inflight[7] = ({"id": "11" * 32}, time.monotonic())
    c.handle({"t": "done", "rid": 7, "outcome": "dropped: locked"})
    c.handle(dict(hello))  # a restart, still locked
    assert not c.queue and len(c.held) == 1


class _Sink:
    """A device link that takes every message at once (what forward() hands over)."""

    def __init__(self):
        self.sent = []

    async def send(self, msg):
        self.sent.append(msg)


def _hello(c):
    c.adopt({"t": "hello", "proto": 1, "fw": "0.1.0", "board": "sim", "pubkey": "ab" * 32,
             "relays": ["ws://127.0.0.1:1"], "limits": {"max_message": 65536}})


def test_a_burst_of_1000_requests_waits_in_the_queue_without_a_loss():
    # 1000 events from 10 clients within a second: the old queue kept 512 and dropped the
    # oldest without a word to anyone; now only age and bytes bound it
    from bridge import courier as cm
    said = []
    c = Courier(_Sink(), out=said.append, qr=False)
    _hello(c)
    evs = [{"id": "%064x" % i, "pubkey": "%02x" % (i % 10) * 32, "kind": 24133, "content": "A" * 600}
           for i in range(1000)]
    for ev in evs:
        c.on_relay_event(ev, "ws://127.0.0.1:1")
    assert len(c.queue) == 1000

    async def body():
        t = asyncio.create_task(c.forward())
        await wait_until(lambda: len(c.link.sent) == 1000, timeout=10, what="1000 forwarded")
        t.cancel()
    run(body())
    assert [m["event"]["id"] for m in c.link.sent] == [e["id"] for e in evs]
    assert not any("dropped" in s or "expired" in s for s in said)
    assert cm.QUEUE_AGE >= 100


def test_requests_older_than_a_client_waits_are_expired_and_logged():
    from bridge import courier as cm
    said = []
    c = Courier(_Sink(), out=said.append, qr=False)
    _hello(c)
    c.on_relay_event({"id": "aa" * 32, "kind": 24133, "content": "x"}, "ws://r")
    ev, t, n = c.queue[0]
    c.queue[0] = (ev, t - cm.QUEUE_AGE - 1, n)  # it came in QUEUE_AGE + 1 s ago
    c.on_relay_event({"id": "bb" * 32, "kind": 24133, "content": "y"}, "ws://r")

    async def body():
        t = asyncio.create_task(c.forward())
        await wait_until(lambda: len(c.link.sent) == 1, timeout=5, what="one forwarded")
        t.cancel()
    run(body())
    assert c.link.sent[0]["event"]["id"] == "bb" * 32
    assert any("aaaaaaaa" in s and "expired" in s for s in said), said


def test_queue_over_its_byte_budget_drops_the_oldest_and_says_so(monkeypatch):
    from bridge import courier as cm
    said = []
    monkeypatch.setattr(cm, "QUEUE_BYTES", 10_000)
    c = Courier(_Sink(), out=said.append, qr=False)
    _hello(c)
    for i in range(5):
        c.on_relay_event({"id": "%064x" % i, "kind": 24133, "content": "z" * 3000}, "ws://r")
    assert len(c.queue) == 3 and c.queue_bytes <= 10_000
    assert sum("dropped" in s for s in said) == 2, said


def test_relays_down_at_start_are_warned_about():
    async def body():
        async with LocalRelayServer() as a:
            dead = "ws://127.0.0.1:%d" % _closed_port()
            device = FakeDevice([a.url, dead])
            link = FakeLink(device)
            lines, stop = [], asyncio.Event()
            courier = Courier(link, out=lines.append, qr=False, pool_options=FAST, handshake_timeout=1)
            courier.relay_warn_after = 1.0
            task = asyncio.create_task(serve(link, stop=stop, courier=courier))
            await wait_until(lambda: any("WARNING" in ln for ln in lines), timeout=10, what="the warning")
            line = next(ln for ln in lines if "WARNING" in ln)
            assert dead in line and "down" in line and "bunker URL" in line
            assert not any("WARNING" in ln and a.url in ln for ln in lines)
            assert await finish(stop, task) == 0
    run(body())


def _closed_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def busy_rounds(monkeypatch, rounds, error="busy"):
    """A request in flight; the device says `error` about it, then about each copy sent
    again, `rounds` times -> (event messages the bridge sent the device, its log)."""
    import bridge.courier as courier
    monkeypatch.setattr(courier, "BUSY_WAIT", 0.01)

    async def body():
        link = _Sink()
        lines = []
        c = Courier(link, out=lines.append, qr=False)
        _hello(c)
        ev = {"id": "22" * 32, "kind": 24133, "content": "QUJD"}
        c.inflight[7] = (ev, time.monotonic())
        task = asyncio.create_task(c.forward())
        try:
            rid = 7
            for _ in range(rounds):
                c.handle({"t": "error", "rid": rid, "error": error})
                await asyncio.sleep(0.2)
                if link.sent and link.sent[-1]["rid"] != rid:
                    rid = link.sent[-1]["rid"]
        finally:
            task.cancel()
        return [m for m in link.sent if m["t"] == "event"], lines
    return run(body())


def test_a_request_the_device_was_too_busy_for_is_sent_again(monkeypatch):
    # "busy" from the link: the device had no room for the message just then and did
    # nothing with it; the client is still waiting
    sent, lines = busy_rounds(monkeypatch, 1)
    assert [m["event"]["id"] for m in sent] == ["22" * 32]
    assert any("sent again" in ln for ln in lines), lines


def test_busy_requests_are_sent_again_a_few_times_then_dropped_and_said(monkeypatch):
    import bridge.courier as courier
    sent, lines = busy_rounds(monkeypatch, courier.BUSY_TRIES + 2)
    assert len(sent) == courier.BUSY_TRIES
    assert any("dropped" in ln and "busy" in ln for ln in lines), lines


def test_other_device_errors_are_not_sent_again(monkeypatch):
    sent, lines = busy_rounds(monkeypatch, 1, error="internal error: ValueError")
    assert sent == [] and any("refused" in ln for ln in lines), lines


def test_a_request_the_link_refused_as_busy_is_sent_again(monkeypatch):
    import bridge.courier as courier
    from bridge.link import Busy
    monkeypatch.setattr(courier, "BUSY_WAIT", 0.01)

    class OnceBusy:
        def __init__(self):
            self.sent = []

        async def send(self, msg):
            self.sent.append(msg)
            if len(self.sent) == 1:
                raise Busy("the device refused the message (busy)")

    async def body():
        link = OnceBusy()
        lines = []
        c = Courier(link, out=lines.append, qr=False)
        _hello(c)
        c._enqueue([({"id": "33" * 32, "kind": 24133, "content": "QUJD"}, time.monotonic())])
        task = asyncio.create_task(c.forward())
        try:
            await asyncio.sleep(0.2)
        finally:
            task.cancel()
        return link.sent, lines
    sent, lines = run(body())
    assert [m["event"]["id"] for m in sent] == ["33" * 32] * 2, lines


def test_a_piece_of_a_stream_the_device_refuses_is_sent_again(monkeypatch):
    # a "more" refused (no hole for it just then) would lose the stream: the device's
    # id check fails at the end and the client hears nothing
    import bridge.courier as courier
    from bridge.link import TooLarge
    monkeypatch.setattr(courier, "BUSY_WAIT", 0.01)

    class RefusesOnePiece:
        def __init__(self):
            self.sent = []
            self.refused = False

        async def send(self, msg):
            if msg["t"] == "more" and not self.refused:
                self.refused = True
                raise TooLarge("the device refused the message (too large)")
            self.sent.append(msg)

    async def body():
        link = RefusesOnePiece()
        lines = []
        c = Courier(link, out=lines.append, qr=False)
        c.adopt({"t": "hello", "proto": 1, "fw": "0.1.0", "board": "sim", "pubkey": "ab" * 32,
                 "relays": ["ws://127.0.0.1:1"], "limits": {"stream": 1024}})
        ev = {"id": "44" * 32, "kind": 24133, "content": "QUJD" * 700}
        ok = await c.send_in_pieces(5, {"t": "event", "rid": 5, "now": 1, "event": ev})
        return ok, ev, link.sent, lines
    ok, ev, sent, lines = run(body())
    assert ok and [m["t"] for m in sent] == ["big", "more", "more", "more"], lines
    assert "".join(m["data"] for m in sent if m["t"] == "more") == ev["content"]
