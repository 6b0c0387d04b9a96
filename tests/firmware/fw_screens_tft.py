# heap: 256K
# The approval prompt laid out on the display's character grid: the real App with a
# board whose framebuffer is bigger than the OLED's (a TFT's st7789.Display built with
# width=240, height=128: 30 columns x 16 lines of the 8x8 font) shows longer lines and
# more of them; the 128x64 OLED stays 16x8. A paired client's sign_event request is
# made here with the firmware's own NIP-44 (envelope.seal from the client's key).
# 256K: this loads the firmware from the filesystem (code in the heap) and checks
# layout, not memory (the 128K checks run under the ROMFS image: test_screens_kinds.py).
import json
import os
import time
import framebuf

from crypto import secp256k1
from signer import envelope
from boards import common

SK = bytes(range(1, 33))
CLIENT_SK = bytes(range(33, 65))
TMP = "/tmp/fw_screens_tft.%s" % "".join("%02x" % b for b in os.urandom(6))


class Display:
    def __init__(self, w, h):
        self.width = w
        self.height = h
        self.buf = bytearray(w * h // 8)
        self.fb = framebuf.FrameBuffer(self.buf, w, h, framebuf.MONO_VLSB)
        self.lines = []

    def show(self, lines):
        self.lines = lines


class Board:
    name = "test"
    # a hardware board's footers (boards/common.py), from the default keymap
    feet = common.feet(common.DEFAULTS["keymap"])

    def __init__(self, w, h, root):
        self.display = Display(w, h)
        self.storage = root
        self.config = {}

    def rng(self, n):
        return os.urandom(n)

    def ticks_ms(self):
        return time.ticks_ms()


def _app(w, h):
    import app
    from keystore import store
    root = TMP + "/%dx%d" % (w, h)
    store.save_key(root, SK)
    client = envelope.pub_hex(CLIENT_SK)
    store.write_json(root, "clients.json", {client: {"name": "Coracle", "rules": []}})
    store.remove(root, "seen.bin")  # a fresh device: "r1" was answered by the last one
    sent = []
    return app.App(Board(w, h, root), sent.append), client


def _sign(a, client, tpl):
    now = int(time.time())
    body = json.dumps({"id": "r1", "method": "sign_event", "params": [json.dumps(tpl)]})
    ev = envelope.seal(CLIENT_SK, client, a.pubhex, body, "nip44", now)
    a.handle({"t": "event", "rid": 1, "now": now, "event": ev})
    return a.board.display.lines


NOTE = {"kind": 1, "content": "gm from a bigger screen: thirty columns a line", "tags": [["t", "x%d" % i] for i in range(12)],
        "created_at": int(time.time())}


def test_tft_grid_shows_16_lines_of_30_columns():
    a, client = _app(240, 128)
    lines = _sign(a, client, NOTE)
    assert len(lines) == 16 and max(len(s) for s in lines) == 30, lines
    assert lines[0].startswith("APPROVE?") and lines[0].endswith("v"), lines
    assert lines[1:6] == ["Coracle", "(unverified)", "sign_event", "note", "gm from a bigger screen: thirt"], lines
    # 30 columns: the footer's parts on one line
    assert lines[6] == "y columns a line" and lines[-1] == "hold >:yes <:no both:always", lines


def test_tft_grid_draws_every_line_on_the_framebuffer():
    a, client = _app(240, 128)
    lines = _sign(a, client, NOTE)
    fb = a.board.display.fb
    # the last body line (row 14) and the footer (row 15) have lit pixels in their cells
    for row in (14, 15):
        lit = 0
        for y in range(row * 8, row * 8 + 8):
            for x in range(0, 8 * len(lines[row])):
                lit += fb.pixel(x, y)
        assert lit > 0, (row, lines[row])


def test_tft_grid_scrolls_by_its_bigger_window():
    a, client = _app(240, 128)
    lines = _sign(a, client, NOTE)
    for _ in range(40):
        a.press("down")
    lines = a.board.display.lines
    assert lines[-2] == "t x11" and lines[0].endswith("^"), lines


def test_oled_grid_stays_16_by_8():
    a, client = _app(128, 64)
    lines = _sign(a, client, NOTE)
    assert len(lines) == 8 and max(len(s) for s in lines) <= 16, lines
    # a hardware board's "rule" footer does not fit 16 columns: two lines, and a body
    # window one line shorter that still scrolls to the event's last tag
    assert lines[4:6] == ["note", "gm from a bigger"] and lines[6:] == ["hold >:yes <:no", "both:always"], lines
    for _ in range(40):
        a.press("down")
    lines = a.board.display.lines
    assert lines[5] == "t x11" and lines[0].endswith("^") and lines[6] == "hold >:yes <:no", lines


def test_a_hardware_boards_menu_names_its_holds():
    a, client = _app(128, 64)
    a.press("approve")  # hold right on idle: the menu
    lines = a.board.display.lines
    assert lines[0].startswith("MENU") and lines[-1] == "hold >:ok <:exit", lines
