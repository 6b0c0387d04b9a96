"""The sign_event approval prompt through the real firmware (tests/test_signer_harness.py's
Device: the App on MicroPython at the device heap): for each kind, the plain words a
person reads on the 16x8 screen; escapes of invisible and direction-changing text;
scrolling to the end of the event; the follow list remembered across kind 3s.

What each kind's summary holds in detail is tests/firmware/fw_kinds.py's job; here the
prompt as drawn, reached through a paired client's NIP-46 request."""
import json
import os
import time

import pytest

import refclient as rc
from test_signer_harness import Device, answer, call, client, dev, pair  # noqa: F401

A = rc.xonly(b"\x11" * 32).hex()
B = rc.xonly(b"\x22" * 32).hex()
EV = "e0" * 32


def short_npub(h):
    # what the device shows for a key: npub1 + 4 .. last 5 (16 columns)
    n = rc.bech32_encode("npub", bytes.fromhex(h))
    return n[:9] + ".." + n[-5:]


def keys(n, start=0):
    return [rc.xonly((i + 1).to_bytes(32, "big")).hex() for i in range(start, start + n)]


def tpl(kind, content="", tags=()):
    return {"kind": kind, "content": content, "tags": [list(t) for t in tags],
            "created_at": int(time.time())}


def show(dev, client, t):
    """Put up the prompt for template t -> (rid, request event, every body line,
    reached by scrolling down to the end)."""
    rid, ev, msgs = call(dev, client, "sign_event", [json.dumps(t)])
    assert not msgs, msgs
    s = dev.screen
    assert s[0].startswith("APPROVE?"), s
    assert len(s) == 8 and all(len(x) <= 16 for x in s), s
    body = s[1:7]
    for _ in range(200):
        if not s[0].endswith("v"):
            break
        dev.press("down")
        s = dev.screen
        body.append(s[6])
    else:
        raise AssertionError("never reached the end: %r" % s)
    return rid, ev, body


@pytest.fixture
def paired(dev, client):
    pair(dev, client, name="Coracle")
    return dev


def summary(paired, client, t):
    body = show(paired, client, t)[2]
    assert body[:3] == ["Coracle", "(unverified)", "sign_event"], body
    return body[3:]


def test_prompt_names_the_client_unverified_and_the_method(paired, client):
    rid, ev, body = show(paired, client, tpl(1, "gm"))
    assert body[:3] == ["Coracle", "(unverified)", "sign_event"]


def test_note_shows_its_text(paired, client):
    assert summary(paired, client, tpl(1, "gm nostr, from the device"))[:3] == [
        "note", "gm nostr, from t", "he device"]


def test_reply_names_the_author_and_the_event(paired, client):
    s = summary(paired, client, tpl(1, "agreed", [("e", EV, "", "reply", A), ("p", A)]))
    assert s[:4] == ["reply", "to:", short_npub(A), "on e0e0e0..0e0e0"], s
    assert "agreed" in s


def test_reaction_like(paired, client):
    s = summary(paired, client, tpl(7, "+", [("e", EV), ("p", A)]))
    assert s[:4] == ["reaction: like", "to:", short_npub(A), "on e0e0e0..0e0e0"], s


def test_reaction_emoji_is_an_escape(paired, client):
    s = summary(paired, client, tpl(7, "\U0001f919", [("e", EV), ("p", A)]))
    assert s[:2] == ["reaction:", "\\U0001f919"], s


def test_repost_names_whose_event(paired, client):
    s = summary(paired, client, tpl(6, "", [("e", EV, "wss://r"), ("p", B)]))
    assert s[:4] == ["repost", "of:", short_npub(B), "id e0e0e0..0e0e0"], s


def test_dm_names_the_recipient(paired, client):
    s = summary(paired, client, tpl(4, "c2VjcmV0?iv=aXY=", [("p", B)]))
    assert s[:5] == ["DM (nip04)", "to:", short_npub(B), "text encrypted:", "can't show it"], s


def test_zap_request_shows_the_amount_in_sats(paired, client):
    s = summary(paired, client, tpl(9734, "thanks", [("p", A), ("amount", "21000"), ("relays", "wss://a")]))
    assert s[:4] == ["zap request", "21 sats", "to:", short_npub(A)], s
    assert "comment: thanks" in s


def test_deletion_counts_what_it_deletes(paired, client):
    s = summary(paired, client, tpl(5, "oops", [("e", EV), ("e", "e1" * 32)]))
    assert s[:3] == ["delete", "2 events", "0 addresses"] and "reason: oops" in s, s


def test_profile_change_shows_its_fields(paired, client):
    s = summary(paired, client, tpl(0, json.dumps({"name": "alice", "about": "hi", "lud16": "a@b.c"})))
    assert s[0] == "profile update" and {"name: alice", "about: hi", "lud16: a@b.c"} <= set(s), s


def test_long_form_shows_its_title(paired, client):
    s = summary(paired, client, tpl(30023, "# body", [("d", "slug"), ("title", "My post")]))
    assert s[:2] == ["article", "title: My post"], s


def test_relay_list_lists_relays_read_and_write(paired, client):
    s = summary(paired, client, tpl(10002, "", [("r", "wss://a.com"), ("r", "wss://b.com", "read")]))
    assert s[:4] == ["relay list", "2 read 1 write", "rw wss://a.com", "r wss://b.com"], s


def test_nip42_auth_names_the_relay(paired, client):
    s = summary(paired, client, tpl(22242, "", [("relay", "wss://relay.damus.io"), ("challenge", "c0ffee")]))
    assert s[:4] == ["relay login", "relay:", "wss://relay.damu", "s.io"], s


