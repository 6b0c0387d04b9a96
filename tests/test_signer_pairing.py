"""Pairing and keys: bunker:// connect with its single-use secret, nostrconnect://
pairing, provisioning a key on the device, and the key never leaving it."""
import json
import os
import time
import urllib.parse

import pytest

import refclient as rc
from test_signer_harness import (SIGNER_PUB, SIGNER_SK, Device, answer, ask, call, client, dev,  # noqa: F401
                                 done, of, pair)


def secret_of(dev):
    # what the person reads off the device's own QR (ui/menu_pair.py): the host is
    # never told it, so the test reads the device's flash as the QR does
    dev.hello()  # the device is up (it writes signer.json at its first boot)
    with open(os.path.join(dev.storage, "signer.json")) as f:
        return json.load(f)["secret"]


def test_the_host_never_learns_the_bunker_secret(dev, client):
    secret = secret_of(dev)
    assert len(secret) >= 16
    h = dev.hello()
    st = of(dev.send({"t": "status", "rid": 1}), "status")[0]
    assert "secret" not in h and "secret" not in st
    # so a key of the host's own cannot pair with "secret ok" by asking for it
    connect(dev, client, "")
    assert "NO SECRET!" in dev.screen and "secret ok" not in dev.screen
    dev.press("approve")
    assert not [ln for ln in dev.raw if secret in ln]  # nothing the device said holds it


def connect(dev, client, secret, perms="", meta=None):
    params = [SIGNER_PUB.hex(), secret, perms] + ([json.dumps(meta)] if meta else [])
    return call(dev, client, "connect", params)


def test_connect_with_the_bunker_secret_shows_secret_ok_and_is_acked(dev, client):
    rid, ev, msgs = connect(dev, client, secret_of(dev), meta={"name": "Coracle", "url": "https://coracle.social"})
    assert msgs == []
    s = dev.screen
    # the name is a claim: the client's key is under it (the URL, a claim too, below)
    n = rc.bech32_encode("npub", bytes.fromhex(client.pubhex))
    assert s[0].startswith("CONNECT?") and s[1:4] == ["Coracle", "(unverified)", n[:9] + ".." + n[-5:]], s
    assert "secret ok" in s
    assert answer(client, dev.press("approve"), rid, ev)[0]["result"] == "ack"


def test_bunker_secret_is_rotated_after_use(dev, client):
    s1 = secret_of(dev)
    rid, ev, _ = connect(dev, client, s1)
    dev.press("approve")
    s2 = secret_of(dev)
    assert s2 != s1 and len(s2) >= 16


def test_used_bunker_secret_is_shown_as_wrong_and_still_needs_approval(dev, client):
    s1 = secret_of(dev)
    connect(dev, client, s1)
    dev.press("approve")
    other = rc.Client()
    rid, ev, msgs = connect(dev, other, s1)
    assert msgs == [] and "WRONG SECRET!" in dev.screen
    assert answer(other, dev.press("reject"), rid, ev)[0]["error"] == "rejected"
    assert ask(dev, other, "get_public_key", [])["error"] == "unauthorized"


def test_connect_without_secret_is_shown_loudly_and_needs_approval(dev, client):
    rid, ev, msgs = connect(dev, client, "")
    assert msgs == [] and "NO SECRET!" in dev.screen


def test_connect_shows_requested_perms_and_no_rule_is_kept_on_reject(dev, client):
    rid, ev, _ = connect(dev, client, secret_of(dev), perms="sign_event:1,nip44_encrypt,bogus")
    assert "asks to allow:" in dev.screen and "sign 1 note" in dev.screen and "nip44_encrypt" in dev.screen
    dev.press("reject")
    assert ask(dev, client, "ping", [])["result"] == "pong"
    assert ask(dev, client, "nip44_encrypt", [rc.Client().pubhex, "x"])["error"] == "unauthorized"


def test_connect_rejected_leaves_the_secret_unused(dev, client):
    s1 = secret_of(dev)
    connect(dev, client, s1)
    dev.press("reject")
    assert secret_of(dev) == s1


def test_connect_times_out(tmp_path, client):
    d = Device(tmp_path / "flash", {"prompt_timeout_s": 1})
    try:
        rid, ev, _ = connect(d, client, secret_of(d))
        msgs = d.sleep(1100)
        assert answer(client, msgs, rid, ev)[0]["error"] == "approval timed out"
    finally:
        d.close()


def nostrconnect_uri(client, secret="s3cr3t", relays=("wss://relay.one", "wss://relay.two"),
                     perms="sign_event:1", name="My Client", extra=""):
    q = [("relay", r) for r in relays] + [("secret", secret), ("perms", perms), ("name", name),
                                          ("url", "https://client.example")]
    return "nostrconnect://%s?%s%s" % (client.pubhex, urllib.parse.urlencode(q), extra)


