"""Requests whose answer is written deep in the call chain, on the chip's C stack
(firmware/boards/simstack.py): on the RP2040 a kind-3 sign_event with 9 or more p tags
failed with "maximum recursion depth exceeded" in the response writer (issue 10)."""
import json
import time

import pytest

import refclient as rc
from test_signer_harness import SIGNER_PUB, answer, call, client, dev, pair  # noqa: F401

SCHEMES = ["nip44", "nip04"]


def follows(n, hint=False):
    tags = []
    for i in range(n):
        pk = rc.xonly(bytes([i % 250 + 1]) * 32).hex()
        tags.append(["p", pk, "wss://relay.example.com", "friend %d" % i] if hint else ["p", pk])
    return tags


def sign(dev, client, tpl, scheme):
    rid, ev, msgs = call(dev, client, "sign_event", [json.dumps(tpl)], scheme)
    resp, _ = answer(client, dev.press("approve"), rid, ev)
    return resp


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("n", [8, 9, 12])
def test_a_follow_list_of_9_or_more_p_tags_is_signed(dev, client, scheme, n):
    pair(dev, client, scheme=scheme)
    tpl = {"kind": 3, "content": "", "tags": follows(n), "created_at": int(time.time())}
    resp = sign(dev, client, tpl, scheme)
    assert "error" not in resp, resp
    signed = json.loads(resp["result"])
    assert rc.verify_event(signed) and signed["tags"] == tpl["tags"]
