# heap: 320K
# The real app on the Pico board (fake `machine`, see fw_boards.py): the screen it draws
# reaches the SSD1306, and a key provisioned over the link is confirmed by holding the
# RIGHT button on the pins. 320K: this checks the wiring, not memory (64-bit unix objects
# are bigger than a board's, and all the code is in the heap here; memory is
# tests/test_signer_memory.py's and test_signer_fit.py's job). 256K was at the edge
# (240K failed) once the interned names outgrew their pool (a new one: 7 KB).
import sys
import os

import fw_boards  # noqa: F401  (puts the fake machine first on the path)
from fw_boards import _board, _run, OledModel, machine, TMP
from boards import pins

KEY = "7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a"  # NIP-06 vector


def _app():
    for f in ("key", "key.json", "clients.json", "conf.json"):
        try:
            os.remove(TMP + "/" + f)
        except OSError:
            pass
    b, clock = _board("pico")
    model = OledModel()
    machine.listeners.append(model)
    sent = []
    import app
    a = app.App(b, sent.append)
    return b, clock, a, sent, model


def test_app_draws_on_the_oled():
    b, clock, a, sent, model = _app()
    a.redraw()
    assert b.display.lines and b.display.lines[0] == "NOSTR SIGNER", b.display.lines
    assert model.gram == b.display.buf and any(model.gram)
    assert a.hello()["board"] == "pico"


def test_provision_is_confirmed_by_holding_right():
    b, clock, a, sent, model = _app()
    a.handle({"t": "provision", "rid": 7, "key": KEY})
    assert not any(m.get("t") == "done" for m in sent)
    screen = list(b.display.lines)
    assert screen != ["NOSTR SIGNER"], screen
    L, R = pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT
    clock.t += 1000  # past the app's double-press guard
    t = clock.t
    # a tap scrolls (answers nothing); a 1 s hold of RIGHT approves
    for ev in _run(b, clock, [(t + 100, 1, 0), (t + 200, 1, 1)], L, R):
        a.press(ev)
    assert not any(m.get("t") == "done" for m in sent)
    t = clock.t
    for ev in _run(b, clock, [(t + 1200, 1, 0), (t + 1300, 1, 1)], L, R):
        a.press(ev)
    done = [m for m in sent if m.get("t") == "done"]
    assert done and done[0]["rid"] == 7 and done[0]["outcome"] == "ok", sent
    assert a.pubhex is not None
    assert KEY not in repr(sent)  # the key never goes back over the link


def test_the_key_a_provisioning_request_set_is_copied_down_after_it():
    # made in the request (the key's bytes from the message, its hex and npub), they sat
    # where it left the heap: at 128K after pairing and two 7,000-character requests the
    # npub and hex cut a 29 KB free run into 7, 7 and 14 KB, and a third was "too large"
    b, clock, a, sent, model = _app()
    a.handle({"t": "provision", "rid": 8, "key": KEY})
    L, R = pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT
    clock.t += 1000
    t = clock.t
    for ev in _run(b, clock, [(t + 1200, 1, 0), (t + 1300, 1, 1)], L, R):
        a.press(ev)
    assert any(m.get("t") == "done" and m.get("outcome") == "ok" for m in sent), sent
    sk, pub, npub = a.sk, a.pubhex, a.npub
    assert a._high(sk) and a._high(pub) and a._high(npub)
    a.tick()
    assert (a.sk, a.pubhex, a.npub) == (sk, pub, npub)
    assert a.sk is not sk and a.pubhex is not pub and a.npub is not npub
    sk = pub = npub = None
