# Unit tests of the signer's small parts, on MicroPython: perms, the
# nostrconnect URI parser, JSON-RPC bodies, screen text escaping and layout, storage.
import os
import json
from signer import perms, uri, rpc
from ui import screens
from keystore import store

CLIENT = "83f3b2ae6aa368e8275397b9c26cf550101d63ebaab900d19dd4a4429f5ad8f5"


def raises(fn, *a):
    try:
        fn(*a)
    except ValueError as e:
        return str(e)
    raise AssertionError("no ValueError")


def test_perms_parse_keeps_known_methods_and_sign_kinds():
    r = perms.parse("nip44_encrypt, sign_event:1,sign_event:x,connect,nip44_get_key,nip04_decrypt:9,sign_event:01")
    assert r == ["nip44_encrypt", "sign_event:1"], r


def test_perms_allow_by_method_and_kind():
    c = {"rules": ["sign_event:1", "nip04_encrypt"]}
    assert perms.allows(c, "sign_event", 1) and not perms.allows(c, "sign_event", 2)
    assert perms.allows(c, "nip04_encrypt") and not perms.allows(c, "nip04_decrypt")
    assert perms.allows({"rules": ["sign_event"]}, "sign_event", 30023)


def test_perms_never_make_a_rule_for_nip44_get_key():
    assert perms.rule_for("nip44_get_key", None, b"\x01" * 32) is None
    assert not perms.allows({"rules": ["nip44_get_key"]}, "nip44_get_key")
    assert perms.rule_for("sign_event", 7) == "sign_event:7"


A = b"\xaa" * 32
B = b"\xbb" * 32


def test_perms_always_on_an_encrypt_is_for_that_peer_only():
    c = {"rules": []}
    r = perms.rule_for("nip44_encrypt", None, A)
    assert r == "nip44_encrypt:" + "aa" * 32 and perms.rule_for("nip44_encrypt") is None
    assert perms.add(c, r, 1000)
    assert perms.allows(c, "nip44_encrypt", None, A, 1001)
    assert not perms.allows(c, "nip44_encrypt", None, B, 1001)
    assert not perms.allows(c, "nip44_decrypt", None, A, 1001)


def test_perms_always_lapses_after_an_hour():
    c = {"rules": []}
    perms.add(c, "sign_event:1", 1000)
    assert perms.allows(c, "sign_event", 1, None, 1000 + perms.TTL_S - 1)
    assert not perms.allows(c, "sign_event", 1, None, 1000 + perms.TTL_S)
    assert c["rules"] == [] and c["terms"] == {}  # gone, not just idle


def test_perms_always_answers_at_most_60_an_hour():
    c = {"rules": []}
    perms.add(c, "sign_event:1", 1000)
    perms.TTL_S, ttl = 3 * 3600, perms.TTL_S  # a longer life shows the hour's window
    try:
        perms.add(c, "sign_event:1", 1000)
    finally:
        perms.TTL_S = ttl
    n = 0
    while perms.allows(c, "sign_event", 1, None, 1010) and n < 100:
        n += 1
    assert n == perms.PER_H == 60
    assert not perms.allows(c, "sign_event", 1, None, 1000 + 3599)
    assert perms.allows(c, "sign_event", 1, None, 1010 + 3600)  # the next hour


def test_perms_always_does_not_put_terms_on_a_connect_rule():
    c = {"rules": ["sign_event:1"]}
    assert not perms.add(c, "sign_event:1", 1000)
    assert perms.allows(c, "sign_event", 1, None, 10 ** 9)


def test_uri_parses_the_nip46_example():
    u = uri.parse("nostrconnect://" + CLIENT + "?relay=wss%3A%2F%2Frelay1.example.com&perms=nip44_encrypt"
                  "%2Cnip44_decrypt%2Csign_event%3A13&name=My+Client&secret=0s8j2djs"
                  "&relay=wss%3A%2F%2Frelay2.example2.com")
    assert u["pubkey"] == CLIENT and u["secret"] == "0s8j2djs" and u["name"] == "My Client"
    assert u["relays"] == ["wss://relay1.example.com", "wss://relay2.example2.com"]
    assert u["perms"] == "nip44_encrypt,nip44_decrypt,sign_event:13"


def test_uri_reads_the_drafts_metadata_json():
    u = uri.parse("nostrconnect://" + CLIENT + "?relay=wss://r.x&secret=s&metadata=%7B%22name%22%3A%22Old%22%7D")
    assert u["name"] == "Old"


def test_uri_decodes_utf8_percent_escapes():
    u = uri.parse("nostrconnect://" + CLIENT + "?relay=wss://r.x&secret=s&name=caf%C3%A9")
    assert u["name"] == "caf\u00e9"


