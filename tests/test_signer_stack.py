"""Every method at its largest size, on the chip's C stack (firmware/boards/simstack.py,
docs/stack.md). On the RP2040 a kind-3 sign_event with 9 or more p tags failed with
"maximum recursion depth exceeded": its response was written by callbacks calling
callbacks, 23 frames deep. The writer is now a loop pulling pieces through fixed
buffers, and the depth at every leaf (link writes, the JSON escaper, ChaCha20, the curve
loop, the screen) stays under 75 % of the chip's stack, whatever the size."""
import json
import os
import re
import time

import pytest

import mpy
import refclient as rc
import test_signer_harness as h
from test_signer_harness import SIGNER_PUB, Device, answer, call, client, dev, pair  # noqa: F401

SCHEMES = ["nip44", "nip04"]
PROBES = os.path.join(mpy.ROOT, "tests", "firmware", "stackprobe")


def _limit():
    with open(os.path.join(mpy.ROOT, "firmware", "boards", "simstack.py")) as f:
        src = f.read()
    return int(re.search(r"^STACK = (\d+)", src, re.M)[1]) - int(re.search(r"^MARGIN = (\d+)", src, re.M)[1])


LIMIT = _limit()


def follows(n, hint=False):
    tags = []
    for i in range(n):
        pk = "%064x" % (i + 1)
        tags.append(["p", pk, "wss://relay.example.com", "friend %d" % i] if hint else ["p", pk])
    return tags


def sign(dev, client, tpl, scheme="nip44"):
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


@pytest.fixture
def probed(tmp_path, monkeypatch):
    monkeypatch.setattr(h, "EXTRA_PATH", (PROBES,))
    d = Device(tmp_path / "flash")
    yield d
    d.close()


def test_every_leaf_keeps_a_quarter_of_the_chips_stack_free(probed, client):
    peaks = _every_method_at_its_deepest(probed, client)
    assert set(peaks) >= {"json escape", "chacha20", "curve loop", "screen", "link write"}, peaks
    over = {k: v for k, v in peaks.items() if v > LIMIT * 3 // 4}
    assert not over, "leaves past 75 %% of the %d-byte stack: %r (all: %r)" % (LIMIT, over, peaks)


def test_the_rp2040s_native_field_path_keeps_a_quarter_of_the_stack_free(tmp_path, monkeypatch, client):
    # the curve loop on crypto/ecmult_fe.py, its machine code as the model (one Python
    # frame deeper than the machine code's call); at 256K: the model computes in bignums
    monkeypatch.setattr(h, "EXTRA_PATH", (PROBES + "_native",))
    dev = Device(tmp_path / "flash", heap="256K")
    try:
        peaks = _every_method_at_its_deepest(dev, client)
    finally:
        dev.close()
    assert "native field" in peaks and "curve loop" in peaks, peaks
    over = {k: v for k, v in peaks.items() if v > LIMIT * 3 // 4}
    assert not over, "leaves past 75 %% of the %d-byte stack: %r (all: %r)" % (LIMIT, over, peaks)


def _every_method_at_its_deepest(dev, client):
    """Every method at its largest probed size and deepest path; the stack peaks."""
    pair(dev, client)
    now = int(time.time())
    text = "Lorem ipsum \"dolor\" sit amet,\n\tconsectetur \u00e9\u6f22\U0001f600 "
    for tpl in ({"kind": 1, "content": (text * 200)[:4000], "tags": [["t", "x"]], "created_at": now},
                {"kind": 3, "content": "", "tags": follows(60), "created_at": now},
                {"kind": 3, "content": "", "tags": follows(30, hint=True), "created_at": now}):
        resp = sign(dev, client, tpl)
        assert "error" not in resp, resp
    # "always", then the same kind allowed by that rule: signed inside the request's
    # own handling, the deepest path of all (verify, sign, seal, send in one go)
    tpl = {"kind": 3, "content": "", "tags": follows(40), "created_at": now}
    rid, ev, _ = call(dev, client, "sign_event", [json.dumps(tpl)])
    assert "error" not in answer(client, dev.press("long-approve"), rid, ev)[0]
    rid, ev, msgs = call(dev, client, "sign_event", [json.dumps(dict(tpl, tags=follows(60)))])
    assert json.loads(answer(client, msgs, rid, ev)[0]["result"])["tags"] == follows(60)
    peer = rc.xonly(bytes([7]) * 32).hex()
    for enc, dec in (("nip44_encrypt", "nip44_decrypt"), ("nip04_encrypt", "nip04_decrypt")):
        rid, ev, _ = call(dev, client, enc, [peer, text * 20])
        ct = answer(client, dev.press("approve"), rid, ev)[0]["result"]
        rid, ev, _ = call(dev, client, dec, [peer, ct])
        assert answer(client, dev.press("approve"), rid, ev)[0]["result"] == text * 20
    peaks = dev.stack()
    print("stack peaks (bytes of %d):" % LIMIT, sorted(peaks.items()))
    return peaks
