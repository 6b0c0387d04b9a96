# Requests too big to take whole over the link come as a stream (issue 10, 4): the
# bridge sends "big" then "more" messages (below); the device hashes the id and the MAC
# as the base64 arrives and keeps only the decoded ciphertext, in one block the size of
# the request's text, decrypted there once the id, signature and MAC hold; from there
# it is handled as any request (requests.on_event). When even that block does not fit:
# Requests too big to hold are still answered (issue 10, 3): "too large", with their
# own request id, read from the first piece of the decrypted stream, and only once the
# NIP-44 MAC over the whole stream checks out (before that, nothing in it is trusted).
# Two ways in:
# - the bridge sends a request event the device refused whole in pieces: "big" (the
#   event without its content, and the content's length), then "more" messages of
#   base64 (the last with "end"). Its id is hashed, its MAC checked and its head
#   decrypted as it arrives, in a few hundred bytes of heap;
# - one that arrived whole, but whose decryption found no room: requests.on_event.
# - one that arrived whole, but left no room to check or answer it: asked for in
#   pieces (done with "pieces": the bridge sends it again the first way).
# NIP-04 has no MAC: there the event's id and signature, over the whole content, are
# what make its first blocks authentic (Head04), so they are decrypted only once both
# hold; such a request is always answered "too large" (it is never taken as a stream).
# Loaded only for these (app.py), then dropped.
import binascii
import gc
from binascii import hexlify, unhexlify
from crypto import kdf, nip01, nip44, secp256k1
from crypto.chacha20 import chacha20_xor
from signer import envelope, rpc, replay
from signer.envelope import Drop
from signer.rpc import Refuse, STREAM  # STREAM: what a "more" message carries at most

HEAD = 384  # plaintext bytes kept from the start: the request id is among the first
# free heap a request taken as a stream must leave beside its block: the "more"
# messages still to come, and the request's handling and answer (measured at 128K: a
# block leaving 16 KB made the next "more" fail, unanswered)
ROOM = 20 * 1024


class Peek:
    """The NIP-44 payload, fed as base64 pieces: MAC and head, never the whole."""

    def __init__(self, ck, into=None):
        self.ck = ck
        self.into = into     # a block for the whole body (Stream), or None: the head only
        self.o = 0           # body bytes in it
        self.carry = b""     # base64 characters short of a 4-character group
        self.pre = b""       # version and nonce, until all 33 bytes are in
        self.h = None        # HMAC's inner hash, once the nonce is known
        self.hold = b""      # the last 32 decoded bytes: the MAC when the stream ends
        self.head = bytearray()  # the first HEAD ciphertext bytes

    def feed(self, b64):
        s = self.carry + bytes(b64)
        k = len(s) // 4 * 4
        self.carry = s[k:]
        if not k:
            return
        try:
            d = binascii.a2b_base64(s[0:k])
        except ValueError:
            raise Drop("undecryptable")
        if self.h is None:
            need = 33 - len(self.pre)
            self.pre += d[0:need]
            d = d[need:]
            if len(self.pre) < 33:
                return
            if self.pre[0] != 2:
                raise Drop("undecryptable")
            nonce = self.pre[1:33]
            self.ck, self.cn, hk = nip44.message_keys(self.ck, nonce)
            ipad, self.opad = kdf._pads(hk)
            self.h = kdf.sha256(ipad)
            self.h.update(nonce)
        d = self.hold + d
        self.hold = d[-32:]
        body = d[0:len(d) - 32] if len(d) > 32 else b""
        self.h.update(body)
        if self.into is not None:
            o = self.o
            if o + len(body) > len(self.into):
                raise Drop("invalid event")
            self.into[o:o + len(body)] = body
            self.o = o + len(body)
        elif len(self.head) < HEAD:
            self.head += body[0:HEAD - len(self.head)]

    def finish(self):
        """-> the plaintext's first bytes (str), or Drop unless the MAC holds."""
        if self.into is not None:
            b = self.plain()
            return _text(bytes(b[0:HEAD]))
        self._mac()
        head = self.head
        chacha20_xor(self.ck, self.cn, head, 0, head)
        return _text(head[6 if head[0] == 0 and head[1] == 0 else 2:])

    def plain(self):
        """With a block for the body: -> the whole plaintext, decrypted in it (a
        memoryview of its UTF-8), once the MAC holds and the padding is right."""
        self._mac()
        mv = memoryview(self.into)[0:self.o]
        chacha20_xor(self.ck, self.cn, mv, 0, mv)
        n = (mv[0] << 8) | mv[1] if self.o >= 2 else 0
        # the u16 form only: a request is far below 64 KB (the extended form is for more)
        if n < 1 or self.o != 2 + nip44.padded_len(n):
            raise Drop("undecryptable")
        return mv[2:2 + n]

    def _mac(self):
        held = self.o if self.into is not None else len(self.head)
        if self.carry or self.h is None or len(self.hold) < 32 or held < 32:
            raise Drop("undecryptable")
        o = kdf.sha256(self.opad)
        o.update(self.h.digest())
        mac = o.digest()
        diff = 0
        for i in range(32):
            diff |= mac[i] ^ self.hold[i]
        if diff:
            raise Drop("undecryptable")


