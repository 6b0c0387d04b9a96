"""Replay is closed across reboots (issue 11, breaks 3 and 4): the device's time never
goes back below what it has seen (a floor on flash), no request is answered twice (the
answered ids on flash, strangers' in a ring of their own; both in seen.bin), a host
clock far ahead cannot wedge the device, and a replayed logout cannot un-pair a client
that was admitted again."""
import json
import os
import time

import pytest

import refclient as rc
from test_signer_harness import SIGNER_PUB, Device, answer, ask, client, done, of, pair  # noqa: F401

STEP = 60  # signer/replay.py: written when the floor moved STEP/2; the floor on boot is +STEP
MAX_AGE = 300
BUSY = "busy: "  # signer/requests.py: what the replay horizon holds


class Box:
    """A device that can be restarted on the same flash."""

    def __init__(self, path):
        self.path = path
        self.dev = Device(path)

    def restart(self):
        self.dev.close()
        self.dev = Device(self.path)
        return self.dev


@pytest.fixture
def box(tmp_path):
    b = Box(tmp_path / "flash")
    yield b
    b.dev.close()


def floor(box):
    # the time on flash: seen.bin's head is b"RPL1", then the floor (4 bytes, big endian)
    with open(os.path.join(box.path, "seen.bin"), "rb") as f:
        head = f.read(8)
    assert head[:4] == b"RPL1"
    return int.from_bytes(head[4:8], "big")


def note(text="hello"):
    return json.dumps({"kind": 1, "content": text, "tags": [], "created_at": int(time.time())})


def ping_at(dev, c, t, now=None):
    ev = c.request(SIGNER_PUB, "ping", [], created_at=t)
    rid, msgs = dev.event(ev, t if now is None else now)
    return rid, ev, msgs


def answered(c, msgs, rid):
    return of(msgs, "publish", rid) and answer(c, msgs, rid)[0]


def test_a_request_signed_a_day_ago_is_refused_after_a_restart(box, client):
    dev = box.dev
    t = int(time.time())
    pair(dev, client)
    assert answered(client, ping_at(dev, client, t)[2], dev.rid)["result"] == "pong"
    dev = box.restart()
    # the host replays yesterday's capture and says it is yesterday
    rid, ev, msgs = ping_at(dev, client, t - 86400, now=t - 86400 + 5)
    resp = answered(client, msgs, rid)
    assert resp and resp["error"] == "stale request", msgs  # the client hears why
    assert done(msgs, rid)["outcome"] == "stale"
    # and a stranger's is not even decrypted
    rid, ev, msgs = ping_at(dev, rc.Client(), t - 86400, now=t - 86400 + 5)
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: stale"
    # fresh requests right after the restart are answered as before
    rid, ev, msgs = ping_at(dev, client, int(time.time()))
    assert answered(client, msgs, rid)["result"] == "pong"


def test_time_seen_but_not_yet_on_flash_still_counts_after_a_restart(box, client):
    dev = box.dev
    t = int(time.time()) - 100
    pair(dev, client)
    ping_at(dev, client, t)
    assert floor(box) == t
    later = t + STEP // 2 - 1  # seen, but too close to the last write to be written again
    assert answered(client, ping_at(dev, client, later)[2], dev.rid)["result"] == "pong"
    assert floor(box) == t
    dev = box.restart()
    # fresh (by a few seconds) when `later` was the time; stale once the device knows it was
    old = later - MAX_AGE + 5
    rid, ev, msgs = ping_at(dev, client, old)
    assert answered(client, msgs, rid)["error"] == "stale request"


