"""The approval pipeline: what needs a button, what rules allow, every refusal reason,
the queue, timeouts, and what the screen shows."""
import json
import time

import pytest

import refclient as rc
from test_signer_harness import (SIGNER_PUB, Device, answer, ask, call, client, dev, done,  # noqa: F401
                                 of, pair)


def note(text="hello", kind=1, **extra):
    tpl = {"kind": kind, "content": text, "tags": [], "created_at": int(time.time())}
    tpl.update(extra)
    return json.dumps(tpl)


@pytest.fixture
def quick(tmp_path):
    """A device whose prompts time out after 1 s."""
    d = Device(tmp_path / "flash", {"prompt_timeout_s": 1})
    yield d
    d.close()


def test_sign_event_publishes_nothing_until_approve_is_pressed(dev, client):
    pair(dev, client)
    rid, ev, msgs = call(dev, client, "sign_event", [note()])
    assert msgs == []
    assert dev.screen[0] == "APPROVE?"
    assert dev.press("up") == [] and dev.press("down") == []  # scrolling answers nothing
    msgs = dev.press("approve")
    assert answer(client, msgs, rid, ev)[0]["result"]
    assert dev.screen[0] == "NOSTR SIGNER"


def test_reject_answers_rejected(dev, client):
    pair(dev, client)
    rid, ev, _ = call(dev, client, "sign_event", [note()])
    msgs = dev.press("reject")
    assert answer(client, msgs, rid, ev)[0] == {"id": ev["_req_id"], "result": "error", "error": "rejected"}
    assert done(msgs, rid)["outcome"] == "rejected"


def test_prompt_times_out_with_approval_timed_out(quick, client):
    pair(quick, client)
    rid, ev, _ = call(quick, client, "nip44_encrypt", [rc.Client().pubhex, "x"])
    assert quick.sleep(500) == []
    msgs = quick.sleep(600)
    assert answer(client, msgs, rid, ev)[0]["error"] == "approval timed out"
    assert done(msgs, rid)["outcome"] == "timed out"


def test_unpaired_client_is_unauthorized_for_keyed_and_info_methods(dev, client):
    for method, params in (("get_public_key", []), ("sign_event", [note()]), ("get_relays", []),
                           ("switch_relays", []), ("nip44_encrypt", [rc.Client().pubhex, "x"])):
        rid, ev, msgs = call(dev, client, method, params)
        assert answer(client, msgs, rid, ev)[0]["error"] == "unauthorized", method
        assert done(msgs, rid)["outcome"] == "unauthorized"


def test_unpaired_client_may_ping(dev, client):
    assert ask(dev, client, "ping", [])["result"] == "pong"


def test_unknown_method_is_answered_by_name(dev, client):
    pair(dev, client)
    rid, ev, msgs = call(dev, client, "create_account", ["bob", "example.com"])
    assert answer(client, msgs, rid, ev)[0]["error"] == "unknown method: create_account"
    d = done(msgs, rid)
    assert d["outcome"] == "unknown method" and d["method"] is None


@pytest.mark.parametrize("method,params,err", [
    ("sign_event", ["{not json"], "invalid params: event is not JSON"),
    ("sign_event", [], "invalid params: expected 1 param"),
    ("sign_event", ['{"kind": 1, "tags": [], "created_at": 1}'], "invalid event: missing content"),
    ("sign_event", ['{"kind": -1, "content": "", "tags": [], "created_at": 1}'],
     "invalid event: kind must be an integer 0..65535"),
    ("nip44_encrypt", ["zz" * 32, "x"], "invalid params: pubkey must be 64 hex characters"),
    ("nip44_encrypt", ["00" * 32, "x"], "invalid params: pubkey is not on the curve"),
    ("nip44_encrypt", ["11" * 32], "invalid params: expected 2 params"),
    ("nip04_decrypt", [rc.xonly(b"\x01" * 32).hex(), "not a ciphertext"], "invalid params: not a nip04 ciphertext"),
], ids=["not-json", "no-param", "no-content", "bad-kind", "bad-hex", "off-curve", "missing", "not-nip04"])
def test_invalid_params_are_refused_without_a_prompt(dev, client, method, params, err):
    pair(dev, client)
    rid, ev, msgs = call(dev, client, method, params)
    assert answer(client, msgs, rid, ev)[0]["error"] == err
    assert done(msgs, rid)["outcome"].startswith("invalid")
    assert dev.screen[0] == "NOSTR SIGNER"


