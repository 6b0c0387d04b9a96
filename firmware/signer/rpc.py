# NIP-46 JSON-RPC bodies: parse a decrypted request, build a response.
#
# Requests are {"id": str, "method": str, "params": [str, ...]}. A body we cannot take
# an id from cannot be answered (the client could not match the answer), so it raises
# NoId and the event is dropped; anything else wrong with it is answered with an error.
#
# Responses are written by hand with crypto.nip01.json_string rather than json.dumps:
# that escapes strings exactly as JSON.stringify does and turns the UTF-16 surrogate
# pairs MicroPython's json.loads leaves in strings back into real UTF-8, so a signed
# event we return parses in a JS client to the very strings we hashed.
import json
from crypto.nip01 import json_string, string_pieces
from crypto import jsonspan

# The largest decrypted request we parse (chars), unless the board says otherwise
# (config "max_request"). A 16 KB note inside sign_event is about 17 KB once
# JSON-escaped twice; past this the heap would not hold the request, its parse and the
# response together.
MAX_TEXT = 20 * 1024
# bodies up to this (bytes) are parsed as before, from a str
SMALL = 2048
# a body decrypted in place (a memoryview) costs no parsed copy of its params[0], so a
# bigger one may be read (the link's max_message bounds it anyway)
MAX_IN_PLACE = 48 * 1024
# a request too big to take whole comes as "more" messages of this many base64
# characters (signer/oversize.py; said in hello): after a day's use at 128 KB the free
# heap is holes of 1-3 KB, and 2 KB pieces went unanswered in make bench
STREAM = 1024


class NoId(Exception):
    pass


class Refuse(Exception):
    """Answer the request with error args[0]; args[1] is the outcome for the host log
    (never holding the client's plaintext). .rid: the request id, when rpc.parse raised it."""

    def __init__(self, error, outcome=None):
        super().__init__(error, outcome or error)


def _scan_id(text):
    # Only for bodies too large to parse: find the top-level "id":"..." by hand. Inside
    # a JSON string every quote is escaped, so a bare "id" token is a key.
    i = text.find('"id"')
    while i >= 0:
        j = i + 4
        n = len(text)
        while j < n and text[j] in " \t\r\n:":
            j += 1
        if j < n and text[j] == '"' and ":" in text[i + 4:j]:
            k = j + 1
            while k < n and text[k] != '"':
                k += 2 if text[k] == "\\" else 1
            if k - j > 200:
                return None
            try:
                v = json.loads(text[j:k + 1])
            except ValueError:
                return None
            return v if type(v) is str else None
        i = text.find('"id"', i + 4)
    return None


# which param of a big body stays a memoryview of its text, unescaped where it lies: a
# template, a plaintext to encrypt (signer/methods.py seals it as the response is read
# out), a ciphertext to decrypt (decrypted in place)
_IN_PLACE = {"sign_event": 0, "nip44_encrypt": 1, "nip44_decrypt": 1, "nip04_encrypt": 1,
             "nip04_decrypt": 1}


def _big(mv):
    # json.loads of a big body (a memoryview of its UTF-8 in the link's buffer: see
    # crypto/jsonspan.py) whose big string, params[0] or params[1], is unescaped where
    # it lies; the rest of the body (small) is parsed from a copy with that string
    # emptied. Anything unexpected: the plain way.
    sp = jsonspan.value_span(mv, b'"params"', b"[")
    if sp is None:
        return json.loads(mv)
    k = 0
    s1 = jsonspan.next_item(mv, sp[1])
    if s1 is not None and s1[1] - s1[0] > sp[1] - sp[0]:
        sp, k = s1, 1
    req = json.loads(jsonspan.without(mv, sp))
    p = req.get("params") if type(req) is dict else None
    if type(p) is not list or len(p) <= k or p[k] != "":
        return json.loads(mv)  # the span was not params[k]: mv is still untouched
    end = jsonspan.unescape(mv, sp[0], sp[1])
    if end < 0:
        raise ValueError("not JSON")
    if _IN_PLACE.get(req.get("method")) == k:
        p[k] = mv[sp[0]:end]
    else:
        p[k] = str(mv[sp[0]:end], "utf-8")  # the other methods take strs
    return req