def test_the_floor_is_written_sparingly(box, client):
    dev = box.dev
    t = int(time.time()) - 200
    pair(dev, client)
    seen = os.path.join(box.path, "seen.bin")
    ping_at(dev, client, t)
    assert floor(box) == t
    written = os.stat(seen).st_mtime_ns
    for i in range(1, STEP // 2, 5):
        ping_at(dev, client, t + i)
        assert os.stat(seen).st_mtime_ns == written  # pings are harmless: nothing else to write
    ping_at(dev, client, t + STEP // 2)
    assert floor(box) == t + STEP // 2
    # what a stranger or the host alone says is never written
    ping_at(dev, rc.Client(), t + STEP * 2)
    dev.send({"t": "status", "rid": dev.next_rid(), "now": t + STEP * 3})
    dev.sleep(31000)  # the strangers' ring is written now: with the floor as it was
    assert os.stat(seen).st_mtime_ns != written and floor(box) == t + STEP // 2


def test_an_approved_request_is_not_answered_again_after_a_restart(box, client):
    dev = box.dev
    pair(dev, client)
    ev = client.request(SIGNER_PUB, "sign_event", [note()])
    rid, msgs = dev.event(ev)
    assert answered(client, dev.press("approve"), rid)["result"]
    dev = box.restart()
    rid, msgs = dev.event(ev)
    assert done(msgs, rid)["outcome"] == "dropped: replayed"
    assert dev.screen[0] == "NOSTR SIGNER"  # no second prompt either


def test_a_harmless_answer_reaches_flash_within_half_a_minute(box, client):
    dev = box.dev
    pair(dev, client)
    ev = client.request(SIGNER_PUB, "ping", [])
    rid, msgs = dev.event(ev)
    assert answered(client, msgs, rid)["result"] == "pong"
    seen = os.path.join(box.path, "seen.bin")
    before = os.stat(seen).st_mtime_ns if os.path.exists(seen) else None
    dev.sleep(1000)
    assert (os.stat(seen).st_mtime_ns if os.path.exists(seen) else None) == before  # not yet
    dev.sleep(30000)
    assert os.stat(seen).st_mtime_ns != before
    dev = box.restart()
    rid, msgs = dev.event(ev)
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: replayed"


def test_strangers_cannot_flush_an_admitted_clients_replay_record(box, client):
    dev = box.dev
    pair(dev, client)
    ev = client.request(SIGNER_PUB, "ping", [])
    rid, msgs = dev.event(ev)
    assert answered(client, msgs, rid)["result"] == "pong"
    t = int(time.time())
    for i in range(70):  # more than their ring holds (32), each from a throwaway key
        s = rc.Client()
        rid, sev, msgs = ping_at(dev, s, t - 20 + i, now=t + 50)
        assert answered(s, msgs, rid)["result"] == "pong"
    rid, msgs = dev.event(ev)
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: replayed"


def test_an_id_pushed_out_of_the_ring_is_still_never_answered_again(box, client):
    # an admitted client's own burst fills its ring: what falls out stays refused
    dev = box.dev
    pair(dev, client)
    t = int(time.time()) - 100
    first = client.request(SIGNER_PUB, "ping", [], created_at=t)
    rid, msgs = dev.event(first, t)
    assert answered(client, msgs, rid)["result"] == "pong"
    for i in range(140):  # the admitted clients' ring holds 96
        rid, ev, msgs = ping_at(dev, client, t + 1 + i // 10)
        assert answered(client, msgs, rid)["result"] == "pong"
    # it may have been answered (it was), and the device cannot tell: never "pong" again,
    # but an error the client can show ("busy"), not silence (issue 10, 3)
    rid, msgs = dev.event(first, t + 8)
    resp = answered(client, msgs, rid)
    assert resp and "pong" not in json.dumps(resp) and resp["error"].startswith(BUSY), msgs
    assert done(msgs, rid)["outcome"] == "busy"


def test_a_burst_in_one_second_is_answered_in_full_a_certain_replay_stays_silent(box, client):
    # a burst created in one second (issue 10: 1000 requests from 10 clients): once the
    # ring wraps, a request created in that second cannot be told from a replay of one
    # pushed out. It is answered "busy" (the client may send it again), never dropped;
    # one still in the ring was answered already and stays silent.
    dev = box.dev
    pair(dev, client)
    t = int(time.time()) + 2  # after the pairing's second: the ring's first burst entry goes too
    out = []
    for i in range(110):  # the admitted clients' ring holds 96
        rid, ev, msgs = ping_at(dev, client, t)
        resp = answered(client, msgs, rid)
        assert resp, "request %d not answered: %r" % (i, msgs)  # every one
        out.append((ev, resp.get("result"), resp.get("error"), done(msgs, rid)["outcome"]))
    results = [o for o in out if o[1] == "pong"]
    busy = [o for o in out if o[2] and o[2].startswith(BUSY)]
    assert len(results) + len(busy) == len(out), out
    assert len(results) >= 90 and busy and all(o[3] == "busy" for o in busy), [o[1:] for o in out]
    rid, msgs = dev.event(results[-1][0], t)  # in the ring: certain, and silent
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: replayed"
    rid, msgs = dev.event(results[0][0], t)  # pushed out: maybe answered, so never "pong"
    resp = answered(client, msgs, rid)
    assert resp and resp.get("result") != "pong" and resp["error"].startswith(BUSY), resp
    # the client sends the refused one again (same request id, a new event): answered
    ev = busy[0][0]
    again = client.request(SIGNER_PUB, "ping", [], created_at=t + 1, req_id=ev["_req_id"])
    rid, msgs = dev.event(again, t + 1)
    assert answered(client, msgs, rid)["result"] == "pong"
    rid, msgs = dev.event(again, t + 1)  # and only once
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: replayed"
    # a sign_event the horizon holds: "busy" at once, no prompt, and nothing logged: a
    # relay replaying it again and again must neither flush the audit log nor wear the
    # flash with it
    log = os.path.join(box.path, "audit.log")
    before = open(log, "rb").read() if os.path.exists(log) else None
    ev = client.request(SIGNER_PUB, "sign_event", [note()], created_at=t)
    for _ in range(3):
        rid, msgs = dev.event(ev, t + 1)
        resp = answered(client, msgs, rid)
        assert resp and resp["error"].startswith(BUSY) and "sig" not in json.dumps(resp), msgs
        assert done(msgs, rid)["outcome"] == "busy" and dev.screen[0] == "NOSTR SIGNER", dev.screen
    assert (open(log, "rb").read() if os.path.exists(log) else None) == before


def test_a_replayed_logout_after_restart_does_not_unpair_a_readmitted_client(box, client):
    dev = box.dev
    pair(dev, client)
    logout = client.request(SIGNER_PUB, "logout", [])
    rid, msgs = dev.event(logout)
    assert answered(client, msgs, rid)["result"] == "ack"
    pair(dev, client)  # the person admits it again
    dev = box.restart()
    rid, msgs = dev.event(logout)  # the host replays the captured logout
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: replayed"
    assert ask(dev, client, "get_public_key", [])["result"] == SIGNER_PUB.hex()  # still paired
    dev = box.restart()
    assert ask(dev, client, "get_public_key", [])["result"] == SIGNER_PUB.hex()


@pytest.mark.parametrize("ahead", [10 ** 18, 1e18, 10 * 365 * 86400], ids=["1e18", "float", "10y"])
def test_a_host_clock_far_ahead_is_ignored_and_shown(box, client, ahead):
    dev = box.dev
    pair(dev, client)
    t = int(time.time())
    wild = ahead if ahead > 1e12 else t + ahead
    rid, ev, msgs = ping_at(dev, client, t, now=wild)  # one wild `now` ...
    assert answered(client, msgs, rid)["result"] == "pong"
    assert "host clock ahead" in dev.screen, dev.screen  # ... said on the screen
    rid, ev, msgs = ping_at(dev, client, int(time.time()))  # ... wedges nothing
    assert answered(client, msgs, rid)["result"] == "pong"
    dev.press("up")
    assert "host clock ahead" not in dev.screen  # seen: the notice goes
    dev = box.restart()
    # the first `now` after a restart is bounded too when absurd, and was never stored
    dev.send({"t": "status", "rid": dev.next_rid(), "now": 10 ** 18})
    rid, ev, msgs = ping_at(dev, client, int(time.time()))
    assert answered(client, msgs, rid)["result"] == "pong"
