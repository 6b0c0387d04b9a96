# NIP-06: a Nostr key from a BIP-39 mnemonic, via BIP-32 path m/44'/1237'/<account>'/0/0.
#
# embit (its PyPI release, unchanged) does the wordlist, the checksum and BIP-32. The
# seed (PBKDF2-HMAC-SHA512, 2048 rounds) is computed here rather than with
# embit.bip39.mnemonic_to_seed so that a slow device can report progress: it is by far
# the slowest step (4096 SHA-512 compressions in pure Python).
#
# Normalisation: BIP-39 wants NFKD on mnemonic and passphrase. MicroPython has no
# Unicode tables, so a non-ASCII passphrase is refused rather than hashed
# un-normalised, which could silently give a different key than other wallets. English
# mnemonic words are ASCII; whitespace between words is collapsed to single spaces.
import hashlib
from embit import bip32, bip39

HARDENED = 0x80000000
PBKDF2_ROUNDS = 2048
_PROGRESS_EVERY = 64  # rounds between progress calls (32 calls per seed)


def mnemonic_valid(s):
    """True if s is a BIP-39 English mnemonic with a correct checksum."""
    return type(s) is str and bip39.mnemonic_is_valid(s)


def new_mnemonic(entropy):
    """Mnemonic for 16/20/24/28/32 bytes of entropy (12..24 words). The caller supplies
    the entropy (from the device RNG)."""
    if not isinstance(entropy, (bytes, bytearray)) or len(entropy) not in (16, 20, 24, 28, 32):
        raise ValueError("invalid entropy: need 16, 20, 24, 28 or 32 bytes")
    return bip39.mnemonic_from_bytes(bytes(entropy))


def _normalised(mnemonic):
    if type(mnemonic) is not str:
        raise ValueError("invalid mnemonic")
    words = " ".join(mnemonic.split())
    if not bip39.mnemonic_is_valid(words):
        raise ValueError("invalid mnemonic: unknown word or bad checksum")
    return words


def _ascii(passphrase):
    if type(passphrase) is not str:
        raise ValueError("invalid passphrase")
    b = passphrase.encode()
    if len(b) != len(passphrase):
        raise ValueError("invalid passphrase: only ASCII is supported (no NFKD on the device)")
    return b


def _pads(key):
    # HMAC-SHA512 with a fixed key: absorb the padded key once, then copy the states
    if len(key) > 128:
        key = hashlib.sha512(key).digest()
    key = key + bytes(128 - len(key))
    return (hashlib.sha512(bytes(b ^ 0x36 for b in key)),
            hashlib.sha512(bytes(b ^ 0x5C for b in key)))


def _hmac(pads, msg):
    inner = pads[0].copy()
    inner.update(msg)
    outer = pads[1].copy()
    outer.update(inner.digest())
    return outer.digest()


def mnemonic_to_seed(mnemonic, passphrase="", progress=None):
    """64-byte BIP-39 seed. progress(done, total) is called as rounds complete."""
    pw = _normalised(mnemonic).encode()
    salt = b"mnemonic" + _ascii(passphrase)
    pads = _pads(pw)
    if not hasattr(pads[0], "copy"):
        # a sha512 without copy(): let the library do it, without progress
        return hashlib.pbkdf2_hmac("sha512", pw, salt, PBKDF2_ROUNDS, 64)
    # PBKDF2 with dkLen = hLen = 64: a single block, T = U1 ^ U2 ^ ... ^ U2048
    u = _hmac(pads, salt + b"\x00\x00\x00\x01")
    acc = int.from_bytes(u, "big")
    for i in range(2, PBKDF2_ROUNDS + 1):
        u = _hmac(pads, u)
        acc ^= int.from_bytes(u, "big")
        if progress is not None and i % _PROGRESS_EVERY == 0:
            progress(i, PBKDF2_ROUNDS)
    return acc.to_bytes(64, "big")


def seed_to_key(seed, account=0):
    """NIP-06 secret key (32 bytes) from a BIP-39 seed."""
    if type(account) is not int or not 0 <= account < HARDENED:
        raise ValueError("invalid account: need 0..2^31-1")
    root = bip32.HDKey.from_seed(seed)
    k = root.derive([44 + HARDENED, 1237 + HARDENED, account + HARDENED, 0, 0])
    return bytes(k.key.secret)


def mnemonic_to_key(mnemonic, passphrase="", account=0, progress=None):
    """32-byte Nostr secret key for a mnemonic (NIP-06)."""
    if type(account) is not int or not 0 <= account < HARDENED:
        raise ValueError("invalid account: need 0..2^31-1")
    return seed_to_key(mnemonic_to_seed(mnemonic, passphrase, progress), account)
