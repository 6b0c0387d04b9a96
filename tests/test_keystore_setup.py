"""First boot on the real unix port at 128 KB (firmware/ui/setup.py through the signer
harness): a key created on the device and shown as a NIP-06 mnemonic word by word,
checked with two words, stored, and equal to the NIP-06 derivation done on CPython
(embit); a mnemonic restored with the two buttons gives the published vectors' keys;
the host's `provision` still works from the set-up screen."""
import json
import os

import pytest

import mpy
import refclient as rc
from keystore_buttons import (answer_check, asked, create, idle_npub, nip06_sk, npub, pick,
                              restore, short, start_new)
from test_signer_harness import Device, done, of

HEAP = "128K"
VECTORS = json.load(open(os.path.join(mpy.VECTORS, "nip06-vectors.json")))["vectors"]


@pytest.fixture
def blank(tmp_path):
    d = Device(tmp_path / "flash", heap=HEAP, key=None)
    d.press("up")  # a first command: the boot screens come with its answer
    yield d
    d.close()


def stored_pub(dev):
    return dev.hello()["pubkey"]


def test_first_boot_offers_create_restore_and_import(blank):
    s = blank.screen
    assert s[:2] == ["NOSTR SIGNER", "no key yet:"]
    assert [ln[2:] for ln in s[2:7]] == ["new 12 words", "new 24 words", "restore 12", "restore 24",
                                         "import (host)"]


def test_new_key_shows_twelve_words_one_per_screen(blank):
    words = start_new(blank, 12)
    assert len(words) == 12
    from embit import bip39
    assert bip39.mnemonic_is_valid(" ".join(words))
    assert blank.screen[0] == "CHECK 1/2"


def test_wrong_check_word_is_refused_and_nothing_stored(blank):
    words = start_new(blank, 12)
    pick(blank, avoid=words[asked(blank) - 1])
    assert blank.screen[0] == "WRITE DOWN" and blank.screen[1] == "word 1/12:"
    assert "wrong: check all" in blank.screen
    assert stored_pub(blank) is None
    assert not os.path.exists(os.path.join(blank.storage, "key.json"))


def test_after_a_wrong_check_the_right_words_are_accepted(blank):
    words = start_new(blank, 12)
    pick(blank, avoid=words[asked(blank) - 1])
    for _ in range(11):
        blank.press("down")
    blank.press("approve")
    answer_check(blank, words)
    assert blank.screen[0] == "KEY STORED"
    assert stored_pub(blank) == rc.xonly(nip06_sk(" ".join(words))).hex()


def test_created_key_is_the_nip06_key_of_the_words_shown(blank):
    m = create(blank, 12)
    sk = nip06_sk(m)
    assert stored_pub(blank) == rc.xonly(sk).hex()
    blank.press("approve")  # KEY STORED -> idle
    assert idle_npub(blank) == short(npub(sk))


def test_created_key_survives_a_restart(tmp_path):
    d = Device(tmp_path / "flash", heap=HEAP, key=None)
    try:
        d.press("up")
        m = create(d, 12)
    finally:
        d.close()
    d = Device(tmp_path / "flash", heap=HEAP, key=None)
    try:
        assert d.hello()["pubkey"] == rc.xonly(nip06_sk(m)).hex()
        assert idle_npub(d) == short(npub(nip06_sk(m)))
    finally:
        d.close()


def test_a_24_word_key_is_created_and_checked(blank):
    m = create(blank, 24)
    assert len(m.split()) == 24
    assert stored_pub(blank) == rc.xonly(nip06_sk(m)).hex()


def test_deriving_shows_a_progress_bar(blank):
    create(blank, 12)
    bars = [s for s in blank.screens if len(s) > 3 and s[2].startswith("deriving... ")]
    assert [s[2] for s in bars][0] == "deriving... 0%" and bars[-1][2] == "deriving... 100%"
    assert bars[-1][3] == "[##########]"
    assert len(bars) >= 3


def test_the_mnemonic_never_leaves_the_device(blank):
    m = create(blank, 12)
    blank.press("approve")
    blank.send({"t": "status", "rid": 7})
    # everything it said to the host (the screens aside) and everything on its flash:
    # no two neighbouring words, however joined (single words like "free" or "board"
    # are also plain JSON keys)
    blob = "".join(ln for ln in blank.raw if not ln.startswith('{"screen"'))
    for root, _, names in os.walk(blank.storage):
        for name in names:
            blob += open(os.path.join(root, name), errors="replace").read()
    w = m.split()
    for i in range(len(w) - 1):
        for sep in (" ", ",", '","', "\n"):
            assert w[i] + sep + w[i + 1] not in blob


@pytest.mark.parametrize("v", range(len(VECTORS)), ids=["12 words", "24 words"])
def test_restoring_a_vector_mnemonic_gives_its_key(blank, v):
    vec = VECTORS[v]
    restore(blank, vec["mnemonic"])
    assert blank.screen[0] == "KEY STORED", blank.screen
    assert stored_pub(blank) == vec["public_key_hex"]
    blank.press("approve")
    assert idle_npub(blank) == short(vec["npub"])


def test_restore_refuses_a_bad_checksum(blank):
    restore(blank, " ".join(["abandon"] * 12))
    assert "bad checksum" in blank.screen and blank.screen[0] == "RESTORE"
    assert stored_pub(blank) is None


def test_restore_takes_a_word_that_prefixes_others(blank):
    # "act" is a word and the start of "action", "actor", ...: picked as "=act"
    from embit import bip39
    words = ["act"] * 11
    last = next(w for w in ["abandon", "ability", "able", "about", "above"] + list(bip39.WORDLIST)
                if bip39.mnemonic_is_valid(" ".join(words + [w])))
    m = " ".join(words + [last])
    restore(blank, m)
    assert stored_pub(blank) == rc.xonly(nip06_sk(m)).hex()


def test_import_from_the_host_still_asks_on_the_device(blank):
    from keystore_buttons import choose
    choose(blank, "import (host)")
    blank.press("approve")
    assert blank.screen[0] == "IMPORT KEY"
    sk = bytes(range(7, 39))
    rid = blank.next_rid()
    blank.send({"t": "provision", "rid": rid, "key": sk.hex()})
    assert blank.screen[0] == "IMPORT KEY?"
    assert done(blank.press("approve"), rid)["outcome"] == "ok"
    assert idle_npub(blank) == short(npub(sk))


def test_every_set_up_screen_fits_the_16_column_display(blank):
    words = start_new(blank, 12)
    pick(blank, avoid=words[asked(blank) - 1])
    blank.press("reject")  # back to the choice
    restore(blank, VECTORS[0]["mnemonic"])
    blank.press("approve")
    assert len(blank.screens) > 40
    for s in blank.screens:
        assert len(s) <= 8 and all(len(ln) <= 16 for ln in s), s
