"""The PIN on the real unix port at 128 KB (firmware/ui/pin.py, keystore/vault.py and
keystore/ids.py through the signer harness): set from the menu, the plain key gone from
flash, locked after a restart (requests answered "locked", the screen asks for the
PIN), wrong PINs counted on flash before the check (also across a kill -9 in the
middle of one), the wipe after 10, change and removal."""
import json
import os

import pytest

import refclient as rc
from keystore_buttons import enter_pin, idle_npub, killable, npub, open_menu_entry, set_pin, short, writes
from test_signer_harness import SIGNER_PUB, SIGNER_SK, Device, done, of

HEAP = "128K"
CFG = {"pin_ms": 20}  # calibrated to 20 ms a guess here (never under vault.MIN_ITER)
PIN = "2468"


def boot(path, **kw):
    d = Device(path, config=CFG, heap=HEAP, key=None, **kw)
    d.press("up")  # a first command: the boot screens come with its answer
    return d


def fails(storage):
    with open(os.path.join(storage, "pin.json")) as f:
        return json.load(f)["fails"]


@pytest.fixture
def locked(tmp_path):
    """A device whose key is under PIN, restarted: locked."""
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    set_pin(d, PIN)
    d.close()
    d = boot(tmp_path / "flash")
    yield d
    d.close()


def ping(dev, pub=SIGNER_PUB):
    c = rc.Client()
    ev = c.request(pub, "ping", [])
    rid, msgs = dev.event(ev)
    return rid, msgs, c


def test_setting_a_pin_leaves_no_plain_key_on_flash(tmp_path):
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    try:
        set_pin(d, PIN)
        assert not os.path.exists(os.path.join(d.storage, "key.json"))
        raw = open(os.path.join(d.storage, "vault.json")).read()
        assert SIGNER_SK.hex() not in raw
        assert idle_npub(d) == short(npub(SIGNER_SK))  # still unlocked until the restart
    finally:
        d.close()


def test_pin_derivation_shows_a_progress_bar(tmp_path):
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    try:
        set_pin(d, PIN)
        bars = [s for s in d.screens if s[0] == "SETTING PIN"]
        assert bars[0][2] == "deriving... 0%" and bars[-1][2] == "deriving... 100%"
    finally:
        d.close()


def test_pin_entry_needs_two_equal_entries(tmp_path):
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    try:
        open_menu_entry(d, "PIN")
        enter_pin(d, "1234")
        enter_pin(d, "1235")
        assert d.screen[1] == "new PIN:" and "no match: again" in d.screen
        assert not os.path.exists(os.path.join(d.storage, "vault.json"))
    finally:
        d.close()


def test_locked_device_says_so_and_still_reports_its_pubkey(locked):
    assert locked.screen[1:3] == ["locked:", "enter PIN"]
    assert locked.hello()["pubkey"] == SIGNER_PUB.hex()


def test_hello_says_locked_and_unlocking_tells_the_host(locked):
    assert locked.hello()["locked"] is True
    n = len(locked.out)
    enter_pin(locked, PIN)
    hellos = [m for m in locked.out[n:] if m.get("t") == "hello"]
    assert len(hellos) == 1 and hellos[0]["locked"] is False
    assert hellos[0]["pubkey"] == SIGNER_PUB.hex()


def test_locked_device_answers_requests_locked_without_signing(locked):
    rid, msgs, _ = ping(locked)
    assert done(msgs, rid)["outcome"] == "dropped: locked"
    assert not of(msgs, "publish")


def test_locked_device_refuses_a_provisioned_key(locked):
    rid = locked.next_rid()
    msgs = locked.send({"t": "provision", "rid": rid, "key": "01" * 32})
    assert done(msgs, rid)["outcome"] == "dropped: locked"
    assert locked.screen[1] == "locked:"


def test_wrong_pin_is_counted_and_refused(locked):
    enter_pin(locked, "1111")
    assert "wrong: 9 left" in locked.screen and locked.screen[1] == "locked:"
    assert fails(locked.storage) == 1
    rid, msgs, _ = ping(locked)
    assert done(msgs, rid)["outcome"] == "dropped: locked"


