"""A person at the device's two buttons for the keystore flows (firmware/ui/setup.py,
ui/pin.py, ui/keys.py): reads the screen the firmware drew and presses what a person
would. Shared by tests/test_keystore_*.py. Also the NIP-06 derivation done
independently on CPython with embit, to compare the device's keys against."""
import os
import re

from embit import bip32, bip39

import refclient as rc

H = 0x80000000


def nip06_sk(mnemonic, account=0):
    seed = bip39.mnemonic_to_seed(mnemonic)
    k = bip32.HDKey.from_seed(seed).derive([44 + H, 1237 + H, account + H, 0, 0])
    return bytes(k.key.secret)


def npub(sk):
    return rc.bech32_encode("npub", rc.xonly(sk))


def idle_npub(dev):
    """The short npub the idle screen shows (npub1abcd..vwxyz)."""
    s = dev.screen
    assert s[0] == "NOSTR SIGNER" and s[1].startswith("npub1"), s
    return s[1]


def short(np):
    return np[:9] + ".." + np[-5:]


def line_with(dev, prefix):
    for ln in dev.screen:
        if ln.startswith(prefix):
            return ln
    raise AssertionError("no line %r on %r" % (prefix, dev.screen))


def choose(dev, label, tries=12):
    """Tap right until the entry starting with label has the cursor ('> ')."""
    for _ in range(tries):
        if any(ln.startswith("> " + label) or ln.startswith(">" + label) for ln in dev.screen):
            return
        dev.press("down")
    raise AssertionError("%r not offered: %r" % (label, dev.screen))


# ---- create ---------------------------------------------------------------------------

def read_words(dev):
    """On the first 'word 1/n' screen: tap through every word; -> the words, with
    the last word's screen up."""
    words = []
    while True:
        m = re.match(r"word (\d+)/(\d+):", dev.screen[1])
        assert m, dev.screen
        i, n = int(m.group(1)), int(m.group(2))
        assert i == len(words) + 1
        words.append(dev.screen[3].strip())
        if i == n:
            return words
        dev.press("down")


def asked(dev):
    """The position (1-based) the check screen asks for."""
    m = re.match(r"word #(\d+) is\?", dev.screen[1])
    assert dev.screen[0].startswith("CHECK") and m, dev.screen
    return int(m.group(1))


def candidate(dev):
    m = re.match(r"< (\w+) >", dev.screen[3])
    assert m, dev.screen
    return m.group(1)


def pick(dev, want=None, avoid=None):
    """Scroll the candidates (taps) to `want` (or to anything but `avoid`), hold right."""
    for _ in range(7):
        c = candidate(dev)
        if (want is not None and c == want) or (avoid is not None and c != avoid):
            return dev.press("approve")
        dev.press("down")
    raise AssertionError("candidate not offered: %r" % dev.screen)


def start_new(dev, n=12):
    choose(dev, "new %d words" % n)
    dev.press("approve")
    words = read_words(dev)
    dev.press("approve")  # past the last word: the check
    return words


def answer_check(dev, words):
    for _ in range(2):
        pick(dev, want=words[asked(dev) - 1])


def create(dev, n=12):
    """The whole create flow, right answers; -> the mnemonic (KEY STORED on screen)."""
    words = start_new(dev, n)
    answer_check(dev, words)
    assert dev.screen[0] == "KEY STORED", dev.screen
    return " ".join(words)


# ---- restore --------------------------------------------------------------------------

def letter(dev):
    m = re.match(r"letter: < (=?\w+) >", dev.screen[3])
    assert m, dev.screen
    return m.group(1)


def type_word(dev, word):
    """Pick `word` letter by letter on the restore screen (taps to the letter, hold right)."""
    n0 = line_with(dev, "word ")
    while True:
        p = dev.screen[2][2:-1]  # "> ab_"
        assert word.startswith(p), (word, dev.screen)
        want = "=" + p if p == word else word[len(p)]
        for _ in range(30):
            if letter(dev) == want:
                break
            dev.press("down")
        else:
            raise AssertionError("letter %r not offered: %r" % (want, dev.screen))
        dev.press("approve")
        if dev.screen[0] != "RESTORE" or line_with(dev, "word ") != n0 or "bad checksum" in dev.screen:
            return


def restore(dev, mnemonic):
    words = mnemonic.split()
    choose(dev, "restore %d" % len(words))
    dev.press("approve")
    for w in words:
        type_word(dev, w)


# ---- PIN ------------------------------------------------------------------------------

def digit(dev):
    m = re.match(r"digit: < (\w+) >", dev.screen[4])
    assert m, dev.screen
    return m.group(1)


def enter_pin(dev, pin):
    """Pick each digit with taps and hold right, then move to OK and hold right."""
    for ch in list(pin) + ["OK"]:
        for _ in range(12):
            if digit(dev) == ch:
                break
            dev.press("down")
        else:
            raise AssertionError("digit %r not offered: %r" % (ch, dev.screen))
        dev.press("approve")


# ---- the menu's entries to the flows ----------------------------------------------------

def open_menu_entry(dev, label):
    """Idle -> hold right (the menu) -> tap to `label` -> hold right."""
    dev.press("approve")
    assert dev.screen[0].startswith("MENU"), dev.screen
    for _ in range(12):
        if any(ln.startswith(">" + label) for ln in dev.screen):
            break
        dev.press("down")
    else:
        raise AssertionError("no %r in the menu: %r" % (label, dev.screen))
    dev.press("approve")


def set_pin(dev, pin):
    open_menu_entry(dev, "PIN")
    assert dev.screen[1] == "new PIN:", dev.screen
    enter_pin(dev, pin)
    assert dev.screen[1] == "new PIN again:", dev.screen
    enter_pin(dev, pin)
    assert "PIN set" in dev.screen, dev.screen
    dev.press("approve")


# ---- pulling the plug -------------------------------------------------------------------

KILLPOINT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "firmware", "killpoint")


def killable(monkeypatch, at=0):
    """The next Device counts its writes on stderr and, with at > 0, is SIGKILLed in
    the middle of its at-th write (tests/firmware/killpoint)."""
    import test_signer_harness as h
    monkeypatch.setattr(h, "EXTRA_PATH", (KILLPOINT,))
    monkeypatch.setenv("KILL_AT_WRITE", str(at))


def writes(log):
    """The writes a device made, from its stderr (Device.stderr once closed, or the
    error raised when it was killed): [(n, file name)]."""
    return [(int(ln.split()[1]), ln.split()[2]) for ln in str(log).splitlines() if ln.startswith("write ")]
