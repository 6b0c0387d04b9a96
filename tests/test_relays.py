"""bridge/relays.py against real relays (nostr-sdk LocalRelay on loopback).

A tiny websockets relay (ScriptedRelay) is used only for what LocalRelay can't produce:
CLOSED/OK "rate-limited:", NOTICE, and stored kind-24133 events to check `since` on resubscribe
(LocalRelay, like most relays, does not store ephemeral events).
"""
import asyncio
import json
import logging
import socket
import time

import pytest
import websockets

from bridge.localrelay import LocalRelayServer
from bridge.relays import RelayPool, format_status, normalize_url
from nostrev import auth_event, keypair, make_event, run, wait_until

pytestmark = pytest.mark.timeout(60)

FAST = dict(backoff_min=0.05, backoff_max=0.4, open_timeout=2)


def request_to(signer_pub, sk=None, created_at=None, content="ciphertext"):
    sk = sk or keypair()[0]
    return make_event(sk, 24133, content, [["p", signer_pub]], created_at)


def subscribed(pool, urls=None):
    rows = [s for s in pool.status() if urls is None or s["url"] in urls]
    return bool(rows) and all(s["connected"] and s["eose"] for s in rows)


async def drain(pool, n, timeout=5.0):
    out = []
    for _ in range(n):
        ev, _url = await asyncio.wait_for(pool.queue.get(), timeout)
        out.append(ev)
    return out


async def publisher(urls):
    """A second pool with no subscription: the NIP-46 client's side."""
    q = RelayPool(urls, **FAST)
    await q.start()
    return q


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_normalize_url():
    assert normalize_url(" WSS://Relay.Example.com/ ") == "wss://relay.example.com"
    assert normalize_url("ws://127.0.0.1:7777") == "ws://127.0.0.1:7777"
    assert normalize_url("wss://r.example/path/") == "wss://r.example/path/"
    for bad in ("https://r.example", "r.example", "wss://", "wss:///x"):
        with pytest.raises(ValueError):
            normalize_url(bad)


def test_dedupe_is_bounded_lru():
    pool = RelayPool(pubkey="ab" * 32, seen_max=3)
    r = pool.add_relay("ws://127.0.0.1:1")
    evs = [request_to("ab" * 32) for _ in range(4)]
    for ev in evs + evs[-1:]:
        r.on_event(pool.sub_id, ev)
    assert pool.queue.qsize() == 4 and r.dups == 1
    assert evs[0]["id"] not in pool._seen and len(pool._seen) == 3
    # not for us, wrong kind, wrong subscription: dropped before the device sees them
    r.on_event(pool.sub_id, request_to("cd" * 32))
    r.on_event(pool.sub_id, dict(request_to("ab" * 32), kind=1))
    r.on_event("other", request_to("ab" * 32))
    assert pool.queue.qsize() == 4 and r.junk == 2


def test_subscribe_publish_dedupe_two_relays():
    async def body():
        async with LocalRelayServer() as a, LocalRelayServer() as b:
            sk, signer = keypair()
            got = []
            pool = RelayPool([a.url, b.url], lambda ev, url: got.append((ev["id"], url)), pubkey=signer, **FAST)
            await pool.start()
            q = await publisher([a.url, b.url])
            try:
                await wait_until(lambda: subscribed(pool), what="both subscriptions")
                reqs = [request_to(signer) for _ in range(5)]
                for ev in reqs:
                    res = await q.publish(ev, timeout=5)
                    assert res == {a.url: (True, ""), b.url: (True, "")}, res
                await q.publish(request_to("cd" * 32), timeout=5)   # someone else's: never arrives
                await wait_until(lambda: sum(s["events_in"] for s in pool.status()) >= 10, what="both copies")
                assert [i for i, _ in got] == [ev["id"] for ev in reqs]   # once each, in order
                st = {s["url"]: s for s in pool.status()}
                assert st[a.url]["dups"] + st[b.url]["dups"] == 5
                assert "subscribed" in format_status(pool.status())
                # the signer's response: published to every relay with OKs collected
                resp = make_event(sk, 24133, "ct", [["p", reqs[0]["pubkey"]]])
                res = await pool.publish(resp, timeout=5)
                assert res == {a.url: (True, ""), b.url: (True, "")}
                assert all(s["events_out"] == 1 for s in pool.status())
            finally:
                await pool.close()
                await q.close()
    run(body())


