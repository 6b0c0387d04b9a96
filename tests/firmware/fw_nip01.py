# crypto.nip01 on MicroPython: ids equal to nostr-tools' getEventHash (expected values
# below were computed with node's JSON.stringify + sha256), escaping, validation, and
# sign/verify against a signature made by libsecp256k1 (coincurve).
import gc
from crypto import nip01

PK = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
C0 = "".join(chr(i) for i in range(32))


def ev(pubkey, created_at, kind, tags, content):
    return {"pubkey": pubkey, "created_at": created_at, "kind": kind, "tags": tags, "content": content}


# (event, id) pairs from node: sha256(JSON.stringify([0, pubkey, created_at, kind, tags, content]))
KNOWN = [
    (ev(PK, 1700000000, 1, [], "hello"),
     "bde202ea7642ff9910600c7edc948a1f4220f0cbf5e4fb2b7efafa681bbb5285"),
    (ev(PK, 1, 1, [["t", C0], [C0, "x"]], C0 + "\"\\\x7f\u2028\u2029/"),
     "16e7be82313d4d3df5a1aac22a06ca8294ace070760b493a03190ed107eceaeb"),
    (ev(PK, 1234567890, 30023, [["d", "é漢字"], ["emoji", "😀👍🏽"]],
        "Ünïcødé 漢字 한국어 \u0301 עברית 😀👨‍👩‍👧 \ufeff \uffff \U0010ffff"),
     "acb03b14469e6bdd93230879b25944b9228ca59278423ba620fb3d19ada1db11"),
    (ev(PK, 0, 65535, [[], ["a"], ["", ""]], ""),
     "4313e908e7ebe0807c2e279a1188375f31ac3a365836fad8b735689525724114"),
]

SK = bytes.fromhex("7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a")
SIGNED = {
    "id": "67038278a6866cdd7a3698984c59ba070f83e8f47be7e66bd602319020622416",
    "pubkey": "17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917",
    "created_at": 1700000000,
    "kind": 1,
    "tags": [["p", "17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917"]],
    "content": "signed by a hardware signer\n\u2713",
    # libsecp256k1 BIP-340 signature with aux = 32 zero bytes
    "sig": "a39a2f7a56ee102aa49a6cbacf71b8317107993db85a4a58032876b5cef55d1c"
           "f630163db3f88767068bab2b50d316910e6a91cdd5fe07f116590aa0a3a92006",
}


def test_known_ids():
    for e, want in KNOWN:
        assert nip01.event_id(e) == want, (e, nip01.event_id(e))


def test_serialize_is_exact_json():
    got = nip01.serialize(PK, 1700000000, 1, [["e", "x"], []], "hi")
    assert got == b'[0,"' + PK.encode() + b'",1700000000,1,[["e","x"],[]],"hi"]', got
    assert type(got) is bytes


def test_every_c0_control_escape():
    named = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}
    for c in range(32):
        want = named.get(c, "\\u%04x" % c)
        assert nip01.json_string(chr(c)) == '"' + want + '"', c
        assert nip01.json_string("a" + chr(c) + "b") == '"a' + want + 'b"', c
    assert nip01.json_string('"') == '"\\""'
    assert nip01.json_string("\\") == '"\\\\"'
    # lowercase hex, and nothing else escaped
    assert nip01.json_string("\x1f\x1a") == '"\\u001f\\u001a"'
    for s in ("\x7f", "/", "\u2028", "\u2029", "é", "😀", "'", "<>&", "\u0080", "\ufffd"):
        assert nip01.json_string(s) == '"' + s + '"', s


def test_unicode_verbatim_utf8():
    s = nip01.serialize(PK, 1, 1, [["emoji", "😀"]], "한국어 \u2028\x7f")
    assert "😀".encode() in s and "한국어 \u2028\x7f".encode() in s


def test_cesu_surrogates_like_js():
    # what MicroPython's json.loads makes of "\ud83d\ude00" and of a lone "\ud800"
    pair = b"x\xed\xa0\xbd\xed\xb8\x80y".decode()
    assert len(pair) == 4
    assert nip01.json_string(pair) == '"x😀y"'
    e = ev(PK, 5, 1, [], pair)
    assert nip01.event_id(e) == "2d14c600b771d779b9ef20871a36a5ca0d72c5849b5f8a4635c8adc2918b341b"
    lone = ev(PK, 5, 1, [["l", b"\xed\xa0\x80".decode()]],
              b"a\xed\xbf\xbfb\xed\xa0\xbd".decode())
    assert nip01.event_id(lone) == "3b585c6ae21fa4df440ebbdc61afe7f9c47f15b3a3d5717b3fd003f8722aa040"
    # Hangul (ED 80..9F lead) is an ordinary character, not a surrogate
    assert nip01.json_string("\ud55c") == '"\ud55c"'


