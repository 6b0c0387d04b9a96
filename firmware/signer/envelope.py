# The kind-24133 envelope: who sent a request, is it fresh and new, what does it say;
# and the signed, encrypted response event.
#
# An event that fails any check here is unattributable (it may not come from the
# client its pubkey names, or it was already answered) and is dropped without a reply:
# replying would let anyone who can write to a relay or the USB link make the device
# emit signed events. (One exception: an admitted client's stale request, once its
# signature holds, is attributable and is refused in words.) Checks run cheapest first
# so junk costs little: shape, kind, p tag, age and replay horizon before the id hash,
# the id before the Schnorr verification, and that before the ECDH of decryption.
import json
import micropython
from binascii import hexlify, unhexlify
from crypto import nip01, nip44, secp256k1
from crypto.jsonspan import find as _find_at
from signer import rpc

KIND = 24133
# NIP-44 payloads longer than this (base64 chars; ~2 KB of text) are decrypted in place
# and their text handed on as a memoryview of the link's buffer (open_, rpc.parse)
BIG_B64 = 2900


class Drop(Exception):
    pass


# NIP-44 conversation keys of recent clients: an ECDH costs a point multiplication,
# and a client usually sends several requests. Secret-derived, so RAM only, bounded,
# and cleared when the key changes.
_CK = {}
_CK_MAX = 6
_grown = False  # an entry was added since the last settle()


def forget():
    _CK.clear()


def settle(high):
    # what secp256k1.settle does for its tables (app._settle); a new entry may also
    # have grown the dict's table, in the request: then the dict is made anew
    global _CK, _grown
    copy = False
    for k in _CK:
        if high(k) or high(_CK[k]):
            copy = True
            break
    if copy or _grown:
        d = {}
        for k in _CK:
            d[k[:] if copy else k] = _CK[k][:] if copy else _CK[k]
        _CK = d
    _grown = False


def conversation_key(sk, pub_hex):
    ck = _CK.get(pub_hex)
    if ck is None:
        if len(_CK) >= _CK_MAX:
            _CK.pop(next(iter(_CK)))
        ck = nip44.conversation_key(sk, unhexlify(pub_hex))
        global _grown
        _CK[pub_hex] = ck
        _grown = True
    return ck


@micropython.viper
def _b64_end(b: ptr8, i: int, n: int) -> int:
    # index of the '"' closing a base64 (NIP-44) or base64?iv=base64 (NIP-04) string
    # that starts at i, or -1 at any other character
    while i < n:
        c = b[i]
        if c == 0x22:
            return i
        if not ((c >= 65 and c <= 90) or (c >= 97 and c <= 122) or (c >= 48 and c <= 57)
                or c == 43 or c == 47 or c == 61 or c == 63):
            return -1
        i += 1
    return -1


_KEY = b'"content":'


def loads(raw):
    """json.loads of a host message (raw: memoryview of writable bytes), except that an
    event's base64 content stays in raw: ev["content"] is a memoryview of it, which
    nip01 hashes and nip44.decrypt decodes in place. The content is most of a large
    request; parsing it to a str would need a second block of its size.
    raw may also be a list of memoryviews (link.py's pieces): then the content is a
    tuple of memoryviews of them."""
    if type(raw) is list:
        return _loads_pieces(raw)
    n = len(raw)
    a = _find_at(raw, n, _KEY, len(_KEY), 0)
    if a < 0 or _find_at(raw, n, _KEY, len(_KEY), a + 1) >= 0:
        return json.loads(raw)
    a += len(_KEY)
    while a < n and raw[a] in b" \t\r\n":
        a += 1
    if a >= n or raw[a] != 0x22:
        return json.loads(raw)
    a += 1
    b = _b64_end(raw, a, n)
    if b < 0:
        return json.loads(raw)
    small = bytearray(n - (b - a))
    small[0:a] = raw[0:a]
    small[a:] = raw[b:]
    msg = json.loads(small)
    small = None
    ev = msg.get("event") if type(msg) is dict else None
    if type(ev) is not dict or ev.get("content") != "" or msg.get("t") != "event":
        return json.loads(raw)  # the key was not where we thought: the plain way
    ev["content"] = raw[a:b]
    return msg


@micropython.viper
def _b64_run(b: ptr8, i: int, n: int) -> int:
    # index of the first character from i on that cannot be in a NIP-44 or NIP-04
    # payload, or n
    while i < n:
        c = b[i]
        if not ((c >= 65 and c <= 90) or (c >= 97 and c <= 122) or (c >= 48 and c <= 57)
                or c == 43 or c == 47 or c == 61 or c == 63):
            return i
        i += 1
    return n