def test_non_string_params_are_invalid(dev, client):
    pair(dev, client)
    body = json.dumps({"id": "n1", "method": "sign_event", "params": [{"kind": 1}]})
    rid, ev, msgs = call(dev, client, None, None, body=body, req_id="n1")
    assert answer(client, msgs, rid)[0] == {"id": "n1", "result": "error", "error": "invalid params: params must be strings"}


def test_nip44_ciphertext_param_of_the_wrong_shape_is_invalid(dev, client):
    # too short to be a payload: public, so refused before approval (a MAC failure is
    # only answered after it: tests/test_signer_oracle.py)
    pair(dev, client)
    rid, ev, msgs = call(dev, client, "nip44_decrypt", [rc.Client().pubhex, "AgAA" + "A" * 120])
    assert answer(client, msgs, rid, ev)[0]["error"] == "invalid params: not a nip44 ciphertext"


def test_sign_event_with_someone_elses_pubkey_is_refused(dev, client):
    pair(dev, client)
    rid, ev, msgs = call(dev, client, "sign_event", [note(pubkey=rc.Client().pubhex)])
    assert answer(client, msgs, rid, ev)[0]["error"] == "invalid event: pubkey is not this signer's"
    assert done(msgs, rid)["outcome"] == "invalid pubkey"


@pytest.fixture
def small(tmp_path):
    """A device that takes requests of at most 2 KB (the default is 20 KB, more than
    a 128 KB unix-port heap holding all the code can carry: see the memory tests)."""
    d = Device(tmp_path / "flash", {"max_request": 2048})
    yield d
    d.close()


def test_too_large_sign_event_is_refused(small, client):
    pair(small, client)
    rid, ev, msgs = call(small, client, "sign_event", [note("x" * 2100)])
    assert answer(client, msgs, rid, ev)[0] == {"id": ev["_req_id"], "result": "error", "error": "too large"}
    assert done(msgs, rid)["outcome"] == "too large"
    assert small.screen[0] == "NOSTR SIGNER"


def test_too_large_encrypt_is_refused(small, client):
    pair(small, client)
    rid, ev, msgs = call(small, client, "nip44_encrypt", [rc.Client().pubhex, "y" * 2100])
    assert answer(client, msgs, rid, ev)[0] == {"id": ev["_req_id"], "result": "error", "error": "too large"}


def test_request_just_under_the_limit_is_taken(small, client):
    pair(small, client)
    rid, ev, msgs = call(small, client, "nip44_encrypt", [rc.Client().pubhex, "y" * 1800])
    assert msgs == [] and small.screen[0].startswith("APPROVE?")


def test_queue_holds_eight_and_the_ninth_is_busy(dev, client):
    pair(dev, client)
    peer = rc.Client().pubhex
    for i in range(8):
        rid, ev, msgs = call(dev, client, "nip44_encrypt", [peer, "m%d" % i])
        assert msgs == []
    assert dev.screen[0] == "APPROVE? +7"
    rid, ev, msgs = call(dev, client, "nip44_encrypt", [peer, "m9"])
    assert answer(client, msgs, rid, ev)[0]["error"] == "busy"
    assert done(msgs, rid)["outcome"] == "busy"


def test_waiting_prompts_come_up_in_order(dev, client):
    pair(dev, client)
    peer = rc.Client()
    evs = [call(dev, client, "nip44_encrypt", [peer.pubhex, "m%d" % i]) for i in range(3)]
    assert dev.screen[0] == "APPROVE? +2"
    ck = rc.nip44_conversation_key(peer.sk, SIGNER_PUB)
    for i, (rid, ev, _) in enumerate(evs):
        dev.sleep(500)  # past the double-press guard of a prompt that replaced another
        msgs = dev.press("approve")
        assert rc.nip44_decrypt(answer(client, msgs, rid, ev)[0]["result"], ck) == "m%d" % i


def test_double_press_does_not_approve_the_next_prompt_unseen(dev, client):
    pair(dev, client)
    peer = rc.Client().pubhex
    r1, e1, _ = call(dev, client, "nip44_encrypt", [peer, "one"])
    r2, e2, _ = call(dev, client, "nip44_encrypt", [peer, "two"])
    assert of(dev.press("approve"), "publish", r1)
    assert dev.press("approve", look_ms=0) == []  # within the guard: ignored
    dev.sleep(500)
    assert of(dev.press("approve", look_ms=0), "publish", r2)