def test_dead_relay_at_start_then_started():
    async def body():
        async with LocalRelayServer() as a:
            # a known port with nobody listening (not a stopped LocalRelay: its shutdown
            # finishes in the background, and under load it still accepted connections)
            b = LocalRelayServer(port=free_port())
            _, signer = keypair()
            pool = RelayPool([a.url, b.url], pubkey=signer, **FAST)
            await pool.start()
            try:
                await wait_until(lambda: subscribed(pool, [a.url]), what="relay a")
                st = {s["url"]: s for s in pool.status()}
                assert not st[b.url]["connected"] and st[b.url]["last_error"]
                # publishing still works through the live relay; the dead one reports why
                res = await pool.publish(request_to("cd" * 32), timeout=1)
                assert res[a.url] == (True, "") and res[b.url][0] is False
                assert res[b.url][1].startswith("not connected")
                await b.start()
                await wait_until(lambda: subscribed(pool), timeout=10, what="relay b after start")
                q = await publisher([b.url])
                ev = request_to(signer)
                assert (await q.publish(ev, timeout=5))[b.url][0]
                (got,) = await drain(pool, 1)
                assert got["id"] == ev["id"]
                await q.close()
            finally:
                await pool.close()
                b.stop()
    run(body())


def test_relay_restart_reconnects_and_resubscribes():
    async def body():
        async with LocalRelayServer() as a:
            _, signer = keypair()
            pool = RelayPool([a.url], pubkey=signer, **FAST)
            await pool.start()
            q = await publisher([a.url])
            try:
                await wait_until(lambda: subscribed(pool), what="subscription")
                sent = [request_to(signer)]
                await q.publish(sent[0], timeout=5)
                got = await drain(pool, 1)       # OK can come before the relay's broadcast
                await a.restart(down_for=0.3)
                await wait_until(lambda: pool.status()[0]["connects"] >= 2 and subscribed(pool),
                                 timeout=10, what="resubscription")
                # the publisher's pool reconnected too (or resends on reconnect): nothing lost
                for _ in range(3):
                    sent.append(request_to(signer))
                    res = await q.publish(sent[-1], timeout=5)
                    assert res[a.url][0], res
                got += await drain(pool, len(sent) - 1)
                assert [e["id"] for e in got] == [e["id"] for e in sent]
                assert pool.queue.empty()
            finally:
                await pool.close()
                await q.close()
    run(body())


def test_publish_rejected_and_duplicate():
    async def body():
        async with LocalRelayServer() as a:
            sk, _ = keypair()
            pool = RelayPool([a.url], **FAST)
            await pool.start()
            try:
                ev = make_event(sk, 1, "stored, unlike kind 24133")
                assert (await pool.publish(ev))[a.url] == (True, "")
                ok, msg = (await pool.publish(ev))[a.url]
                assert ok and msg.startswith("duplicate:")
                bad = dict(make_event(sk, 24133, "y", [["p", "ab" * 32]]), content="tampered")
                ok, msg = (await pool.publish(bad))[a.url]
                assert not ok and msg.startswith("invalid:")
                assert pool.status()[0]["rejected"] == 1
                with pytest.raises(ValueError):
                    await pool.publish({"kind": 1})
            finally:
                await pool.close()
    run(body())


def test_extra_relay_on_demand_is_publish_only():
    async def body():
        async with LocalRelayServer() as a, LocalRelayServer() as c:
            sk, signer = keypair()
            pool = RelayPool([a.url], pubkey=signer, **FAST)
            await pool.start()
            try:
                ev = make_event(sk, 24133, "x", [["p", "ab" * 32]])
                res = await pool.publish(ev, relays=[c.url + "/", "https://not-a-relay"], timeout=5)
                assert res == {a.url: (True, ""), c.url: (True, "")}
                st = {s["url"]: s for s in pool.status()}
                assert st[c.url]["member"] is False and st[c.url]["subscribed"] is False
                assert pool.urls == [a.url]
                # the next event without extras goes to members only
                res = await pool.publish(make_event(sk, 24133, "y", [["p", "ab" * 32]]), timeout=5)
                assert list(res) == [a.url]
            finally:
                await pool.close()
    run(body())


