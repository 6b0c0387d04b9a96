"""Every request is answered, even one too big for the device to hold (issue 10, 3): the
bridge sends it in pieces ("big", then "more"), the device checks its id, signature and
NIP-44 MAC as they arrive and answers "too large" under the request's own id. A request
that arrives whole but cannot be decrypted in the heap is answered the same way."""
import json
import time

import pytest

import refclient as rc
from bridge.courier import stream_messages
from test_signer_harness import SIGNER_PUB, answer, call, client, dev, done, of, pair  # noqa: F401

CHUNK = 1024


def note_request(client, size, scheme="nip44"):
    tpl = {"kind": 1, "content": "x" * size, "tags": [], "created_at": int(time.time())}
    return client.request(SIGNER_PUB, "sign_event", [json.dumps(tpl)], scheme=scheme)


def stream(dev, ev, tamper=None):
    """Send ev as the bridge sends what the device refused whole -> messages sent back."""
    rid = dev.next_rid()
    msgs = stream_messages(rid, int(time.time()), {k: v for k, v in ev.items() if not k.startswith("_")}, CHUNK)
    if tamper is not None:  # a character offset, a multiple of CHUNK: that piece's first
        m = msgs[1 + tamper // CHUNK]
        m["data"] = ("A" if m["data"][0] != "A" else "B") + m["data"][1:]
    got = []
    for m in msgs:
        got += dev.send(m)
    return rid, got


def test_hello_says_requests_may_come_in_pieces(dev):
    assert dev.hello()["limits"]["stream"] == CHUNK


def test_a_request_in_pieces_is_answered_too_large_under_its_own_id(dev, client):
    pair(dev, client)
    ev = note_request(client, 60000)
    rid, msgs = stream(dev, ev)
    resp, _ = answer(client, msgs, rid, ev)
    assert resp == {"id": ev["_req_id"], "result": "error", "error": "too large"}
    assert done(msgs, rid)["outcome"] == "too large"


def test_a_strangers_request_in_pieces_gets_its_answer_too(dev, client):
    ev = note_request(client, 40000)
    rid, msgs = stream(dev, ev)
    assert answer(client, msgs, rid, ev)[0]["error"] == "too large"


def test_a_nip04_request_in_pieces_is_answered_too_large_in_nip04(dev, client):
    # NIP-04 has no MAC: the event's id and signature over the whole content are what
    # make its first blocks authentic, so they are decrypted only after both hold
    pair(dev, client)
    for size in (40000, 60000):
        ev = note_request(client, size, "nip04")
        rid, msgs = stream(dev, ev)
        resp, scheme = answer(client, msgs, rid, ev)
        assert (resp, scheme) == ({"id": ev["_req_id"], "result": "error", "error": "too large"}, "nip04")
        assert done(msgs, rid)["outcome"] == "too large"


def test_a_tampered_nip04_stream_fails_the_id_and_nothing_is_answered(dev, client):
    pair(dev, client)
    ev = note_request(client, 40000, "nip04")
    rid, msgs = stream(dev, ev, tamper=CHUNK * 3)
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: bad id"


def test_a_tampered_piece_fails_the_id_and_nothing_is_answered(dev, client):
    pair(dev, client)
    ev = note_request(client, 40000)
    rid, msgs = stream(dev, ev, tamper=CHUNK * 10)
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: bad id"


def test_a_replayed_stream_is_answered_once(dev, client):
    pair(dev, client)
    ev = note_request(client, 40000)
    rid, msgs = stream(dev, ev)
    assert of(msgs, "publish")
    rid, msgs = stream(dev, ev)
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"].startswith("dropped: replayed")


def test_more_without_big_is_refused_in_words(dev):
    rid = dev.next_rid()
    msgs = dev.send({"t": "more", "rid": rid, "data": "QUJD", "end": True})
    assert done(msgs, rid)["outcome"] == "dropped: no big request"


def test_a_stream_with_a_forged_mac_is_dropped(dev, client):
    # the client signs an event over a payload whose MAC is wrong (a bit flipped in the
    # ciphertext): id and signature hold, only the MAC can tell
    import base64
    pair(dev, client)
    ev = note_request(client, 40000)
    raw = bytearray(base64.b64decode(ev["content"]))
    raw[500] ^= 1
    tpl = {k: ev[k] for k in ("kind", "created_at", "tags")}
    tpl["content"] = base64.b64encode(bytes(raw)).decode()
    forged = rc.sign_event(tpl, client.sk)
    rid, msgs = stream(dev, forged)
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: undecryptable"


def whole(dev, ev):
    """ev sent whole, as the bridge first sends every request -> (rid, messages back)."""
    rid = dev.next_rid()
    ev = {k: v for k, v in ev.items() if not k.startswith("_")}
    return rid, dev.send({"t": "event", "rid": rid, "now": int(time.time()), "event": ev})


@pytest.mark.parametrize("scheme", ["nip44", "nip04"])
def test_a_request_taken_whole_is_answered_whatever_room_it_leaves(dev, client, scheme):
    # A 30,000-character note (~44 KB of base64) the link takes whole at 128 KB, with
    # the heap held down by 0-13 KB more: a check or a decryption that finds no room
    # must still end in "too large" under the request's own id, said by the device at
    # once or after it asks the bridge for the request in pieces (bridge/courier.py),
    # never "dropped". (A relay-delivered 30 KB note was dropped so in the e2e test.)
    pair(dev, client)
    ways = {}
    free = dev.mem()["free"]
    for less_kb in range(0, 14):
        ev = note_request(client, 30000, scheme)
        dev.hog(free - 1024 * less_kb)
        rid, msgs = whole(dev, ev)
        if any(m.get("nak") for m in msgs):
            way = "refused whole by the link"
        elif any(m.get("t") == "error" and m.get("rid") == rid for m in msgs):
            assert [m["error"] for m in msgs if m.get("t") == "error"] == ["too large"], msgs
            way = "too large to parse"
        elif not of(msgs, "publish") and done(msgs, rid).get("pieces") is True:
            way = "asked for in pieces"
        else:
            way = "answered whole"
        if way != "answered whole":
            assert not of(msgs, "publish"), (less_kb, msgs)
            rid, msgs = stream(dev, ev)
        dev.hog(None)
        resp, sch = answer(client, msgs, rid, ev)
        assert resp == {"id": ev["_req_id"], "result": "error", "error": "too large"}, (less_kb, way, msgs)
        assert sch == scheme
        ways.setdefault(way, []).append(less_kb)
    print("30,000-character note at 128K, by KB taken from the %d free: %s" % (free, ways))
    assert "asked for in pieces" in ways, ways
    # and the device goes on answering
    assert answer(client, call(dev, client, "ping", [])[2], dev.rid)[0]["result"] == "pong"