def test_double_press_does_not_approve_a_prompt_injected_after_done(dev, client):
    # the host sees the first prompt's `done` and hands over the next request at once,
    # so it is the only one (nothing was waiting): the second press of a double press
    # must still not approve it (issue 11, also fix)
    pair(dev, client)
    peer = rc.Client().pubhex
    r1, e1, _ = call(dev, client, "nip44_encrypt", [peer, "one"])
    msgs = dev.press("approve")
    assert of(msgs, "publish", r1) and done(msgs, r1)["outcome"] == "ok"
    r2, e2, msgs = call(dev, client, "nip44_encrypt", [peer, "two"])
    assert msgs == [] and dev.screen[0] == "APPROVE?"
    assert dev.press("approve", look_ms=0) == []  # the double press's second half
    assert dev.press("long-approve", look_ms=0) == []
    assert dev.press("reject", look_ms=0) == []
    dev.sleep(500)
    assert of(dev.press("approve", look_ms=0), "publish", r2)


def test_a_pairing_injected_after_done_needs_a_fresh_press(dev, client):
    pair(dev, client)
    r1, e1, _ = call(dev, client, "sign_event", [note()])
    assert of(dev.press("approve"), "publish", r1)
    other = rc.Client()
    r2, e2, msgs = call(dev, other, "connect", [SIGNER_PUB.hex(), "", "", "{}"])
    assert msgs == [] and dev.screen[0].startswith("CONNECT?")
    assert dev.press("approve", look_ms=0) == []
    dev.sleep(500)
    assert of(dev.press("approve", look_ms=0), "publish", r2)


def test_ping_and_get_public_key_are_answered_while_a_prompt_is_open(dev, client):
    pair(dev, client)
    rid, ev, _ = call(dev, client, "sign_event", [note()])
    assert ask(dev, client, "ping", [])["result"] == "pong"
    assert ask(dev, client, "get_public_key", [])["result"] == SIGNER_PUB.hex()
    assert dev.screen[0] == "APPROVE?"
    assert answer(client, dev.press("approve"), rid, ev)[0]["result"]


def test_connect_perms_become_rules_that_skip_the_prompt(dev, client):
    pair(dev, client, perms="sign_event:1,nip44_encrypt")
    rid, ev, msgs = call(dev, client, "sign_event", [note()])
    assert rc.verify_event(json.loads(answer(client, msgs, rid, ev)[0]["result"]))
    peer = rc.Client()
    assert ask(dev, client, "nip44_encrypt", [peer.pubhex, "auto"])["result"]


def test_rule_for_one_kind_does_not_allow_another(dev, client):
    pair(dev, client, perms="sign_event:1")
    rid, ev, msgs = call(dev, client, "sign_event", [note(kind=0)])
    assert msgs == [] and dev.screen[0].split()[0] == "APPROVE?"


def test_rule_allowed_request_is_answered_while_a_prompt_is_open(dev, client):
    pair(dev, client, perms="sign_event:7")
    call(dev, client, "sign_event", [note()])  # kind 1: waits
    rid, ev, msgs = call(dev, client, "sign_event", [note("+", kind=7)])
    assert json.loads(answer(client, msgs, rid, ev)[0]["result"])["kind"] == 7


def test_nip44_get_key_is_never_allowed_by_a_rule(dev, client):
    pair(dev, client, perms="nip44_get_key,nip44_encrypt,nip44_decrypt")
    rid, ev, msgs = call(dev, client, "nip44_get_key", [rc.Client().pubhex])
    assert msgs == [] and dev.screen[0].startswith("EXPORT KEY?")


def test_long_approve_adds_a_rule_for_that_method_and_kind(dev, client):
    pair(dev, client)
    rid, ev, _ = call(dev, client, "sign_event", [note()])
    assert answer(client, dev.press("long-approve"), rid, ev)[0]["result"]
    rid, ev, msgs = call(dev, client, "sign_event", [note("again")])
    assert json.loads(answer(client, msgs, rid, ev)[0]["result"])["content"] == "again"
    rid, ev, msgs = call(dev, client, "sign_event", [note(kind=3)])
    assert msgs == []  # another kind still asks