def test_auth_required_read_calls_signer_then_subscribes():
    async def body():
        async with LocalRelayServer(auth="read") as a:
            signer_sk, signer = keypair()
            calls = []

            async def auth_signer(url, challenge):
                calls.append((url, challenge))
                await asyncio.sleep(0.05)          # the device takes a while
                return auth_event(signer_sk, url, challenge)

            pool = RelayPool([a.url], pubkey=signer, auth_signer=auth_signer, **FAST)
            await pool.start()
            q = await publisher([a.url])
            try:
                await wait_until(lambda: subscribed(pool), what="subscription after AUTH")
                assert len(calls) == 1 and calls[0][0] == a.url and calls[0][1]
                assert pool.status()[0]["authed"]
                ev = request_to(signer)
                assert (await q.publish(ev, timeout=5))[a.url][0]
                (got,) = await drain(pool, 1)
                assert got["id"] == ev["id"]
            finally:
                await pool.close()
                await q.close()
    run(body())


def test_auth_required_without_signer_is_reported():
    async def body():
        async with LocalRelayServer(auth="read") as a:
            _, signer = keypair()
            pool = RelayPool([a.url], pubkey=signer, **FAST)     # no signer: the pool never signs
            await pool.start()
            try:
                await wait_until(lambda: "auth-required" in (pool.status()[0]["last_error"] or ""),
                                 what="CLOSED auth-required")
                assert not pool.status()[0]["subscribed"] and not pool.status()[0]["authed"]
            finally:
                await pool.close()
    run(body())


def test_auth_required_write_resends_after_auth():
    async def body():
        async with LocalRelayServer(auth="write") as a:
            sk, _ = keypair()
            calls = []

            async def auth_signer(url, challenge):
                calls.append(challenge)
                return auth_event(sk, url, challenge)
            pool = RelayPool([a.url], auth_signer=auth_signer, **FAST)
            await pool.start()
            nosigner = RelayPool([a.url], **FAST)
            await nosigner.start()
            try:
                ev = make_event(sk, 24133, "x", [["p", "ab" * 32]])
                ok, msg = (await nosigner.publish(ev, timeout=5))[a.url]
                assert not ok and msg.startswith("auth-required:")
                assert (await pool.publish(ev, timeout=5))[a.url] == (True, "")
                assert len(calls) == 1
            finally:
                await pool.close()
                await nosigner.close()
    run(body())


# ---- ScriptedRelay: protocol cases LocalRelay can't produce -------------------------------

