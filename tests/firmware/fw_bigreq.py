# heap: 1M (several 16 KB requests, and a 66 KB payload sealed both ways, side by side)
# A big request read where it lies (crypto/jsonspan.py, nip44.decrypt_mv, rpc.parse of a
# memoryview, methods' template with its content in the buffer) and the response sealed
# as it is written (nip44.seal_stream): each must give exactly what the plain path gives.
import binascii
import gc
import json
from crypto import jsonspan, nip44, nip01, secp256k1
from signer import rpc, methods, envelope

CK = bytes(range(32))
NONCE = bytes(range(100, 132))
SK = bytes.fromhex("7f4c11a9742721d66e40e321ca50b682c27f7422190c14a187525e69e604836a")
PK = "7cef86754ddf07395c289c30fe31219de938c6d707d6b478a8682fc75795e8b9"

# JSON string bodies as clients write them: escapes of every kind, ensure_ascii emoji
# (a surrogate pair), a lone surrogate, raw UTF-8, MicroPython's lenient \q
BODIES = ('plain', 'a\\"b\\\\c\\/d\\b\\f\\n\\r\\t', '\\u0000\\u001f\\u007f\\u00e9\\u20AC',
          '\\ud83d\\ude00 \\ud800 x', '\xe9\u2028\U0001f600', 'lenient \\q', '')


def mv(b):
    return memoryview(bytearray(b))


def test_unescape_in_place_equals_micropython_json_loads():
    for t in BODIES:
        b = bytearray(t.encode())
        end = jsonspan.unescape(b, 0, len(b))
        assert bytes(b[:end]) == json.loads('"' + t + '"').encode(), t


def test_unescape_refuses_what_json_loads_refuses():
    for t in ('x\\u12', 'x\\u12zz', 'x\\', 'a"b'):
        b = bytearray(t.encode())
        assert jsonspan.unescape(b, 0, len(b)) == -1, t


def test_utf8_ok_agrees_with_str_decoding():
    for b in (b"abc", "\xe9\u20ac\U0001f600".encode(), b"\xed\xa0\x80", b"\xff", b"\xc3",
              b"\x80", b"a\xe2\x82", b"\xf8\x80\x80\x80\x80"):
        try:
            str(b, "utf-8")
            ok = True
        except UnicodeError:
            ok = False
        assert jsonspan.utf8_ok(b, len(b)) == ok, b


def test_value_span_finds_only_a_literal_key():
    t = mv(b'{"id":"a\\"params","params":[ "x" ]}')
    assert jsonspan.value_span(t, b'"params"', b"[") is None  # "params" twice
    t = mv(b'{"id":"1", "params" : [ "x\\"y" ]}')
    a, z = jsonspan.value_span(t, b'"params"', b"[")
    assert bytes(t[a:z]) == b'x\\"y'
    assert json.loads(jsonspan.without(t, (a, z))) == {"id": "1", "params": [""]}


def test_decrypt_mv_equals_decrypt():
    text = "note \u2603 " * 2000
    p = nip44.encrypt(text, CK, NONCE)
    got = nip44.decrypt_mv(mv(p.encode()), CK)
    assert type(got) is memoryview and bytes(got) == text.encode()


def test_decrypt_mv_refuses_a_plaintext_that_is_not_utf8():
    p = nip44.encrypt(b"ab\xffcd" * 1000, CK, NONCE)
    try:
        nip44.decrypt_mv(mv(p.encode()), CK)
    except ValueError as e:
        assert str(e) == "invalid plaintext: not UTF-8"
    else:
        raise AssertionError("no error")


def _emitted(emit):
    out = bytearray()
    for b in emit():
        out.extend(b)
    return out.decode()


def _emits(emit, want):
    # piece by piece against want: no copy of a 88 KB payload beside the one compared with
    i = 0
    for m in emit():
        if want[i:i + len(m)] != str(m, "ascii"):
            return False
        i += len(m)
    return i == len(want)


