# The secret keys at rest under a PIN (DESIGN.md, "Secrets at rest").
#
# One record, "vault.json" (v2) in the device's storage root, holds the key of every
# identity (keystore/ids.py): {"v": 2, "kdf": "pbkdf2-sha512", "iter": N, "salt": hex16,
# "nonce": hex12, "ct": hex(32 bytes per key), "mac": hex32, "ids": [n, ...],
# "pubs": [hex64, ...]}. PBKDF2-HMAC-SHA512(PIN, salt, N) gives 64 bytes: a ChaCha20
# key and an HMAC-SHA256 key. The keys are encrypted with ChaCha20 and the record
# authenticated (encrypt-then-MAC over everything that matters), so a wrong PIN is told
# by the MAC, never by decrypting garbage. The public keys ("pubs") are in the clear
# so that a locked device can still say which key it holds (the bridge subscribes for
# it and gets "locked" answers) and list its identities.
#
# All keys in one file: setting, changing or removing the PIN, or adding an identity
# under it, is one atomic write (keystore/store.py) - a power cut can never leave
# identities under two different PINs. The app keeps the unlocked "session" (N, salt,
# and the two derived keys) while unlocked, so switching or adding an identity needs
# no second derivation; it gives nothing the unlocked key itself doesn't.
#
# Wrong PINs are counted in "pin.json" and the count is written to flash BEFORE the
# PIN is checked: pulling the plug in the middle of a check cannot win a free guess.
# After MAX_FAILS wrong PINs in a row the vault is wiped (overwritten, then removed).
#
# N is calibrated to the board (calibrate()): each guess should cost about a second
# there. A MicroPython board has no secure element: someone who reads the flash can
# still try PINs offline at their own speed; the iteration count only slows that down,
# and a long PIN is the real defence (README, "what the device can't protect against").
import os
from binascii import hexlify, unhexlify

from crypto import kdf
from crypto.chacha20 import chacha20_xor
from keystore import store

VAULT = "vault.json"
COUNTER = "pin.json"
MAX_FAILS = 10
MIN_ITER = 2048
_MAGIC = b"nostr-signer vault v2"


class WrongPin(Exception):
    """The PIN did not open the vault; .left tries remain before the wipe."""

    def __init__(self, left):
        super().__init__("wrong PIN: %d tries left" % left)
        self.left = left


class Wiped(Exception):
    """Too many wrong PINs: the vault has been erased."""


def _keys(pin, salt, iterations, progress=None):
    import hashlib  # lib/hashlib: PBKDF2-HMAC-SHA512, two compressions per iteration
    if not isinstance(pin, str) or not pin:
        raise ValueError("invalid PIN")
    dk = hashlib.pbkdf2_hmac("sha512", pin.encode(), salt, iterations, 64, progress)
    return dk[:32], dk[32:]


def _mac(mac_key, iterations, salt, nonce, ct, ids):
    # which identity each key belongs to is covered too: swapping them is tampering
    tag = ",".join([str(n) for n in ids]).encode()
    return kdf.hmac_sha256(mac_key, _MAGIC, iterations.to_bytes(4, "big") + salt + nonce, ct, tag)


def exists(root):
    # a record that doesn't parse is no vault: what a cut in the middle of wipe()'s
    # overwrite leaves (the keys are gone, or already back in key.json: remove_pin)
    return _record(root) is not None


def fails(root):
    if store.read(root, COUNTER) is None:
        return 0
    rec = store.read_json(root, COUNTER)
    n = rec.get("fails") if type(rec) is dict else None
    # an unreadable counter counts as the worst case, never as zero
    return n if type(n) is int and n >= 0 else MAX_FAILS - 1


def tries_left(root):
    return max(0, MAX_FAILS - fails(root))


def _set_fails(root, n):
    store.write_json(root, COUNTER, {"fails": n})


def reset_count(root):
    _set_fails(root, 0)


def session(pin, iterations, rng, progress=None):
    """A fresh salt and what `pin` derives with it: (N, salt, enc_key, mac_key)."""
    if type(iterations) is not int or iterations < MIN_ITER:
        raise ValueError("invalid iteration count")
    salt = rng(16)
    enc_key, mac_key = _keys(pin, salt, iterations, progress)
    return (iterations, salt, enc_key, mac_key)


