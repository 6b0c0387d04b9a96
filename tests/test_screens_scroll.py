"""A long sign_event scrolled on the real firmware (tests/test_signer_harness.py's Device:
the App on MicroPython at the device's 128K heap): taps reach the last character of the
content and the last tag, escapes deep in the content show as anywhere else, scrolling
back up shows the start, the title says where the window is, paging does not grow the
heap, a long note costs the heap no copy of itself as rows, and approving at the end
signs the event shown.

How rows are cut from the content and the tags (any window, escapes cut by a row end,
surrogate pairs) is tests/firmware/fw_screens_scroll.py's job."""
import json
import time

import pytest

import refclient as rc
from test_signer_harness import Device, answer, call, client, dev, pair  # noqa: F401

HEAD = ["Coracle", "(unverified)", "sign_event"]


def esc(s):
    # screens.esc for the characters these tests use
    return "".join(c if 0x20 <= ord(c) < 0x7F and c != "\\" else "\\u%04x" % ord(c) for c in s)


def rows(text):
    return [text[i:i + 16].rstrip() for i in range(0, len(text), 16)]


def words(n):
    # numbered words, so every row differs from its neighbours
    s = "".join("w%04d." % i for i in range(n // 6 + 1))
    return s[:n]


def tpl(content="", tags=()):
    return {"kind": 1, "content": content, "tags": [list(t) for t in tags], "created_at": int(time.time())}


@pytest.fixture
def paired(dev, client):
    pair(dev, client, name="Coracle")
    return dev


def prompt(dev, client, t):
    rid, ev, msgs = call(dev, client, "sign_event", [json.dumps(t)])
    assert not msgs and dev.screen[0].startswith("APPROVE?"), dev.screen
    return rid, ev


def down_to_the_end(dev, limit=2000):
    """Tap down until the last row shows -> every body row, in order, and the taps."""
    s = dev.screen
    body = s[1:7]
    for n in range(limit):
        if not s[0].endswith("v"):
            return body, n
        dev.press("down")
        s = dev.screen
        body.append(s[6])
    raise AssertionError("never reached the end: %r" % s)


def test_scrolling_reaches_the_last_character_of_a_3000_character_note(paired, client):
    text = words(2992) + "THE END!"
    prompt(paired, client, tpl(text))
    body, taps = down_to_the_end(paired)
    assert body == HEAD + ["note"] + rows(text) + ["-- 0 tags --"], body[-4:]
    assert taps == len(body) - 6 and body[-2] == "THE END!"


def test_scrolling_reaches_the_last_of_120_tags(paired, client):
    prompt(paired, client, tpl("many tags", [("t", "topic%d" % i) for i in range(120)]))
    body, taps = down_to_the_end(paired)
    i = body.index("-- 120 tags --")
    assert body[i + 1:] == ["t topic%d" % n for n in range(120)], body[-3:]


def test_a_long_tag_value_is_shown_whole(paired, client):
    value = words(600) + "\u2066TAIL"
    prompt(paired, client, tpl("x", [("alt", value), ("t", "after")]))
    body, _ = down_to_the_end(paired)
    i = body.index("-- 2 tags --")
    assert body[i + 1:] == rows("alt " + esc(value)) + ["t after"], body[-4:]


def test_a_bidi_override_deep_in_the_content_shows_as_its_escape(paired, client):
    text = words(2500) + "\u202e" + "gnp.exe" + words(400)
    prompt(paired, client, tpl(text))
    body, _ = down_to_the_end(paired)
    shown = "".join(body[4:-1])
    assert shown == esc(text) and shown.index("\\u202egnp.exe") == 2500, shown[2490:2520]


def test_scrolling_back_up_shows_the_start_again(paired, client):
    prompt(paired, client, tpl(words(3000)))
    first = paired.screen
    _, taps = down_to_the_end(paired)
    assert paired.screen[1:7] != first[1:7]
    for _ in range(taps):
        paired.press("up")
    assert paired.screen == first, paired.screen


def test_a_scrolled_prompt_says_which_row_of_how_many_it_shows(paired, client):
    text = words(3000)
    prompt(paired, client, tpl(text))
    n = len(HEAD) + 1 + len(rows(text)) + 1
    paired.press("down")
    assert paired.screen[0] == "APPROVE 7/%d ^v" % n, paired.screen[0]
    down_to_the_end(paired)
    assert paired.screen[0] == "APPROV %d/%d ^" % (n, n), paired.screen[0]


def test_paging_a_long_note_does_not_grow_the_heap(paired, client):
    prompt(paired, client, tpl(words(4000)))
    before = paired.mem()["alloc"]
    for _ in range(2):
        for _ in range(300):  # to the end (256 rows) and on, then back to the top
            paired.press("down")
        for _ in range(300):
            paired.press("up")
    after = paired.mem()["alloc"]
    print("heap while paging a 4000-char note: %d -> %d bytes allocated (1200 taps)" % (before, after))
    assert paired.screen[0] == "APPROVE?       v" and after - before < 256, (before, after)


def no_copy_as_rows(dev, client, size):
    # the same prompt with a short and a long note: the difference is the note itself
    # (held anyway: it is what gets signed; a big one stays in the request's buffer,
    # which is its payload's size, about 4/3 of it), not rows made of it (16 columns of
    # a row cost more than 16 bytes: a copy as rows would add at least the note again)
    # the short one twice: the heap's conservative collector can keep a few KB of an
    # earlier request alive through a stale word on the stack, which makes one reading
    # low; the higher of two is the prompt's own
    small = 0
    for _ in range(2):
        prompt(dev, client, tpl("short"))
        small = max(small, dev.mem()["alloc"])
        dev.press("reject")
    prompt(dev, client, tpl(words(size)))
    big = dev.mem()["alloc"]
    print("heap with a prompt up: short note %d, %d-char note %d (+%d)" % (small, size, big, big - small))
    assert big - small < size * 3 // 2 + 2048, (small, big)


def test_a_4000_character_note_on_screen_costs_no_copy_of_it_as_rows(paired, client):
    no_copy_as_rows(paired, client, 4000)


def test_a_16_kb_note_on_screen_costs_no_copy_of_it_as_rows_at_256k(tmp_path, client):
    # 256K: on the x64 unix port a 16 KB request itself (27 KB of base64 and the text
    # live at once) does not fit 128K (tests/test_signer_memory.py); the prompt's cost
    # over the note is what is measured
    d = Device(tmp_path / "flash", heap="256K")
    try:
        pair(d, client, name="Coracle")
        no_copy_as_rows(d, client, 16000)
    finally:
        d.close()


def test_approving_at_the_end_signs_the_event_shown(paired, client):
    t = tpl(words(2500) + "\u202e-last", [("t", "tag%d" % i) for i in range(30)])
    rid, ev = prompt(paired, client, t)
    body, _ = down_to_the_end(paired)
    assert body[-1] == "t tag29"
    resp, _ = answer(client, paired.press("approve"), rid, ev)
    signed = json.loads(resp["result"])
    assert rc.verify_event(signed) and signed["content"] == t["content"] and signed["tags"] == t["tags"]
