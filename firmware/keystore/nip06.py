# NIP-06: a Nostr key from a BIP-39 mnemonic, via BIP-32 path m/44'/1237'/<account>'/0/0.
#
# embit (its PyPI release, unchanged) does the wordlist, the checksum and BIP-32. The
# seed (PBKDF2-HMAC-SHA512, 2048 rounds) comes from lib/hashlib's pbkdf2_hmac rather
# than embit.bip39.mnemonic_to_seed, so that a slow device can show progress: it is by
# far the slowest step (4096 SHA-512 compressions), and it gets the same
# normalisation rules as the mnemonic check below.
#
# Normalisation: BIP-39 wants NFKD on mnemonic and passphrase. MicroPython has no
# Unicode tables, so a non-ASCII passphrase is refused rather than hashed
# un-normalised, which could silently give a different key than other wallets. English
# mnemonic words are ASCII; whitespace between words is collapsed to single spaces.
#
# Memory: embit.bip39 (with the wordlist) and embit.bip32 are not both needed at once,
# and together with secp256k1 they would not fit a 128 KB heap: each is imported when a
# step needs it, and mnemonic_to_key drops bip39 and the wordlist before BIP-32.
import sys
import gc
import hashlib

_B39 = ("embit.bip39", "embit.wordlists.bip39", "keystore.wordlist")


def _bip39():
    # embit's own wordlist module is a list of 2048 str (58 KB of heap on the unix port);
    # ours holds the same words in one blob. Installed under embit's module name before
    # embit imports it, so embit runs unchanged.
    if "embit.wordlists.bip39" not in sys.modules:
        from keystore import wordlist
        sys.modules["embit.wordlists.bip39"] = wordlist
    from embit import bip39
    return bip39


def _drop_bip39():
    # a module lives on as an attribute of its package too: unlink both
    for name in _B39:
        sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        try:
            delattr(sys.modules[parent], child)
        except (KeyError, AttributeError):
            pass
    gc.collect()

HARDENED = 0x80000000
PBKDF2_ROUNDS = 2048


def mnemonic_valid(s):
    """True if s is a BIP-39 English mnemonic with a correct checksum."""
    return type(s) is str and _bip39().mnemonic_is_valid(s)


def new_mnemonic(entropy):
    """Mnemonic for 16/20/24/28/32 bytes of entropy (12..24 words). The caller supplies
    the entropy (from the device RNG)."""
    if not isinstance(entropy, (bytes, bytearray)) or len(entropy) not in (16, 20, 24, 28, 32):
        raise ValueError("invalid entropy: need 16, 20, 24, 28 or 32 bytes")
    return _bip39().mnemonic_from_bytes(bytes(entropy))


def _normalised(mnemonic):
    if type(mnemonic) is not str:
        raise ValueError("invalid mnemonic")
    words = " ".join(mnemonic.split())
    if not _bip39().mnemonic_is_valid(words):
        raise ValueError("invalid mnemonic: unknown word or bad checksum")
    return words


def _ascii(passphrase):
    if type(passphrase) is not str:
        raise ValueError("invalid passphrase")
    b = passphrase.encode()
    if len(b) != len(passphrase):
        raise ValueError("invalid passphrase: only ASCII is supported (no NFKD on the device)")
    return b


def mnemonic_to_seed(mnemonic, passphrase="", progress=None):
    """64-byte BIP-39 seed. progress(done, total) is called as PBKDF2 rounds complete."""
    pw = _normalised(mnemonic).encode()
    salt = b"mnemonic" + _ascii(passphrase)
    if progress is None:
        return hashlib.pbkdf2_hmac("sha512", pw, salt, PBKDF2_ROUNDS, 64)
    # lib/hashlib's pbkdf2_hmac takes a progress callback (CPython's does not)
    return hashlib.pbkdf2_hmac("sha512", pw, salt, PBKDF2_ROUNDS, 64, progress)


def seed_to_key(seed, account=0):
    """NIP-06 secret key (32 bytes) from a BIP-39 seed."""
    if type(account) is not int or not 0 <= account < HARDENED:
        raise ValueError("invalid account: need 0..2^31-1")
    from embit import bip32
    root = bip32.HDKey.from_seed(seed)
    k = root.derive([44 + HARDENED, 1237 + HARDENED, account + HARDENED, 0, 0])
    return bytes(k.key.secret)


def mnemonic_to_key(mnemonic, passphrase="", account=0, progress=None):
    """32-byte Nostr secret key for a mnemonic (NIP-06)."""
    if type(account) is not int or not 0 <= account < HARDENED:
        raise ValueError("invalid account: need 0..2^31-1")
    seed = mnemonic_to_seed(mnemonic, passphrase, progress)
    _drop_bip39()
    return seed_to_key(seed, account)
