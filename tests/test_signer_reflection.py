"""The signer never talks to itself (issue 11, break 5): requests and pairings from the
signer's own key are refused, and the request-id replay check runs before any refusal,
so a relay echoing the device's own events back cannot make it answer forever."""
import json
import time
import urllib.parse

import refclient as rc
from test_signer_harness import (SIGNER_PUB, SIGNER_SK, answer, call, client, dev, done, of)  # noqa: F401


def test_nostrconnect_from_the_signers_own_key_is_refused_whatever_its_name(dev):
    me = rc.Client(SIGNER_SK)
    q = urllib.parse.urlencode([("relay", "wss://relay.one"), ("secret", "s"), ("name", "me")])
    rid = dev.next_rid()
    msgs = dev.send({"t": "nostrconnect", "rid": rid, "now": int(time.time()),
                     "uri": "nostrconnect://%s?%s" % (me.pubhex, q)})
    assert done(msgs, rid)["outcome"] == "invalid uri: own key"
    assert not of(msgs, "publish") and dev.screen[0] == "NOSTR SIGNER"


def test_relay_echo_of_the_signers_own_events_is_never_answered(dev):
    me = rc.Client(SIGNER_SK)
    ev = me.request(SIGNER_PUB, "ping", [])
    published = 0
    for _ in range(4):  # the relay hands back whatever the device published
        rid, msgs = dev.event(ev)
        pubs = of(msgs, "publish", rid)
        if not pubs:
            break
        published += 1
        ev = pubs[0]["event"]
    assert published == 0
    assert done(msgs, rid)["outcome"] == "dropped: own key"


def test_a_refused_request_is_not_answered_again_in_a_new_event(dev, client):
    # a refusal raised while parsing (bad params) went past the request-id replay check
    body = json.dumps({"id": "x1", "method": "sign_event", "params": [{"kind": 1}]})
    rid, ev, msgs = call(dev, client, None, None, body=body, req_id="x1")
    assert answer(client, msgs, rid)[0]["error"] == "invalid params: params must be strings"
    rid, ev, msgs = call(dev, client, None, None, body=body, req_id="x1")
    assert not of(msgs, "publish") and done(msgs, rid)["outcome"] == "dropped: replayed"