class ScriptedRelay:
    """Stores every event (even ephemeral), honours `since`, and can misbehave on cue."""

    def __init__(self):
        self.events, self.reqs, self.received = [], [], []
        self.close_next_req = None      # CLOSED reason for the next REQ
        self.reject_next_event = None   # OK false reason for the next EVENT
        self.notice_on_connect = None
        self.challenge_on_connect = None
        self.auths = []
        self.server = None
        self.port = None

    @property
    def url(self):
        return "ws://127.0.0.1:%d" % self.port

    async def start(self):
        self.server = await websockets.serve(self.handler, "127.0.0.1", self.port or 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()

    async def handler(self, ws):
        if self.notice_on_connect:
            await ws.send(json.dumps(["NOTICE", self.notice_on_connect]))
        if self.challenge_on_connect:
            await ws.send(json.dumps(["AUTH", self.challenge_on_connect]))
        async for raw in ws:
            msg = json.loads(raw)
            if msg[0] == "REQ":
                self.reqs.append(msg[2])
                if self.close_next_req:
                    reason, self.close_next_req = self.close_next_req, None
                    await ws.send(json.dumps(["CLOSED", msg[1], reason]))
                    continue
                for ev in self.events:
                    if ev["created_at"] >= msg[2].get("since", 0):
                        await ws.send(json.dumps(["EVENT", msg[1], ev]))
                await ws.send(json.dumps(["EOSE", msg[1]]))
            elif msg[0] == "AUTH":
                self.auths.append(msg[1])
                await ws.send(json.dumps(["OK", msg[1]["id"], True, ""]))
            elif msg[0] == "EVENT":
                self.received.append(msg[1]["id"])
                if self.reject_next_event:
                    reason, self.reject_next_event = self.reject_next_event, None
                    await ws.send(json.dumps(["OK", msg[1]["id"], False, reason]))
                else:
                    self.events.append(msg[1])
                    await ws.send(json.dumps(["OK", msg[1]["id"], True, ""]))


def test_rate_limited_closed_and_ok_are_retried_and_notice_logged(caplog):
    async def body():
        relay = ScriptedRelay()
        relay.close_next_req = "rate-limited: slow down"
        relay.notice_on_connect = "hello\nfrom the relay"
        await relay.start()
        sk, signer = keypair()
        pool = RelayPool([relay.url], pubkey=signer, **FAST)
        await pool.start()
        try:
            await wait_until(lambda: subscribed(pool), what="resubscription after rate-limited")
            assert len(relay.reqs) == 2
            relay.reject_next_event = "rate-limited: too many events"
            ev = make_event(sk, 24133, "x", [["p", "ab" * 32]])
            assert (await pool.publish(ev, timeout=5))[relay.url] == (True, "")
            assert relay.received == [ev["id"], ev["id"]]
            assert pool.status()[0]["last_notice"] == "hello?from the relay"
        finally:
            await pool.close()
            await relay.stop()
    with caplog.at_level(logging.INFO, logger="bridge.relays"):
        run(body())
    assert any("NOTICE hello?from the relay" in r.getMessage() for r in caplog.records)


def test_resubscribe_since_last_seen_and_nothing_lost():
    async def body():
        relay = ScriptedRelay()
        await relay.start()
        sk, signer = keypair()
        pool = RelayPool([relay.url], pubkey=signer, overlap=60, **FAST)
        await pool.start()
        try:
            await wait_until(lambda: subscribed(pool), what="subscription")
            assert abs(relay.reqs[0]["since"] - (time.time() - 60)) < 3
            assert relay.reqs[0]["kinds"] == [24133] and relay.reqs[0]["#p"] == [signer]
            await relay.stop()
            await wait_until(lambda: not pool.status()[0]["connected"], what="disconnect")
            # events that reach the relay while we are away are stored there...
            now = int(time.time())
            missed = [request_to(signer, created_at=now - 5), request_to(signer, created_at=now)]
            old = request_to(signer, created_at=now - 3600)
            relay.events += [old] + missed
            await relay.start()
            # ...and come back through the new REQ's `since`, the old one doesn't
            got = await drain(pool, 2, timeout=10)
            assert [e["id"] for e in got] == [e["id"] for e in missed]
            since = relay.reqs[-1]["since"]
            assert now - 62 <= since <= now - 58, (since, now)
            await asyncio.sleep(0.2)
            assert pool.queue.empty()
        finally:
            await pool.close()
            await relay.stop()
    run(body())


def test_eager_auth_answers_challenge_on_connect():
    async def body():
        relay = ScriptedRelay()
        relay.challenge_on_connect = "chal-123"
        await relay.start()
        sk, _ = keypair()
        calls = []

        async def auth_signer(url, challenge):
            calls.append((url, challenge))
            return auth_event(sk, url, challenge)
        lazy = RelayPool([relay.url], auth_signer=auth_signer, **FAST)
        eager = RelayPool([relay.url], auth_signer=auth_signer, auth_eager=True, **FAST)
        await lazy.start()
        await eager.start()
        try:
            await wait_until(lambda: eager.status()[0]["authed"], what="eager AUTH")
            assert calls == [(relay.url, "chal-123")]
            (sent,) = relay.auths
            assert sent["kind"] == 22242 and ["challenge", "chal-123"] in sent["tags"]
            assert lazy.status()[0]["connected"] and not lazy.status()[0]["authed"]
        finally:
            await lazy.close()
            await eager.close()
            await relay.stop()
    run(body())