def test_seal_stream_writes_what_encrypt_returns_for_every_padding_class():
    for n in (1, 32, 33, 767, 768, 1000, 3100, 4097, 16000, 65600):
        t = "ab\u00e9"[n % 3:] + "x" * n
        b = t.encode()
        gc.collect()  # the last class's 66-110 KB blocks: 1M holds them only side by side, not in holes
        emit = nip44.seal_stream(CK, len(b), lambda: (b,), NONCE)
        assert _emits(emit, nip44.encrypt(t, CK, NONCE)), n


def test_seal_stream_writes_the_same_bytes_every_time():
    b = ("\u2603 snow " * 900).encode()
    emit = nip44.seal_stream(CK, len(b), lambda: (b[i:i + 97] for i in range(0, len(b), 97)))
    first = _emitted(emit)
    assert _emitted(emit) == first and nip44.decrypt(first, CK).encode() == b


def test_seal_stream_refuses_a_writer_that_writes_more_or_less_than_announced():
    for n in (3, 5):
        try:
            nip44.seal_stream(CK, n, lambda: (b"four",), NONCE)
        except ValueError as e:
            assert ("longer" if n == 3 else "shorter") in str(e)
        else:
            raise AssertionError("no error")


def test_event_id_of_a_content_written_by_a_function_equals_the_plain_one():
    b = ("\u2603" * 2000).encode()
    emit = nip44.seal_stream(CK, len(b), lambda: (b,), NONCE)
    e1 = {"pubkey": PK, "created_at": 1, "kind": 24133, "tags": [], "content": _emitted(emit)}
    e2 = dict(e1)
    e2["content"] = emit
    assert nip01.sign_own(e2, SK, bytes(32))["id"] == nip01.event_id(e1)


def test_event_id_of_a_content_in_pieces_equals_the_joined_one():
    content = nip44.encrypt("z" * 5000, CK, NONCE)
    b = content.encode()
    e1 = {"pubkey": PK, "created_at": 1, "kind": 24133, "tags": [], "content": content}
    e2 = dict(e1)
    e2["content"] = (b[:1000], bytearray(b[1000:3000]), memoryview(b)[3000:])
    assert nip01.sign_own(e2, SK, bytes(32))["id"] == nip01.event_id(e1)


def _request(tpl_text, rid="r1"):
    return json.dumps({"id": rid, "method": "sign_event", "params": [tpl_text]})


def _big_tpl(content, tags=()):
    return json.dumps({"kind": 1, "created_at": 1700000000, "tags": list(tags), "content": content})


def test_rpc_parse_of_a_big_body_keeps_the_template_in_the_buffer():
    tpl = _big_tpl("x\"y\\z\n" * 1000, [["t", "a\"b"]])
    rid, m, params = rpc.parse(mv(_request(tpl).encode()))
    assert (rid, m) == ("r1", "sign_event") and type(params[0]) is memoryview
    assert bytes(params[0]) == tpl.encode()


def test_rpc_parse_of_a_big_body_other_method_gives_strs():
    body = json.dumps({"id": "r2", "method": "connect", "params": [PK, "q" * 5000]})
    assert rpc.parse(mv(body.encode())) == ("r2", "connect", [PK, "q" * 5000])


def _crypt(method, text):
    return json.dumps({"id": "r3", "method": method, "params": [PK, text]})


def test_rpc_parse_of_a_big_encrypt_or_decrypt_keeps_its_text_in_the_buffer():
    for method in ("nip44_encrypt", "nip44_decrypt", "nip04_encrypt", "nip04_decrypt"):
        for t in BODIES:
            text = json.loads('"' + t + '"') + " \u00e9 \" \\ " * 400
            rid, m, params = rpc.parse(mv(_crypt(method, text).encode()))
            assert (rid, m, params[0]) == ("r3", method, PK)
            assert type(params[1]) is memoryview and bytes(params[1]) == text.encode(), (method, t)


def test_next_item_is_the_string_after_a_lists_first():
    t = mv(b'{"params":[ "a\\"b" , "c\\\\" ],"x":1}')
    a, z = jsonspan.value_span(t, b'"params"', b"[")
    a1, z1 = jsonspan.next_item(t, z)
    assert bytes(t[a1:z1]) == b'c\\\\'
    assert jsonspan.next_item(t, z1) is None  # a ] follows
    t = mv(b'{"params":["a",1]}')
    assert jsonspan.next_item(t, jsonspan.value_span(t, b'"params"', b"[")[1]) is None