def _at(ps, p):
    # byte p of a message in pieces (all link.PIECE long but the last)
    c = len(ps[0])
    return ps[p // c][p % c]


def _cut(ps, i, j):
    # bytes i..j of a string in pieces, as one bytearray (only for a message's small
    # parts, or a NIP-04 payload)
    out = bytearray(j - i)
    o = 0
    k = 0
    base = 0
    while i < j:
        while i >= base + len(ps[k]):
            base += len(ps[k])
            k += 1
        take = min(j - i, base + len(ps[k]) - i)
        out[o:o + take] = ps[k][i - base:i - base + take]
        o += take
        i += take
    return out


def _hits(ps, pat):
    # positions of pat in a message in pieces, counting ones across a cut (up to 2)
    c = len(ps[0])
    m = len(pat)
    out = []
    for k in range(len(ps)):
        p = ps[k]
        i = _find_at(p, len(p), pat, m, 0)
        while i >= 0 and len(out) < 2:
            out.append(k * c + i)
            i = _find_at(p, len(p), pat, m, i + 1)
        if k + 1 < len(ps):
            a = max(0, len(p) - m + 1)
            w = _cut(ps, k * c + a, min(k * c + len(p) + m - 1, k * c + len(p) + len(ps[k + 1])))
            j = _find_at(w, len(w), pat, m, 0)
            if j >= 0 and a + j + m > len(p):
                out.append(k * c + a + j)
        if len(out) > 1:
            break
    return out


# the block link.py held for decoding the message in pieces being handled (open_ takes
# it; App.handle drops it after each message)
spare = None


def _loads_pieces(ps):
    # loads() of a message in pieces: the event's content becomes a tuple of memoryviews
    # of the pieces (nip01 hashes it as one string, nip44 decodes it into one buffer:
    # the spare one link.py allocated first, when there is one)
    global spare
    sp = ps.pop() if type(ps[-1]) is bytearray else None
    n = (len(ps) - 1) * len(ps[0]) + len(ps[-1])
    h = _hits(ps, _KEY)
    a = h[0] + len(_KEY) if len(h) == 1 else n
    while a < n and _at(ps, a) in b" \t\r\n":
        a += 1
    if a >= n or _at(ps, a) != 0x22:
        return json.loads(_cut(ps, 0, n))
    a += 1
    c = len(ps[0])
    b = a
    while b < n:
        k = b // c
        b = k * c + _b64_run(ps[k], b % c, len(ps[k]))
        if b < k * c + len(ps[k]):
            break
    if b >= n or _at(ps, b) != 0x22:
        return json.loads(_cut(ps, 0, n))
    small = _cut(ps, 0, a)
    small.extend(_cut(ps, b, n))
    msg = json.loads(small)
    small = None
    ev = msg.get("event") if type(msg) is dict else None
    if type(ev) is not dict or ev.get("content") != "" or msg.get("t") != "event":
        return json.loads(_cut(ps, 0, n))
    parts = []
    i = a
    while i < b:
        k = i // c
        j = min(b, k * c + len(ps[k]))
        parts.append(ps[k][i - k * c:j - k * c])
        i = j
    ev["content"] = tuple(parts)
    spare = sp  # only for an event with a payload to decode: App.handle drops it after
    return msg


def nip04_module():
    # NIP-04 (and its AES) is imported the first time a client speaks it: most never do,
    # and its code would otherwise sit in the heap for nothing
    from crypto import nip04
    return nip04


def _p_tagged(tags, who):
    for t in tags:
        if len(t) >= 2 and t[0] == "p" and t[1] == who:
            return True
    return False


def check_head(ev, signer_hex, now, max_age, max_future, seen, clients):
    """check() without the id and signature, which need the content (signer/oversize.py
    takes a request in pieces and checks those as the content arrives). -> stale."""
    try:
        nip01.validate(ev, True)
    except ValueError:
        raise Drop("invalid event")
    if ev["kind"] != KIND:
        raise Drop("wrong kind")
    if not _p_tagged(ev["tags"], signer_hex):
        raise Drop("wrong p tag")
    if not now:
        raise Drop("no time")
    ca = ev["created_at"]
    admitted = ev["pubkey"] in clients
    stale = ca < now - max_age
    if stale and not admitted:
        raise Drop("stale")  # a stranger's: not worth a decryption
    if ca > now + max_future:
        raise Drop("from the future")
    # one created at or before the replay horizon may have been answered and pushed out
    # of the ring, or be new: told apart, or answered "busy", once its request id is
    # read (signer/replay.py add, signer/requests.py), never dropped unanswered here
    return stale


def check(ev, signer_hex, now, max_age, max_future, seen, clients):
    """Raise Drop(reason) unless ev is a new, well-signed request to signer_hex, fresh or
    from an admitted client (in clients). seen: replay.Seen (the request id is
    checked once decrypted: requests.py). -> None for a stranger's;
    for an admitted client's, True if fresh, False if stale: a request the client
    really sent, refused in words (the caller's job) rather than left to time out."""
    stale = check_head(ev, signer_hex, now, max_age, max_future, seen, clients)
    if nip01.event_id(ev) != ev["id"]:
        raise Drop("bad id")
    if not secp256k1.schnorr_verify(unhexlify(ev["id"]), unhexlify(ev["pubkey"]), unhexlify(ev["sig"])):
        raise Drop("bad signature")
    # its request's key goes in (requests.py) only now the signature holds, so forged
    # events cannot evict real ones; and in the ring of who really sent it
    admitted = ev["pubkey"] in clients
    seen.add(None, ev["created_at"], admitted, now - max_age)
    return (not stale) if admitted else None


def open_(sk, ev):
    """Decrypt the request body -> (text, scheme); NIP-04 when the content looks like it.
    text is a str, or for a big NIP-44 request still in the link's buffer a memoryview
    of its UTF-8 bytes there. (requests.py then checks it is strict UTF-8.)"""
    content = ev["content"]
    try:
        if type(content) is tuple:  # in the link's pieces (loads())
            if b"?iv=" not in _tail(content):
                global spare
                into, spare = spare, None
                return nip44.decrypt_mv(content, conversation_key(sk, ev["pubkey"]), into), "nip44"
            global spare
            spare = None  # NIP-04 decrypts from a str: the block set aside is not used
            b = _cut(content, 0, sum([len(p) for p in content]))
            ev["content"] = content = None  # the pieces are garbage once joined
            content = str(b, "ascii")
            b = None
        if type(content) is memoryview:  # left in the link's buffer by loads()
            if b"?iv=" not in bytes(content[-28:]):
                ck = conversation_key(sk, ev["pubkey"])
                if len(content) > BIG_B64:
                    # decrypted where it lies: rpc.parse reads the text from the buffer
                    return nip44.decrypt_mv(content, ck), "nip44"
                return nip44.decrypt(content, ck), "nip44"
            content = str(content, "ascii")
        if "?iv=" in content:
            nip04 = nip04_module()
            if nip04.is_nip04(content):
                return nip04.decrypt(sk, unhexlify(ev["pubkey"]), content), "nip04"
        return nip44.decrypt(content, conversation_key(sk, ev["pubkey"])), "nip44"
    except MemoryError:
        raise
    except Exception:
        raise Drop("undecryptable")


def _tail(ps):
    # the last 28 bytes of a string in pieces
    t = b""
    for p in reversed(ps):
        t = bytes(p[-28:]) + t
        if len(t) >= 28:
            break
    return t[-28:]


def seal(sk, signer_hex, client_hex, text, scheme, now):
    """The signed kind-24133 response carrying text to client_hex, in the request's scheme."""
    if scheme == "nip04":
        content = nip04_module().encrypt(sk, unhexlify(client_hex), text)
    else:
        content = nip44.encrypt(text, conversation_key(sk, client_hex))
    text = None
    return nip01.sign({"pubkey": signer_hex, "created_at": now, "kind": KIND,
                       "tags": [["p", client_hex]], "content": content}, sk)


def seal_response(sk, signer_hex, client_hex, rid, result, error, scheme, now):
    """seal() of rpc.response(rid, result, error), without ever building the response
    text in NIP-44: rpc.response_pieces is counted, then copied straight into the payload
    buffer (nip44.seal_b64), and the event carries that buffer as its content; a big one
    is encrypted as it is read (nip44.seal_stream). Every stage is a loop pulling pieces
    from the one before, so the depth under the link's writes is fixed: a 16 KB signed
    event as result costs no buffer of its size and no deeper stack than a pong."""
    if scheme == "nip04":
        return seal(sk, signer_hex, client_hex, rpc.response(rid, result, error), scheme, now)
    n = 0
    for b in rpc.response_pieces(rid, result, error):
        n += len(b)
    # a big one is made again each time it is read (nip01 hashes it, link.py sends it):
    # after a big request the heap may have no room for a block of its size
    put_b64 = nip44.seal_stream if n > 1024 else nip44.seal_b64
    content = put_b64(conversation_key(sk, client_hex), n,
                      lambda: rpc.response_pieces(rid, result, error))
    return nip01.sign_own({"pubkey": signer_hex, "created_at": now, "kind": KIND,
                           "tags": [["p", client_hex]], "content": content}, sk)


def pub_hex(sk):
    return hexlify(secp256k1.pubkey(sk)).decode()
