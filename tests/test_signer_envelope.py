"""Unattributable kind-24133 events are dropped: no publish, nothing signed, one `done`
with outcome "dropped: <why>"; and what `done` says never carries plaintext."""
import json
import time

import pytest

import refclient as rc
from test_signer_harness import SIGNER_PUB, answer, ask, call, client, dev, done, of, pair  # noqa: F401


def dropped(dev, ev, why, now=None):
    rid, msgs = dev.event(ev, now)
    assert not of(msgs, "publish"), msgs
    d = done(msgs, rid)
    assert d["outcome"] == "dropped: " + why, d
    assert d["client"] is None or why in ("replayed", "invalid request")
    return d


def test_bad_signature_is_dropped(dev, client):
    ev = client.request(SIGNER_PUB, "ping", [])
    ev["sig"] = ev["sig"][:-2] + ("00" if ev["sig"][-2:] != "00" else "01")
    dropped(dev, ev, "bad signature")


def test_tampered_content_fails_the_id_check(dev, client):
    ev = client.request(SIGNER_PUB, "ping", [])
    other = client.request(SIGNER_PUB, "get_public_key", [])
    ev["content"] = other["content"]
    dropped(dev, ev, "bad id")


def test_signature_by_another_key_is_dropped(dev, client):
    ev = client.request(SIGNER_PUB, "ping", [])
    ev["pubkey"] = rc.Client().pubhex
    ev["id"] = rc.event_id(ev)  # a consistent id, but the signature is not theirs
    dropped(dev, ev, "bad signature")


def test_wrong_p_tag_is_dropped(dev, client):
    ev = client.request(SIGNER_PUB, "ping", [], p=rc.Client().pubhex)
    dropped(dev, ev, "wrong p tag")


def test_missing_p_tag_is_dropped(dev, client):
    ev = rc.sign_event({"kind": 24133, "created_at": int(time.time()), "tags": [],
                        "content": client.encrypt(SIGNER_PUB, "{}")}, client.sk)
    dropped(dev, ev, "wrong p tag")


def test_stale_event_is_dropped(dev, client):
    now = int(time.time())
    ev = client.request(SIGNER_PUB, "ping", [], created_at=now - 301)
    dropped(dev, ev, "stale", now)


def test_event_from_the_future_is_dropped(dev, client):
    now = int(time.time())
    ev = client.request(SIGNER_PUB, "ping", [], created_at=now + 61)
    dropped(dev, ev, "from the future", now)


def test_event_just_inside_the_age_window_is_answered(dev, client):
    now = int(time.time())
    ev = client.request(SIGNER_PUB, "ping", [], created_at=now - 290)
    rid, msgs = dev.event(ev, now)
    assert answer(client, msgs, rid, ev)[0]["result"] == "pong"


def test_device_clock_never_goes_back_so_old_events_stay_stale(dev, client):
    now = int(time.time())
    ask(dev, client, "ping", [])  # the device learns "now"
    ev = client.request(SIGNER_PUB, "ping", [], created_at=now - 1000)
    dropped(dev, ev, "stale", now - 1000)  # a host winding the clock back changes nothing


def test_replayed_event_is_dropped(dev, client):
    ev = client.request(SIGNER_PUB, "ping", [])
    rid, msgs = dev.event(ev)
    assert of(msgs, "publish", rid)
    dropped(dev, ev, "replayed")


def test_same_request_id_in_a_new_event_is_dropped(dev, client):
    ev1 = client.request(SIGNER_PUB, "ping", [], req_id="same-id")
    rid, msgs = dev.event(ev1)
    assert of(msgs, "publish", rid)
    ev2 = client.request(SIGNER_PUB, "ping", [], req_id="same-id", created_at=ev1["created_at"] + 1)
    rid2, msgs2 = dev.event(ev2)
    assert not of(msgs2, "publish")
    assert done(msgs2, rid2)["outcome"] == "dropped: replayed"


def test_same_request_id_from_another_client_is_answered(dev, client):
    other = rc.Client()
    for c in (client, other):
        ev = c.request(SIGNER_PUB, "ping", [], req_id="shared-id")
        rid, msgs = dev.event(ev)
        assert answer(c, msgs, rid, ev)[0]["result"] == "pong"


def test_undecryptable_content_is_dropped(dev, client):
    ev = rc.sign_event({"kind": 24133, "created_at": int(time.time()), "tags": [["p", SIGNER_PUB.hex()]],
                        "content": "AgAAAA" + "A" * 120}, client.sk)
    dropped(dev, ev, "undecryptable")


def test_content_encrypted_to_someone_else_is_dropped(dev, client):
    ev = client.request(SIGNER_PUB, "ping", [])
    other = rc.Client()
    ev["content"] = client.encrypt(other.pub, json.dumps({"id": "x", "method": "ping", "params": []}))
    ev = rc.sign_event({k: ev[k] for k in ("kind", "created_at", "tags", "content")}, client.sk)
    dropped(dev, ev, "undecryptable")


def test_wrong_kind_is_dropped(dev, client):
    ev = client.request(SIGNER_PUB, "ping", [])
    ev = rc.sign_event({"kind": 4, "created_at": ev["created_at"], "tags": ev["tags"],
                        "content": ev["content"]}, client.sk)
    dropped(dev, ev, "wrong kind")


@pytest.mark.parametrize("mutate", [
    lambda e: e.pop("sig"),
    lambda e: e.update(extra=1),
    lambda e: e.update(created_at="1"),
    lambda e: e.update(tags=[["p", 5]]),
    lambda e: e.update(id=e["id"].upper()),
], ids=["no-sig", "extra-key", "string-created_at", "non-string-tag", "uppercase-id"])
def test_malformed_event_is_dropped_as_invalid(dev, client, mutate):
    ev = rc.strip(client.request(SIGNER_PUB, "ping", []))
    mutate(ev)
    dropped(dev, ev, "invalid event")


def test_body_that_is_not_json_is_dropped(dev, client):
    ev = client.request(SIGNER_PUB, "ping", [], body="not json at all")
    d = dropped(dev, ev, "invalid request")
    assert "not json" not in json.dumps(d)


def test_nothing_is_signed_for_dropped_events(dev, client):
    pair(dev, client, perms="sign_event:1")
    tpl = json.dumps({"kind": 1, "content": "x", "tags": [], "created_at": int(time.time())})
    ev = client.request(SIGNER_PUB, "sign_event", [tpl])
    ev["sig"] = "00" * 64
    dropped(dev, ev, "bad signature")
    assert not of(dev.out, "publish")[1:]  # only the connect answer was ever published


def test_done_never_carries_the_request_plaintext(dev, client):
    pair(dev, client, perms="sign_event:1,nip44_encrypt")
    marker = "PLAINTEXT-MARKER-93"
    tpl = json.dumps({"kind": 1, "content": marker, "tags": [], "created_at": int(time.time())})
    ask(dev, client, "sign_event", [tpl])
    ask(dev, client, "nip44_encrypt", [rc.Client().pubhex, marker])
    ask(dev, client, marker, [])  # unknown method named like the secret text
    for m in dev.out:
        if m["t"] != "publish":
            assert marker not in json.dumps(m), m
