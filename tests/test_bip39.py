"""The device's own BIP-39 (firmware/keystore/nip06.py) against embit on CPython: the
same words for the same entropy at every length, the same verdict on every mnemonic,
valid or broken by one word or one checksum bit."""
import random

import pytest
from embit import bip39

LENGTHS = (16, 20, 24, 28, 32)


@pytest.fixture(scope="module")
def rng():
    return random.Random(0xB139)


def test_new_mnemonic_gives_embits_words_at_every_length(fw, rng):
    for n in LENGTHS:
        for ent in [bytes(n), b"\xff" * n] + [rng.randbytes(n) for _ in range(12)]:
            assert fw.call("keystore.nip06", "new_mnemonic", ent) == bip39.mnemonic_from_bytes(ent), ent.hex()


def test_mnemonic_valid_agrees_with_embit_on_valid_and_broken_phrases(fw, rng):
    words = bip39.WORDLIST
    tried = bad = 0
    for n in LENGTHS:
        for _ in range(10):
            m = bip39.mnemonic_from_bytes(rng.randbytes(n)).split()
            last = list(m)
            last[-1] = words[(words.index(m[-1]) ^ 1)]  # one checksum bit flipped
            other = list(m)
            i = rng.randrange(len(m) - 1)
            other[i] = words[rng.randrange(2048)]  # a word swapped: fails 1 - 2^-cs of the time
            for p in (m, last, other, m[:-1], m + m[:3]):
                s = " ".join(p)
                want = bip39.mnemonic_is_valid(s) and len(p) <= 24
                assert fw.call("keystore.nip06", "mnemonic_valid", s) is want, s
                tried += 1
                bad += not want
    assert bad > tried // 2  # the broken ones really were broken


def test_mnemonic_valid_refuses_what_is_not_a_phrase(fw):
    for s in ("", "abandon", "abandon " * 11 + "zzz", "Abandon " * 11 + "about",
              "abandon " * 27 + "abandon"):
        assert fw.call("keystore.nip06", "mnemonic_valid", s) is False, s
    assert fw.call("keystore.nip06", "mnemonic_valid", "abandon " * 11 + "about") is True