class Head04:
    """A NIP-04 content ("base64(ciphertext)?iv=base64(iv)"), fed as pieces: the base64
    of its first HEAD ciphertext bytes and its last 28 characters, never the whole."""

    def __init__(self):
        self.head = bytearray()
        self.tail = b""
        self.n = 0

    def feed(self, s):
        k = HEAD * 4 // 3 - len(self.head)
        if k > 0:
            self.head += s[0:k]
        self.tail = (self.tail + bytes(s[len(s) - 28 if len(s) > 28 else 0:]))[-28:]
        self.n += len(s)

    def is04(self):
        return len(self.tail) == 28 and self.tail[0:4] == b"?iv="

    def finish(self, sk, pub_hex):
        """-> the plaintext's first bytes (str). Only for an event whose id and
        signature held: nothing else vouches for a NIP-04 ciphertext."""
        from crypto import aes
        from crypto.nip44 import _b64_ok
        from crypto.secp256k1 import ecdh_x
        # whole 3-block groups of the ciphertext's base64, "?iv=" and what follows aside
        k = min(len(self.head), self.n - 28) // 64 * 64
        head = self.head
        iv = self.tail[4:]
        if k < 64 or not _b64_ok(head, k) or not _b64_ok(iv, 24):
            raise Drop("undecryptable")
        ct = binascii.a2b_base64(memoryview(head)[0:k])
        iv = binascii.a2b_base64(iv)
        if len(iv) != 16:
            raise Drop("undecryptable")
        return _text(aes.cbc_decrypt(ecdh_x(sk, unhexlify(pub_hex)), iv, ct))


def _text(b):
    for cut in range(4):  # the head may end inside a character
        try:
            return str(b[0:len(b) - cut], "utf-8")
        except UnicodeError:
            pass
    raise Drop("invalid request")


def answer(a, rid, client, text, t0, scheme="nip44"):
    """Refuse the request "too large" under its own id; text: its authentic first bytes."""
    req_id = rpc._scan_id(text)
    if req_id is None:
        raise Drop("invalid request")
    if a.seen_ev.add(replay.key((client + req_id).encode())) is False:  # None: "too large" anyway
        raise Drop("replayed")
    a._refuse({"rid": rid, "client": client, "scheme": scheme, "t0": t0, "id": req_id,
               "method": None, "kind": None}, Refuse("too large"))


def too_large(a, rid, ev, held, client, t0, scheme, checked):
    """A request the heap could not check, decrypt or parse, though it arrived whole.
    ev: the event (its content where it lies), checked: its id and signature held;
    held: [its decrypted body] once decryption went through (MAC checked). Refused
    "too large" under its own id; when even that finds no room beside the content it
    is asked for in pieces (the bridge sends it as "big" and "more": on()), which need
    a few hundred bytes; dropped (logged) only when its id cannot be read at all."""
    head = None
    if type(ev) is not dict:
        ev = None
    try:
        text = held.pop() if held else None
        if text is not None and client:
            head = text[0:HEAD] if type(text) is str else _text(bytes(memoryview(text)[0:HEAD]))
            text = None
        else:
            text = None
            client = None
            head, scheme = _peek(a, ev, checked)
            client = ev["pubkey"]
    except MemoryError:
        text = head = None
        if ev:
            ev["content"] = None
        gc.collect()
        if ev:
            # nothing of it was read as a request yet (its request id is not in the
            # replay ring): the pieces path answers it
            return a._done(rid, "too large: asked for in pieces", client, None, None,
                           a._since(t0), pieces=True)
        return a._done(rid, "dropped: too large", client, None, None, a._since(t0))
    except Drop as e:
        return a._done(rid, "dropped: " + e.args[0], client, None, None, a._since(t0))
    try:
        answer(a, rid, client, head, t0, scheme)
    except (Drop, MemoryError) as e:
        head = None
        gc.collect()
        a._done(rid, "dropped: " + (e.args[0] if type(e) is Drop else "too large"),
                client, None, None, a._since(t0))


