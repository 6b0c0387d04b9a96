"""Approval prompts as pixels: the simulator (the real firmware at 128K, run from its
ROMFS image, reached through the bridge's device link) draws a handful of sign_event
prompts, and each STATE/screen.png is compared with a golden image in tests/golden/.

A few differing pixels are tolerated (TOLERANCE), so that a change in how the PNG is
written does not fail the test while a changed word or line does (one 8x8 glyph differs
from another in well over TOLERANCE pixels).

Regenerate after an intended change of a screen, then look at the new images:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_screens_golden.py
"""
import json
import os
import time

import pytest
from PIL import Image, ImageChops

import mpy
import refclient as rc
from bridge import link as L
from bridge import sim as S

GOLDEN = os.path.join(mpy.ROOT, "tests", "golden")
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))
TOLERANCE = 8  # pixels of 128x64
SK = bytes.fromhex("3b0f0c4d2dfc2d0e2f2b8c0e7f31c1a7d5d8a1c9e6c4a2b0f1e3d5c7a9b1c3d5")
PUB = rc.xonly(SK)
CLIENT_SK = bytes.fromhex("5c" * 32)
A = rc.xonly(b"\x11" * 32).hex()
EV = "e0" * 32


def keys(n):
    return [rc.xonly((i + 1).to_bytes(32, "big")).hex() for i in range(n)]


def tpl(kind, content="", tags=()):
    return {"kind": kind, "content": content, "tags": [list(t) for t in tags], "created_at": int(time.time())}