def test_always_on_an_encrypt_to_one_peer_does_not_cover_another(dev, client):
    pair(dev, client)
    a, b = rc.Client().pubhex, rc.Client().pubhex
    for method in ("nip44_encrypt", "nip04_encrypt"):
        rid, ev, _ = call(dev, client, method, [a, "to A"])
        assert answer(client, dev.press("long-approve"), rid, ev)[0]["result"]
        rid, ev, msgs = call(dev, client, method, [a, "to A again"])
        assert answer(client, msgs, rid, ev)[0]["result"]  # the rule: no prompt
        rid, ev, msgs = call(dev, client, method, [b, "to B"])
        assert msgs == [] and dev.screen[0] == "APPROVE?"  # B is asked for
        assert of(dev.press("reject"), "publish", rid)


def test_always_says_its_terms_and_lapses_after_an_hour(dev, client):
    pair(dev, client)
    rid, ev, _ = call(dev, client, "sign_event", [note()])
    answer(client, dev.press("long-approve"), rid, ev)
    assert "always: for 1 h," in dev.screen and "at most 60/hour" in dev.screen
    rid, ev, msgs = call(dev, client, "sign_event", [note("inside the hour")])
    assert answer(client, msgs, rid, ev)[0]["result"]
    dev.sleep(3601 * 1000)  # the device's clock runs an hour on (the host agrees below)
    t = int(time.time()) + 3601
    ev = client.request(SIGNER_PUB, "sign_event", [note("an hour later", created_at=t)], now=t)
    rid, msgs = dev.event(ev, now=t)
    assert msgs == [] and dev.screen[0] == "APPROVE?"


def test_always_answers_at_most_60_an_hour_then_asks(dev, client):
    pair(dev, client)
    rid, ev, _ = call(dev, client, "sign_event", [note()])
    answer(client, dev.press("long-approve"), rid, ev)
    for i in range(60):
        rid, ev, msgs = call(dev, client, "sign_event", [note("n%d" % i)])
        assert of(msgs, "publish", rid), i
    rid, ev, msgs = call(dev, client, "sign_event", [note("the 61st")])
    assert msgs == [] and dev.screen[0] == "APPROVE?"


def test_long_approve_on_nip44_get_key_adds_no_rule(dev, client):
    pair(dev, client)
    peer = rc.Client().pubhex
    rid, ev, _ = call(dev, client, "nip44_get_key", [peer])
    assert answer(client, dev.press("long-approve"), rid, ev)[0]["result"]
    rid, ev, msgs = call(dev, client, "nip44_get_key", [peer])
    assert msgs == []


def test_rules_survive_a_restart(tmp_path, client):
    d = Device(tmp_path / "flash")
    try:
        pair(d, client, perms="sign_event:1")
    finally:
        d.close()
    d = Device(tmp_path / "flash")
    try:
        rid, ev, msgs = call(d, client, "sign_event", [note()])
        assert answer(client, msgs, rid, ev)[0]["result"]
    finally:
        d.close()


def test_approval_screen_marks_the_client_name_unverified_and_escapes_bidi(dev, client):
    pair(dev, client, name="Evil\u202eTxt")
    call(dev, client, "sign_event", [note("pay \u202e1 sats\u200b")])
    s = dev.screen
    assert s[1] == "Evil\\u202eTxt" and s[2] == "(unverified)"
    shown = "".join(s[3:7])
    assert "\\u202e" in shown and "\u202e" not in "".join(s)
    assert all(len(line) <= 16 for line in s) and len(s) == 8


def test_an_approval_with_no_room_left_to_sign_is_answered_busy(dev, client):
    # The press is not a message: a MemoryError under it used to reach main.py, which
    # shows it on the screen, and the client waited for good. With the heap held down
    # to 0-20 KB at the press, each approved 6 KB note is answered once: signed, or
    # "busy" when the heap has no room to sign it.
    pair(dev, client)
    got = {}
    for free_kb in (0, 2, 4, 8, 12, 16, 20):
        rid, ev, msgs = call(dev, client, "sign_event", [note("x" * 6000)])
        assert dev.screen[0].startswith("APPROVE?"), dev.screen
        dev.hog(free_kb * 1024)
        msgs = dev.press("approve")
        dev.hog(None)
        resp = answer(client, msgs, rid, ev)[0]
        assert len(of(msgs, "done")) == 1, msgs
        got[free_kb] = "signed" if resp.get("result") and not resp.get("error") else resp["error"]
    print("6 KB note approved with the heap held down to N KB free: %s" % got)
    assert got[0] == "busy" and got[20] == "signed", got
    assert set(got.values()) == {"busy", "signed"}, got
    assert dev.screen[0] == "NOSTR SIGNER"
