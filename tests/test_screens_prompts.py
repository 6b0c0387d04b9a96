"""The encrypt, decrypt and pairing prompts through the real firmware (the App on
MicroPython at the device's 128K heap, tests/test_signer_harness.py's Device), as a
person reads them on the 16x8 screen (issue 11, break 2 and "Also fix"):

- an encrypt shows the whole plaintext: scrolled to the end, its last characters (a
  215-character message whose tail asks for a new payment address was encrypted while
  the prompt showed a cut summary);
- a NIP-17 rumor or seal passed as plaintext is shown as what it is first: its kind,
  its recipients as short npubs, its content; then its tags and the whole JSON;
- a decrypt says whose conversation it opens and for which client;
- a pairing lists the dangerous permissions first and always shows the client's npub.

How the plaintext is cut into rows at any size (a 30 KB one at 128K, escapes cut by
a row end) is tests/firmware/fw_prompt_text.py's job."""
import json
import time

import pytest

import refclient as rc
from test_signer_harness import SIGNER_PUB, Device, answer, call, client, dev, pair  # noqa: F401

B = rc.xonly(b"\x22" * 32).hex()
C = rc.xonly(b"\x33" * 32).hex()
HEAD = ["Coracle", "(unverified)"]
PS = " ... P.S. new payment address: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
MESSAGE = ("Hi! Lunch tomorrow? " * 8)[:215 - len(PS)] + PS  # 215: the first 160 hide the P.S.


def npub(h):
    return rc.bech32_encode("npub", bytes.fromhex(h))


def short_npub(h):
    # what the device shows for a key: npub1 + 4 .. last 5 (16 columns)
    n = npub(h)
    return n[:9] + ".." + n[-5:]


def rows(text):
    return [text[i:i + 16].rstrip() for i in range(0, len(text), 16)]


def to_the_end(dev, limit=500):
    """Every body line of the prompt up now, scrolling down to its last."""
    s = dev.screen
    n = 6  # the harness's board names no gestures: the simulator's one-line footer
    assert len(s) == 8 and s[-1] in ("A:yes R:no", "A:yes R:no L:all"), s
    body = s[1:1 + n]
    for _ in range(limit):
        if not s[0].endswith("v"):
            return body
        dev.press("down")
        s = dev.screen
        body.append(s[n])
    raise AssertionError("never reached the end: %r" % s)


@pytest.fixture
def paired(dev, client):
    pair(dev, client, name="Coracle")
    return dev


@pytest.mark.parametrize("method", ["nip44_encrypt", "nip04_encrypt"])
def test_encrypt_prompt_scrolled_to_its_end_shows_the_plaintexts_tail(paired, client, method):
    assert len(MESSAGE) == 215
    rid, ev, msgs = call(paired, client, method, [B, MESSAGE])
    assert not msgs and paired.screen[0].startswith("APPROVE?"), paired.screen
    body = to_the_end(paired)
    assert body[:5] == HEAD + [method + " to", short_npub(B), "-- 215 chars --"], body
    assert body[5:] == rows(MESSAGE), body
    assert "".join(body[-5:]).endswith("bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh")
    resp, _ = answer(client, paired.press("approve"), rid, ev)
    assert "error" not in resp, resp


def test_encrypt_prompt_escapes_what_the_font_cannot_show(paired, client):
    call(paired, client, "nip44_encrypt", [B, "pay \u202eto\u200b me"])
    body = to_the_end(paired)
    assert "".join(body[5:]) == "pay \\u202eto\\u200b me", body


def rumor(kind=14, content="see you at 8, bring the keys", tags=(("p", B), ("p", C)), pubkey=None):
    return json.dumps({"id": "ab" * 32, "pubkey": pubkey or SIGNER_PUB.hex(), "created_at": int(time.time()),
                       "kind": kind, "tags": [list(t) for t in tags], "content": content})