def test_uri_requires_secret_relay_and_a_hex_pubkey():
    assert raises(uri.parse, "nostrconnect://" + CLIENT + "?relay=wss://r.x") == "invalid uri: no secret"
    assert raises(uri.parse, "nostrconnect://" + CLIENT + "?secret=s") == "invalid uri: no relay"
    assert raises(uri.parse, "nostrconnect://xyz?relay=wss://r.x&secret=s") == "invalid uri: client pubkey"
    assert raises(uri.parse, "nostrconnect://" + CLIENT + "?relay=http://r.x&secret=s") == "invalid uri: relay"
    assert raises(uri.parse, "nostrconnect://" + CLIENT + "?relay=wss://r&secret=%zz") == "invalid uri: bad percent escape"


def test_rpc_parse_returns_id_method_params():
    assert rpc.parse('{"id":"a","method":"ping","params":[]}') == ("a", "ping", [])


def test_rpc_parse_without_an_id_cannot_be_answered():
    for text in ("nope", "[]", '{"method":"ping"}', '{"id":5,"method":"ping"}'):
        try:
            rpc.parse(text)
            raise AssertionError(text)
        except rpc.NoId:
            pass


def test_rpc_parse_too_large_still_finds_the_id():
    text = '{"method":"nip44_encrypt","id" : "big-1","params":["' + "x" * 300 + '"]}'
    try:
        rpc.parse(text, 200)
        raise AssertionError("parsed")
    except rpc.Refuse as e:
        assert e.args[0] == "too large" and e.rid == "big-1"


def test_rpc_response_escapes_like_json_stringify():
    r = rpc.response("i", "a\"b\u2028\U0001f600")
    assert json.loads(r) == {"id": "i", "result": "a\"b\u2028\U0001f600"}


def test_rpc_error_response_carries_result_error_for_every_client_library():
    # nostrify needs "result" to be a string; rust-nostr parses "result" by method before it
    # looks at "error" and accepts only the keyword "error" for any method (docs/protocol.md)
    want = {"id": "i", "result": "error", "error": "rejected"}
    assert json.loads(rpc.response("i", error="rejected")) == want
    out = []
    for b in rpc.response_pieces("i", error="rejected"):
        out.append(bytes(b))  # pieces reuse a buffer
    assert json.loads(b"".join(out)) == want


def test_esc_shows_controls_bidi_and_non_ascii_as_escapes():
    assert screens.esc("a\u202eb\u200bc\n\x07\u00e9\\") == "a\\u202eb\\u200bc\\n\\x07\\xe9\\\\"
    assert screens.esc("\U0001f600") == "\\U0001f600"
    assert screens.esc("x" * 20, 5) == "xxxxx..."


def test_page_is_eight_lines_of_at_most_sixteen_columns():
    body = ["line %d" % i for i in range(10)]
    p = screens.page("APPROVE?", body, "A:yes R:no", 0, 3)
    assert len(p) == 8 and all(len(x) <= 16 for x in p)
    assert p[0].startswith("APPROVE? +3") and p[0].endswith("v") and p[1] == "line 0"
    p = screens.page("APPROVE?", body, "f", 99, 0)
    assert p[0].endswith("^") and p[6] == "line 9"


def test_sign_request_body_is_the_kinds_summary_of_the_event():
    op = {"tpl": {"kind": 1, "content": "hi\u202e", "tags": [["t", "x"]]}}
    title, body, foot = screens.request({"method": "sign_event", "op": op}, "App", "", "")
    body = screens.page(title, body, foot, 0, 0)[1:-1] + screens.page(title, body, foot, 1, 0)[-2:-1]
    assert body == ["App", "(unverified)", "sign_event", "note", "hi\\u202e", "-- 1 tag --", "t x"], body


def test_store_writes_atomically_and_reads_back():
    root = "/tmp/fw_signer_units_store"
    store.write_json(root, "a.json", {"x": 1})
    store.write_json(root, "a.json", {"x": 2})
    assert store.read_json(root, "a.json") == {"x": 2}
    assert "a.json.tmp" not in os.listdir(root)
    assert store.read_json(root, "missing.json", 7) == 7


def test_store_ignores_a_corrupt_file():
    root = "/tmp/fw_signer_units_store"
    store.write_atomic(root, "bad.json", b"{not json")
    assert store.read_json(root, "bad.json", "dflt") == "dflt"


def test_store_key_round_trip_and_rejects_wrong_length():
    root = "/tmp/fw_signer_units_store"
    store.save_key(root, bytes(range(32)))
    assert store.load_key(root) == bytes(range(32))
    assert raises(store.save_key, root, b"short").startswith("invalid key")
