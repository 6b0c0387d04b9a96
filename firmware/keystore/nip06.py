# NIP-06: a Nostr key from a BIP-39 mnemonic, via BIP-32 path m/44'/1237'/<account>'/0/0.
#
# embit (its PyPI release, unchanged) does the wordlist and the checksum; BIP-32 is
# ours (seed_to_key: the few steps NIP-06 needs, in far less heap than embit's). The
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
# Memory: embit.bip39 and the wordlist are imported when a step needs them, and
# mnemonic_to_key drops them before the BIP-32 steps.
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


def _hmac512(key, data):
    # HMAC-SHA512 (RFC 2104); keys here are 12 or 32 bytes, under the 128-byte block
    from crypto.sha512 import sha512
    k = key + bytes(128 - len(key))
    inner = sha512(bytes([b ^ 0x36 for b in k]) + data).digest()
    return sha512(bytes([b ^ 0x5C for b in k]) + inner).digest()


def seed_to_key(seed, account=0):
    """NIP-06 secret key (32 bytes) from a BIP-39 seed: BIP-32 private derivation
    (CKDpriv) along m/44'/1237'/<account>'/0/0. Our own few lines rather than
    embit.bip32: embit builds an HDKey (and its base58 form, twice) at every step and
    its modules' dicts with them, more than the heap has left with the signer up;
    tests/firmware/fw_nip06.py checks the two agree."""
    if type(account) is not int or not 0 <= account < HARDENED:
        raise ValueError("invalid account: need 0..2^31-1")
    from crypto import secp256k1
    n = secp256k1.N
    i64 = _hmac512(b"Bitcoin seed", seed)
    k = int.from_bytes(i64[:32], "big")
    chain = i64[32:]
    if not 0 < k < n:
        raise ValueError("invalid seed: no master key")
    for i in (44 + HARDENED, 1237 + HARDENED, account + HARDENED, 0, 0):
        if i >= HARDENED:
            data = b"\x00" + k.to_bytes(32, "big")
        else:  # the compressed public key
            x, y = secp256k1.base_mul(k)
            data = bytes([2 + (y & 1)]) + x.to_bytes(32, "big")
        i64 = _hmac512(chain, data + i.to_bytes(4, "big"))
        il = int.from_bytes(i64[:32], "big")
        k = (il + k) % n
        if il >= n or not k:  # probability below 2^-127; BIP-32 says: use the next index
            raise ValueError("invalid derivation: unusable child key")
        chain = i64[32:]
    return k.to_bytes(32, "big")


def mnemonic_to_key(mnemonic, passphrase="", account=0, progress=None):
    """32-byte Nostr secret key for a mnemonic (NIP-06)."""
    if type(account) is not int or not 0 <= account < HARDENED:
        raise ValueError("invalid account: need 0..2^31-1")
    seed = mnemonic_to_seed(mnemonic, passphrase, progress)
    _drop_bip39()
    return seed_to_key(seed, account)
