"""Test-side Nostr helpers for the bridge tests (CPython only).

The bridge itself never signs or encrypts; the tests do, to play the client and (in
test_run.py) a stand-in device. libsecp256k1 via coincurve; NIP-44 v2 from refclient.py
(`cryptography`), the same independent implementation the signer tests use.
"""
import asyncio
import hashlib
import json
import os
import time

import coincurve

import refclient as _ref


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


# ---- NIP-44 v2: the independent implementation in refclient.py, in this module's argument order

def conversation_key(sk, pub_hex):
    return _ref.nip44_conversation_key(sk, bytes.fromhex(pub_hex))


def nip44_encrypt(conv_key, plaintext, nonce=None):
    return _ref.nip44_encrypt(plaintext, conv_key, nonce)


def nip44_decrypt(conv_key, payload):
    return _ref.nip44_decrypt(payload, conv_key)


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
