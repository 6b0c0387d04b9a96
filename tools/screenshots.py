"""Screenshots of the device screens for the README, taken from the simulator.

    .venv/bin/python tools/screenshots.py [OUT_DIR]    (default docs/screens)

Runs the real firmware on the unix port, drives it with an independent NIP-46 client
(tests/refclient.py) through the bridge's device link, and copies the simulator's
screen.png at each step, scaled up 4x so a 128x64 OLED is readable on a page.
"""
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from PIL import Image  # noqa: E402

import refclient as rc  # noqa: E402
from bridge import link as L  # noqa: E402
from bridge import sim as S  # noqa: E402

SK = bytes.fromhex("3b0f0c4d2dfc2d0e2f2b8c0e7f31c1a7d5d8a1c9e6c4a2b0f1e3d5c7a9b1c3d5")
PUB = rc.xonly(SK)
HEAP = os.environ.get("SIM_HEAP", "128K")


def wait_screen(state, first, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(state, "screen.txt")) as f:
                if f.read().startswith(first):
                    time.sleep(0.2)  # the PNG is written right after the text
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise RuntimeError("screen never showed %r" % first)


def shot(state, out, name):
    img = Image.open(os.path.join(state, "screen.png")).convert("L")
    img = img.resize((img.width * 4, img.height * 4), Image.NEAREST)
    path = os.path.join(out, name + ".png")
    img.save(path)
    print("wrote", os.path.relpath(path, ROOT))


def main(out):
    os.makedirs(out, exist_ok=True)
    state = tempfile.mkdtemp(prefix="screens-")
    sim = S.Sim(state, heap=HEAP)
    lk = L.DeviceLink(sim.tty)
    try:
        lk.hello(timeout=30)
        wait_screen(state, "NOSTR SIGNER")
        shot(state, out, "1-no-key")
        rid = lk.request({"t": "provision", "key": SK.hex()})
        wait_screen(state, "IMPORT KEY?")
        shot(state, out, "2-import-key")
        S.press(state, "approve")
        lk.answer(rid, 20)
        wait_screen(state, "NOSTR SIGNER")
        shot(state, out, "3-idle")

        c = rc.Client()
        ev = c.request(PUB, "connect", [PUB.hex(), lk.device_hello.get("secret") or "",
                                        "sign_event:1,nip44_encrypt",
                                        json.dumps({"name": "Coracle", "url": "https://coracle.social"})])
        rid = lk.request({"t": "event", "event": rc.strip(ev)})
        wait_screen(state, "CONNECT?")
        shot(state, out, "4-connect")
        S.press(state, "approve")
        lk.answer(rid, 20)

        tpl = {"kind": 1, "content": "gm nostr, signed on a \u202etxet\u202c device",
               "tags": [], "created_at": int(time.time())}
        ev = c.request(PUB, "sign_event", [json.dumps(tpl)])
        tpl_rid = lk.request({"t": "event", "event": rc.strip(ev)})
        ev = c.request(PUB, "sign_event", [json.dumps(dict(tpl, kind=7, content="+"))])
        rid = lk.request({"t": "event", "event": rc.strip(ev)})
        time.sleep(0.5)  # first prompt: the note (kind 1 is allowed, so it signs at once)
        wait_screen(state, "APPROVE?")
        shot(state, out, "5-sign-reaction")
        S.press(state, "reject")
        lk.answer(rid, 20)
        lk.answer(tpl_rid, 20)

        ev = c.request(PUB, "nip44_get_key", [rc.xonly(os.urandom(32)).hex()])
        rid = lk.request({"t": "event", "event": rc.strip(ev)})
        wait_screen(state, "")
        time.sleep(0.5)
        shot(state, out, "6-nip44-get-key")
        S.press(state, "reject")
        lk.answer(rid, 20)

        wait_screen(state, "NOSTR SIGNER")
        S.press(state, "approve")  # hold right on idle: the menu
        wait_screen(state, "MENU")
        shot(state, out, "7-menu")
        S.press(state, "approve")  # Clients
        wait_screen(state, "CLIENTS")
        S.press(state, "approve")  # the first client
        time.sleep(0.5)
        shot(state, out, "8-client")
        S.press(state, "reject")
        S.press(state, "reject")
        wait_screen(state, "MENU")
        for _ in range(3):  # down to "Pair (QR)"
            S.press(state, "down")
        S.press(state, "approve")
        time.sleep(0.8)
        shot(state, out, "9-pair-qr")
        S.press(state, "reject")
    finally:
        lk.close()
        sim.stop()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "screens"))