def _peek(a, ev, checked):
    """(the authentic first bytes of ev's body, its scheme), read where the content
    lies; then the content is let go (its pieces are most of the heap)."""
    if not ev:
        raise Drop("too large")
    c = ev["content"]
    pieces = c if type(c) is tuple else (c,)
    c = None
    h04 = Head04()
    for piece in pieces:
        h04.feed(memoryview(piece))
    if not checked:
        # the block set aside for its decryption is no use now: room for the check
        envelope.spare = None
        gc.collect()
        envelope.check(ev, a.pubhex, a.now(), a.cfg.get("max_age_s", 300),
                       a.cfg.get("max_future_s", 60), a.seen_ev, a.clients)
    if h04.is04():
        ev["content"] = pieces = piece = None
        gc.collect()
        return h04.finish(a.sk, ev["pubkey"]), "nip04"
    h04 = None
    p = Peek(envelope.conversation_key(a.sk, ev["pubkey"]))
    for piece in pieces:
        mv = memoryview(piece)
        for i in range(0, len(mv), 1024):
            p.feed(mv[i:i + 1024])
    ev["content"] = pieces = piece = mv = None
    gc.collect()  # the answer is signed and encrypted in what the content held
    return p.finish(), "nip44"


def on(a, msg):
    """A "big" or "more" message from the bridge."""
    t0 = a._ticks()
    rid = msg.get("rid")
    b = getattr(a, "big", None)
    client = None
    try:
        if msg.get("t") == "big":
            a.big = None
            client = _begin(a, msg, t0)
            return
        if b is None or b["rid"] != rid:
            raise Drop("no big request")
        client = b["ev"]["pubkey"]
        data = msg.get("data")
        if type(data) is not str:
            raise Drop("invalid event")
        data = data.encode()  # base64 (else the MAC fails): hashed as the id hashes it
        msg["data"] = None  # (held by the caller while the request is handled below)
        b["got"] += len(data)
        if b["got"] > b["n"]:
            raise Drop("invalid event")
        b["h"].update(data)
        if b["peek"] is not None:
            try:
                b["peek"].feed(data)
            except Drop:
                b["peek"] = None  # not NIP-44 (NIP-04 is told at the end), or broken
        b["h04"].feed(data)
        data = None
        if not msg.get("end"):
            return
        a.big = None
        ev = b["ev"]
        b["h"].update(b'"]')
        if b["got"] != b["n"] or hexlify(b["h"].digest()).decode() != ev["id"]:
            raise Drop("bad id")
        if not secp256k1.schnorr_verify(unhexlify(ev["id"]), unhexlify(client), unhexlify(ev["sig"])):
            raise Drop("bad signature")
        admitted = client in a.clients
        a.seen_ev.add(None, ev["created_at"], admitted, a.now() - a.cfg.get("max_age_s", 300))
        if b["h04"].is04():
            b["peek"] = None
            return answer(a, b["rid"], client, b["h04"].finish(a.sk, client), b["t0"], "nip04")
        p = b["peek"]
        if p is None:
            raise Drop("undecryptable")
        if p.into is None:
            return answer(a, b["rid"], client, p.finish(), b["t0"])
        # decrypted whole in its one block: handled as any request from here on (the
        # envelope's checks are done: id, signature, MAC; the replay ring has its time)
        text = p.plain()
        p = b["peek"] = None
        stale = b["stale"]
        b = None
        from signer import requests
        requests.on_event(a, {"t": "event", "rid": rid, "event": ev},
                          (text, (not stale) if admitted else None))
    except Drop as e:
        a.big = None
        a._done(rid, "dropped: " + e.args[0], client, None, None, a._since(t0))


def _begin(a, msg, t0):
    ev = msg.get("event")
    n = msg.get("n")
    if a.sk is None:
        raise Drop("locked" if a.locked else "no key")
    if type(ev) is not dict or type(n) is not int or n < 132 or "content" in ev:
        raise Drop("invalid event")
    if ev.get("pubkey") == a.pubhex:
        raise Drop("own key")
    ev["content"] = ""
    stale = envelope.check_head(ev, a.pubhex, a.now(), a.cfg.get("max_age_s", 300),
                                a.cfg.get("max_future_s", 60), a.seen_ev, a.clients)
    ca = ev["created_at"]
    h = kdf.sha256(nip01.serialize(ev["pubkey"], ca, ev["kind"], ev["tags"], "")[0:-2])
    del ev["content"]
    # the whole body in one block, decrypted there once every check holds (issue 10, 4:
    # the request's one copy; its base64 is never held): when the heap has it, and for
    # a request no larger than rpc.parse reads in place; else its head only, for the
    # "too large" answer
    into = None
    body = n // 4 * 3 - 65  # payload less version, nonce and MAC (base64 "=" aside)
    if n % 4 == 0 and 0 < body <= rpc.MAX_IN_PLACE + 2:
        import gc
        gc.collect()
        try:
            into = bytearray(body)
            if gc.mem_free() < ROOM:
                into = None  # it would leave no room to take the rest, or to answer it
        except MemoryError:
            pass
    a.big = {"rid": msg.get("rid"), "ev": ev, "n": n, "got": 0, "h": h, "t0": t0, "stale": stale,
             "peek": Peek(envelope.conversation_key(a.sk, ev["pubkey"]), into), "h04": Head04()}
    return ev["pubkey"]
