# heap: 256K
# keystore.nip06 on MicroPython at 128 KB: NIP-06 vectors, all 24 BIP-39 English vectors
# (passphrase "TREZOR": entropy -> mnemonic, mnemonic -> seed, seed -> xprv via embit),
# input checks and progress reporting. About 3 s in all (one seed ~0.1 s).
# embit (its bip32, for the xprv references) runs unchanged beside our BIP-39.
# Heap: NIP-06 itself needs about 110 KB resident (secp256k1, embit's bip32 and our
# wordlist), so it runs at 128 KB (`make bench` measures its smallest heap: nip06_key);
# the parsed JSON vectors, this file's code and reloading the wordlist between tests
# (fragmentation) need the larger heap here.
import json
import os
from binascii import hexlify, unhexlify
from keystore import nip06  # first: see keystore/nip06.py on import order
from embit import bip32
from crypto import nip19, secp256k1


def _load(name):
    with open(os.getenv("VECTORS") + "/" + name) as f:
        return json.load(f)


def _h(b):
    return hexlify(b).decode()


def test_nip06_vectors():
    vs = _load("nip06-vectors.json")["vectors"]
    assert len(vs) == 2
    for v in vs:
        assert v["path"] == "m/44'/1237'/0'/0/0"
        sk = nip06.mnemonic_to_key(v["mnemonic"], v["passphrase"])
        assert _h(sk) == v["private_key_hex"], v["mnemonic"]
        pub = secp256k1.pubkey(sk)
        assert _h(pub) == v["public_key_hex"]
        assert nip19.nsec(sk) == v["nsec"]
        assert nip19.npub(pub) == v["npub"]


def test_bip39_entropy_to_mnemonic_all():
    d = _load("bip39-english-vectors.json")
    assert len(d["english"]) == 24
    for entropy, mnemonic, _, _ in d["english"]:
        assert nip06.new_mnemonic(unhexlify(entropy)) == mnemonic, entropy
        assert nip06.mnemonic_valid(mnemonic)


def test_bip39_seed_and_xprv_all():
    d = _load("bip39-english-vectors.json")
    assert d["passphrase"] == "TREZOR"
    for entropy, mnemonic, seed, xprv in d["english"]:
        s = nip06.mnemonic_to_seed(mnemonic, "TREZOR")
        assert _h(s) == seed, mnemonic
        assert bip32.HDKey.from_seed(s).to_base58() == xprv, mnemonic


def test_progress_and_accounts():
    m = "leader monkey parrot ring guide accident before fence cannon height naive bean"
    calls = []
    seed = nip06.mnemonic_to_seed(m, "TREZOR", lambda done, total: calls.append((done, total)))
    assert calls[-1] == (2048, 2048) and len(calls) >= 4, calls
    assert all(a[0] < b[0] for a, b in zip(calls, calls[1:]))
    # references from embit on CPython
    assert _h(nip06.seed_to_key(seed)) == "3e8ef6dcb3fd0d9fe65ae48accd01a3058677b033de5310c4d8b6c28377aada8"
    seed = nip06.mnemonic_to_seed("  " + m.replace(" ", "\n  ") + " ")  # spacing does not matter
    assert _h(nip06.seed_to_key(seed)) == "7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a"
    assert _h(nip06.seed_to_key(seed, 1)) == "3790c23940f62b23754115ef70f16e63cca8e9015a532b8a891171ccdadcf910"


def _raises(fn, *args):
    try:
        fn(*args)
    except ValueError as e:
        assert str(e).startswith("invalid"), e
        return
    raise AssertionError(args)


def test_invalid_inputs():
    good = "leader monkey parrot ring guide accident before fence cannon height naive bean"
    bad = [
        "leader monkey parrot ring guide accident before fence cannon height naive beans",  # word
        "leader monkey parrot ring guide accident before fence cannon height naive leader",  # checksum
        "leader monkey parrot ring guide accident before fence cannon height naive",  # 11 words
        "Leader monkey parrot ring guide accident before fence cannon height naive bean",  # case
        "", None, b"leader",
    ]
    assert nip06.mnemonic_valid(good)
    for m in bad:
        assert not nip06.mnemonic_valid(m), m
        _raises(nip06.mnemonic_to_key, m)
    _raises(nip06.mnemonic_to_seed, good, "pässphrase")  # no NFKD on the device
    _raises(nip06.mnemonic_to_seed, good, None)
    for acct in (-1, 2 ** 31, True, "0"):
        _raises(nip06.mnemonic_to_key, good, "", acct)
    for e in (b"", bytes(15), bytes(17), bytes(33), "00" * 16, None):
        _raises(nip06.new_mnemonic, e)
    assert nip06.new_mnemonic(bytes(16)).split()[-1] == "about"
    assert len(nip06.new_mnemonic(b"\xff" * 32).split()) == 24


def test_compact_wordlist_is_the_bip39_english_list():
    from keystore.wordlist import WORDLIST
    with open(os.getenv("VECTORS") + "/bip39-english-wordlist.txt") as f:
        i = 0
        for line in f:
            w = line.strip()
            assert WORDLIST[i] == w, (i, w)
            assert WORDLIST.index(w) == i
            i += 1
    assert i == len(WORDLIST) == 2048
    assert "zoo" in WORDLIST and "zzz" not in WORDLIST and "" not in WORDLIST


def test_own_bip32_derivation_matches_embit():
    # nip06.seed_to_key is our own CKDpriv: it must give embit.bip32's key for every
    # BIP-39 vector seed and a few accounts
    d = _load("bip39-english-vectors.json")
    H = nip06.HARDENED
    for entropy, mnemonic, seed, xprv in d["english"][:8]:
        s = unhexlify(seed)
        for account in (0, 5):
            want = bip32.HDKey.from_seed(s).derive([44 + H, 1237 + H, account + H, 0, 0]).key.secret
            assert nip06.seed_to_key(s, account) == bytes(want), (mnemonic, account)
