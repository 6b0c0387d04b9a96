"""Every request is answered, even one too big for the device to hold (issue 10, 3): the
bridge sends it in pieces ("big", then "more"), the device checks its id, signature and
NIP-44 MAC as they arrive and answers "too large" under the request's own id. A request
that arrives whole but cannot be decrypted in the heap is answered the same way."""
import json
import time

import refclient as rc
from test_signer_harness import SIGNER_PUB, answer, client, dev, done, of, pair  # noqa: F401

CHUNK = 2048


def note_request(client, size):
    tpl = {"kind": 1, "content": "x" * size, "tags": [], "created_at": int(time.time())}
    return client.request(SIGNER_PUB, "sign_event", [json.dumps(tpl)])


def stream(dev, ev, tamper=None):
    """Send ev as the bridge sends what the device refused whole -> messages sent back."""
    rid = dev.next_rid()
    content = ev["content"]
    head = {k: v for k, v in ev.items() if k != "content" and not k.startswith("_")}
    got = dev.send({"t": "big", "rid": rid, "now": int(time.time()), "event": head, "n": len(content)})
    for i in range(0, len(content), CHUNK):
        data = content[i:i + CHUNK]
        if tamper is not None and i == tamper:
            data = ("A" if data[0] != "A" else "B") + data[1:]
        got += dev.send({"t": "more", "rid": rid, "data": data, "end": i + CHUNK >= len(content)})
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
