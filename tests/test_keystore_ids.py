"""Several identities on one device, on the real unix port at 128 KB (firmware/ui/keys.py,
keystore/ids.py through the signer harness): a key added from the keys list becomes
the active one, requests follow the active key's p tag, each identity keeps its own
clients, the host gets a new hello when the key changes, and the PIN covers them all."""
import json
import os

import pytest

import refclient as rc
from keystore_buttons import (create, enter_pin, idle_npub, nip06_sk, npub, open_menu_entry, set_pin,
                              short)
from test_signer_harness import SIGNER_PUB, SIGNER_SK, Device, done, of, pair

HEAP = "128K"
CFG = {"pin_ms": 20}


@pytest.fixture
def dev(tmp_path):
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    d.hello()
    yield d
    d.close()


def add_key(dev):
    """Keys > + add new > new: 12 words, checked; -> the new key (KEY STORED dismissed)."""
    open_menu_entry(dev, "Keys")
    assert dev.screen[0] == "KEYS 1"
    while not dev.screen[2].startswith(">+ add new"):
        dev.press("down")
    dev.press("approve")
    assert dev.screen[0] == "ADD A KEY"
    sk = nip06_sk(create(dev, 12))
    dev.press("approve")
    return sk


def switch_to(dev, sk):
    open_menu_entry(dev, "Keys")
    want = short(npub(sk))[:8]
    for _ in range(10):
        sel = [ln for ln in dev.screen if ln.startswith(">")]
        if sel and sel[0][2:10] == want:
            break
        dev.press("down")
    else:
        raise AssertionError("%s not listed: %r" % (want, dev.screen))
    dev.press("approve")


def request(dev, client, pub, method, params):
    ev = client.request(pub, method, params)
    rid, msgs = dev.event(ev)
    return rid, msgs


def result(client, msgs, rid, pub):
    pubs = of(msgs, "publish", rid)
    assert len(pubs) == 1, msgs
    return client.open(pubs[0]["event"], pub)[0]


def pair_with(dev, client, pub):
    rid, msgs = request(dev, client, pub, "connect", [pub.hex(), "", "", json.dumps({"name": "B"})])
    assert not of(msgs, "publish")
    msgs = dev.press("approve")
    assert result(client, msgs, rid, pub)["result"] == "ack"


def test_added_key_becomes_the_active_one(dev):
    sk = add_key(dev)
    assert idle_npub(dev) == short(npub(sk))
    assert dev.hello()["pubkey"] == rc.xonly(sk).hex()


def test_the_host_gets_a_hello_with_the_new_key(dev):
    sk = add_key(dev)
    hellos = of(dev.out, "hello")
    assert hellos and hellos[-1]["pubkey"] == rc.xonly(sk).hex()


def test_keys_list_shows_both_and_marks_the_active(dev):
    sk = add_key(dev)
    open_menu_entry(dev, "Keys")
    s = dev.screen
    assert s[0] == "KEYS 2"
    assert s[1][2:] == npub(SIGNER_SK)[:8] + ".." + npub(SIGNER_SK)[-4:] and s[1][1] == " "
    assert s[2][1] == "*" and s[2][2:10] == npub(sk)[:8]


def test_requests_follow_the_active_key(dev):
    sk = add_key(dev)
    c = rc.Client()
    rid, msgs = request(dev, c, SIGNER_PUB, "ping", [])
    assert done(msgs, rid)["outcome"].startswith("dropped")  # p-tagged to the other key
    rid, msgs = request(dev, c, rc.xonly(sk), "ping", [])
    assert result(c, msgs, rid, rc.xonly(sk))["result"] == "pong"


def test_switching_back_answers_for_the_first_key_again(dev):
    add_key(dev)
    switch_to(dev, SIGNER_SK)
    assert idle_npub(dev) == short(npub(SIGNER_SK))
    c = rc.Client()
    rid, msgs = request(dev, c, SIGNER_PUB, "ping", [])
    assert result(c, msgs, rid, SIGNER_PUB)["result"] == "pong"
    assert of(dev.out, "hello")[-1]["pubkey"] == SIGNER_PUB.hex()


def test_each_identity_keeps_its_own_clients(dev):
    a = rc.Client()
    pair(dev, a)  # a client of the first key
    sk = add_key(dev)
    new = rc.xonly(sk)
    rid, msgs = request(dev, a, new, "get_public_key", [])
    assert result(a, msgs, rid, new)["error"] == "unauthorized"  # not a client of this key
    b = rc.Client()
    pair_with(dev, b, new)
    switch_to(dev, SIGNER_SK)
    rid, msgs = request(dev, a, SIGNER_PUB, "get_public_key", [])
    assert result(a, msgs, rid, SIGNER_PUB)["result"] == SIGNER_PUB.hex()
    rid, msgs = request(dev, b, SIGNER_PUB, "get_public_key", [])
    assert result(b, msgs, rid, SIGNER_PUB)["error"] == "unauthorized"
    st = of(dev.send({"t": "status", "rid": 901}), "status", 901)[0]
    assert [c["pubkey"] for c in st["clients"]] == [a.pubhex]


def test_active_identity_survives_a_restart(tmp_path):
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    try:
        d.hello()
        sk = add_key(d)
    finally:
        d.close()
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP, key=None)
    try:
        assert d.hello()["pubkey"] == rc.xonly(sk).hex()
    finally:
        d.close()


def test_one_pin_covers_every_identity(tmp_path):
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    try:
        d.hello()
        sk = add_key(d)
        set_pin(d, "1357")
    finally:
        d.close()
    assert not os.path.exists(os.path.join(d.storage, "key.json"))
    assert not os.path.exists(os.path.join(d.storage, "id1", "key.json"))
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP, key=None)
    try:
        d.press("up")
        assert d.hello()["pubkey"] == rc.xonly(sk).hex() and d.screen[1] == "locked:"
        enter_pin(d, "1357")
        assert idle_npub(d) == short(npub(sk))
        switch_to(d, SIGNER_SK)  # no second PIN
        assert idle_npub(d) == short(npub(SIGNER_SK))
    finally:
        d.close()


def test_a_key_added_under_a_pin_is_sealed_too(tmp_path):
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP)
    try:
        d.hello()
        set_pin(d, "1357")
        sk = add_key(d)
    finally:
        d.close()
    assert not os.path.exists(os.path.join(d.storage, "id1", "key.json"))
    assert sk.hex() not in open(os.path.join(d.storage, "vault.json")).read()
    d = Device(tmp_path / "flash", config=CFG, heap=HEAP, key=None)
    try:
        d.press("up")
        enter_pin(d, "1357")
        assert idle_npub(d) == short(npub(sk))
    finally:
        d.close()


def test_every_keys_screen_fits_the_16_column_display(dev):
    add_key(dev)
    open_menu_entry(dev, "Keys")
    dev.press("up")
    for s in dev.screens:
        assert len(s) <= 8 and all(len(ln) <= 16 for ln in s), s