def test_chars_counts_as_len_of_the_str():
    for t in ("", "abc", "\xe9\u20ac\U0001f600 x", "\u2028" * 300):
        b = t.encode()
        assert jsonspan.chars(b, len(b)) == len(t), t
    b = bytearray(b"\xed\xa0\xbd\xed\xb8\x80")  # CESU-8 halves, as json.loads leaves them
    assert jsonspan.chars(b, len(b)) == len(str(b, "utf-8"))


PEER_SK = bytes(range(1, 33))
PEER = secp256k1.pubkey(PEER_SK)
PEER_HEX = "".join("%02x" % b for b in PEER)


def _payload(result):
    out = bytearray()
    for b in result():
        out.extend(b)
    return str(out, "ascii")


def test_a_big_nip44_encrypt_is_sealed_as_it_is_read_to_what_the_peer_decrypts():
    text = "secret \u00e9 \"q\" \\ \U0001f600\n" * 600
    body = json.dumps({"id": "r4", "method": "nip44_encrypt", "params": [PEER_HEX, text]})
    params = rpc.parse(mv(body.encode()))[2]
    op = methods.prepare("nip44_encrypt", params, SK, PK, 5)
    assert type(op["text"]) is memoryview
    result = methods.run("nip44_encrypt", op, SK)
    first = _payload(result)
    assert _payload(result) == first  # the same bytes each time it is read
    ck = nip44.conversation_key(PEER_SK, secp256k1.pubkey(SK))
    assert nip44.decrypt(first, ck) == json.loads(body)["params"][1]
    # and the response carries it as a plain JSON string
    out = bytearray()
    for b in rpc.response_pieces("r4", result):
        out.extend(b)
    assert json.loads(out) == {"id": "r4", "result": first}


def test_a_big_nip44_decrypt_is_opened_in_place_to_what_the_small_path_gives():
    text = "reply \u2603 \"q\" \\ \U0001f600\n" * 600
    ck = nip44.conversation_key(PEER_SK, secp256k1.pubkey(SK))
    ct = nip44.encrypt(text, ck)
    body = json.dumps({"id": "r5", "method": "nip44_decrypt", "params": [PEER_HEX, ct]})
    params = rpc.parse(mv(body.encode()))[2]
    op = methods.prepare("nip44_decrypt", params, SK, PK, 5)
    assert bytes(op["ct"]) == ct.encode()  # the public check decoded nothing in place
    got = methods.run("nip44_decrypt", op, SK)
    assert type(got) is memoryview and bytes(got) == text.encode()
    out = bytearray()
    for b in rpc.response_pieces("r5", got):
        out.extend(b)
    assert str(out, "utf-8") == rpc.response("r5", text)


def test_a_big_nip44_decrypt_refuses_what_the_small_path_refuses():
    ck = nip44.conversation_key(PEER_SK, secp256k1.pubkey(SK))
    good = nip44.encrypt("x" * 3000, ck)
    bad_mac = good[:-8] + ("AAAAAAAA" if good[-8:] != "AAAAAAAA" else "BBBBBBBB")
    v1 = "AQ" + good[2:]  # version 1
    for ct, when in ((good + "!", "prepare"), (v1, "prepare"), (good[:-4] + "=" + good[-3:], "prepare"),
                     (bad_mac, "run")):
        body = json.dumps({"id": "r6", "method": "nip44_decrypt", "params": [PEER_HEX, ct]})
        small = _outcome(json.loads(body)["params"])
        big = _outcome(rpc.parse(mv(body.encode()))[2])
        assert big == small and big[0] == when, (when, big, small)


def _outcome(params):
    try:
        op = methods.prepare("nip44_decrypt", params, SK, PK, 5)
    except rpc.Refuse as e:
        return "prepare", e.args
    try:
        methods.run("nip44_decrypt", op, SK)
    except rpc.Refuse as e:
        return "run", e.args
    return "ok", None


