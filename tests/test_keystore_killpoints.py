"""No corrupt store after a power cut at any write, on the real unix port at 128 KB:
each scenario is run once to count its writes to flash, then again for every write,
with the firmware SIGKILLed in the middle of that one (half the new bytes in the temp
file, no rename: tests/firmware/killpoint). After each cut a fresh boot must find a
key that loads (the old one or the new one), client files that parse (old or new),
and a wrong-PIN count never lower than the guesses that had begun."""
import json
import os
import shutil

import pytest

import refclient as rc
from keystore_buttons import (enter_pin, idle_npub, killable, npub, restore, set_pin, short, writes,
                              open_menu_entry)
from test_signer_harness import SIGNER_PUB, SIGNER_SK, Device, pair

HEAP = "128K"
CFG = {"pin_ms": 20}
PIN = "2468"
VEC = {"mnemonic": "leader monkey parrot ring guide accident before fence cannon height naive bean",
       "pub": "17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917"}


def boot(path):
    d = Device(path, config=CFG, heap=HEAP, key=None)
    d.press("up")
    return d


def clients(path):
    """The clients file parses (None if there is none)."""
    p = os.path.join(path, "clients.json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def template(tmp_path, pin=False):
    """A device with SIGNER_SK and one paired client (and a PIN if asked), shut down."""
    path = tmp_path / "template"
    d = Device(path, config=CFG, heap=HEAP)
    try:
        pair(d, rc.Client())
        if pin:
            set_pin(d, PIN)
    finally:
        d.close()
    return path


def each_cut(tmp_path, monkeypatch, tpl, scenario):
    """Run scenario(dev) on a copy of tpl to count its writes, then once per write with
    the plug pulled there; yield (k, written file, the state directory) after each cut."""
    count = tmp_path / "count"
    shutil.copytree(tpl, count)
    killable(monkeypatch, 0)
    d = boot(count)
    try:
        scenario(d)
    finally:
        d.close()
    ws = writes(d.stderr)
    assert ws, "the scenario wrote nothing"
    for k, name in ws:
        path = tmp_path / ("cut%d" % k)
        shutil.copytree(tpl, path)
        killable(monkeypatch, k)
        d = boot(path)
        with pytest.raises(RuntimeError, match="driver exited"):
            scenario(d)
        d.close()
        monkeypatch.setenv("KILL_AT_WRITE", "0")
        yield k, name, path


def test_a_cut_while_setting_the_pin_leaves_the_key_plain_or_sealed(tmp_path, monkeypatch):
    tpl = template(tmp_path)
    want_clients = clients(tpl)
    n = 0
    for k, name, path in each_cut(tmp_path, monkeypatch, tpl, lambda d: set_pin(d, PIN)):
        d = boot(path)
        try:
            if d.screen[1] == "locked:":
                enter_pin(d, PIN)
            assert idle_npub(d) == short(npub(SIGNER_SK)), (k, name, d.screen)
        finally:
            d.close()
        assert clients(path) == want_clients
        n += 1
    assert n >= 2


def test_a_cut_while_changing_the_pin_leaves_the_old_or_the_new_one(tmp_path, monkeypatch):
    tpl = template(tmp_path, pin=True)

    def change(d):
        enter_pin(d, PIN)  # unlock at boot
        open_menu_entry(d, "PIN")
        d.press("approve")  # Change PIN
        enter_pin(d, PIN)
        enter_pin(d, "1357")
        enter_pin(d, "1357")

    for k, name, path in each_cut(tmp_path, monkeypatch, tpl, change):
        d = boot(path)
        try:
            enter_pin(d, PIN)
            if d.screen[1] == "locked:":
                enter_pin(d, "1357")
            assert idle_npub(d) == short(npub(SIGNER_SK)), (k, name, d.screen)
        finally:
            d.close()


def test_a_cut_while_removing_the_pin_leaves_the_key_sealed_or_plain(tmp_path, monkeypatch):
    tpl = template(tmp_path, pin=True)

    def remove(d):
        enter_pin(d, PIN)
        open_menu_entry(d, "PIN")
        d.press("down")
        d.press("approve")  # Remove PIN
        enter_pin(d, PIN)
        d.press("approve")
        d.hello()  # a last command: the scenario outlives its writes

    for k, name, path in each_cut(tmp_path, monkeypatch, tpl, remove):
        d = boot(path)
        try:
            if d.screen[1] == "locked:":
                enter_pin(d, PIN)
            assert idle_npub(d) == short(npub(SIGNER_SK)), (k, name, d.screen)
        finally:
            d.close()


def test_a_cut_during_pin_checks_never_lowers_the_count(tmp_path, monkeypatch):
    tpl = template(tmp_path, pin=True)

    def guesses(d):
        enter_pin(d, "1111")
        enter_pin(d, PIN)
        d.hello()

    cuts = 0
    for k, name, path in each_cut(tmp_path, monkeypatch, tpl, guesses):
        assert name == "pin.json"  # a guess writes nothing else
        cuts += 1
        with open(os.path.join(path, "pin.json")) as f:
            # write k was the count going up for guess k (or, k == 3, back to 0 after
            # the right one): cut there, every guess that had begun is on flash
            assert json.load(f)["fails"] == k - 1, (k, name)
        d = boot(path)
        try:
            enter_pin(d, PIN)
            assert idle_npub(d) == short(npub(SIGNER_SK))
        finally:
            d.close()
    assert cuts == 3


def test_a_cut_while_adding_and_switching_identities_keeps_keys_and_clients(tmp_path, monkeypatch):
    tpl = template(tmp_path)
    want_clients = clients(tpl)

    def add_restored_then_switch_back(d):
        open_menu_entry(d, "Keys")
        d.press("down")
        d.press("approve")  # + add new
        restore(d, VEC["mnemonic"])
        d.press("approve")
        c = rc.Client()  # a client of the new key: its own clients.json
        ev = c.request(bytes.fromhex(VEC["pub"]), "connect", [VEC["pub"], "", "", json.dumps({"name": "B"})])
        d.event(ev)
        d.press("approve")
        open_menu_entry(d, "Keys")
        d.press("up")  # the cursor starts on the active key: up to the first
        d.press("approve")  # switch back
        d.hello()  # a last command: the scenario outlives its writes

    names = []
    for k, name, path in each_cut(tmp_path, monkeypatch, tpl, add_restored_then_switch_back):
        names.append(name)
        d = boot(path)
        try:
            pub = d.hello()["pubkey"]
            assert pub in (SIGNER_PUB.hex(), VEC["pub"]), (k, name)
            assert d.screen[1].startswith("npub1"), (k, name, d.screen)
        finally:
            d.close()
        assert clients(path) == want_clients
        if os.path.isdir(os.path.join(path, "id1")):
            clients(os.path.join(path, "id1"))
    assert names == ["key.json", "ids.json", "clients.json", "ids.json"]
