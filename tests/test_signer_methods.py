"""Every NIP-46 method, over both transports (NIP-44 and the draft's NIP-04), answered
by the App on MicroPython and checked with the independent client in refclient.py."""
import json
import time

import pytest

import refclient as rc
from test_signer_harness import (SIGNER_PUB, SIGNER_SK, answer, ask, call, client, dev, done,  # noqa: F401
                                 of, pair)

SCHEMES = ["nip44", "nip04"]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_ping_answers_pong_in_the_request_scheme(dev, client, scheme):
    resp = ask(dev, client, "ping", [], scheme)
    assert resp["result"] == "pong"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_connect_is_acked_after_approval_and_admits_the_client(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    assert ask(dev, client, "get_public_key", [], scheme)["result"] == SIGNER_PUB.hex()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_get_public_key_answers_at_once_for_an_admitted_client(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    rid, ev, msgs = call(dev, client, "get_public_key", [], scheme)
    resp, sch = answer(client, msgs, rid, ev)
    assert resp == {"id": ev["_req_id"], "result": SIGNER_PUB.hex()} and sch == scheme
    d = done(msgs, rid)
    assert d["outcome"] == "ok" and d["method"] == "get_public_key" and d["client"] == client.pubhex


@pytest.mark.parametrize("scheme", SCHEMES)
def test_sign_event_after_approval_returns_the_template_signed_by_the_device(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    now = int(time.time())
    tpl = {"kind": 1, "content": "hello from a test", "tags": [["t", "nostr"]], "created_at": now}
    rid, ev, msgs = call(dev, client, "sign_event", [json.dumps(tpl)], scheme)
    assert not of(msgs, "publish")
    assert dev.screen[3:6] == ["sign_event", "note", "hello from a tes"], dev.screen
    msgs = dev.press("approve")
    resp, sch = answer(client, msgs, rid, ev)
    assert sch == scheme
    signed = json.loads(resp["result"])
    assert rc.verify_event(signed)
    assert signed["pubkey"] == SIGNER_PUB.hex()
    assert {k: signed[k] for k in tpl} == tpl
    d = done(msgs, rid)
    assert (d["outcome"], d["method"], d["kind"], d["client"]) == ("ok", "sign_event", 1, client.pubhex)


def test_sign_event_template_with_the_signers_pubkey_is_signed(dev, client):
    pair(dev, client)
    tpl = {"kind": 7, "content": "+", "tags": [], "created_at": int(time.time()), "pubkey": SIGNER_PUB.hex()}
    rid, ev, _ = call(dev, client, "sign_event", [json.dumps(tpl)])
    resp, _ = answer(client, dev.press("approve"), rid, ev)
    assert rc.verify_event(json.loads(resp["result"]))


def test_sign_event_keeps_unicode_and_escapes_byte_exact(dev, client):
    # the id the device hashes must be the one a JS/Python client computes
    pair(dev, client)
    content = "caf\u00e9 \U0001f600 \u202e \"q\" \\ \n\t\x01 \u2028"
    tpl = {"kind": 1, "content": content, "tags": [["e", "\u00e9"]], "created_at": int(time.time())}
    rid, ev, _ = call(dev, client, "sign_event", [json.dumps(tpl)])
    resp, _ = answer(client, dev.press("approve"), rid, ev)
    signed = json.loads(resp["result"])
    assert signed["content"] == content and rc.verify_event(signed)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nip04_encrypt_result_decrypts_for_the_third_party(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    peer = rc.Client()
    rid, ev, _ = call(dev, client, "nip04_encrypt", [peer.pubhex, "secret note"], scheme)
    resp, _ = answer(client, dev.press("approve"), rid, ev)
    assert rc.nip04_decrypt(peer.sk, SIGNER_PUB, resp["result"]) == "secret note"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nip04_decrypt_returns_the_plaintext(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    peer = rc.Client()
    ct = rc.nip04_encrypt(peer.sk, SIGNER_PUB, "from the peer")
    rid, ev, _ = call(dev, client, "nip04_decrypt", [peer.pubhex, ct], scheme)
    resp, _ = answer(client, dev.press("approve"), rid, ev)
    assert resp["result"] == "from the peer"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nip44_encrypt_result_decrypts_for_the_third_party(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    peer = rc.Client()
    rid, ev, _ = call(dev, client, "nip44_encrypt", [peer.pubhex, "hi \u00e9"], scheme)
    resp, _ = answer(client, dev.press("approve"), rid, ev)
    ck = rc.nip44_conversation_key(peer.sk, SIGNER_PUB)
    assert rc.nip44_decrypt(resp["result"], ck) == "hi \u00e9"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("method", ["nip44_encrypt", "nip04_encrypt"])
def test_an_escaped_emoji_is_encrypted_as_utf8_not_cesu8(dev, client, method, scheme):
    # json.dumps (ensure_ascii) sends the emoji as "\ud83d\ude00", which MicroPython's
    # json.loads leaves as two 3-byte halves: encrypted so, no reader decodes it. A lone
    # half is U+FFFD, as a JS TextEncoder makes it
    pair(dev, client, scheme=scheme)
    peer = rc.Client()
    rid, ev, _ = call(dev, client, method, [peer.pubhex, "hi \U0001F600 \ud800 x"], scheme)
    resp, _ = answer(client, dev.press("approve"), rid, ev)
    got = peer.decrypt(SIGNER_PUB, resp["result"])[0]
    assert got == "hi \U0001F600 \ufffd x", ascii(got)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nip44_decrypt_returns_the_plaintext(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    peer = rc.Client()
    ct = rc.nip44_encrypt("from the peer", rc.nip44_conversation_key(peer.sk, SIGNER_PUB))
    rid, ev, _ = call(dev, client, "nip44_decrypt", [peer.pubhex, ct], scheme)
    resp, _ = answer(client, dev.press("approve"), rid, ev)
    assert resp["result"] == "from the peer"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_nip44_get_key_returns_the_conversation_key_after_a_loud_prompt(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    peer = rc.Client()
    rid, ev, msgs = call(dev, client, "nip44_get_key", [peer.pubhex], scheme)
    assert not of(msgs, "publish")
    assert dev.screen[0].startswith("EXPORT KEY?") and "!! KEY EXPORT !!" in dev.screen
    resp, _ = answer(client, dev.press("approve"), rid, ev)
    assert resp["result"] == rc.nip44_conversation_key(SIGNER_SK, peer.pub).hex()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_get_relays_lists_the_device_relays_read_write(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    resp = ask(dev, client, "get_relays", [], scheme)
    assert json.loads(resp["result"]) == {"ws://127.0.0.1:7777": {"read": True, "write": True}}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_switch_relays_is_null_when_the_client_already_uses_the_device_relays(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    resp = ask(dev, client, "switch_relays", [], scheme)
    # a JSON string, so nostr-tools' JSON.parse(result) works and "" never happens
    assert resp["result"] == "null"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_logout_acks_then_forgets_the_client(dev, client, scheme):
    pair(dev, client, scheme=scheme)
    assert ask(dev, client, "logout", [], scheme)["result"] == "ack"
    assert ask(dev, client, "get_public_key", [], scheme)["error"] == "unauthorized"


def test_reconnect_of_an_admitted_client_is_acked_without_a_prompt(dev, client):
    pair(dev, client)
    resp = ask(dev, client, "connect", [SIGNER_PUB.hex(), ""])
    assert resp["result"] == "ack"
    assert dev.screen[0] == "NOSTR SIGNER"


def test_status_lists_paired_clients_without_rules_or_keys(dev, client):
    pair(dev, client, perms="sign_event:1")
    st = of(dev.send({"t": "status", "rid": 99}), "status", 99)[0]
    assert st["pubkey"] == SIGNER_PUB.hex() and st["queue"] == 0
    assert [c["pubkey"] for c in st["clients"]] == [client.pubhex]
    assert st["clients"][0]["name"] == "Test Client" and "rules" not in st["clients"][0]