def test_rpc_parse_of_a_big_body_that_is_not_json_has_no_id():
    body = _request("x" * 3000)[:-1]
    try:
        rpc.parse(mv(body.encode()))
    except rpc.NoId:
        return
    raise AssertionError("no NoId")


def test_big_template_signs_to_the_same_event_as_the_small_path():
    for content in ("plain " * 3000, '\\u00e9 \\ud83d\\ude00 "q" \\\\ \x01 \ud800 ' * 400,
                    "\u2028\ud55c\U0001f600\n" * 1000):
        tpl = _big_tpl(content, [["e", "a" * 64], ["t", "\u00e9\"\\"]])
        small = methods.prepare("sign_event", [tpl], SK, PK, 5)["tpl"]
        params = rpc.parse(mv(_request(tpl).encode()))[2]
        big = methods.prepare("sign_event", params, SK, PK, 5)["tpl"]
        assert type(big["content"]) is memoryview
        a = nip01.sign(small, SK, bytes(32))
        b = nip01.sign(big, SK, bytes(32))
        assert a["id"] == b["id"] and a["sig"] == b["sig"]
        assert rpc.response("r", a) == _written(b)


def _written(ev):
    # the response carrying ev as the writer makes it, piece by piece
    out = bytearray()
    for b in rpc.response_pieces("r", ev):
        out.extend(b)
    return str(out, "utf-8")


def test_big_template_errors_are_the_small_paths():
    for tpl in ('{"kind":1,"created_at":1,"tags":[],"content":"' + "x" * 3000 + '","kind":"1"}',
                '{"kind":70000,"created_at":1,"tags":[],"content":"' + "x" * 3000 + '"}',
                '{"kind":1,"created_at":1,"tags":[1],"content":"' + "x" * 3000 + '"}',
                '{"kind":1,"created_at":1,"tags":[],"content":"' + "x" * 3000 + '"',
                '{"kind":1,"created_at":1,"tags":[],"content":"' + "x" * 3000 + '\\u12"}',
                '{"kind":1,"pubkey":"' + "ab" * 32 + '","tags":[],"content":"' + "x" * 3000 + '"}'):
        want = _refusal([tpl])
        params = rpc.parse(mv(_request(tpl).encode()))[2]
        assert _refusal(params) == want, (want, tpl[:40])


def _refusal(params):
    try:
        methods.prepare("sign_event", params, SK, PK, 5)
    except rpc.Refuse as e:
        return e.args
    raise AssertionError("no Refuse")


def pieces(b, c=2048):
    return [memoryview(bytearray(b[i:i + c])) for i in range(0, len(b), c)]


def _host_msg(content, pad=0):
    # a host message as the bridge sends it, with pad spaces in front to move the cuts
    ev = {"id": "x", "pubkey": "y", "created_at": 1, "kind": 24133, "tags": [["p", "z"]],
          "content": content, "sig": "s"}
    return {"t": "event", "rid": 5, "now": 1, "event": ev}, (" " * pad + json.dumps(
        {"t": "event", "rid": 5, "now": 1, "event": ev})).encode()


def test_loads_of_a_message_in_pieces_leaves_the_content_in_them():
    p = nip44.encrypt("q" * 5000, CK, NONCE)
    for c in (2048, 16, 1000):
        for pad in range(6):
            want, raw = _host_msg(p, pad)
            got = envelope.loads(pieces(raw, c))
            ct = got["event"].pop("content")
            want["event"].pop("content")
            assert type(ct) is tuple and b"".join([bytes(x) for x in ct]) == p.encode(), (c, pad)
            assert got == want


def test_loads_of_pieces_takes_the_spare_block_off_the_end():
    want, raw = _host_msg(nip44.encrypt("q" * 5000, CK, NONCE))
    ps = pieces(raw) + [bytearray(len(raw))]
    envelope.loads(ps)
    assert type(envelope.spare) is bytearray and len(ps) == (len(raw) + 2047) // 2048
    envelope.spare = None