def seal(root, entries, sess, rng):
    """Write the vault: entries = [(identity number, 32-byte key, pub hex or None)]."""
    iterations, salt, enc_key, mac_key = sess
    ids = []
    pubs = []
    pt = bytearray()
    for n, sk, pub in entries:
        if len(sk) != 32:
            raise ValueError("invalid key: need 32 bytes")
        ids.append(n)
        pubs.append(pub or "")
        pt.extend(sk)
    nonce = rng(12)
    ct = bytes(chacha20_xor(enc_key, nonce, bytes(pt)))
    pt[:] = bytes(len(pt))
    store.write_json(root, VAULT, {
        "v": 2, "kdf": "pbkdf2-sha512", "iter": iterations, "salt": hexlify(salt).decode(),
        "nonce": hexlify(nonce).decode(), "ct": hexlify(ct).decode(),
        "mac": hexlify(_mac(mac_key, iterations, salt, nonce, ct, ids)).decode(),
        "ids": ids, "pubs": pubs})


def protect(root, sk, pin, iterations, rng, progress=None):
    """Store sk (identity 0) under pin, replacing any vault; reset the wrong-PIN count."""
    seal(root, [(0, sk, None)], session(pin, iterations, rng, progress), rng)
    _set_fails(root, 0)


def _record(root):
    rec = store.read_json(root, VAULT)
    try:
        if rec["v"] != 2 or rec["kdf"] != "pbkdf2-sha512":
            raise ValueError
        ids = rec.get("ids", [0])
        for n in ids:
            if type(n) is not int:
                raise ValueError
        return (rec["iter"], unhexlify(rec["salt"]), unhexlify(rec["nonce"]),
                unhexlify(rec["ct"]), unhexlify(rec["mac"]), ids)
    except (KeyError, TypeError, ValueError):
        return None


def pubs(root):
    """{identity number: pub hex} as the vault states them in the clear ({} if none)."""
    rec = store.read_json(root, VAULT)
    out = {}
    if type(rec) is dict and type(rec.get("ids")) is list and type(rec.get("pubs")) is list:
        for n, p in zip(rec["ids"], rec["pubs"]):
            if type(p) is str and len(p) == 64:
                out[n] = p
    return out


def _open(rec, enc_key, mac_key):
    iterations, salt, nonce, ct, mac, ids = rec
    if not kdf.ct_equal(_mac(mac_key, iterations, salt, nonce, ct, ids), mac) or len(ct) != 32 * len(ids):
        return None
    pt = bytes(chacha20_xor(enc_key, nonce, ct))
    return [(ids[i], pt[32 * i:32 * i + 32]) for i in range(len(ids))]


def open_all(root, sess):
    """[(identity number, key)] with an unlocked session (no PIN, no count); None if
    the vault is not sealed under it (another PIN, tampered, missing)."""
    rec = _record(root)
    if rec is None or rec[0] != sess[0] or rec[1] != sess[1]:
        return None
    return _open(rec, sess[2], sess[3])


def unlock_session(root, pin, progress=None):
    """([(identity number, key)], session), or raise WrongPin(left) / Wiped /
    ValueError (no vault)."""
    n = fails(root)
    if n >= MAX_FAILS:
        wipe(root)
        raise Wiped("too many wrong PINs: the key has been erased")
    rec = _record(root)
    if rec is None:
        raise ValueError("invalid vault: none on this device")
    _set_fails(root, n + 1)  # on flash before the check: a power cut can't undo a guess
    enc_key, mac_key = _keys(pin, rec[1], rec[0], progress)
    keys = _open(rec, enc_key, mac_key)
    if keys is None:
        if n + 1 >= MAX_FAILS:
            wipe(root)
            raise Wiped("too many wrong PINs: the key has been erased")
        raise WrongPin(MAX_FAILS - n - 1)
    _set_fails(root, 0)
    return keys, (rec[0], rec[1], enc_key, mac_key)


def unlock(root, pin, progress=None):
    """Identity 0's 32-byte key (the first one), or raise WrongPin(left) / Wiped /
    ValueError (no vault)."""
    return unlock_session(root, pin, progress)[0][0][1]


def change_pin(root, old_pin, new_pin, iterations, rng, progress=None):
    keys, _ = unlock_session(root, old_pin, progress)
    pub = pubs(root)
    seal(root, [(n, sk, pub.get(n)) for n, sk in keys], session(new_pin, iterations, rng, progress), rng)


def wipe(root):
    """Overwrite the vault with zeros, then remove it (best effort on flash that
    remaps blocks: the ciphertext is useless without the PIN anyway)."""
    path = root + "/" + VAULT
    try:
        size = os.stat(path)[6]
        with open(path, "wb") as f:
            f.write(bytes(size))
        os.remove(path)
    except OSError:
        pass
    _set_fails(root, 0)


def calibrate(target_ms, ticks_ms, ticks_diff, probe=512):
    """Iterations that take about target_ms on this board (never below MIN_ITER)."""
    import hashlib
    t0 = ticks_ms()
    hashlib.pbkdf2_hmac("sha512", b"calibrate", b"salt" * 4, probe, 64)
    took = max(1, ticks_diff(ticks_ms(), t0))
    return max(MIN_ITER, probe * target_ms // took)