def test_json_string_rejects_non_str():
    for bad in (b"x", 1, None):
        try:
            nip01.json_string(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_verify_known_signed_event():
    assert nip01.validate(SIGNED) is None
    assert nip01.verify(SIGNED)


def test_sign_reproduces_libsecp_signature():
    t = {k: SIGNED[k] for k in ("created_at", "kind", "tags", "content")}
    out = nip01.sign(t, SK, bytes(32))
    assert out["id"] == SIGNED["id"] and out["sig"] == SIGNED["sig"], out
    assert out["pubkey"] == SIGNED["pubkey"]
    assert sorted(out) == sorted(SIGNED)
    # with pubkey present and matching; aux from the RNG still verifies
    t["pubkey"] = SIGNED["pubkey"]
    out = nip01.sign(t, SK)
    assert out["id"] == SIGNED["id"] and nip01.verify(out)


def test_sign_rejects_wrong_pubkey_and_signed_template():
    t = {k: SIGNED[k] for k in ("created_at", "kind", "tags", "content")}
    t["pubkey"] = PK
    _expect_invalid(lambda: nip01.sign(t, SK), "pubkey")
    t = dict(SIGNED)
    _expect_invalid(lambda: nip01.sign(t, SK), "template")


def test_verify_false_on_tamper():
    for k, v in (("content", "x"), ("kind", 2), ("created_at", 1), ("tags", []),
                 ("id", "0" * 64), ("sig", "0" * 128),
                 ("pubkey", "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")):
        e = dict(SIGNED)
        e[k] = v
        assert not nip01.verify(e), k
    e = dict(SIGNED)
    e["sig"] = e["sig"][:-1] + ("7" if e["sig"][-1] != "7" else "8")
    assert not nip01.verify(e)
    # bad shapes are just "not valid", never an exception
    for bad in (None, [], "x", {}, dict(SIGNED, extra=1), dict(SIGNED, id=SIGNED["id"].upper())):
        assert nip01.verify(bad) is False


def _expect_invalid(fn, words):
    try:
        fn()
    except ValueError as e:
        msg = str(e)
        assert msg.startswith("invalid event: "), msg
        assert words in msg, (words, msg)
        return
    raise AssertionError("no ValueError, expected " + words)


def test_validate_rejects_each_bad_shape():
    def with_(k, v):
        e = dict(SIGNED)
        e[k] = v
        return e

    def without(k):
        e = dict(SIGNED)
        del e[k]
        return e

    cases = [
        (None, "not an object"), ([], "not an object"), ("{}", "not an object"),
        (dict(SIGNED, extra=1), "unexpected key"),
        (without("id"), "missing id"), (without("sig"), "missing sig"),
        (without("pubkey"), "missing pubkey"), (without("kind"), "missing kind"),
        (without("tags"), "missing tags"), (without("content"), "missing content"),
        (without("created_at"), "missing created_at"),
        (with_("kind", True), "kind"), (with_("kind", -1), "kind"), (with_("kind", 65536), "kind"),
        (with_("kind", 1.0), "kind"), (with_("kind", "1"), "kind"), (with_("kind", None), "kind"),
        (with_("created_at", -1), "created_at"), (with_("created_at", False), "created_at"),
        (with_("created_at", 1.5), "created_at"), (with_("created_at", "1"), "created_at"),
        (with_("created_at", 2 ** 53), "created_at"),
        (with_("tags", {}), "tags must be a list"), (with_("tags", "x"), "tags must be a list"),
        (with_("tags", (("a",),)), "tags must be a list"),
        (with_("tags", [["a"], "b"]), "tag 1 is not a list"),
        (with_("tags", [("a", "b")]), "tag 0 is not a list"),
        (with_("tags", [["a", 1]]), "tag 0 item 1 is not a string"),
        (with_("tags", [["a", None]]), "tag 0 item 1 is not a string"),
        (with_("tags", [[b"a"]]), "tag 0 item 0 is not a string"),
        (with_("content", None), "content"), (with_("content", b"x"), "content"),
        (with_("content", 1), "content"),
        (with_("id", SIGNED["id"].upper()), "id must be 64"), (with_("id", SIGNED["id"][:-1]), "id must be 64"),
        (with_("id", "g" * 64), "id must be 64"), (with_("id", 5), "id must be 64"),
        (with_("pubkey", SIGNED["pubkey"] + "00"), "pubkey"), (with_("pubkey", "Z" * 64), "pubkey"),
        (with_("sig", SIGNED["sig"][:64]), "sig must be 128"), (with_("sig", SIGNED["sig"].upper()), "sig must be 128"),
    ]
    for e, words in cases:
        _expect_invalid(lambda: nip01.validate(e), words)
    # templates: id/pubkey/sig optional, still checked if present, nothing else allowed
    t = {"created_at": 1, "kind": 1, "tags": [], "content": ""}
    assert nip01.validate(t, False) is None
    _expect_invalid(lambda: nip01.validate(t), "missing")
    _expect_invalid(lambda: nip01.validate(dict(t, pubkey="x"), False), "pubkey")
    _expect_invalid(lambda: nip01.validate(dict(t, foo=1), False), "unexpected key")
    _expect_invalid(lambda: nip01.event_id({"pubkey": PK}), "missing")
    _expect_invalid(lambda: nip01.serialize(PK, 1, True, [], ""), "kind")


def test_16k_event_id_fits_128k_heap_with_little_garbage():
    import time
    content = ("Lorem ipsum \"dolor\" sit amet,\n\tconsectetur é漢😀 " * 400)[:16000]
    tags = [["p", PK, "wss://relay.example.com"] for _ in range(8)]
    e = ev(PK, 1700000000, 1, tags, content)
    gc.collect()
    before = gc.mem_alloc()
    t0 = time.ticks_us()
    h = nip01.event_id(e)
    dt = time.ticks_diff(time.ticks_us(), t0)
    garbage = gc.mem_alloc() - before
    print("16k event id: %d us, %d bytes allocated" % (dt, garbage))
    assert len(h) == 64
    # escapes are staged in one fixed buffer: no per-escape objects, no copy of the content
    # (about 5 KB here: per-string memoryviews, per-tag enumerate, the hash object)
    assert garbage < 8192, garbage
