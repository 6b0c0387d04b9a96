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
# NIP-04 has no MAC to check a stream with: such a request is dropped, as before.
# Loaded only for these (app.py), then dropped.
import binascii
import gc
from binascii import hexlify, unhexlify
from crypto import kdf, nip01, nip44, secp256k1
from crypto.chacha20 import chacha20_xor
from signer import envelope, rpc, replay
from signer.envelope import Drop
from signer.rpc import Refuse

HEAD = 384  # plaintext bytes kept from the start: the request id is among the first
STREAM = 2048  # base64 characters a "more" message carries at most (said in hello)


class Peek:
    """The NIP-44 payload, fed as base64 pieces: MAC and head, never the whole."""

    def __init__(self, ck):
        self.ck = ck
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
        if len(self.head) < HEAD:
            self.head += body[0:HEAD - len(self.head)]

    def finish(self):
        """-> the plaintext's first bytes (str), or Drop unless the MAC holds."""
        if self.carry or self.h is None or len(self.hold) < 32 or len(self.head) < 32:
            raise Drop("undecryptable")
        o = kdf.sha256(self.opad)
        o.update(self.h.digest())
        mac = o.digest()
        diff = 0
        for i in range(32):
            diff |= mac[i] ^ self.hold[i]
        if diff:
            raise Drop("undecryptable")
        head = self.head
        chacha20_xor(self.ck, self.cn, head, 0, head)
        return _text(head[6 if head[0] == 0 and head[1] == 0 else 2:])


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
    if a.seen_req.add(replay.key((client + req_id).encode())) is False:  # None: "too large" anyway
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
            head = _peek(a, ev, checked)
            client = ev["pubkey"]
    except MemoryError:
        text = head = None
        if ev:
            ev["content"] = None
        gc.collect()
        if ev and scheme != "nip04":
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
    """The authentic first bytes of ev's NIP-44 body, read where the content lies; then
    the content is let go (its pieces are most of the heap)."""
    if not ev:
        raise Drop("too large")
    c = ev["content"]
    pieces = c if type(c) is tuple else (c,)
    c = None
    if b"?iv=" in bytes(memoryview(pieces[-1])[-28:]):
        raise Drop("too large")  # NIP-04: nothing to check a stream with
    if not checked:
        # the block set aside for its decryption is no use now: room for the check
        envelope.spare = None
        gc.collect()
        envelope.check(ev, a.pubhex, a.now(), a.cfg.get("max_age_s", 300),
                       a.cfg.get("max_future_s", 60), a.seen_ev, a.clients)
    p = Peek(envelope.conversation_key(a.sk, ev["pubkey"]))
    for piece in pieces:
        mv = memoryview(piece)
        for i in range(0, len(mv), 1024):
            p.feed(mv[i:i + 1024])
    ev["content"] = pieces = piece = mv = None
    gc.collect()  # the answer is signed and encrypted in what the content held
    return p.finish()


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
        b["got"] += len(data)
        if b["got"] > b["n"]:
            raise Drop("invalid event")
        b["h"].update(data)
        b["peek"].feed(data)
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
        answer(a, b["rid"], client, b["peek"].finish(), b["t0"])
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
    envelope.check_head(ev, a.pubhex, a.now(), a.cfg.get("max_age_s", 300),
                        a.cfg.get("max_future_s", 60), a.seen_ev, a.clients)
    ca = ev["created_at"]
    h = kdf.sha256(nip01.serialize(ev["pubkey"], ca, ev["kind"], ev["tags"], "")[0:-2])
    del ev["content"]
    a.big = {"rid": msg.get("rid"), "ev": ev, "n": n, "got": 0, "h": h, "t0": t0,
             "peek": Peek(envelope.conversation_key(a.sk, ev["pubkey"]))}
    return ev["pubkey"]