def parse(text, limit=None):
    """-> (id, method, params); raises NoId, or Refuse carrying the id as .rid.
    Bodies longer than limit (chars) are refused "too large" unparsed. text: a str, or
    a memoryview of a big body's UTF-8 (envelope.open_); then the big param of a
    sign_event or an encrypt or decrypt (_IN_PLACE) is a memoryview of its text,
    unescaped in place."""
    if type(text) is memoryview and len(text) <= SMALL:
        text = str(text, "utf-8")
    if limit is None:
        limit = MAX_IN_PLACE if type(text) is memoryview else MAX_TEXT
    if len(text) > limit:
        if type(text) is memoryview:
            try:
                text = str(text, "utf-8")
            except MemoryError:
                raise NoId("too large")
        rid = _scan_id(text)
        if rid is None:
            raise NoId("too large")
        e = Refuse("too large")
        e.rid = rid
        raise e
    try:
        req = _big(text) if type(text) is memoryview else json.loads(text)
    except ValueError:
        raise NoId("not JSON")
    if type(req) is not dict or type(req.get("id")) is not str or len(req["id"]) > 200:
        raise NoId("no id")
    rid = req["id"]
    method = req.get("method")
    params = req.get("params", [])
    e = None
    if type(method) is not str or not method or len(method) > 64:
        e = Refuse("invalid request: method", "invalid request")
    elif type(params) is not list:
        e = Refuse("invalid request: params must be a list", "invalid request")
    else:
        for p in params:
            if type(p) is not str and type(p) is not memoryview:
                e = Refuse("invalid params: params must be strings", "invalid params")
                break
    if e:
        e.rid = rid
        raise e
    return rid, method, params


def response(rid, result=None, error=None):
    # one join: a chain of + would copy a 16 KB result once per piece
    if type(result) is dict:
        result = event_json(result)
    elif type(result) is memoryview:  # (signer/methods.py run) made whole for NIP-04's
        result = str(result, "utf-8")  # response, which is encrypted whole
    elif result is not None and type(result) is not str:
        result = str(b"".join(result()), "ascii")
    if error is not None:
        # "result":"error" too: nostrify requires a string result, and rust-nostr parses the
        # result before it reads "error" ("" fails there); docs/protocol.md, "Error responses"
        return "".join(('{"id":', json_string(rid), ',"result":"error","error":', json_string(error), "}"))
    return "".join(('{"id":', json_string(rid), ',"result":', json_string(result), "}"))


def event_json(ev):
    """A signed event as JSON text, keys in NIP-01 order."""
    out = ['{"id":"', ev["id"], '","pubkey":"', ev["pubkey"], '","created_at":',
           str(ev["created_at"]), ',"kind":', str(ev["kind"]), ',"tags":[']
    first = True
    for tag in ev["tags"]:
        out.append("[" if first else ",[")
        first = False
        out.append(",".join([json_string(x) for x in tag]))
        out.append("]")
    out.append('],"content":')
    out.append(json_string(ev["content"]))
    out.append(',"sig":"')
    out.append(ev["sig"])
    out.append('"}')
    return "".join(out)


def response_pieces(rid, result=None, error=None):
    """What response() returns, in bytes-like pieces and never built whole: a generator,
    pulled by a loop (envelope.seal_response: counted, then straight into the encrypted
    payload), so the depth under it is fixed however long the event: the event's fields
    and tags are walked here, one generator above the escaper. result: a str, or a
    signed event dict, whose JSON is written escaped as the body of a JSON string."""
    yield b'{"id":'
    yield from string_pieces(rid)
    if error is not None:
        yield b',"result":"error","error":'
        yield from string_pieces(error)
        yield b"}"
        return
    if type(result) is not dict:
        yield b',"result":'
        if type(result) is str or type(result) is memoryview:
            yield from string_pieces(result)
        else:  # a payload made as it is read (the seal_stream emit of nip44, nip04): ASCII
            yield b'"'
            yield from result()
            yield b'"'
        yield b"}"
        return
    # event_json(result) as a JSON string's body: only quotes and backslashes need
    # escaping there (the text has no raw control characters; its escapes get their \
    # doubled), so each escaped string's pieces are escaped once more
    ev = result
    yield b',"result":"{\\"id\\":\\"'
    yield ev["id"].encode()
    yield b'\\",\\"pubkey\\":\\"'
    yield ev["pubkey"].encode()
    yield b'\\",\\"created_at\\":'
    yield str(ev["created_at"]).encode()
    yield b',\\"kind\\":'
    yield str(ev["kind"]).encode()
    yield b',\\"tags\\":['
    first = True
    for tag in ev["tags"]:
        yield b'[' if first else b',['
        first = False
        sep = False
        for item in tag:
            if sep:
                yield b','
            sep = True
            for b in string_pieces(item):
                yield _esc(b)
        yield b']'
    yield b'],\\"content\\":'
    for b in string_pieces(ev["content"]):
        yield _esc(b)
    yield b',\\"sig\\":\\"'
    yield ev["sig"].encode()
    yield b'\\"}"}'


def _esc(b):
    b = bytes(b)
    if b'"' in b or b"\\" in b:
        b = b.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b