def test_right_pin_unlocks_and_the_device_signs(locked):
    enter_pin(locked, "1111")
    enter_pin(locked, PIN)
    assert idle_npub(locked) == short(npub(SIGNER_SK))
    assert fails(locked.storage) == 0
    rid, msgs, c = ping(locked)
    assert c.open(of(msgs, "publish", rid)[0]["event"], SIGNER_PUB)[0]["result"] == "pong"


def test_ten_wrong_pins_erase_the_key(locked):
    for i in range(9):
        enter_pin(locked, "1111")
        assert "wrong: %d left" % (9 - i) in locked.screen
    enter_pin(locked, "1111")
    assert locked.screen[:4] == ["KEY ERASED", "10 wrong PINs:", "the keys were", "erased."]
    assert not os.path.exists(os.path.join(locked.storage, "vault.json"))
    assert not os.path.exists(os.path.join(locked.storage, "key.json"))
    assert locked.hello()["pubkey"] is None
    locked.press("approve")
    assert locked.screen[:2] == ["NOSTR SIGNER", "no key yet:"]


def test_the_count_survives_a_restart(locked, tmp_path):
    enter_pin(locked, "1111")
    enter_pin(locked, "1111")
    locked.close()
    d = boot(tmp_path / "flash")
    try:
        enter_pin(d, "1111")
        assert "wrong: 7 left" in d.screen
    finally:
        d.close()


def test_a_kill_mid_check_still_counts_the_guess(locked, tmp_path, monkeypatch):
    # the right PIN, and the plug pulled at the write after the count went up (the
    # reset): the guess stays counted, and the key is intact
    enter_pin(locked, "1111")
    locked.close()
    killable(monkeypatch, at=2)
    d = boot(tmp_path / "flash")
    with pytest.raises(RuntimeError, match="driver exited") as cut:
        enter_pin(d, PIN)
    d.close()
    assert writes(cut.value) == [(1, "pin.json"), (2, "pin.json")]  # the count went up first
    assert fails(d.storage) == 2
    monkeypatch.setenv("KILL_AT_WRITE", "0")
    d = boot(tmp_path / "flash")
    try:
        enter_pin(d, PIN)
        assert idle_npub(d) == short(npub(SIGNER_SK))
    finally:
        d.close()


def test_change_pin_needs_the_old_one_and_then_only_the_new_opens(tmp_path):
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    try:
        set_pin(d, PIN)
        open_menu_entry(d, "PIN")
        assert d.screen[1] == "> Change PIN"
        d.press("approve")
        enter_pin(d, "9999")
        assert "wrong: 9 left" in d.screen and d.screen[1] == "current PIN:"
        enter_pin(d, PIN)
        enter_pin(d, "13579")
        enter_pin(d, "13579")
        assert "PIN set" in d.screen
    finally:
        d.close()
    d = boot(tmp_path / "flash")
    try:
        enter_pin(d, PIN)
        assert "wrong: 9 left" in d.screen
        enter_pin(d, "13579")
        assert idle_npub(d) == short(npub(SIGNER_SK))
    finally:
        d.close()


def test_removing_the_pin_puts_the_key_back_in_the_clear(tmp_path):
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    try:
        set_pin(d, PIN)
        open_menu_entry(d, "PIN")
        d.press("down")
        assert d.screen[2] == "> Remove PIN"
        d.press("approve")
        enter_pin(d, PIN)
        assert "PIN removed" in d.screen
    finally:
        d.close()
    assert not os.path.exists(os.path.join(d.storage, "vault.json"))
    d = boot(tmp_path / "flash")
    try:
        assert idle_npub(d) == short(npub(SIGNER_SK))
    finally:
        d.close()


def test_every_pin_screen_fits_the_16_column_display(locked):
    enter_pin(locked, "1")  # too short
    locked.press("reject")
    enter_pin(locked, "1111")
    enter_pin(locked, PIN)
    open_menu_entry(locked, "PIN")
    locked.press("approve")
    for s in locked.screens:
        assert len(s) <= 8 and all(len(ln) <= 16 for ln in s), s
