"""crypto.nip01 on MicroPython against two independent serialisers, for random events.

- node: sha256(JSON.stringify([0, pubkey, created_at, kind, tags, content])), which is
  exactly nostr-tools' getEventHash, in one `node -e` process fed JSON lines;
- CPython: json.dumps(..., ensure_ascii=False, separators=(",", ":")) (not for events
  with lone surrogates, which CPython cannot encode as UTF-8 but JS escapes).
Events cross to MicroPython as JSON text parsed there by MicroPython's json (see
tests/firmware/nip01_rpc.py), both pure ASCII (astral characters as surrogate pairs,
as ensure_ascii clients send them) and raw UTF-8. Signatures from nip01.sign must
verify under libsecp256k1 (coincurve).
"""
import hashlib
import json
import random
import shutil
import subprocess

import coincurve
import pytest

import mpy

N_EVENTS = 320

NODE_HASHER = r"""
const crypto = require('crypto');
const rl = require('readline').createInterface({input: process.stdin});
const out = [];
rl.on('line', (line) => {
  const e = JSON.parse(line);
  const s = JSON.stringify([0, e.pubkey, e.created_at, e.kind, e.tags, e.content]);
  out.push(crypto.createHash('sha256').update(s, 'utf8').digest('hex'));
});
rl.on('close', () => process.stdout.write(out.join('\n') + '\n'));
"""

# character pools, weighted towards what escaping can get wrong
POOLS = [
    (30, [chr(c) for c in range(0x20, 0x7F)]),
    (12, [chr(c) for c in range(0x20)] + ['"', "\\", "\x7f"]),
    (6, [chr(c) for c in range(0x80, 0x250)]),
    (4, ["\u2028", "\u2029", "\ufeff", "\ufffd", "\uffff", "\u0301", "\u200d"]),
    (6, [chr(c) for c in range(0x4E00, 0x4E80)]),
    (5, [chr(c) for c in range(0xD700, 0xD7FF)] + [chr(c) for c in range(0xE000, 0xE080)]),  # next to the surrogates
    (8, [chr(c) for c in range(0x1F600, 0x1F650)] + ["\U0010ffff", "\U00010000", "👨‍👩‍👧"]),
    (1, [chr(c) for c in (0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D, 0xDE00)]),  # lone surrogates
]


def rand_str(rng, maxlen, lone):
    n = rng.choice([0, 1, 2, rng.randint(0, 20), rng.randint(0, maxlen)])
    pools = POOLS if lone else POOLS[:-1]
    weights = [w for w, _ in pools]
    out = []
    for _ in range(n):
        pool = rng.choices(pools, weights)[0][1]
        out.append(rng.choice(pool))
    return "".join(out)


def rand_event(rng):
    lone = rng.random() < 0.15  # lone surrogates in some events only
    return {
        "pubkey": rng.randbytes(32).hex(),
        "created_at": rng.choice([0, 1, 1700000000, rng.randint(0, 2 ** 32), rng.randint(0, 2 ** 53 - 1)]),
        "kind": rng.choice([0, 1, 3, 7, 30023, 65535, rng.randint(0, 65535)]),
        "tags": [[rand_str(rng, 40, lone) for _ in range(rng.randint(0, 4))] for _ in range(rng.randint(0, 5))],
        "content": rand_str(rng, rng.choice([50, 300, 3000]), lone),
    }


def has_lone_surrogate(ev):
    def lone(s):
        try:
            s.encode("utf-8")
            return False
        except UnicodeEncodeError:
            return True
    return lone(ev["content"]) or any(lone(x) for t in ev["tags"] for x in t)


def py_id(ev):
    s = json.dumps([0, ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"]],
                   ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def node_ids(events):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required for the JSON.stringify reference")
    lines = "".join(json.dumps(e) + "\n" for e in events)
    p = subprocess.run([node, "-e", NODE_HASHER], input=lines.encode(), capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    ids = p.stdout.decode().split()
    assert len(ids) == len(events)
    return ids


@pytest.fixture(scope="module")
def events():
    rng = random.Random(0x4E495031)
    evs = [rand_event(rng) for _ in range(N_EVENTS)]
    # a few that must be there every run
    evs.append({"pubkey": "ab" * 32, "created_at": 2 ** 53 - 1, "kind": 65535,
                "tags": [[], [""], ["\x00\x1f\x7f"]], "content": "".join(chr(c) for c in range(0x80))})
    evs.append({"pubkey": "cd" * 32, "created_at": 0, "kind": 0, "tags": [],
                "content": "\ud83d\ude00 \ud83d \ude00 \U0001f600\ud800\udc00"})
    return evs


@pytest.fixture(scope="module")
def fw_roomy():
    # Signing churns bignums; afterwards the test transport (rpc.py reading a 13 KB JSON
    # line into one str) can fail to find a contiguous block in 128 KB. That is harness
    # overhead, not nip01's: the 128 KB budget of nip01 itself is checked in fw_nip01.
    with mpy.Firmware(heap="256K") as f:
        yield f


@pytest.fixture(scope="module")
def reference(events):
    return node_ids(events)


def test_ids_match_node_json_stringify(fw, events, reference):
    bad = []
    for e, want in zip(events, reference):
        got = fw.call("nip01_rpc", "event_id_json", json.dumps(e))
        if got != want:
            bad.append((e, got, want))
    assert not bad, "%d mismatches; first: %r" % (len(bad), bad[0])


def test_ids_from_raw_utf8_json_match_node(fw, events, reference):
    checked = 0
    for e, want in zip(events, reference):
        if has_lone_surrogate(e):
            continue  # not encodable as UTF-8
        raw = json.dumps(e, ensure_ascii=False).encode()
        assert fw.call("nip01_rpc", "event_id_utf8", raw) == want, e
        checked += 1
    assert checked >= 250


def test_node_and_python_references_agree(events, reference):
    checked = 0
    for e, want in zip(events, reference):
        if has_lone_surrogate(e):
            continue
        assert py_id(e) == want, e
        checked += 1
    assert checked >= 250


def test_serialize_matches_python_bytes(fw, events):
    checked = 0
    for e in events[:120]:
        if has_lone_surrogate(e):
            continue
        want = json.dumps([0, e["pubkey"], e["created_at"], e["kind"], e["tags"], e["content"]],
                          ensure_ascii=False, separators=(",", ":")).encode()
        assert bytes.fromhex(fw.call("nip01_rpc", "serialize_json", json.dumps(e))) == want, e
        checked += 1
    assert checked >= 80


def test_sign_verifies_under_libsecp256k1(fw_roomy, events):
    rng = random.Random(7)
    signed, ids = [], []
    for e in events:
        sk = rng.randbytes(32)
        aux = rng.randbytes(32)
        template = {k: e[k] for k in ("created_at", "kind", "tags", "content")}
        eid, sig, pub, ok = fw_roomy.call("nip01_rpc", "sign_json", json.dumps(template), sk, aux)
        key = coincurve.PrivateKey(sk)
        assert pub == key.public_key_xonly.format().hex()
        assert coincurve.PublicKeyXOnly(bytes.fromhex(pub)).verify(bytes.fromhex(sig), bytes.fromhex(eid))
        # BIP-340 with the same aux is deterministic: libsecp256k1 gives the same bytes
        assert key.sign_schnorr(bytes.fromhex(eid), aux).hex() == sig
        assert ok is True  # nip01.verify accepts what nip01.sign made
        signed.append(dict(template, pubkey=pub))
        ids.append(eid)
    # and each id is the event's id under the signer's pubkey, per node
    assert node_ids(signed) == ids