def pair_nostrconnect(dev, client, **kw):
    rid = dev.next_rid()
    msgs = dev.send({"t": "nostrconnect", "rid": rid, "now": int(time.time()), "uri": nostrconnect_uri(client, **kw)})
    return rid, msgs


def test_nostrconnect_shows_the_client_and_publishes_the_secret_on_approval(dev, client):
    rid, msgs = pair_nostrconnect(dev, client)
    assert msgs == []
    s = dev.screen
    assert s[0].startswith("PAIR?") and s[1] == "My Client" and s[2] == "(unverified)"
    assert "sign 1 note" in s
    msgs = dev.press("approve")
    pub = of(msgs, "publish", rid)[0]
    resp, scheme = client.open(pub["event"], SIGNER_PUB)
    assert resp["result"] == "s3cr3t" and scheme == "nip44"
    assert pub["relays"][:2] == ["wss://relay.one", "wss://relay.two"]
    assert "ws://127.0.0.1:7777" in pub["relays"]
    d = done(msgs, rid)
    assert d["outcome"] == "ok" and d["client"] == client.pubhex and "s3cr3t" not in json.dumps(d)


def test_nostrconnect_client_is_admitted_with_its_perms_as_rules(dev, client):
    pair_nostrconnect(dev, client)
    dev.press("approve")
    tpl = json.dumps({"kind": 1, "content": "x", "tags": [], "created_at": int(time.time())})
    rid, ev, msgs = call(dev, client, "sign_event", [tpl])
    assert rc.verify_event(json.loads(answer(client, msgs, rid, ev)[0]["result"]))


def test_nostrconnect_responses_go_to_the_client_relays_until_it_switches(dev, client):
    pair_nostrconnect(dev, client)
    dev.press("approve")
    rid, ev, msgs = call(dev, client, "switch_relays", [])
    assert of(msgs, "publish", rid)[0]["relays"] == ["wss://relay.one", "wss://relay.two"]
    assert json.loads(answer(client, msgs, rid, ev)[0]["result"]) == ["ws://127.0.0.1:7777"]
    rid, ev, msgs = call(dev, client, "switch_relays", [])
    assert of(msgs, "publish", rid)[0]["relays"] == []
    assert answer(client, msgs, rid, ev)[0]["result"] == "null"


def test_nostrconnect_reject_publishes_nothing(dev, client):
    rid, _ = pair_nostrconnect(dev, client)
    msgs = dev.press("reject")
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "rejected"


def test_nostrconnect_percent_decoding_and_draft_metadata(dev, client):
    uri = "nostrconnect://%s?relay=wss%%3A%%2F%%2Fr.example%%2Fx&secret=a%%2Bb&metadata=%s" % (
        client.pubhex, urllib.parse.quote(json.dumps({"name": "Old App", "url": "https://old.example"})))
    rid = dev.next_rid()
    dev.send({"t": "nostrconnect", "rid": rid, "now": int(time.time()), "uri": uri})
    assert dev.screen[1] == "Old App"
    msgs = dev.press("approve")
    pub = of(msgs, "publish", rid)[0]
    assert pub["relays"][0] == "wss://r.example/x"
    assert client.open(pub["event"], SIGNER_PUB)[0]["result"] == "a+b"


@pytest.mark.parametrize("uri,why", [
    ("nostrconnect://%s?relay=wss%%3A%%2F%%2Fr.example", "no secret"),
    ("nostrconnect://%s?secret=x", "no relay"),
    ("bunker://%s?relay=wss://r&secret=x", "scheme"),
    ("nostrconnect://abc?relay=wss://r&secret=x", "pubkey"),
    ("nostrconnect://%s?relay=ws://&secret=x", "relay: empty host"),
    ("nostrconnect://%s?relay=ws%%3A%%2F%%2F&secret=x", "relay: empty host, escaped"),
    ("nostrconnect://%s?relay=wss:///path&secret=x", "relay: empty host before a path"),
    ("nostrconnect://%s?relay=wss://:443&secret=x", "relay: a port, no host"),
    ("nostrconnect://%s?relay=wss://relay.damus.io@evil.example&secret=x", "relay: userinfo"),
    ("nostrconnect://%s?relay=wss://r.example:44x&secret=x", "relay: bad port"),
    ("nostrconnect://%s?relay=wss://r%%20x.example&secret=x", "relay: a space"),
])
def test_bad_nostrconnect_uri_is_refused_without_a_prompt(dev, client, uri, why):
    rid = dev.next_rid()
    msgs = dev.send({"t": "nostrconnect", "rid": rid, "now": int(time.time()),
                     "uri": uri % client.pubhex if "%s" in uri else uri})
    assert done(msgs, rid)["outcome"] == "invalid uri", why
    assert dev.screen[0] == "NOSTR SIGNER"


@pytest.mark.parametrize("relay", ["ws://127.0.0.1:7777", "wss://relay.example.com/sub/path?x=1",
                                   "wss://[::1]:7777", "wss://nos.lol"])
