"""The bunker QR on the device screen (menu -> Pair, firmware/ui/menu_pair.py): the real
firmware in the simulator at 128 KB draws it on its 128x64 framebuffer; the sim's
screen.png is decoded by an independent decoder (zxing-cpp) and must give back the very
URL the bridge prints (bridge/qr.py), or its documented shorter form when the full one
does not fit."""
import json
import os
import sys
import time

import pytest
import zxingcpp
from PIL import Image

import mpy
import refclient as rc

sys.path.insert(0, mpy.ROOT)
from bridge import sim as S  # noqa: E402
from bridge.qr import bunker_url  # noqa: E402

SK = bytes.fromhex("7f4c11a9742721d66e40e321ca50b682c27f7422190c14a187525e69e604836a")
PUB = rc.xonly(SK).hex()
SECRET = "0123456789abcdef"


def _wait_screen(state, pred, timeout=20):
    path = os.path.join(state, "screen.txt")
    end = time.monotonic() + timeout
    lines = []
    while time.monotonic() < end:
        try:
            with open(path) as f:
                lines = f.read().split("\n")
        except FileNotFoundError:
            lines = []
        if pred(lines):
            return lines
        time.sleep(0.05)
    raise AssertionError("screen never matched; last: %r" % lines)


def _has(text):
    return lambda lines: any(text in ln for ln in lines)


def _boot(tmp_path, relays):
    state = str(tmp_path / "state")
    flash = os.path.join(state, "flash")
    os.makedirs(flash)
    with open(os.path.join(flash, "key.json"), "w") as f:
        json.dump({"v": 1, "sk": SK.hex()}, f)
    with open(os.path.join(flash, "signer.json"), "w") as f:
        json.dump({"secret": SECRET, "relays": relays}, f)
    return S.Sim(state, heap="128K")


def _open_pair(sim):
    _wait_screen(sim.state, _has("NOSTR SIGNER"))
    S.press(sim.state, "approve")
    _wait_screen(sim.state, _has(">Clients"))
    for _ in range(3):
        S.press(sim.state, "down")
    _wait_screen(sim.state, _has(">Pair"))
    S.press(sim.state, "approve")
    return _wait_screen(sim.state, _has("PAIR"))


def _decode(state):
    img = Image.open(os.path.join(state, "screen.png")).convert("L")
    assert img.size == (128, 64)
    # the screen's pixels, 4x bigger (nearest: each module stays a clean square)
    big = img.resize((512, 256), Image.NEAREST)
    found = zxingcpp.read_barcodes(big, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, "no QR code found on the screen"
    return found[0]


@pytest.fixture
def sim_for(tmp_path):
    sims = []

    def start(relays):
        s = _boot(tmp_path, relays)
        sims.append(s)
        return s
    yield start
    for s in sims:
        s.stop()


def test_pair_screen_qr_decodes_to_the_bunker_url(sim_for):
    relays = ["ws://127.0.0.1:7777"]
    sim = sim_for(relays)
    lines = _open_pair(sim)
    got = _decode(sim.state)
    assert got.text == bunker_url(PUB, relays, SECRET)
    assert got.ec_level == "L"
    # the secret is in this QR only: the host's printed URL has none, and the screen says so
    assert [ln.strip() for ln in lines[3:7]] == ["secret:", "none", "(host", "URL)"]
    assert "relays" not in "".join(lines)


def test_pair_qr_with_several_relays_keeps_them_all_while_they_fit(sim_for):
    relays = ["wss://relay.damus.io", "wss://nos.lol", "wss://relay.nsec.app/?x=1 y"]
    sim = sim_for(relays)
    _open_pair(sim)
    assert _decode(sim.state).text == bunker_url(PUB, relays, SECRET)


def test_pair_qr_too_long_drops_relays_then_says_so(sim_for):
    # five long relays: 9+64 + 5*~45 + secret > 230 bytes (version 9 at level L)
    relays = ["wss://relay-number-%d.example-nostr-relays.org/" % i for i in range(5)]
    assert len(bunker_url(PUB, relays, SECRET)) > 230
    sim = sim_for(relays)
    lines = _open_pair(sim)
    text = _decode(sim.state).text
    kept = [r for r in relays if bunker_url(PUB, [r]).split("?")[1] in text]
    assert kept and text == bunker_url(PUB, relays[:len(kept)], SECRET)
    assert any(("+%d relays" % (len(relays) - len(kept))) in ln for ln in lines)


def test_pair_qr_without_room_for_the_secret_says_it_has_none(sim_for):
    relays = ["wss://" + "r" * 120 + ".example/"]
    assert len(bunker_url(PUB, relays)) <= 230 < len(bunker_url(PUB, relays, SECRET))
    sim = sim_for(relays)
    lines = _open_pair(sim)
    assert _decode(sim.state).text == bunker_url(PUB, relays)
    assert [ln.strip() for ln in lines[5:7]] == ["secret:", "none"]  # nor does the host's


def test_pair_screen_leaves_with_hold_left(sim_for):
    sim = sim_for(["ws://127.0.0.1:7777"])
    _open_pair(sim)
    S.press(sim.state, "reject")
    _wait_screen(sim.state, _has(">Pair"))
    S.press(sim.state, "reject")
    _wait_screen(sim.state, _has("NOSTR SIGNER"))


@pytest.mark.parametrize("relays,secret", [
    (["ws://127.0.0.1:7777"], SECRET),
    (["wss://relay.example.com/path?a=1&b=~x y", "wss://ünï.example"], None),
])
def test_device_url_is_the_bridges(fw, relays, secret):
    assert fw.call("ui.menu_pair", "url", PUB, relays, secret) == bunker_url(PUB, relays, secret)


def test_largest_symbol_with_quiet_zone_fits_64_rows(fw):
    v = fw.call("ui.menu_pair", "max_version", 64)
    assert v == 9 and 17 + 4 * v + 2 * 4 <= 64 < 17 + 4 * (v + 1) + 2 * 4
    assert fw.call("ui.qr", "capacity", v, "L") == 230


def test_pair_qr_follows_relays_set_from_the_host_and_confirmed(sim_for):
    # issue 13 item 2: the device's QR said 127.0.0.1 whatever relays the bridge used
    from bridge.link import DeviceLink
    sim = sim_for(["ws://127.0.0.1:7777"])
    _wait_screen(sim.state, _has("NOSTR SIGNER"))
    new = ["wss://relay.nsec.app", "wss://nos.lol"]
    link = DeviceLink(sim.tty)
    try:
        link.hello(timeout=15)
        rid = link.request({"t": "relays", "relays": new})
        _wait_screen(sim.state, _has("SET RELAYS?"))
        time.sleep(0.6)      # a prompt ignores presses in its first moments
        S.press(sim.state, "approve")
        assert link.answer(rid, 20)["relays"] == new
    finally:
        link.close()
    _open_pair(sim)
    assert _decode(sim.state).text == bunker_url(PUB, new, SECRET)