def test_unknown_kind_gets_the_generic_view(paired, client):
    s = summary(paired, client, tpl(31337, "first line\nsecond", [("d", "x")]))
    assert s[:4] == ["kind 31337 event", "1 tag", "17 chars", "first line"], s


# --- escapes

def test_invisible_bidi_and_control_characters_show_as_escapes(paired, client):
    sneaky = "a\u202eb\u200bc\u200fd\u2066e\u2069f\ufeffg\x00h\x1bi\x7fj\x85k\xe9"
    s = summary(paired, client, tpl(1, sneaky))
    text = "".join(s[1:6])
    for esc in ("\\u202e", "\\u200b", "\\u200f", "\\u2066", "\\u2069", "\\ufeff", "\\x00", "\\x1b", "\\x7f",
                "\\x85", "\\xe9"):
        assert esc in text, (esc, s)
    assert all(32 <= ord(ch) < 127 for line in s for ch in line), s


def test_escapes_in_tag_values_and_client_name(dev, client):
    pair(dev, client, name="Coracle\u202e")
    rid, ev, body = show(dev, client, tpl(1, "x", [("t", "a\u2067b")]))
    assert body[0] == "Coracle\\u202e" and "t a\\u2067b" in body, body


# --- scrolling

def test_scrolling_reaches_the_last_tag_and_stops_there(paired, client):
    tags = [("t", "tag%d" % i) for i in range(20)]
    rid, ev, body = show(paired, client, tpl(1, "many tags", tags))
    assert body[-1] == "t tag19" and "-- 20 tags --" in body, body
    last = paired.screen
    paired.press("down")
    assert paired.screen == last
    assert last[0].startswith("APPROVE?") and last[0].endswith(" ^"), last
    for _ in range(len(body)):
        paired.press("up")
    assert paired.screen[0] == "APPROVE?       v" and paired.screen[1] == "Coracle"


def test_a_scrolled_prompt_still_approves(paired, client):
    rid, ev, body = show(paired, client, tpl(1, "x", [("t", "t%d" % i) for i in range(10)]))
    resp, _ = answer(client, paired.press("approve"), rid, ev)
    assert rc.verify_event(json.loads(resp["result"]))


# --- follow lists

def sign_follows(dev, client, ks, how="approve"):
    rid, ev, body = show(dev, client, tpl(3, "", [("p", k) for k in ks]))
    resp, _ = answer(client, dev.press(how), rid, ev)
    return body[3:], resp


def stored(dev):
    p = os.path.join(dev.storage, "follows.bin")
    return open(p, "rb").read() if os.path.exists(p) else None


def test_first_follow_list_says_there_is_no_earlier_one(paired, client):
    s, _ = sign_follows(paired, client, keys(3))
    assert s[:3] == ["follow list", "3 follows", "no earlier list"], s


def test_signed_follow_list_is_stored_as_sorted_32_byte_keys(paired, client):
    ks = keys(5)
    sign_follows(paired, client, ks + ks[:2])
    assert stored(paired) == b"".join(sorted(bytes.fromhex(k) for k in ks))


def test_next_follow_list_shows_added_and_removed(paired, client):
    ks = keys(30)
    sign_follows(paired, client, ks)
    new = ks[3:] + keys(2, 100)
    s, _ = sign_follows(paired, client, new)
    assert s[:2] == ["follow list", "30 -> 29 follows"], s
    added = sorted(keys(2, 100))
    removed = sorted(ks[:3])
    i = s.index("+2 added")
    assert s[i + 1:i + 3] == [short_npub(k) for k in added], s
    i = s.index("-3 removed")
    assert s[i + 1:i + 4] == [short_npub(k) for k in removed], s
    assert not [x for x in s if "!!" in x], s


def test_big_drop_after_a_signed_follow_list_is_a_loud_warning(paired, client):
    sign_follows(paired, client, keys(30))
    rid, ev, msgs = call(paired, client, "sign_event", [json.dumps(tpl(3, "", [("p", keys(1)[0])]))])
    # on the first screen, without scrolling
    assert paired.screen[4:7] == ["follow list", "30 -> 1 follows", "!! DROPS 29 !!"], paired.screen


def test_rejected_follow_list_is_not_remembered(paired, client):
    sign_follows(paired, client, keys(4))
    before = stored(paired)
    s, resp = sign_follows(paired, client, keys(1), how="reject")
    assert resp["error"] == "rejected" and stored(paired) == before
    assert not [f for f in os.listdir(paired.storage) if f.startswith("follows.bin.")]


def test_rule_allowed_follow_list_is_remembered_too(tmp_path, client):
    d = Device(tmp_path / "flash")
    try:
        pair(d, client, perms="sign_event:3", name="Coracle")
        ks = keys(6)
        rid, ev, msgs = call(d, client, "sign_event", [json.dumps(tpl(3, "", [("p", k) for k in ks]))])
        assert answer(client, msgs, rid, ev)[0]["result"]  # no prompt: the rule allowed it
        assert stored(d) == b"".join(sorted(bytes.fromhex(k) for k in ks))
    finally:
        d.close()


def test_follows_are_remembered_across_a_restart(tmp_path, client):
    d = Device(tmp_path / "flash")
    try:
        pair(d, client, name="Coracle")
        sign_follows(d, client, keys(12))
    finally:
        d.close()
    d = Device(tmp_path / "flash", key=None)  # the stored key stays; clients too
    try:
        s, _ = sign_follows(d, client, keys(12)[:2])
        assert s[:3] == ["follow list", "12 -> 2 follows", "!! DROPS 10 !!"], s
    finally:
        d.close()
