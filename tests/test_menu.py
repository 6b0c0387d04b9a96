"""The device menu (firmware/ui/menu.py) on the real unix port at 128 KB, driven by
button presses through the signer harness: clients and their rules, revoking, the
auto-reject setting, and that the menu's code is gone again once it closes."""
import json
import os
import time

import pytest
from nostr_sdk import PublicKey

from test_signer_harness import Device, answer, call, client, done, of, pair  # noqa: F401

HEAP = "128K"


def note(text="hello", kind=1):
    return json.dumps({"kind": kind, "content": text, "tags": [], "created_at": int(time.time())})


@pytest.fixture
def dev(tmp_path):
    d = Device(tmp_path / "flash", heap=HEAP)
    yield d
    d.close()


def cursor(dev):
    """The selected line of the screen, without its '>' mark."""
    sel = [ln for ln in dev.screen if ln.startswith(">")]
    assert len(sel) == 1, dev.screen
    return sel[0][1:]


def choose(dev, label):
    """Tap down until `label` is selected (at most a screenful of entries and back)."""
    for _ in range(40):
        if cursor(dev).startswith(label):
            return
        dev.press("down")
    raise AssertionError("%r not in the menu: %r" % (label, dev.screen))


def open_menu(dev, *path):
    """Hold right on the idle screen, then select each label of path in turn."""
    if not dev.screens:
        dev.hello()  # the boot screen is read with the first command's output
    assert dev.screen[0] == "NOSTR SIGNER", dev.screen
    dev.press("approve")
    for label in path:
        choose(dev, label)
        dev.press("approve")


def leave(dev):
    for _ in range(6):
        if dev.screen and dev.screen[0] == "NOSTR SIGNER":
            return
        dev.press("reject")
    raise AssertionError("the menu did not close: %r" % dev.screen)


def saved_clients(dev):
    with open(os.path.join(dev.storage, "clients.json")) as f:
        return json.load(f)


def test_hold_right_on_idle_opens_the_menu(dev):
    dev.hello()
    dev.press("approve")
    assert dev.screen[0].startswith("MENU")
    assert cursor(dev) == "Clients"
    seen = []
    for _ in range(8):
        seen.append(cursor(dev))
        dev.press("down")
    assert seen == ["Clients", "Auto-reject", "Audit log", "Pair (QR)", "Relays", "Keys", "PIN", "Exit"]


def test_keys_entry_opens_the_keys_flow(dev):
    dev.hello()
    open_menu(dev, "Keys")
    assert dev.screen[0] == "KEYS 1"


def test_pin_entry_opens_setting_a_pin(dev):
    dev.hello()
    open_menu(dev, "PIN")
    assert dev.screen[0] == "PIN" and any(ln.startswith("PIN: ") for ln in dev.screen)


def test_taps_move_the_cursor_and_wrap(dev):
    dev.hello()
    dev.press("approve")
    dev.press("down")
    assert cursor(dev) == "Auto-reject"
    dev.press("up")
    dev.press("up")
    assert cursor(dev) == "Exit"


def test_exit_entry_and_hold_left_both_return_to_idle(dev):
    dev.hello()
    open_menu(dev, "Exit")
    assert dev.screen[0] == "NOSTR SIGNER"
    dev.press("approve")
    dev.press("reject")
    assert dev.screen[0] == "NOSTR SIGNER"


def test_closed_menu_leaves_no_code_behind(dev):
    dev.hello()
    before = dev.mem()["alloc"]
    open_menu(dev, "Clients")
    leave(dev)
    after = dev.mem()["alloc"]
    # the menu, ui.screens and what they import are dropped (a few interned names stay)
    assert after - before < 1024, (before, after)


def test_clients_lists_a_paired_client_by_name(dev, client):
    pair(dev, client, name="Coracle")
    open_menu(dev, "Clients")
    assert dev.screen[0] == "CLIENTS 1"
    assert cursor(dev) == "Coracle"


def test_client_view_shows_unverified_name_npub_last_use_and_rules(dev, client):
    pair(dev, client, perms="sign_event:1,nip44_encrypt", name="Coracle")
    dev.sleep(125 * 1000)  # the device clock runs on from the host time of the connect
    open_menu(dev, "Clients", "Coracle")
    s = dev.screen
    assert s[0].startswith("CLIENT")
    assert "Coracle" in s and "(unverified)" in s
    npub = PublicKey.parse(client.pubhex).to_bech32()
    assert npub[:9] + ".." + npub[-5:] in s
    assert "used 2m ago" in s
    assert cursor(dev) == "x sign 1 note"
    dev.press("down")
    assert cursor(dev) == "x nip44_encrypt"
    dev.press("down")
    assert cursor(dev) == "Revoke client"


def test_long_press_rule_shows_in_menu_and_revoking_it_prompts_again(dev, client):
    pair(dev, client)
    rid, ev, msgs = call(dev, client, "sign_event", [note()])
    assert not of(msgs, "publish")
    assert of(dev.press("long-approve"), "publish", rid)  # approved, "always" for kind 1
    rid, ev, msgs = call(dev, client, "sign_event", [note("again")])
    assert of(msgs, "publish", rid), "the new rule should answer without a prompt"
    open_menu(dev, "Clients", "Test Client")
    assert cursor(dev) == "x sign 1 note"
    dev.press("approve")  # remove it
    assert not any("sign 1 note" in ln for ln in dev.screen)
    assert saved_clients(dev)[client.pubhex]["rules"] == []
    leave(dev)
    rid, ev, msgs = call(dev, client, "sign_event", [note("third")])
    assert not of(msgs, "publish"), "without the rule the request must wait for a press"
    assert dev.screen[0].startswith("APPROVE?")


