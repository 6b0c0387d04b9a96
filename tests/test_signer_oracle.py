"""Nothing about a ciphertext is learned before the person approves its decrypt (issue
11, break 1: a NIP-04 padding oracle). An admitted client holding only `sign_event:1`
sends good and bad ciphertexts for nip04_decrypt / nip44_decrypt and watches every
observable the device offers before a button is pressed: the answer, its error text,
whether it is answered at once or queued (the timing class), and the queue's "busy"
once it is full. All must be the same for a good and a bad ciphertext."""
import base64
import json
import os
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import refclient as rc
from test_signer_harness import (SIGNER_PUB, answer, call, client, dev, of, pair)  # noqa: F401


def _cbc(key, iv, data):
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def nip04_raw(peer, padded):
    # a NIP-04 payload from peer to the signer whose plaintext blocks are `padded` as is
    iv = os.urandom(16)
    ct = _cbc(rc.ecdh_x(peer.sk, SIGNER_PUB), iv, padded)
    return base64.b64encode(ct).decode() + "?iv=" + base64.b64encode(iv).decode()


def nip04_variants(peer):
    return {
        "good": rc.nip04_encrypt(peer.sk, SIGNER_PUB, "meet at noon, bring the keys"),
        "bad padding": nip04_raw(peer, b"meet at noon, b\x05"),
        "zero padding": nip04_raw(peer, b"meet at noon, b\x00"),
        "not UTF-8": nip04_raw(peer, b"\xff\xfe\xfd" + b"\x0d" * 13),
        "empty plaintext": nip04_raw(peer, b"\x10" * 16),
    }


def nip44_variants(peer):
    ck = rc.nip44_conversation_key(peer.sk, SIGNER_PUB)
    good = rc.nip44_encrypt("meet at noon, bring the keys", ck)
    raw = bytearray(base64.b64decode(good))
    raw[-1] ^= 1
    bad_mac = base64.b64encode(bytes(raw)).decode()
    other = rc.nip44_encrypt("meet at noon, bring the keys", os.urandom(32))
    return {"good": good, "bad MAC": bad_mac, "wrong key": other}


def note7():
    return json.dumps({"kind": 7, "content": "+", "tags": [], "created_at": int(time.time())})


def observe(dev, client, msgs, rid):
    """What the client and the host see of one request: nothing (queued), or the kinds
    of message, the outcome and the client's decrypted answer."""
    seen = []
    for m in msgs:
        if m.get("rid") != rid:
            continue
        if m["t"] == "publish":
            resp, _ = client.open(m["event"], SIGNER_PUB)
            seen.append(("publish", resp.get("error"), resp.get("result")))
        else:
            seen.append((m["t"], m.get("outcome"), m.get("method")))
    return seen


def probe(dev, client, method, peer, ct):
    """Alone in the queue, then as the 8th (last) that fits, then as a 9th: what is seen
    each time before any press, and the screens. Leaves the queue empty again."""
    obs = []
    rid, ev, msgs = call(dev, client, method, [peer.pubhex, ct])
    obs.append(observe(dev, client, msgs, rid))
    obs.append(dev.screen[0])
    for _ in range(6):
        call(dev, client, "sign_event", [note7()])
    rid, ev, msgs = call(dev, client, method, [peer.pubhex, ct])
    obs.append(observe(dev, client, msgs, rid))
    obs.append(dev.screen[0])
    rid, ev, msgs = call(dev, client, method, [peer.pubhex, ct])
    obs.append(observe(dev, client, msgs, rid))
    for _ in range(8):
        dev.sleep(500)  # past the double-press guard
        dev.press("reject")
    assert dev.screen[0] == "NOSTR SIGNER"
    return obs


def _no_oracle(dev, client, method, make):
    pair(dev, client, perms="sign_event:1")
    peer = rc.Client()
    variants = make(peer)
    seen = {name: probe(dev, client, method, peer, ct) for name, ct in variants.items()}
    good = seen.pop("good")
    # queued both times it fits, "busy" as the 9th: and the same for every variant
    assert good[0] == [] and good[2] == [] and good[1] == "APPROVE?" and good[3] == "APPROVE? +7"
    assert [t for t, *_ in good[4]] == ["publish", "done"] and good[4][0][1] == "busy"
    for name, obs in seen.items():
        assert obs == good, "%s is told apart from a good ciphertext before approval: %r vs %r" % (
            name, obs, good)
    return peer


def test_nip04_decrypt_padding_is_not_observable_before_approval(dev, client):
    _no_oracle(dev, client, "nip04_decrypt", nip04_variants)


def test_nip44_decrypt_mac_failure_is_not_observable_before_approval(dev, client):
    _no_oracle(dev, client, "nip44_decrypt", nip44_variants)


def test_decrypt_failure_is_answered_only_after_approval(dev, client):
    pair(dev, client)
    peer = rc.Client()
    v = nip04_variants(peer)
    for name, want in (("good", {"result": "meet at noon, bring the keys"}),
                       ("bad padding", {"result": "error", "error": "invalid ciphertext"}),
                       ("empty plaintext", {"result": "error", "error": "invalid ciphertext: empty plaintext"})):
        rid, ev, msgs = call(dev, client, "nip04_decrypt", [peer.pubhex, v[name]])
        assert msgs == []
        resp, _ = answer(client, dev.press("approve"), rid, ev)
        resp.pop("id")
        assert resp == want, name
        dev.sleep(500)


def test_malformed_ciphertext_shape_is_refused_at_once_the_same_for_anyone(dev, client):
    # only what is public (base64, lengths) is checked before approval
    pair(dev, client)
    peer = rc.Client()
    for method, ct in (("nip04_decrypt", "abc?iv=" + "A" * 24), ("nip04_decrypt", "AAAA?iv=" + "A" * 24),
                       ("nip44_decrypt", "AgAA" + "A" * 120), ("nip44_decrypt", "!" * 200)):
        rid, ev, msgs = call(dev, client, method, [peer.pubhex, ct])
        err = answer(client, msgs, rid, ev)[0]["error"]
        assert err.startswith("invalid params: not a nip"), (method, ct, err)
