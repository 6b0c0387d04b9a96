"""NIP-46 through the real device link: the simulator (firmware/main.py, its board and
link, our app) behind a pseudo-terminal, driven with bridge.link.DeviceLink, buttons
pressed through the simulator's control FIFO (bridge.sim.press), never the link."""
import json
import os
import sys
import time

import pytest

import refclient as rc
from test_signer_harness import HEAP

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bridge import link as L  # noqa: E402
from bridge import sim as S  # noqa: E402

NEW_SK = bytes.fromhex("3b0f0c4d2dfc2d0e2f2b8c0e7f31c1a7d5d8a1c9e6c4a2b0f1e3d5c7a9b1c3d5")
NEW_PUB = rc.xonly(NEW_SK)


@pytest.fixture
def sim(tmp_path):
    s = S.Sim(str(tmp_path / "state"), heap=HEAP)
    yield s
    s.stop()


@pytest.fixture
def lk(sim):
    link = L.DeviceLink(sim.tty)
    link.hello(timeout=30)
    yield link
    link.close()


def screen(sim):
    with open(os.path.join(sim.state, "screen.txt")) as f:
        return f.read().splitlines()


def wait_screen(sim, first, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            s = screen(sim)
            if s and s[0].startswith(first):
                return s
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise AssertionError("screen never showed %r: %r" % (first, screen(sim)))


def press(sim, button, first_after=None):
    time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
    S.press(sim.state, button)


def provision(sim, lk):
    rid = lk.request({"t": "provision", "key": NEW_SK.hex()})
    wait_screen(sim, "IMPORT KEY?")
    press(sim, "approve")
    d = lk.answer(rid, 20)
    assert d["outcome"] == "ok" and d["pubkey"] == NEW_PUB.hex()


def event(lk, ev):
    return lk.request({"t": "event", "event": rc.strip(ev)})


def published(lk, rid, timeout=20):
    m = lk.wait_for(lambda m: m.get("rid") == rid and m.get("t") in ("publish", "done", "error"), timeout)
    assert m is not None and m["t"] == "publish", m
    return m


def test_provision_pair_and_sign_event_through_the_pty_link(sim, lk):
    provision(sim, lk)
    c = rc.Client()
    ev = c.request(NEW_PUB, "connect", [NEW_PUB.hex(), lk.device_hello.get("secret") or "", "",
                                        json.dumps({"name": "link test"})])
    rid = event(lk, ev)
    wait_screen(sim, "CONNECT?")
    press(sim, "approve")
    resp, _ = c.open(published(lk, rid)["event"], NEW_PUB)
    assert resp["result"] == "ack"

    tpl = {"kind": 1, "content": "over the wire", "tags": [], "created_at": int(time.time())}
    ev = c.request(NEW_PUB, "sign_event", [json.dumps(tpl)])
    t0 = time.monotonic()
    rid = event(lk, ev)
    wait_screen(sim, "APPROVE?")
    press(sim, "approve")
    pub = published(lk, rid)
    resp, _ = c.open(pub["event"], NEW_PUB)
    signed = json.loads(resp["result"])
    assert rc.verify_event(signed) and signed["content"] == "over the wire"
    done = lk.answer(rid, 10)
    assert done["outcome"] == "ok" and done["method"] == "sign_event" and done["kind"] == 1
    print("sign_event through the link: device %d ms, round trip with approval %.0f ms"
          % (done["ms"], (time.monotonic() - t0) * 1000))


def test_ping_round_trip_through_the_pty_link(sim, lk):
    provision(sim, lk)
    c = rc.Client()
    ev = c.request(NEW_PUB, "ping", [])
    t0 = time.monotonic()
    rid = event(lk, ev)
    resp, _ = c.open(published(lk, rid)["event"], NEW_PUB)
    took = time.monotonic() - t0
    assert resp["result"] == "pong"
    done = lk.answer(rid, 10)
    print("ping through the link: device %d ms, round trip %.0f ms" % (done["ms"], took * 1000))


def test_dropped_event_through_the_link_gets_only_done(sim, lk):
    provision(sim, lk)
    c = rc.Client()
    ev = c.request(NEW_PUB, "ping", [])
    ev["sig"] = "00" * 64
    rid = event(lk, ev)
    m = lk.wait_for(lambda m: m.get("rid") == rid, 20)
    assert m["t"] == "done" and m["outcome"] == "dropped: bad signature"