def test_revoking_a_client_asks_first(dev, client):
    pair(dev, client)
    open_menu(dev, "Clients", "Test Client", "Revoke client")
    assert dev.screen[0] == "REVOKE?"
    dev.press("reject")  # no
    assert dev.screen[0].startswith("CLIENT") and cursor(dev) == "Revoke client"
    assert client.pubhex in saved_clients(dev)


def test_revoked_client_is_unauthorized(dev, client):
    pair(dev, client, perms="sign_event:1")
    open_menu(dev, "Clients", "Test Client", "Revoke client", "Yes, revoke")
    assert dev.screen[0] == "CLIENTS" and "no clients" in dev.screen
    assert saved_clients(dev) == {}
    leave(dev)
    assert "clients: 0" in dev.screen
    rid, ev, msgs = call(dev, client, "sign_event", [note()])
    resp, _ = answer(client, msgs, rid, ev)
    assert resp["error"] == "unauthorized"


def test_revocation_survives_a_restart(tmp_path, client):
    d = Device(tmp_path / "flash", heap=HEAP)
    try:
        pair(d, client)
        open_menu(d, "Clients", "Test Client", "Revoke client", "Yes, revoke")
    finally:
        d.close()
    d = Device(tmp_path / "flash", heap=HEAP, key=None)
    try:
        rid, ev, msgs = call(d, client, "get_public_key", [])
        assert answer(client, msgs, rid, ev)[0]["error"] == "unauthorized"
    finally:
        d.close()


# ---- auto-reject ---------------------------------------------------------------------

def test_auto_reject_lists_common_kinds_unset(dev):
    dev.hello()
    open_menu(dev, "Auto-reject")
    assert dev.screen[0].startswith("AUTO-REJECT")
    assert cursor(dev) == "[ ] 0 profile"
    dev.press("down")
    assert cursor(dev) == "[ ] 1 note"


def test_auto_rejected_kind_is_answered_rejected_without_a_prompt(dev, client):
    pair(dev, client)
    open_menu(dev, "Auto-reject", "[ ] 5 delete")
    assert cursor(dev) == "[x] 5 delete"
    leave(dev)
    rid, ev, msgs = call(dev, client, "sign_event", [note(kind=5)])
    resp, _ = answer(client, msgs, rid, ev)
    assert resp["error"] == "rejected"
    assert done(msgs, rid)["outcome"] == "auto-rejected"
    assert dev.screen[0] == "NOSTR SIGNER"  # no prompt came up


def test_auto_reject_wins_over_a_rule(dev, client):
    pair(dev, client, perms="sign_event")  # any kind
    open_menu(dev, "Auto-reject", "[ ] 0 profile")
    leave(dev)
    rid, ev, msgs = call(dev, client, "sign_event", [note(kind=0)])
    assert answer(client, msgs, rid, ev)[0]["error"] == "rejected"


def test_auto_reject_leaves_other_kinds_alone(dev, client):
    pair(dev, client)
    open_menu(dev, "Auto-reject", "[ ] 5 delete")
    leave(dev)
    rid, ev, msgs = call(dev, client, "sign_event", [note(kind=1)])
    assert not of(msgs, "publish") and dev.screen[0].startswith("APPROVE?")


def test_auto_reject_turned_off_prompts_again(dev, client):
    pair(dev, client)
    open_menu(dev, "Auto-reject", "[ ] 7 reaction")
    dev.press("approve")  # and off again
    assert cursor(dev) == "[ ] 7 reaction"
    leave(dev)
    rid, ev, msgs = call(dev, client, "sign_event", [note(kind=7)])
    assert not of(msgs, "publish")


def test_auto_reject_is_kept_on_flash(tmp_path, client):
    d = Device(tmp_path / "flash", heap=HEAP)
    try:
        d.hello()
        open_menu(d, "Auto-reject", "[ ] 3 contacts")
    finally:
        d.close()
    with open(os.path.join(d.storage, "signer.json")) as f:
        assert json.load(f)["reject"] == [3]
    d = Device(tmp_path / "flash", heap=HEAP, key=None)
    try:
        pair(d, client)
        rid, ev, msgs = call(d, client, "sign_event", [note(kind=3)])
        assert answer(client, msgs, rid, ev)[0]["error"] == "rejected"
    finally:
        d.close()


def test_auto_reject_offers_a_kind_recently_asked_for(dev, client):
    pair(dev, client)
    rid, ev, msgs = call(dev, client, "sign_event", [note(kind=31337)])
    dev.press("reject")
    open_menu(dev, "Auto-reject", "[ ] 31337")
    assert cursor(dev).startswith("[x] 31337")


def test_a_prompt_takes_the_screen_from_the_menu_and_gives_it_back(dev, client):
    pair(dev, client)
    open_menu(dev, "Clients")
    rid, ev, msgs = call(dev, client, "sign_event", [note()])
    assert dev.screen[0].startswith("APPROVE?")
    assert of(dev.press("approve"), "publish", rid)
    assert dev.screen[0] == "CLIENTS 1"