def test_decrypt_of_a_payload_in_pieces_for_every_cut_near_the_end():
    # "==" and "=" endings cut between pieces are still the payload's end
    for n in (3000, 3001, 3002):
        p = nip44.encrypt("q" * n, CK, NONCE)
        for k in range(1, 6):
            t = (mv(p[:-k].encode()), mv(p[-k:].encode()))
            assert bytes(nip44.decrypt_mv(t, CK)) == b"q" * n, (n, k)


def test_decrypt_of_a_payload_in_pieces_decodes_into_the_given_block():
    p = nip44.encrypt("q" * 3000, CK, NONCE)
    into = bytearray(len(p))
    got = nip44.decrypt_mv(tuple(pieces(p.encode(), 1000)), CK, into)
    assert bytes(got) == b"q" * 3000 and into[0] == 2 and bytes(into[1:33]) == NONCE


def test_decrypt_of_a_payload_in_pieces_refuses_bad_base64():
    p = nip44.encrypt("q" * 3000, CK, NONCE)
    for bad in (p[:-4] + "A=AA", "=" + p[1:], p[:100] + "=" + p[101:], p[:-4] + "A===",
                p[:-1] + "*", p[:-1]):
        try:
            nip44.decrypt_mv(tuple(pieces(bad.encode(), 1000)), CK)
        except ValueError as e:
            assert str(e).startswith("invalid payload"), str(e)
        else:
            raise AssertionError("no error: ..." + bad[-5:])


def test_big_template_with_a_short_content_keeps_no_view_of_the_buffer():
    # a follow list: its "" must not keep the request's whole buffer alive
    tpl = json.dumps({"kind": 3, "created_at": 1, "content": "",
                      "tags": [["p", "%064x" % i] for i in range(60)]})
    params = rpc.parse(mv(_request(tpl).encode()))[2]
    assert type(params[0]) is memoryview
    assert methods.prepare("sign_event", params, SK, PK, 5)["tpl"]["content"] == ""


def test_loads_of_a_message_in_pieces_that_is_no_event_keeps_no_spare_block():
    raw = json.dumps({"t": "auth", "rid": 1, "challenge": "c" * 6000}).encode()
    msg = envelope.loads(pieces(raw) + [bytearray(len(raw))])
    assert msg["challenge"] == "c" * 6000 and envelope.spare is None


def test_envelope_loads_leaves_a_large_content_in_the_buffer():
    ev = {"id": "ab" * 32, "pubkey": "cd" * 32, "created_at": 1, "kind": 24133,
          "tags": [["p", "ef" * 32]], "content": "QUJD+/" * 400 + "?iv=QUJDRA==", "sig": "01" * 64}
    m = {"t": "event", "rid": 7, "now": 2, "event": ev}
    raw = memoryview(bytearray(json.dumps(m).encode()))
    got = envelope.loads(raw)
    c = got["event"]["content"]
    assert type(c) is memoryview and bytes(c) == ev["content"].encode()
    got["event"]["content"] = ev["content"]
    assert got == m


def test_envelope_loads_parses_anything_unusual_the_plain_way():
    ev = {"id": "ab" * 32, "pubkey": "cd" * 32, "created_at": 1, "kind": 24133,
          "tags": [["p", "ef" * 32]], "content": "QUJD+/" * 400 + "?iv=QUJDRA==", "sig": "01" * 64}
    for odd in ({"t": "auth", "event": ev}, {"t": "event", "event": dict(ev, content="a\\nb" * 400)},
                {"t": "event", "event": ev, "x": {"content": "QUJD"}}):
        raw = memoryview(bytearray(json.dumps(odd).encode()))
        assert envelope.loads(raw) == odd


# ---- NIP-04 of a big text: opened in place, sealed as it is read ---------------------

from crypto import nip04  # noqa: E402

IV = bytes(range(16))
LENGTHS = (1, 15, 16, 17, 767, 768, 769, 1535, 1536, 5000)


