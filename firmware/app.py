# The signer app: every NIP-46 request, from the event the host hands over to the
# signed response it hands back, happens here on the device (see DESIGN.md, the trust
# line). The host is a courier: it gives us whole kind-24133 events and the time, and
# publishes what we send; it cannot press buttons.
#
# Per request, as on a Coldcard (signer/requests.py): envelope -> decrypt -> parse ->
# classify -> (summary on screen -> button) -> operate -> encrypt, sign and publish the
# response -> `done` log line, one prompt at a time. This file keeps the state (keys,
# clients, queue, clock), the screen and buttons, replies, and the host interface.
#
# Messages to the host carry no plaintext and never the key. The key is read from
# flash at start and kept only in this object.
#
# Keys (keystore/ids.py): several identities, one active; its directory (id_root)
# holds its clients. With a PIN the keys are only in the vault: the device starts
# locked (sk None, the public key known), answers every request "locked" and shows
# the PIN flow (ui/pin.py); with no key at all it shows the first-boot flow
# (ui/setup.py).
#
# Memory: on the unix port code lives in the same 128 KB heap as the data, so the
# rare paths (nostrconnect pairing, provisioning: signer/pairing.py) are imported when
# needed and dropped after (_lazy/_drop). The bunker `connect` is common enough (and
# comes while clients wait) to stay resident.
import gc
import sys
import time
from binascii import unhexlify
from crypto import secp256k1, bech32
from keystore import store
from signer import envelope, methods, clients as cl, replay, requests
from signer.rpc import Refuse, STREAM

FW = "0.1.0"
PROTO = 1
# presses this soon after any prompt came up are ignored, so a double press cannot
# approve a request the person has not seen: not one that was waiting, nor one the host
# hands over the instant it sees the last `done` (issue 11)
GUARD_MS = 400
# rare host requests handled by signer/pairing.py; "relays": the host proposes the
# device's own relay list, kept once the person approves it
_PAIRING = ("nostrconnect", "provision", "relays")
_KINDS = ("ui.kinds", "ui.kinds_more", "ui.kinds_follows")  # sign_event prompts' summaries
_PRELOAD = ("ui.screens", "signer.admin", "signer.auth", "signer.audit", "signer.perms", "crypto.jsontags", "crypto.nip04", "crypto.aes")
# what signer/audit.py logs: what uses the key, and who gets admitted or leaves
_AUDITED = methods.KEYED + ("connect", "logout", "switch_relays")


def _npub(pub):
    # what crypto.nip19.npub returns, without keeping NIP-19's TLV code resident
    return bech32.encode("npub", pub)


def _draw(display, lines):
    # ui.screens.draw, for the idle screen
    fb = display.fb
    fb.fill(0)
    for i in range(min(len(lines), 8)):
        fb.text(lines[i], 0, i * 8, 1)
    display.show(lines)


def _has(name):
    # is module `name` shipped? (a trimmed build may leave optional screens out)
    try:
        _lazy(name)
        return True
    except ImportError:
        return False


# modules imported lazily so far (see _lazy)
_imported = {}


def _lazy(name):
    m = sys.modules.get(name)
    if m is not None:
        return m
    if name not in _imported:
        # A first import interns the module's path and new names for good (the qstr
        # pools: never freed). Made in a request, at the frontier of its garbage, they
        # cut the big free block (at 128K 20 KB -> 7 KB, and a 100-follow list no longer
        # fitted); after a collection they take the lowest holes
        gc.collect()
        __import__(name)
        _imported[name] = True
    else:
        __import__(name)
    return sys.modules[name]


def _drop(name):
    # forget a lazily imported module so its code can be collected
    pkg, leaf = name.split(".")
    try:
        sys.modules.pop(name, None)
        delattr(sys.modules[pkg], leaf)
    except (KeyError, AttributeError):
        return  # not loaded
    except MemoryError:
        # seen at 128 KB in the pop: the module stays loaded until the next drop, and
        # what is garbage now is freed for the request this tidies after
        gc.collect()


# signer/requests.py loads and drops the rare modules this way too: given them here, it
# needs no import of this module (which imports it)
requests.lazy = _lazy
requests.drop = _drop


