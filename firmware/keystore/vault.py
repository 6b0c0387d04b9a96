# The secret key at rest under a PIN (DESIGN.md, "Secrets at rest").
#
# Record "vault.json" (v2): {"v": 2, "kdf": "pbkdf2-sha512", "iter": N, "salt": hex16,
# "nonce": hex12, "ct": hex32, "mac": hex32}. PBKDF2-HMAC-SHA512(PIN, salt, N) gives 64
# bytes: a ChaCha20 key and an HMAC-SHA256 key. The key is encrypted with ChaCha20 and
# the record authenticated (encrypt-then-MAC over everything that matters), so a wrong
# PIN is told by the MAC, never by decrypting garbage.
#
# Wrong PINs are counted in "pin.json" and the count is written to flash BEFORE the PIN
# is checked: pulling the plug in the middle of a check cannot win a free guess. After
# MAX_FAILS wrong PINs in a row the vault is wiped (overwritten, then removed).
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


def _mac(mac_key, iterations, salt, nonce, ct):
    return kdf.hmac_sha256(mac_key, _MAGIC, iterations.to_bytes(4, "big") + salt + nonce, ct)


def exists(root):
    return store.read(root, VAULT) is not None


def fails(root):
    rec = store.read_json(root, COUNTER, {})
    n = rec.get("fails", 0) if type(rec) is dict else 0
    # an unreadable counter counts as the worst case, never as zero
    return n if type(n) is int and n >= 0 else MAX_FAILS - 1


def tries_left(root):
    return max(0, MAX_FAILS - fails(root))


def _set_fails(root, n):
    store.write_json(root, COUNTER, {"fails": n})


def protect(root, sk, pin, iterations, rng, progress=None):
    """Store sk under pin (replacing any vault) and reset the wrong-PIN count."""
    if len(sk) != 32:
        raise ValueError("invalid key: need 32 bytes")
    if type(iterations) is not int or iterations < MIN_ITER:
        raise ValueError("invalid iteration count")
    salt, nonce = rng(16), rng(12)
    enc_key, mac_key = _keys(pin, salt, iterations, progress)
    ct = bytes(chacha20_xor(enc_key, nonce, sk))
    rec = {"v": 2, "kdf": "pbkdf2-sha512", "iter": iterations, "salt": hexlify(salt).decode(),
           "nonce": hexlify(nonce).decode(), "ct": hexlify(ct).decode(),
           "mac": hexlify(_mac(mac_key, iterations, salt, nonce, ct)).decode()}
    store.write_json(root, VAULT, rec)
    _set_fails(root, 0)


def _record(root):
    rec = store.read_json(root, VAULT)
    try:
        if rec["v"] != 2 or rec["kdf"] != "pbkdf2-sha512":
            raise ValueError
        return (rec["iter"], unhexlify(rec["salt"]), unhexlify(rec["nonce"]),
                unhexlify(rec["ct"]), unhexlify(rec["mac"]))
    except (KeyError, TypeError, ValueError):
        return None


def unlock(root, pin, progress=None):
    """The 32-byte key, or raise WrongPin(left) / Wiped / ValueError (no vault)."""
    n = fails(root)
    if n >= MAX_FAILS:
        wipe(root)
        raise Wiped("too many wrong PINs: the key has been erased")
    rec = _record(root)
    if rec is None:
        raise ValueError("invalid vault: none on this device")
    _set_fails(root, n + 1)  # on flash before the check: a power cut can't undo a guess
    iterations, salt, nonce, ct, mac = rec
    enc_key, mac_key = _keys(pin, salt, iterations, progress)
    if not kdf.ct_equal(_mac(mac_key, iterations, salt, nonce, ct), mac):
        if n + 1 >= MAX_FAILS:
            wipe(root)
            raise Wiped("too many wrong PINs: the key has been erased")
        raise WrongPin(MAX_FAILS - n - 1)
    _set_fails(root, 0)
    return bytes(chacha20_xor(enc_key, nonce, ct))


def change_pin(root, old_pin, new_pin, iterations, rng, progress=None):
    protect(root, unlock(root, old_pin, progress), new_pin, iterations, rng, progress)


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