def _screen(state):
    try:
        with open(os.path.join(state, "screen.txt")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _wait(state, first, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _screen(state).startswith(first):
            return
        time.sleep(0.05)
    raise AssertionError("screen never showed %r: %r" % (first, _screen(state)))


class Signer:
    """A provisioned simulator with one paired client ("Coracle")."""

    def __init__(self, state):
        self.state = state
        self.sim = S.Sim(state, heap="128K")
        self.lk = L.DeviceLink(self.sim.tty)
        self.lk.hello(timeout=30)
        _wait(state, "NOSTR SIGNER")
        rid = self.lk.request({"t": "provision", "key": SK.hex()})
        _wait(state, "IMPORT KEY?")
        time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
        S.press(state, "approve")
        self.lk.answer(rid, 20)
        self.client = rc.Client(CLIENT_SK)
        # the secret off the device's own QR (the host is never told it): read from its flash
        with open(os.path.join(state, "flash", "signer.json")) as f:
            secret = json.load(f)["secret"]
        ev = self.client.request(PUB, "connect", [PUB.hex(), secret, "",
                                                  json.dumps({"name": "Coracle"})])
        rid = self.lk.request({"t": "event", "event": rc.strip(ev)})
        _wait(state, "CONNECT?")
        time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
        S.press(state, "approve")
        self.lk.answer(rid, 20)
        _wait(state, "NOSTR SIGNER")

    def prompt(self, t):
        """Put up t's prompt -> the answer callback (press a button, wait for the reply)."""
        ev = self.client.request(PUB, "sign_event", [json.dumps(t)])
        rid = self.lk.request({"t": "event", "event": rc.strip(ev)})
        _wait(self.state, "APPROVE?")

        def answer(button):
            time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
            S.press(self.state, button)
            done = self.lk.answer(rid, 20)
            _wait(self.state, "NOSTR SIGNER")
            return done
        return answer

    def ask(self, method, params, first="APPROVE?", client=None):
        """Put up the prompt for any request -> the answer callback, as prompt()."""
        ev = (client or self.client).request(PUB, method, params)
        rid = self.lk.request({"t": "event", "event": rc.strip(ev)})
        _wait(self.state, first)

        def answer(button):
            time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
            S.press(self.state, button)
            done = self.lk.answer(rid, 20)
            _wait(self.state, "NOSTR SIGNER")
            return done
        return answer

    def to_the_end(self, limit=100):
        # tap down until the title has no "v" (more below) mark
        for _ in range(limit):
            s = _screen(self.state)
            if not s.split("\n", 1)[0].endswith("v"):
                return
            S.press(self.state, "down")
            deadline = time.monotonic() + 10
            while _screen(self.state) == s and time.monotonic() < deadline:
                time.sleep(0.02)
        raise AssertionError("never reached the end: %r" % _screen(self.state))

    def png(self):
        # screen.png is written before screen.txt: once the text shows, the image does
        return Image.open(os.path.join(self.state, "screen.png")).convert("1")

    def close(self):
        self.lk.close()
        self.sim.stop()


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    s = Signer(str(tmp_path_factory.mktemp("golden") / "state"))
    yield s
    s.close()


def check(signer, name, answer, button="reject"):
    # the prompt is answered whatever the outcome, so the next test's prompt is not
    # queued behind it
    try:
        _check(signer, name)
    finally:
        answer(button)


def _check(signer, name):
    got = signer.png()
    path = os.path.join(GOLDEN, name + ".png")
    if UPDATE or not os.path.exists(path):
        if not UPDATE:
            pytest.fail("no golden image %s: run with UPDATE_GOLDEN=1 to make it" % path)
        os.makedirs(GOLDEN, exist_ok=True)
        got.save(path)
        return
    want = Image.open(path).convert("1")
    assert got.size == want.size == (128, 64)
    diff = ImageChops.difference(got.convert("L"), want.convert("L"))
    n = diff.size[0] * diff.size[1] - diff.histogram()[0]  # pixels that differ
    if n > TOLERANCE:
        out = os.path.join(mpy.ROOT, "build", "golden-diff")
        os.makedirs(out, exist_ok=True)
        got.save(os.path.join(out, name + ".png"))
        raise AssertionError("%s differs from %s in %d pixels (tolerance %d); the drawn screen: %s\n%s"
                             % (name, path, n, TOLERANCE, os.path.join(out, name + ".png"), _screen(signer.state)))


def test_note_with_bidi_and_zero_width_escapes(signer):
    answer = signer.prompt(tpl(1, "gm nostr, signed on a \u202etxet\u202c device\u200b"))
    check(signer, "sign-note-escapes", answer)


def test_reaction(signer):
    answer = signer.prompt(tpl(7, "+", [("e", EV), ("p", A)]))
    check(signer, "sign-reaction", answer)


def test_zap_request(signer):
    answer = signer.prompt(tpl(9734, "great post", [("p", A), ("amount", "21000"), ("relays", "wss://a")]))
    check(signer, "sign-zap-request", answer)


def test_follow_list_drop_after_a_signed_one(signer):
    done = signer.prompt(tpl(3, "", [("p", k) for k in keys(12)]))("approve")
    assert done["outcome"] == "ok", done
    answer = signer.prompt(tpl(3, "", [("p", keys(1)[0])]))
    check(signer, "sign-follows-drop", answer)


def test_profile(signer):
    answer = signer.prompt(tpl(0, json.dumps({"name": "alice", "about": "hi", "nip05": "a@b.c"})))
    check(signer, "sign-profile", answer)


def test_encrypt_scrolled_to_its_end_shows_the_plaintexts_tail(signer):
    # issue 11, break 2: the last rows of a 215-char plaintext are on the prompt
    ps = " ... P.S. new payment address: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
    answer = signer.ask("nip44_encrypt", [A, ("Hi! Lunch tomorrow? " * 8)[:215 - len(ps)] + ps])
    signer.to_the_end()
    check(signer, "encrypt-tail", answer)


def test_pairing_lists_dangerous_permissions_first(signer):
    other = rc.Client(bytes.fromhex("6d" * 32))
    answer = signer.ask("connect", [PUB.hex(), "", "sign_event:1,nip44_encrypt,nip44_decrypt,sign_event",
                                    json.dumps({"name": "Coracle"})], "CONNECT?", other)
    check(signer, "connect-dangerous-first", answer)


def test_golden_images_are_one_bit_128x64():
    if not os.path.isdir(GOLDEN):
        pytest.skip("no golden images yet")
    for f in sorted(os.listdir(GOLDEN)):
        img = Image.open(os.path.join(GOLDEN, f))
        assert img.size == (128, 64) and img.mode in ("1", "L"), f
