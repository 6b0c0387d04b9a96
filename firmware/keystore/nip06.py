# NIP-06: a Nostr key from a BIP-39 mnemonic, via BIP-32 path m/44'/1237'/<account>'/0/0.
#
# BIP-39 is ours: a word is 11 bits of its index in the English list
# (keystore/wordlist.py, one blob), the last len/3 bits are the first bits of
# sha256(entropy). embit.bip39 did this before, at 122 more names interned for good
# (its modules, embit.misc and the lib/secp256k1 shim it pulls in) plus their heap,
# during a restore that has little of either left; tests/test_keystore_setup.py checks
# ours against embit on CPython. BIP-32 is ours too (seed_to_key: the few steps NIP-06
# needs). The seed (PBKDF2-HMAC-SHA512, 2048 rounds) comes from lib/hashlib's
# pbkdf2_hmac, so that a slow device can show progress: it is by far the slowest step
# (4096 SHA-512 compressions).
#
# Normalisation: BIP-39 wants NFKD on mnemonic and passphrase. MicroPython has no
# Unicode tables, so a non-ASCII passphrase is refused rather than hashed
# un-normalised, which could silently give a different key than other wallets. English
# mnemonic words are ASCII; whitespace between words is collapsed to single spaces.
#
# Memory: the wordlist is imported when a step needs it, and mnemonic_to_key drops it
# before the BIP-32 steps.
import sys
import gc
import hashlib


def _words():
    from keystore.wordlist import WORDLIST
    return WORDLIST


def _drop_words():
    # a module lives on as an attribute of its package too: unlink both
    sys.modules.pop("keystore.wordlist", None)
    try:
        delattr(sys.modules["keystore"], "wordlist")
    except (KeyError, AttributeError):
        pass
    gc.collect()


def _entropy(words):
    """The entropy a list of words encodes, or None if a word is not in the list, the
    count is not 12/15/18/21/24 or the checksum is wrong."""
    n = len(words)
    if n not in (12, 15, 18, 21, 24):
        return None
    wl = _words()
    acc = 0
    for w in words:
        try:
            acc = acc << 11 | wl.index(w)
        except ValueError:
            return None
    cs = n // 3
    ent = (acc >> cs).to_bytes(cs * 4, "big")
    if hashlib.sha256(ent).digest()[0] >> (8 - cs) != acc & ((1 << cs) - 1):
        return None
    return ent

HARDENED = 0x80000000
PBKDF2_ROUNDS = 2048


def mnemonic_valid(s):
    """True if s is a BIP-39 English mnemonic with a correct checksum."""
    return type(s) is str and _entropy(s.split()) is not None


def new_mnemonic(entropy):
    """Mnemonic for 16/20/24/28/32 bytes of entropy (12..24 words). The caller supplies
    the entropy (from the device RNG)."""
    if not isinstance(entropy, (bytes, bytearray)) or len(entropy) not in (16, 20, 24, 28, 32):
        raise ValueError("invalid entropy: need 16, 20, 24, 28 or 32 bytes")
    cs = len(entropy) // 4
    acc = int.from_bytes(entropy, "big") << cs | hashlib.sha256(bytes(entropy)).digest()[0] >> (8 - cs)
    wl = _words()
    n = cs * 3
    return " ".join(wl[acc >> 11 * (n - 1 - i) & 2047] for i in range(n))


def _normalised(mnemonic):
    if type(mnemonic) is not str:
        raise ValueError("invalid mnemonic")
    words = mnemonic.split()
    if _entropy(words) is None:
        raise ValueError("invalid mnemonic: unknown word or bad checksum")
    return " ".join(words)


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
    _drop_words()
    return seed_to_key(seed, account)
