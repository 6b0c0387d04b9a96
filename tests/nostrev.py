"""Test-side Nostr helpers for the bridge tests (CPython only).

The bridge itself never signs or encrypts; the tests do, to play the client and (in
test_run.py) a stand-in device. libsecp256k1 via coincurve, NIP-44 v2 via `cryptography`.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import time

import coincurve
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms


def keypair():
    sk = os.urandom(32)
    return sk, pubkey_of(sk)


def pubkey_of(sk):
    return coincurve.PrivateKey(sk).public_key_xonly.format().hex()


def make_event(sk, kind, content="", tags=(), created_at=None):
    """A signed NIP-01 event."""
    pub = pubkey_of(sk)
    created_at = int(time.time()) if created_at is None else created_at
    tags = [list(t) for t in tags]
    ser = json.dumps([0, pub, created_at, kind, tags, content], separators=(",", ":"), ensure_ascii=False)
    eid = hashlib.sha256(ser.encode()).digest()
    sig = coincurve.PrivateKey(sk).sign_schnorr(eid)
    return {"id": eid.hex(), "pubkey": pub, "created_at": created_at, "kind": kind,
            "tags": tags, "content": content, "sig": sig.hex()}


def auth_event(sk, relay_url, challenge):
    """NIP-42 kind-22242 event (what the device would sign for the pool's auth_signer)."""
    return make_event(sk, 22242, "", [["relay", relay_url], ["challenge", challenge]])


# ---- NIP-44 v2 ---------------------------------------------------------------------------

def _hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _hkdf_expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def conversation_key(sk, pub_hex):
    point = coincurve.PublicKey(b"\x02" + bytes.fromhex(pub_hex)).multiply(sk)
    shared_x = point.format(compressed=True)[1:]
    return _hkdf_extract(b"nip44-v2", shared_x)


def _padded_len(n):
    if n <= 32:
        return 32
    nxt = 1 << (n - 1).bit_length()
    chunk = 32 if nxt <= 256 else nxt // 8
    return chunk * ((n - 1) // chunk + 1)


def _chacha(key, nonce12, data):
    c = Cipher(algorithms.ChaCha20(key, b"\x00\x00\x00\x00" + nonce12), mode=None).encryptor()
    return c.update(data) + c.finalize()


def nip44_encrypt(conv_key, plaintext, nonce=None):
    nonce = os.urandom(32) if nonce is None else nonce
    k = _hkdf_expand(conv_key, nonce, 76)
    pt = plaintext.encode()
    padded = len(pt).to_bytes(2, "big") + pt + b"\x00" * (_padded_len(len(pt)) - len(pt))
    ct = _chacha(k[:32], k[32:44], padded)
    mac = hmac.new(k[44:], nonce + ct, hashlib.sha256).digest()
    return base64.b64encode(b"\x02" + nonce + ct + mac).decode()


def nip44_decrypt(conv_key, payload):
    raw = base64.b64decode(payload)
    if raw[0] != 2:
        raise ValueError("unknown NIP-44 version")
    nonce, ct, mac = raw[1:33], raw[33:-32], raw[-32:]
    k = _hkdf_expand(conv_key, nonce, 76)
    if not hmac.compare_digest(mac, hmac.new(k[44:], nonce + ct, hashlib.sha256).digest()):
        raise ValueError("bad MAC")
    padded = _chacha(k[:32], k[32:44], ct)
    n = int.from_bytes(padded[:2], "big")
    return padded[2:2 + n].decode()


# ---- async test plumbing -----------------------------------------------------------------

def run(coro, timeout=30):
    """Run one async test body with a hard time limit (no pytest-asyncio here)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def wait_until(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        await asyncio.sleep(0.02)