def test_nip04_seal_stream_writes_what_encrypt_returns_for_every_stage_cut():
    for n in LENGTHS:
        text = ("\u00e9" + "abcdefgh" * 1000).encode()[:n]
        emit = nip04.seal_stream(SK, PEER, memoryview(text), IV)
        first = _payload(emit)
        assert first == nip04.encrypt(SK, PEER, text, IV), n
        assert _payload(emit) == first, n


def test_nip04_decrypt_in_place_equals_decrypt():
    for n in LENGTHS:
        text = ("w\u2603" * 3000)[:n]
        ct = nip04.encrypt(PEER_SK, secp256k1.pubkey(SK), text, IV)
        buf = mv(ct.encode())
        got = nip04.decrypt(SK, PEER, buf)
        assert type(got) is memoryview and bytes(got) == text.encode(), n


def _nip04_outcome(ct):
    try:
        return "ok", nip04.decrypt(SK, PEER, ct)
    except ValueError:
        return "invalid", None


def test_nip04_decrypt_in_place_refuses_what_decrypt_refuses():
    key_pub = secp256k1.pubkey(SK)
    good = nip04.encrypt(PEER_SK, key_pub, "hello " * 500, IV)
    a, b = good.split("?iv=")
    from crypto import aes
    x = secp256k1.ecdh_x(PEER_SK, key_pub)
    badpad = binascii.b2a_base64(aes.cbc_encrypt(x, IV, b"y" * 47 + b"\x05"), newline=False).decode() + "?iv=" + b
    notutf8 = nip04.encrypt(PEER_SK, key_pub, b"ok \xff\xfe", IV)
    for ct in (badpad, notutf8, a + "?iv=" + b[:-4] + "AAAA", a[:-4] + "?iv=" + b, a + "!?iv=" + b,
               a + "?iv=" + b + "A", "?iv=" + b, a + "?iv=" + "A" * 22 + "==", a + "?iv=" + "A" * 24):
        small = "invalid" if _shape(ct) is None else _nip04_outcome(ct)[0]
        big = "invalid" if _shape(mv(ct.encode())) is None else _nip04_outcome(mv(ct.encode()))[0]
        assert small == big, (ct[-30:], small, big)
    assert _nip04_outcome(mv(badpad.encode()))[0] == _nip04_outcome(notutf8)[0] == "invalid"


def _shape(ct):
    try:
        return nip04.shape(ct)
    except ValueError:
        return None


def test_a_big_nip04_encrypt_and_decrypt_through_the_methods():
    text = "dm \u00e9 \"q\" \\ \U0001f600\n" * 600
    body = json.dumps({"id": "r7", "method": "nip04_encrypt", "params": [PEER_HEX, text]})
    op = methods.prepare("nip04_encrypt", rpc.parse(mv(body.encode()))[2], SK, PK, 5)
    assert type(op["text"]) is memoryview
    ct = _payload(methods.run("nip04_encrypt", op, SK))
    assert nip04.decrypt(PEER_SK, secp256k1.pubkey(SK), ct) == json.loads(body)["params"][1]
    body = json.dumps({"id": "r8", "method": "nip04_decrypt", "params": [PEER_HEX, ct]})
    op = methods.prepare("nip04_decrypt", rpc.parse(mv(body.encode()))[2], SK, PK, 5)
    assert bytes(op["ct"]) == ct.encode()  # the public check decoded nothing in place
    got = methods.run("nip04_decrypt", op, SK)
    assert type(got) is memoryview and bytes(got) == text.encode()


def test_a_big_plaintext_with_escaped_emoji_is_encrypted_as_utf8():
    # as an ensure_ascii client sends it: the halves json.loads would leave as CESU-8
    # become the emoji's 4 bytes, a lone half U+FFFD, in the request's buffer
    for method in ("nip44_encrypt", "nip04_encrypt"):
        body = '{"id":"r9","method":"%s","params":["%s","%s"]}' % (
            method, PEER_HEX, "e \\ud83d\\ude00 \\ud800 x " * 300)
        op = methods.prepare(method, rpc.parse(mv(body.encode()))[2], SK, PK, 5)
        assert bytes(op["text"]) == ("e \U0001f600 \ufffd x " * 300).encode(), method