def test_nostrconnect_relays_with_a_host_are_taken(dev, client, relay):
    rid = dev.next_rid()
    uri = "nostrconnect://%s?relay=%s&secret=x" % (client.pubhex, urllib.parse.quote(relay, safe=""))
    dev.send({"t": "nostrconnect", "rid": rid, "now": int(time.time()), "uri": uri})
    assert dev.screen[0] != "NOSTR SIGNER"  # the pairing prompt
    msgs = dev.press("approve")
    assert relay in of(msgs, "publish", rid)[0]["relays"]


# ---- provisioning ------------------------------------------------------------------

NEW_SK = bytes.fromhex("3b0f0c4d2dfc2d0e2f2b8c0e7f31c1a7d5d8a1c9e6c4a2b0f1e3d5c7a9b1c3d5")


def nsec(sk):
    return rc.bech32_encode("nsec", sk)


@pytest.fixture
def blank(tmp_path):
    d = Device(tmp_path / "flash", key=None)
    yield d
    d.close()


@pytest.mark.parametrize("form", ["hex", "nsec"])
def test_provision_shows_the_npub_and_imports_on_approval(blank, form):
    key = NEW_SK.hex() if form == "hex" else nsec(NEW_SK)
    rid = blank.next_rid()
    assert blank.send({"t": "provision", "rid": rid, "key": key}) == []
    s = blank.screen
    assert s[0] == "IMPORT KEY?" and s[1] == "new key:" and s[2].startswith("npub1")
    msgs = blank.press("approve")
    d = done(msgs, rid)
    assert d["outcome"] == "ok" and d["pubkey"] == rc.xonly(NEW_SK).hex()
    assert blank.hello()["pubkey"] == rc.xonly(NEW_SK).hex()


def test_provision_rejected_keeps_no_key(blank):
    rid = blank.next_rid()
    blank.send({"t": "provision", "rid": rid, "key": NEW_SK.hex()})
    assert done(blank.press("reject"), rid)["outcome"] == "rejected"
    assert blank.hello()["pubkey"] is None
    assert not os.path.exists(os.path.join(blank.storage, "key.json"))


def test_provision_of_an_invalid_key_is_refused_without_a_prompt(blank):
    rid = blank.next_rid()
    msgs = blank.send({"t": "provision", "rid": rid, "key": "ff" * 32})
    assert done(msgs, rid)["outcome"] == "invalid key"
    assert blank.screen[0] == "NOSTR SIGNER"


def test_provisioned_key_survives_restart_and_signs(tmp_path):
    d = Device(tmp_path / "flash", key=None)
    try:
        rid = d.next_rid()
        d.send({"t": "provision", "rid": rid, "key": NEW_SK.hex()})
        d.press("approve")
    finally:
        d.close()
    d = Device(tmp_path / "flash", key=None)
    try:
        assert d.hello()["pubkey"] == rc.xonly(NEW_SK).hex()
        c = rc.Client()
        ev = c.request(rc.xonly(NEW_SK), "ping", [])
        rid, msgs = d.event(ev)
        assert c.open(of(msgs, "publish", rid)[0]["event"], rc.xonly(NEW_SK))[0]["result"] == "pong"
    finally:
        d.close()


def test_replacing_the_key_warns_and_forgets_clients(dev, client):
    pair(dev, client)
    rid = dev.next_rid()
    dev.send({"t": "provision", "rid": rid, "key": NEW_SK.hex()})
    assert "REPLACES the" in "".join(dev.screen) or any("REPLACES" in ln for ln in dev.screens[-1])
    dev.press("approve")
    st = of(dev.send({"t": "status", "rid": 500}), "status", 500)[0]
    assert st["clients"] == [] and st["pubkey"] == rc.xonly(NEW_SK).hex()


def test_the_secret_key_never_appears_in_any_output(tmp_path, client):
    d = Device(tmp_path / "flash", key=None)
    try:
        rid = d.next_rid()
        d.send({"t": "provision", "rid": rid, "key": nsec(SIGNER_SK)})
        d.press("approve")
        pair(d, client, perms="sign_event:1")
        tpl = json.dumps({"kind": 1, "content": "x", "tags": [], "created_at": int(time.time())})
        ask(d, client, "sign_event", [tpl])
        call(d, client, "nip44_encrypt", [rc.Client().pubhex, "x"])  # waits: no rule
        d.press("approve")
        d.send({"t": "status", "rid": 900})
        d.hello()
    finally:
        d.close()
    blob = "".join(d.raw) + d.stderr + "".join("".join(s) for s in d.screens)
    raw = b""
    for name in os.listdir(d.storage):
        if name != "key.json":
            with open(os.path.join(d.storage, name), "rb") as f:
                raw += f.read() + b"\0"  # seen.bin is binary: the key's bytes must not be in it either
    blob += raw.decode("latin-1")
    for form in (SIGNER_SK.hex(), SIGNER_SK.hex().upper(), nsec(SIGNER_SK)):
        assert form not in blob
    assert SIGNER_SK not in raw
