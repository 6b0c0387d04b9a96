"""The device's own relay list (issue 13, item 2): the host proposes it (`relays`), the
person confirms it on the device (SET RELAYS?), it is kept on flash, shown in the menu,
and hello, get_relays, switch_relays and NIP-42 AUTH all follow it."""
import json
import time

from test_signer_harness import Device, answer, call, client, dev, done, of  # noqa: F401
from test_menu import choose, open_menu  # noqa: F401

NEW = ["wss://relay.example.com", "wss://nos.lol"]


def propose(dev, relays):
    rid = dev.next_rid()
    return rid, dev.send({"t": "relays", "rid": rid, "relays": relays})


def test_proposed_relays_are_shown_and_kept_only_once_approved(dev):
    rid, msgs = propose(dev, NEW)
    assert msgs == []
    s = dev.screen
    assert s[0].startswith("SET RELAYS?"), s
    assert "wss://relay.exam" in " ".join(s) and "wss://nos.lol" in s, s
    assert dev.hello()["relays"] == ["ws://127.0.0.1:7777"]   # nothing changes before the press
    d = done(dev.press("approve"), rid)
    assert d["outcome"] == "ok" and d["method"] == "relays" and d["relays"] == NEW
    assert dev.hello()["relays"] == NEW
    assert dev.screen[0] == "NOSTR SIGNER"


def test_rejected_relays_change_nothing(dev):
    rid, _ = propose(dev, NEW)
    d = done(dev.press("reject"), rid)
    assert d["outcome"] == "rejected" and "relays" not in d
    assert dev.hello()["relays"] == ["ws://127.0.0.1:7777"]


def test_bad_relay_lists_are_refused_without_a_prompt(dev):
    for bad in ([], ["http://x.example"], ["ws://"], ["wss://known@evil.example"], "wss://a.example",
                [5], ["wss://r%d.example" % i for i in range(9)]):
        rid, msgs = propose(dev, bad)
        assert done(msgs, rid)["outcome"] == "invalid relays", bad
        assert dev.screen[0] == "NOSTR SIGNER"


def test_the_same_list_again_needs_no_prompt(dev):
    rid, msgs = propose(dev, ["ws://127.0.0.1:7777"])
    d = done(msgs, rid)
    assert d["outcome"] == "ok" and d["relays"] == ["ws://127.0.0.1:7777"]


def test_new_relays_survive_a_restart(tmp_path):
    d = Device(tmp_path / "flash")
    try:
        propose(d, NEW)
        d.press("approve")
    finally:
        d.close()
    d = Device(tmp_path / "flash", config={"relays": ["ws://127.0.0.1:1"]})
    try:
        assert d.hello()["relays"] == NEW
    finally:
        d.close()


def test_get_relays_switch_relays_and_auth_follow_the_new_list(dev, client):
    from test_signer_harness import pair
    pair(dev, client)
    propose(dev, NEW)
    dev.press("approve")
    rid, ev, msgs = call(dev, client, "get_relays", [])
    assert set(json.loads(answer(client, msgs, rid, ev)[0]["result"])) == set(NEW)
    rid, ev, msgs = call(dev, client, "switch_relays", [])
    # the client still listens on the old list: answered there, then it moves
    assert of(msgs, "publish", rid)[0]["relays"] == ["ws://127.0.0.1:7777"]
    assert json.loads(answer(client, msgs, rid, ev)[0]["result"]) == NEW
    now = int(time.time())
    for relay, outcome in (("wss://nos.lol", "ok"), ("ws://127.0.0.1:7777", "unauthorized")):
        rid = dev.next_rid()
        msgs = dev.send({"t": "auth", "rid": rid, "now": now, "relay": relay, "challenge": "c"})
        assert done(msgs, rid)["outcome"] == outcome, relay


def test_menu_shows_the_device_relays(dev):
    propose(dev, NEW)
    dev.press("approve")
    open_menu(dev, "Relays")
    s = dev.screen
    assert s[0].startswith("RELAYS"), s
    assert "wss://nos.lol" in s, s


def test_the_relay_prompt_code_is_not_resident(dev):
    dev.hello()
    before = dev.mem()["alloc"]
    rid, _ = propose(dev, NEW)
    dev.press("reject")
    # signer.pairing and signer.uri dropped once answered (a few interned names stay)
    assert dev.mem()["alloc"] - before < 1024