def test_a_nip17_rumor_shows_kind_recipients_and_content_before_the_json(paired, client):
    text = rumor()
    call(paired, client, "nip44_encrypt", [B, text])
    body = to_the_end(paired)
    i = body.index("NIP-17 chat msg")
    assert body[i:i + 8] == ["NIP-17 chat msg", "kind 14", "recipients:", short_npub(B), short_npub(C),
                             "-- content --", "see you at 8, br", "ing the keys"], body
    j = body.index("-- 2 tags --")
    assert body[j + 1:j + 3] == ["p " + B[:6] + ".." + B[-5:], "p " + C[:6] + ".." + C[-5:]], body
    # then the whole JSON, to its last character
    k = body.index("-- whole text --")
    assert "".join(body[k + 1:]) == text.replace("\\", "\\\\"), body[k:]
    assert j < k and "author is NOT" not in body


def test_a_rumor_claiming_another_author_says_so(paired, client):
    call(paired, client, "nip44_encrypt", [B, rumor(pubkey=C)])
    body = to_the_end(paired)
    i = body.index("author is NOT")
    assert body[i:i + 3] == ["author is NOT", "this signer:", short_npub(C)], body


def test_a_nip17_seal_shows_its_kind_and_sealed_content(paired, client):
    call(paired, client, "nip44_encrypt", [B, rumor(13, "AsealedPayload==", ())])
    body = to_the_end(paired)
    i = body.index("NIP-17 seal")
    assert body[i:i + 4] == ["NIP-17 seal", "kind 13", "-- sealed --", "AsealedPayload=="], body


def test_json_that_is_not_a_rumor_is_shown_as_text(paired, client):
    text = json.dumps({"kind": 1, "content": "hello"})
    call(paired, client, "nip44_encrypt", [B, text])
    body = to_the_end(paired)
    assert "-- %d chars --" % len(text) in body and not any(x.startswith("NIP-17") for x in body), body


@pytest.mark.parametrize("method,ct", [("nip44_decrypt", None), ("nip04_decrypt", "AAAAAAAAAAAAAAAAAAAAAA==?iv=AAAAAAAAAAAAAAAAAAAAAA==")])
def test_decrypt_prompt_names_the_peer_and_the_client(paired, client, method, ct):
    if ct is None:
        ct = rc.nip44_encrypt("hidden", rc.nip44_conversation_key(b"\x22" * 32, SIGNER_PUB))
    call(paired, client, method, [B, ct])
    assert paired.screen[0] == "APPROVE?"  # all on one screen
    body = to_the_end(paired)
    assert body == HEAD + [short_npub(client.pubhex), method, "opens DMs with:", short_npub(B)], body


def test_pairing_lists_dangerous_permissions_first_and_shows_the_npub(dev, client):
    perms = "sign_event:1,nip44_encrypt,nip04_decrypt,sign_event,nip44_get_key,sign_event:7,nip44_decrypt"
    meta = json.dumps({"name": "Coracle"})
    call(dev, client, "connect", [SIGNER_PUB.hex(), "", perms, meta])
    body = to_the_end(dev)
    assert body[:3] == ["Coracle", "(unverified)", short_npub(client.pubhex)], body
    i = body.index("asks to allow:")
    assert body[i + 1:i + 10] == ["sign ANY kind!", "nip44_get_key!", " (asked each", " time: no rule)",
                                  "nip04_decrypt!", "nip44_decrypt!", "sign 1 note", "nip44_encrypt",
                                  "sign 7 reaction"], body


def test_a_client_named_after_the_user_still_shows_its_own_npub(dev, client):
    call(dev, client, "connect", [SIGNER_PUB.hex(), "", "", json.dumps({"name": "me"})])
    assert dev.screen[1:4] == ["me", "(unverified)", short_npub(client.pubhex)], dev.screen


def test_decrypt_for_a_nameless_client_names_it_by_its_key_once(dev, client):
    pair(dev, client, name="")
    call(dev, client, "nip44_decrypt", [B, rc.nip44_encrypt("x", rc.nip44_conversation_key(b"\x22" * 32, SIGNER_PUB))])
    assert dev.screen[1:6] == ["client", short_npub(client.pubhex), "nip44_decrypt", "opens DMs with:", short_npub(B)]
