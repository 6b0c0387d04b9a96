"""NIP-42 AUTH signed on the device (firmware/signer/auth.py), through the signer test
driver: a kind-22242 event for the device's own relays, a refusal for any other, and a
record of both (the `done` log line and the App's short list)."""
import time

import refclient as rc
from test_signer_harness import SIGNER_PUB, Device, dev, of  # noqa: F401 (fixture)


def auth(dev, relay, challenge="chal-123", now=None):
    rid = dev.next_rid()
    now = int(time.time()) if now is None else now
    return rid, dev.send({"t": "auth", "rid": rid, "now": now, "relay": relay, "challenge": challenge})


def test_hello_lists_the_auth_feature(dev):
    assert "auth" in dev.hello()["features"]


def test_auth_for_own_relay_is_signed_on_the_device(dev):
    now = int(time.time()) + 5
    rid, msgs = auth(dev, "ws://127.0.0.1:7777", "abc-challenge", now)
    ev = of(msgs, "auth", rid)[0]["event"]
    assert rc.verify_event(ev)
    assert ev["pubkey"] == SIGNER_PUB.hex() and ev["kind"] == 22242 and ev["content"] == ""
    assert ev["tags"] == [["relay", "ws://127.0.0.1:7777"], ["challenge", "abc-challenge"]]
    assert abs(ev["created_at"] - now) <= 1      # the device's time, taken from `now`
    d = of(msgs, "done", rid)
    assert d and d[0]["outcome"] == "ok" and d[0]["method"] == "auth"
    # the same relay written differently (upper-case host, trailing slash) is still ours
    rid, msgs = auth(dev, "WS://127.0.0.1:7777/")
    assert of(msgs, "auth", rid)


def test_auth_for_another_relay_is_refused(dev):
    rid, msgs = auth(dev, "wss://evil.example", "x")
    assert not of(msgs, "auth")
    d = of(msgs, "done", rid)
    assert d and d[0]["outcome"] == "unauthorized" and d[0]["relay"] == "wss://evil.example"
    # never a signature in any message for that one
    assert not any("sig" in line for line in dev.raw if '"rid": %d' % rid in line or
                   '"rid":%d' % rid in line)


def test_bad_auth_requests(dev):
    for bad in ({"relay": 5, "challenge": "c"}, {"relay": "ws://127.0.0.1:7777"},
                {"relay": "ws://127.0.0.1:7777", "challenge": "c" * 1000}):
        rid = dev.next_rid()
        msgs = dev.send(dict(bad, t="auth", rid=rid, now=int(time.time())))
        assert not of(msgs, "auth") and of(msgs, "done", rid)[0]["outcome"] == "invalid params"


def test_no_key_no_auth(tmp_path):
    d = Device(tmp_path / "flash", key=None)
    try:
        rid, msgs = auth(d, "ws://127.0.0.1:7777")
        assert not of(msgs, "auth") and of(msgs, "done", rid)[0]["outcome"].startswith("dropped")
    finally:
        d.close()


def test_auth_module_is_not_resident(dev):
    dev.hello()
    before = dev.mem()["alloc"]
    for _ in range(3):
        auth(dev, "ws://127.0.0.1:7777")
        auth(dev, "wss://other.example")
    # the list of recent AUTHs stays short; the module is dropped after each use
    assert dev.mem()["alloc"] - before < 3000


def test_status_lists_recent_auths_as_the_device_answered_them(dev):
    auth(dev, "ws://127.0.0.1:7777", "one")
    auth(dev, "wss://evil.example", "two")
    rid = dev.next_rid()
    st = of(dev.send({"t": "status", "rid": rid}), "status", rid)[0]
    got = [(x["relay"], x["outcome"]) for x in st["auths"]]
    assert got[-2:] == [("ws://127.0.0.1:7777", "ok"), ("wss://evil.example", "unauthorized")]