class App:
    types = ("event", "nostrconnect", "provision", "status", "auth", "relays", "big", "more")  # main.py dispatches these
    pieces = True  # loads() reads a big message in the link's pieces (link.PIECE)
    keep_free = 20 * 1024  # else it is refused whole and comes as a stream (link.py)

    def __init__(self, board, send):
        self.board = board
        self.send = send
        self.cfg = board.config
        self.root = board.storage  # the device's settings; id_root: the active identity's
        store.ensure_dir(self.root)
        secp256k1.set_rng(board.rng)
        self.vsess = None  # the unlocked PIN vault's keys (keystore/vault.py), if a PIN is set
        sk, pub = _lazy("keystore.ids").boot(self)  # sets id_n, id_root
        _drop("keystore.ids")
        _drop("keystore.vault")
        self.clients, self.conf = cl.load(self.root, self.cfg.get("relays", ("ws://127.0.0.1:7777",)), board.rng,
                                          self.id_root)
        self._set_key(sk, pub)
        sk = None
        # the answered requests and the clock, kept across restarts (signer/replay.py)
        self.seen_ev = replay.Seen(self.root)  # events, and request ids once decrypted
        self.queue = []  # prompts; queue[0] is on screen
        # a full-screen flow (menu, first-boot setup, PIN entry): (module, state). It owns
        # the screen and the buttons while no prompt is up; a prompt takes over and the
        # flow comes back once the queue is empty. See open_flow.
        self.flow = None
        self.scroll = 0
        self.unsettled = False
        self.redraw()
        # The bottom of the free heap once up (a fresh block goes to the lowest hole
        # that fits): what a request leaves behind for good above this (plus some room)
        # is copied down after it by _settle.
        # Intern now, while the heap is compact, the names of the code loaded on demand:
        # names stay interned for good once seen, and the chunks holding them would
        # otherwise be allocated during a request, in the middle of the free heap.
        for m in _PRELOAD:
            _lazy(m)
            _drop(m)
        # Indexing or iterating a str interns each ASCII letter the first time it is met
        # (one-character strings are qstrs), for good. Which ones a request meets
        # depends on its data (a random key's npub, base64), so they were interned at
        # random points, in the middle of the free heap: all 52 now
        for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ":
            pass
        gc.collect()
        for n in (8192, 4096, 1024):
            try:
                self.low = id(bytearray(n)) + 4096
                break
            except MemoryError:
                pass
        # the client records loaded at boot sit above the holes their own JSON left:
        # not to be copied down after each request (the copies went into the big block)
        c = self.clients
        for k in c:
            self.low = max(self.low, id(k), id(c[k]))
        c = None
        # key tables and conversation keys for as many clients as the heap allows
        envelope._CK_MAX = secp256k1.size_caches(gc.mem_free()) + 4
        # locked: the PIN; no key yet: the first-boot set-up (when shipped)
        if self.locked:
            self.open_flow("ui.pin", "unlock")
        elif self.sk is None and _has("ui.setup"):
            self.open_flow("ui.setup")

    # ---- time ----------------------------------------------------------------------

    def _ticks(self):
        return self.board.ticks_ms()

    def _since(self, t):
        return time.ticks_diff(self.board.ticks_ms(), t)

    def now(self):
        """Unix seconds as the device believes them; 0 before the host told us."""
        return self.seen_ev.now(self._ticks())

    def _feed_time(self, t):
        # monotonic, above the floor kept on flash, no wild jumps (signer/replay.py)
        if self.seen_ev.update(t, self._ticks()):
            self.redraw()

    def _set_key(self, sk, pub=None):
        # pub without sk: locked (pub "" when the vault doesn't say which key it holds)
        envelope.forget()
        self.sk = sk
        self.locked = sk is None and pub is not None
        self.pubhex = envelope.pub_hex(sk) if sk else (pub or None)
        self.npub = _npub(unhexlify(self.pubhex)) if self.pubhex else None

    def _set_identity(self, n, d, sk):
        """Identity n (data in directory d) with key sk becomes the active one (called
        by keystore/ids.py). A host that knew another public key gets a new hello:
        the bridge takes it as a restart and subscribes for the new key."""
        old = self.pubhex
        was_locked = self.locked
        self.id_n = n
        self.id_root = d
        self.clients = None
        self.clients = cl.load_clients(d)
        self._set_key(sk)
        # and on unlock, so the host stops saying "locked"
        if self.pubhex and (self.pubhex != old or (was_locked and not self.locked)):
            h = self.hello()
            h["t"] = "hello"
            self.send(h)

    # ---- the interface main.py calls -----------------------------------------------

    def loads(self, raw):
        # a large message: its event's content stays in the link's buffer (or pieces)
        envelope.spare = None  # a block left by a message that never reached handle()
        return envelope.loads(raw)

    def hello(self):
        # no bunker secret: the host would pair a key of its own with it ("secret ok");
        # it is shown only in the device's own QR (ui/menu_pair.py)
        return {"proto": PROTO, "fw": FW, "board": self.board.name, "pubkey": self.pubhex,
                "relays": self.conf["relays"], "features": ["auth"],
                "locked": self.locked,
                "limits": {"max_frame": 512, "max_message": self.cfg.get("max_message", 65536), "stream": STREAM,
                           "queue": requests.QUEUE_MAX}}

    def handle(self, msg):
        t = msg.get("t")
        if "now" in msg:
            self._feed_time(msg["now"])
        if self.locked and t in ("nostrconnect", "provision", "auth"):
            # nothing that needs (or replaces) the key until the PIN is entered
            return self._done(msg.get("rid"), "dropped: locked", None, "connect" if t == "nostrconnect" else t,
                              22242 if t == "auth" else None, 0)
        if t == "event":
            try:
                requests.on_event(self, msg)
            finally:
                envelope.spare = None  # unused when the event was dropped before decryption
        elif t == "status":
            gc.collect()  # the free heap as it is, before admin's code and its probe take any
            m = gc.mem_free()
            _lazy("signer.admin").status(self, msg, m)
            self._tidy()
        elif t == "auth":  # NIP-42 for our relays: signer/auth.py, loaded for it and dropped
            _lazy("signer.auth").auth(self, msg)
            _drop("signer.auth")
        elif t in ("big", "more"):  # a request sent in pieces: signer/oversize.py
            _lazy("signer.oversize").on(self, msg)
            if getattr(self, "big", None) is None:
                _drop("signer.oversize")
        elif t in _PAIRING:
            getattr(_lazy("signer.pairing"), t)(self, msg)
            self._tidy()
        else:
            self.send({"t": "error", "rid": msg.get("rid"), "error": "invalid message: unknown t"})

    def press(self, button):
        if not self.queue and self.flow is None and self.seen_ev.lines:
            self.seen_ev.lines = None  # seen on the idle screen
            self.redraw()
        if not self.queue:
            if self.flow is not None:
                m, st = self.flow
                st = m.press(self, st, button)
                if st is None:
                    self.close_flow()
                elif self.flow is not None and self.flow[0] is m:
                    self.flow = (m, st)
                self.redraw()
            elif button == "approve" and self.locked:
                self.open_flow("ui.pin", "unlock")
            elif button == "approve" and self.npub and _has("ui.menu"):
                # idle: hold right opens the menu
                self.open_flow("ui.menu")
            elif button == "approve" and self.sk is None and _has("ui.setup"):
                self.open_flow("ui.setup")
            return
        item = self.queue[0]
        if button == "up" or button == "down":
            self.scroll = max(0, min(self.scroll + (1 if button == "down" else -1), item.get("smax", 0)))
            self.redraw()
        elif self._since(item["shown"]) < GUARD_MS:
            return
        elif button == "approve" or button == "reject":
            requests.resolve(self, button)
        elif button == "long-approve":
            requests.resolve(self, "always")

    def open_flow(self, name, *args):
        """Give the screen and buttons to module `name` (ui/...): start(app, *args) ->
        state; press(app, state, button) -> state, or None when done; draw(app, state)
        -> list of lines (or None when it drew the display itself). The module is loaded
        now and dropped when the flow ends, so no flow's code stays resident."""
        if self.flow is not None:
            self.close_flow()
        m = _lazy(name)
        self.flow = (m, None)
        st = m.start(self, *args)
        if self.flow is not None and self.flow[0] is m:
            self.flow = (m, st)
        self.redraw()

    def close_flow(self):
        if self.flow is not None:
            name = self.flow[0].__name__
            self.flow = None
            _drop(name)
            gc.collect()
        self.redraw()

    def tick(self):
        self.seen_ev.tick(self._ticks())
        if self.unsettled and not self.queue:
            # here, once nothing of the message is alive: under the request's frames (in
            # _tidy) its buffers still held the bottom of the heap, the copies went into
            # the big block, and it stayed cut (after a streamed 8 KB nip44_encrypt at
            # 128K with 10 clients the largest block at rest was 22 KB, not 36)
            self.unsettled = False
            # first, so that the copies below and the screen's lines take the lowest
            # holes: without it they go to the frontier of the request's garbage, which
            # is high in the heap (no collection runs until an allocation fails)
            gc.collect()
            self._settle()
            # the screen's lines too (a display keeps the last ones): drawn during the
            # request they sat in the middle of the free heap (94 KB -> 58 KB at 192K
            # after a 500-follow prompt)
            self.redraw()
        if self.queue and time.ticks_diff(self._ticks(), self.queue[0]["deadline"]) >= 0:
            requests.resolve(self, "timeout")

    # ---- screen --------------------------------------------------------------------

    def redraw(self):
        if not self.queue and self.flow is not None:
            m, st = self.flow
            lines = m.draw(self, st)
            if lines is not None:
                _draw(self.board.display, lines)
        elif not self.queue:
            # the idle screen (ui.screens.idle) drawn here: the screens module is only
            # loaded while a prompt is up (see _tidy)
            npub = self.npub
            if self.locked:
                lines = ["NOSTR SIGNER", "locked:", "enter PIN", "", "hold right"]
            elif not npub:
                lines = ["NOSTR SIGNER", "no key yet:", "provision it", "from the host", "", "waiting: 0"]
            else:
                lines = ["NOSTR SIGNER", npub[:9] + ".." + npub[-5:], "", "clients: %d" % len(self.clients),
                         "waiting: 0"]
            if self.seen_ev.lines:  # the host's clock ignored (signer/replay.py)
                lines = lines[:5] + [""] + list(self.seen_ev.lines)
            _draw(self.board.display, lines)
        else:
            screens = _lazy("ui.screens")
            item = self.queue[0]
            cnpub = _npub(unhexlify(item["client"])) if item["client"] else ""
            screens.grid(self.board.display, getattr(self.board, "feet", None))
            if "scr" in item or item["type"] == "request":  # a relays prompt comes built
                # built once per prompt (ui.kinds reads the event, and for a kind 3 the
                # last signed follow list from flash), kept while it is up; the kinds
                # code is dropped at once
                scr = item.get("scr")
                if scr is None:
                    peer = item["op"].get("peer")
                    scr = item["scr"] = screens.request(
                        item, self.clients.get(item["client"], {}).get("name", ""), cnpub,
                        _npub(peer) if peer else "",
                        {"npub": _npub, "now": self.now(), "root": self.id_root, "pubkey": self.pubhex,
                         "lazy": _lazy})
                    for m in _KINDS:
                        _drop(m)
                title, body, foot = scr
            elif item["type"] == "provision":
                title, body, foot = _lazy("ui.prompt_pair").provision(item["npub"], self.sk is not None)
            else:
                title, body, foot = _lazy("ui.prompt_pair").connect(item["meta"], item.get("secret_state"), item["rules"],
                                                    cnpub, item.get("relays"), item.get("perms"))
            item["smax"] = max(0, screens.rows(body) - screens.win(foot))
            # a sign_event's content and tags are rendered for the window only (ui.screens)
            lines = screens.page(title, body, foot, self.scroll, len(self.queue) - 1, True)
            screens.draw(self.board.display, lines)

    def _high(self, o):
        return id(o) > self.low

    def _settle(self):
        # A request's long-lived leftovers (key tables, conversation keys, the signing
        # keypair, client records) are made while its temporaries fill the bottom of the
        # free heap, so they land above them and split the big free block when those
        # die. Once the request is over (and collected: tick), copy them down and let
        # the originals die.
        h = self._high
        try:
            secp256k1.settle(h)
            envelope.settle(h)
            self.clients = cl.settle(self.clients, h)
            self.seen_ev.settle(h)
            # the key a request set (provision, unlock, another identity; _set_key makes
            # the three together, sk None when locked): [:] copies
            k = self.pubhex
            if k and h(k):
                self.sk, self.pubhex, self.npub = self.sk and self.sk[:], k[:], self.npub[:]
        except MemoryError:
            pass

    def _tidy(self):
        # drop the prompt screens once no prompt is up, the pairing code once no
        # pairing prompt needs it; what the request left is settled later (tick)
        self.unsettled = True
        if not self.queue:
            # a prompt's screens (ui.prompt_text: encrypt/decrypt bodies); a constant
            # here, not a global: one more name in this module's dict can double it
            for m in ("ui.screens", "ui.prompt_text", "ui.prompt_pair", "crypto.jsontags", "crypto.nip04",
                      "crypto.aes"):
                _drop(m)
            if getattr(self, "big", None) is None:
                _drop("signer.oversize")  # code kept after its request sits mid-heap for good
        for q in self.queue:
            if q["type"] == "connect":
                break
        else:
            _drop("signer.admin")
            _drop("signer.perms")  # admin's and pairing's parse: no copy left mid-heap
        for q in self.queue:
            if q["type"] in _PAIRING:
                return
        _drop("signer.pairing")
        _drop("signer.uri")

    # ---- replies -------------------------------------------------------------------

    def _done(self, rid, outcome, client, method, kind, ms, eid=None, rule=False, **extra):
        m = {"t": "done", "rid": rid, "outcome": outcome, "client": client, "method": method,
             "kind": kind, "ms": ms}
        m.update(extra)
        self.send(m)
        m = None
        # the device's own audit log (signer/audit.py), admitted clients only: a stranger
        # must not be able to push what was signed out of it; nor a relay replaying what
        # the replay horizon holds ("busy": nothing happened, signer/requests.py)
        if method in _AUDITED and client in self.clients and outcome != "busy":
            _lazy("signer.audit").add(self, outcome, client, method, kind, eid, rule)
            _drop("signer.audit")

    def _reply(self, req, result=None, error=None, outcome="ok", started=None):
        """Encrypt, sign and publish the response to req, then log it with `done`.
        A big result (a signed 16 KB event) comes in req["result"] instead, so that no
        caller's frame keeps it alive while it is encrypted."""
        if result is None and error is None:
            result = req.pop("result")
        # the signed event's id prefix, for the audit log (a dict, or JSON from {"id":"...)
        eid = None
        if req["method"] == "sign_event" and error is None:
            eid = result["id"][:8] if type(result) is dict else result[7:15]
        # the response text is written straight into its encrypted payload, never whole
        while True:
            try:
                ev = envelope.seal_response(self.sk, self.pubhex, req["client"], req["id"], result,
                                            error, req["scheme"], self.now())
                break
            except MemoryError:
                if error is not None:
                    raise
                # no room to write this result out: the client hears why, not nothing.
                # A big request's result will not fit later either; a small one's may,
                # once the queue has drained
                result = eid = None
                gc.collect()
                error = outcome = "too large" if req.get("size", 0) > 8192 else "busy"
        result = None
        # a nostrconnect client listens on its own relays until it switches to ours
        c = self.clients.get(req["client"])
        r = c.get("relays") if c else None
        self.send({"t": "publish", "rid": req["rid"], "event": ev,
                   "relays": list(r) if r and r != self.conf["relays"] else []})
        ev = req["id"] = None  # answered: requests.resolve never answers it again
        ms = req.get("ms", 0) + self._since(req["t0"] if started is None else started)
        self._done(req["rid"], outcome, req["client"], req["method"], req.get("kind"), ms, eid,
                   req.get("rule", False))

    def _refuse(self, req, e, started=None):
        self._reply(req, error=e.args[0], outcome=e.args[1], started=started)

    def _refusal(self, how):
        return Refuse("rejected") if how == "reject" else Refuse("approval timed out", "timed out")

    # ---- requests and the approval queue: signer/requests.py ------------------------


