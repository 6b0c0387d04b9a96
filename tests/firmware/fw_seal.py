# heap: 512K (66 KB plaintexts next to their payloads; the 128 KB budget is measured in tests/test_signer_memory.py)
# The response path that never builds a big response whole: nip44.seal_b64 (the text
# written straight into the payload buffer, encrypted and base64-encoded in place) and
# rpc.response_pieces (the JSON-RPC text in pieces), against the plain functions.
import json
from crypto import nip44, nip01
from signer import rpc

CK = bytes(range(32))
NONCE = bytes(range(100, 132))
SK = bytes.fromhex("7f4c11a9742721d66e40e321ca50b682c27f7422190c14a187525e69e604836a")


def pieces(text, size):
    # a function yielding text in pieces of `size` bytes
    b = text.encode()
    return lambda: (b[i:i + size] for i in range(0, len(b), size))


def sealed(text, size=97):
    return str(nip44.seal_b64(CK, len(text.encode()), pieces(text, size), NONCE), "ascii")


def test_seal_b64_equals_encrypt_for_every_padding_class():
    for n in (1, 31, 32, 33, 255, 256, 257, 1000, 4097, 16000):
        t = "ab\u00e9"[n % 3:] + "x" * n
        assert sealed(t) == nip44.encrypt(t, CK, NONCE), n


def test_seal_b64_round_trips_through_decrypt():
    t = "\u2603 snow " * 500
    assert nip44.decrypt(sealed(t, 1), CK) == t


def test_seal_b64_handles_the_extended_length_prefix():
    t = "y" * 65536
    assert sealed(t, 4096) == nip44.encrypt(t, CK, NONCE)


def test_seal_b64_refuses_a_writer_that_writes_more_than_announced():
    try:
        nip44.seal_b64(CK, 3, pieces("four", 2), NONCE)
    except ValueError as e:
        assert "longer" in str(e)
    else:
        raise AssertionError("no error")


def test_seal_b64_refuses_a_writer_that_writes_less_than_announced():
    try:
        nip44.seal_b64(CK, 5, pieces("four", 2), NONCE)
    except ValueError as e:
        assert "shorter" in str(e)
    else:
        raise AssertionError("no error")


def written(rid, result=None, error=None):
    out = bytearray()
    for b in rpc.response_pieces(rid, result, error):
        out.extend(b)
    return str(out, "utf-8")


def test_response_pieces_equal_response_for_string_results_and_errors():
    for rid, res, err in (("1", "pong", None), ("a\"b", "x\\y\n\u2028\u00e9", None),
                          ("7", None, "rejected"), ("q", "[\"wss://r\"]", None)):
        assert written(rid, res, err) == rpc.response(rid, res, err)


def test_response_pieces_write_a_signed_event_as_its_json_string():
    tpl = {"kind": 1, "created_at": 1700000000, "tags": [["t", "a\"b\\c"], ["e", "\u00e9"]],
           "content": "line\nquote\" back\\slash tab\t \ud83d\ude00 \u202e"}
    ev = nip01.sign(tpl, SK, bytes(32))
    text = written("9", ev)
    assert text == rpc.response("9", rpc.event_json(ev))
    back = json.loads(json.loads(text)["result"])
    assert back["id"] == ev["id"] and back["sig"] == ev["sig"]


def test_sign_own_hashes_a_buffer_content_as_the_same_string():
    body = bytearray(b"QUJD" * 10)
    ev = nip01.sign_own({"pubkey": "7cef86754ddf07395c289c30fe31219de938c6d707d6b478a8682fc75795e8b9",
                         "created_at": 1, "kind": 24133, "tags": [["p", "00" * 32]], "content": body}, SK)
    ev2 = dict(ev)
    ev2["content"] = str(body, "ascii")
    assert nip01.verify(ev2)
