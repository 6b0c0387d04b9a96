# The signer app: every NIP-46 request, from the event the host hands over to the
# signed response it hands back, happens here on the device (see DESIGN.md, the trust
# line). The host is a courier: it gives us whole kind-24133 events and the time, and
# publishes what we send; it cannot press buttons.
#
# Per request, as on a Coldcard: envelope (shape, p tag, age, replay, id, signature) ->
# decrypt -> parse -> classify -> (summary on screen -> button) -> operate -> encrypt,
# sign and publish the response -> `done` log line. One prompt is active at a time;
# others wait in a short queue while requests that need no approval (ping,
# get_public_key, rule-allowed ones) are still answered at once.
#
# Logged outcomes (`done`) and everything else sent to the host carry no plaintext and
# never the key. The key is read from flash at start and kept only in this object.
import json
import time
from binascii import hexlify, unhexlify
from crypto import secp256k1, nip19
from crypto.nip01 import json_string
from keystore import store
from signer import envelope, rpc, methods, perms, clients as cl, uri as nc
from signer.envelope import Drop
from signer.rpc import Refuse, NoId
from signer.replay import Seen
from ui import screens

FW = "0.1.0"
PROTO = 1
QUEUE_MAX = 8
# what waiting requests may hold in parsed params, on top of the one being handled
QUEUE_BYTES = 36 * 1024
# presses this soon after a waiting prompt replaced an answered one are ignored, so a
# double press cannot approve a request the person has not seen
GUARD_MS = 400
DEFAULT_RELAYS = ("ws://127.0.0.1:7777",)
# answered at once for an admitted client (they use no key, or only say what the
# device already tells the host)
FREE = ("get_public_key", "get_relays", "switch_relays", "logout")
ERR_TIMEOUT = "approval timed out"


def _ticks_diff(a, b):
    return time.ticks_diff(a, b)


class App:
    def __init__(self, board, send):
        self.board = board
        self.send = send
        self.cfg = board.config
        self.root = board.storage
        store.ensure_dir(self.root)
        secp256k1.set_rng(board.rng)
        self.clients, self.conf = cl.load(self.root, self.cfg.get("relays", DEFAULT_RELAYS), board.rng)
        self._set_key(store.load_key(self.root))
        self.seen_ev = Seen(128)
        self.seen_req = Seen(128)
        self.queue = []  # prompts; queue[0] is on screen
        self.scroll = 0
        self.t_base = 0  # device clock: host time last taken, and the ticks then
        self.t_ticks = 0
        self.redraw()

    # ---- time ----------------------------------------------------------------------

    def _ticks(self):
        return self.board.ticks_ms()

    def now(self):
        """Unix seconds as the device believes them; 0 before the host told us."""
        if not self.t_base:
            return 0
        return self.t_base + _ticks_diff(self._ticks(), self.t_ticks) // 1000

    def _feed_time(self, t):
        # monotonic: the host may move the clock forward, never back
        if type(t) in (int, float) and int(t) > self.now():
            self.t_base = int(t)
            self.t_ticks = self._ticks()

    # ---- key -----------------------------------------------------------------------

    def _set_key(self, sk):
        envelope.forget()
        self.sk = sk
        self.pubhex = envelope.pub_hex(sk) if sk else None
        self.npub = nip19.npub(unhexlify(self.pubhex)) if sk else None

    # ---- the interface main.py calls -----------------------------------------------

    def hello(self):
        return {"proto": PROTO, "fw": FW, "board": self.board.name, "pubkey": self.pubhex,
                "relays": self.conf["relays"], "secret": self.conf["secret"],
                "limits": {"max_frame": 512, "max_message": self.cfg.get("max_message", 65536),
                           "queue": QUEUE_MAX}}

    def handle(self, msg):
        t = msg.get("t")
        if "now" in msg:
            self._feed_time(msg["now"])
        if t == "event":
            self._on_event(msg)
        elif t == "nostrconnect":
            self._on_nostrconnect(msg)
        elif t == "provision":
            self._on_provision(msg)
        elif t == "status":
            self.send({"t": "status", "rid": msg.get("rid"), "pubkey": self.pubhex,
                       "relays": self.conf["relays"], "secret": self.conf["secret"],
                       "clients": cl.summary(self.clients), "queue": len(self.queue)})
        else:
            self.send({"t": "error", "rid": msg.get("rid"), "error": "invalid message: unknown t"})

    def press(self, button):
        if not self.queue:
            return
        item = self.queue[0]
        if button == "up" or button == "down":
            self.scroll += -1 if button == "up" else 1
            self.scroll = max(0, min(self.scroll, item.get("scroll_max", 0)))
            self.redraw()
            return
        if item.get("guard") and _ticks_diff(self._ticks(), item["shown"]) < GUARD_MS:
            return
        if button == "approve":
            self._resolve("approve")
        elif button == "reject":
            self._resolve("reject")
        elif button == "long-approve":
            self._resolve("always")

    def tick(self):
        if self.queue and _ticks_diff(self._ticks(), self.queue[0]["deadline"]) >= 0:
            self._resolve("timeout")

    # ---- screen --------------------------------------------------------------------

    def redraw(self):
        if not self.queue:
            lines = screens.idle(self.npub, len(self.clients), 0)
        else:
            item = self.queue[0]
            title, body, foot = self._prompt(item)
            item["scroll_max"] = max(0, len(body) - screens.BODY)
            lines = screens.page(title, body, foot, self.scroll, len(self.queue) - 1)
        screens.draw(self.board.display, lines)

    def _npub(self, hexkey):
        return nip19.npub(unhexlify(hexkey))

    def _prompt(self, item):
        k = item["type"]
        if k == "request":
            c = self.clients.get(item["client"], {})
            peer = item["op"].get("peer")
            return screens.request(item, c.get("name", ""), self._npub(item["client"]),
                                   nip19.npub(peer) if peer else "")
        if k == "connect":
            return screens.connect(item["meta"], item["secret_state"], item["rules"],
                                   self._npub(item["client"]))
        if k == "nostrconnect":
            return screens.connect(item["meta"], None, item["rules"], self._npub(item["client"]),
                                   item["relays"])
        return screens.provision(item["npub"], self.sk is not None)

    # ---- replies -------------------------------------------------------------------

    def _done(self, rid, outcome, client, method, kind, ms, **extra):
        m = {"t": "done", "rid": rid, "outcome": outcome, "client": client, "method": method,
             "kind": kind, "ms": ms}
        m.update(extra)
        self.send(m)

    def _client_relays(self, client):
        # a nostrconnect client listens on its own relays until it switches to ours
        c = self.clients.get(client)
        r = c.get("relays") if c else None
        return list(r) if r and r != self.conf["relays"] else []

    def _reply(self, req, result=None, error=None, outcome="ok", started=None):
        """Encrypt, sign and publish the response to req, then log it with `done`."""
        body = rpc.response(req["id"], result, error)
        result = None
        ev = envelope.seal(self.sk, self.pubhex, req["client"], body, req["scheme"], self.now())
        body = None
        self.send({"t": "publish", "rid": req["rid"], "event": ev,
                   "relays": self._client_relays(req["client"])})
        ev = None
        ms = req.get("ms", 0) + _ticks_diff(self._ticks(), req["t0"] if started is None else started)
        self._done(req["rid"], outcome, req["client"], req["method"], req.get("kind"), ms)

    def _refuse(self, req, e, started=None):
        self._reply(req, error=e.error(), outcome=e.outcome(), started=started)

    # ---- events --------------------------------------------------------------------

    def _on_event(self, msg):
        t0 = self._ticks()
        rid = msg.get("rid")
        ev = msg.get("event")
        try:
            if self.sk is None:
                raise Drop("no key")
            envelope.check(ev, self.pubhex, self.now(), self.cfg.get("max_age_s", 300),
                           self.cfg.get("max_future_s", 60), self.seen_ev)
            text, scheme = envelope.open_(self.sk, ev)
        except Drop as e:
            self._done(rid, "dropped: " + str(e), None, None, None, _ticks_diff(self._ticks(), t0))
            return
        client = ev["pubkey"]
        ev = None
        req = {"rid": rid, "client": client, "scheme": scheme, "t0": t0, "id": None,
               "method": None, "kind": None}
        try:
            req["id"], method, params = rpc.parse(text)
        except NoId as e:
            self._done(rid, "dropped: invalid request", client, None, None,
                       _ticks_diff(self._ticks(), t0))
            return
        except Refuse as e:
            req["id"] = e.rid
            self._refuse(req, e)
            return
        text = None
        # the same request id from the same client, in a new event: a replay or a
        # client resending; either way it has been or is being answered
        if not self.seen_req.add(unhexlify(client)[:8] + req["id"].encode()):
            self._done(rid, "dropped: replayed", client, None, None, _ticks_diff(self._ticks(), t0))
            return
        known = method in methods.KEYED or method in FREE or method in ("connect", "ping")
        req["method"] = method if known else None
        try:
            self._dispatch(req, method, params)
        except Refuse as e:
            self._refuse(req, e)

    def _dispatch(self, req, method, params):
        client = req["client"]
        c = self.clients.get(client)
        if c:
            c["last_used"] = self.now()
        if method == "ping":
            # anyone who got through the envelope may learn the device is there
            return self._reply(req, "pong")
        if method == "connect":
            return self._connect(req, params, c)
        if method not in methods.KEYED and method not in FREE:
            raise Refuse("unknown method: " + method[:64], "unknown method")
        if c is None:
            raise Refuse("unauthorized")
        if method == "get_public_key":
            return self._reply(req, self.pubhex)
        if method == "get_relays":
            return self._reply(req, self._relays_json())
        if method == "switch_relays":
            mine = self.conf["relays"]
            if c.get("relays") == mine:
                return self._reply(req, "null")
            # answered on the relays the client listens on now, then it moves to ours
            self._reply(req, self._list_json(mine))
            c["relays"] = list(mine)
            cl.save(self.root, self.clients)
            return
        if method == "logout":
            # "ack" first (to the relays it knows), then the session is gone
            self._reply(req, "ack")
            self.clients.pop(client, None)
            cl.save(self.root, self.clients)
            self.redraw()
            return
        op = methods.prepare(method, params, self.sk, self.pubhex, self.now())
        req["op"] = op
        req["kind"] = op.get("kind")
        if method != "nip44_get_key" and perms.allows(c.get("rules"), method, req["kind"]):
            result = methods.run(method, op, self.sk)
            req["op"] = op = None
            return self._reply(req, result)
        req["type"] = "request"
        self._enqueue(req, op.get("size", 0))

    def _relays_json(self):
        return "{" + ",".join([json_string(r) + ':{"read":true,"write":true}'
                               for r in self.conf["relays"]]) + "}"

    def _list_json(self, lst):
        return "[" + ",".join([json_string(r) for r in lst]) + "]"

    def _connect(self, req, params, c):
        if c is not None:
            # already admitted: a reconnect (page reload) changes nothing, needs nothing
            return self._reply(req, "ack")
        if len(params) > 4:
            raise Refuse("invalid params: connect takes up to 4", "invalid params")
        secret = params[1] if len(params) > 1 else ""
        if not secret:
            state = "none"
        elif secret == self.conf["secret"]:
            state = "ok"
        else:
            state = "bad"  # an old (used) secret, or a guess: still askable, loudly
        rules = perms.parse(params[2]) if len(params) > 2 else []
        meta = {}
        if len(params) > 3 and params[3]:
            try:
                m = json.loads(params[3])
                if type(m) is dict:
                    meta = {k: m[k] for k in ("name", "url", "image") if type(m.get(k)) is str}
            except ValueError:
                pass
        req.update({"type": "connect", "secret_state": state, "secret": secret, "rules": rules,
                    "meta": meta})
        self._enqueue(req, 512)

    # ---- host-initiated prompts ----------------------------------------------------

    def _on_nostrconnect(self, msg):
        t0 = self._ticks()
        rid = msg.get("rid")
        if self.sk is None:
            return self._done(rid, "invalid: no key", None, "connect", None, 0)
        try:
            u = nc.parse(msg.get("uri"))
        except ValueError as e:
            return self._done(rid, str(e).split(":")[0], None, "connect", None,
                              _ticks_diff(self._ticks(), t0))
        item = {"type": "nostrconnect", "rid": rid, "t0": t0, "client": u["pubkey"],
                "method": "connect", "kind": None, "secret": u["secret"], "relays": u["relays"],
                "rules": perms.parse(u["perms"]),
                "meta": {"name": u["name"], "url": u["url"], "image": u["image"]}}
        self._enqueue(item, 1024)

    def _on_provision(self, msg):
        t0 = self._ticks()
        rid = msg.get("rid")
        key = msg.get("key")
        sk = None
        try:
            if type(key) is str and key.startswith("nsec1"):
                hrp, sk = nip19.decode(key)
            elif type(key) is str and len(key) == 64:
                sk = unhexlify(key)
        except ValueError:
            sk = None
        key = None
        msg["key"] = None  # drop the caller's copy of the secret as soon as we have ours
        if sk is None or not secp256k1.seckey_valid(sk):
            # the reason only, never the value
            return self._done(rid, "invalid key", None, "provision", None,
                              _ticks_diff(self._ticks(), t0))
        pub = secp256k1.pubkey(sk)
        item = {"type": "provision", "rid": rid, "t0": t0, "sk": sk, "npub": nip19.npub(pub),
                "client": None, "method": "provision", "kind": None}
        self._enqueue(item, 256)

    # ---- the approval queue --------------------------------------------------------

    def _enqueue(self, item, size):
        held = 0
        for q in self.queue:
            held += q.get("size", 0)
        if len(self.queue) >= QUEUE_MAX or (self.queue and held + size > QUEUE_BYTES):
            return self._busy(item)
        item["size"] = size
        item["ms"] = _ticks_diff(self._ticks(), item["t0"])
        self.queue.append(item)
        if len(self.queue) == 1:
            self._activate(False)
        self.redraw()

    def _busy(self, item):
        if item["type"] in ("request", "connect"):
            return self._reply(item, error="busy", outcome="busy")
        self._done(item["rid"], "busy", item.get("client"), item["method"], None, 0)

    def _activate(self, guard):
        item = self.queue[0]
        now = self._ticks()
        item["shown"] = now
        item["guard"] = guard
        item["deadline"] = time.ticks_add(now, int(self.cfg.get("prompt_timeout_s", 60) * 1000))
        self.scroll = 0

    def _resolve(self, how):
        item = self.queue.pop(0)
        self.scroll = 0
        if self.queue:
            self._activate(True)
        # the next prompt (or idle) goes on screen before the slow part below
        self.redraw()
        t1 = self._ticks()
        k = item["type"]
        try:
            if k == "request":
                self._resolve_request(item, how, t1)
            elif k == "connect":
                self._resolve_connect(item, how, t1)
            elif k == "nostrconnect":
                self._resolve_nostrconnect(item, how, t1)
            else:
                self._resolve_provision(item, how, t1)
        finally:
            item.clear()
        self.redraw()

    def _refusal(self, how):
        if how == "reject":
            return Refuse("rejected")
        return Refuse(ERR_TIMEOUT, "timed out")

    def _resolve_request(self, req, how, t1):
        if how in ("reject", "timeout"):
            return self._refuse(req, self._refusal(how), t1)
        c = self.clients.get(req["client"])
        if c is None:  # logged out while waiting
            return self._refuse(req, Refuse("unauthorized"), t1)
        if how == "always" and req["method"] != "nip44_get_key":
            perms.add(c.setdefault("rules", []), perms.rule_for(req["method"], req.get("kind")))
            cl.save(self.root, self.clients)
        op = req.pop("op")
        try:
            result = methods.run(req["method"], op, self.sk)
        except Refuse as e:
            return self._refuse(req, e, t1)
        op = None
        self._reply(req, result, started=t1)

    def _admit(self, client, meta, rules, relays):
        if not cl.admit(self.clients, client, meta, rules, relays, self.now()):
            raise Refuse("too many clients", "busy")
        cl.save(self.root, self.clients)

    def _resolve_connect(self, req, how, t1):
        if how in ("reject", "timeout"):
            return self._refuse(req, self._refusal(how), t1)
        try:
            self._admit(req["client"], req["meta"], req["rules"], self.conf["relays"])
        except Refuse as e:
            return self._refuse(req, e, t1)
        if req["secret_state"] == "ok":
            # single use: the next connect needs the next secret
            self.conf["secret"] = cl.new_secret(self.board.rng)
            cl.save_conf(self.root, self.conf)
        self._reply(req, "ack", started=t1)

    def _resolve_nostrconnect(self, item, how, t1):
        rid = item["rid"]
        if how in ("reject", "timeout"):
            return self._done(rid, "rejected" if how == "reject" else "timed out", item["client"],
                              "connect", None, item["ms"])
        try:
            self._admit(item["client"], item["meta"], item["rules"], item["relays"])
        except Refuse as e:
            return self._done(rid, e.outcome(), item["client"], "connect", None, item["ms"])
        # the connect *response* the client waits for: result = its own secret
        req = {"rid": rid, "client": item["client"], "scheme": "nip44", "t0": t1, "ms": item["ms"],
               "id": hexlify(self.board.rng(8)).decode(),
               "method": "connect", "kind": None}
        body = rpc.response(req["id"], item["secret"])
        ev = envelope.seal(self.sk, self.pubhex, item["client"], body, "nip44", self.now())
        relays = list(item["relays"])
        for r in self.conf["relays"]:
            if r not in relays:
                relays.append(r)
        self.send({"t": "publish", "rid": rid, "event": ev, "relays": relays})
        self._done(rid, "ok", item["client"], "connect", None,
                   item["ms"] + _ticks_diff(self._ticks(), t1))

    def _resolve_provision(self, item, how, t1):
        rid = item["rid"]
        sk = item.pop("sk")
        if how in ("reject", "timeout"):
            return self._done(rid, "rejected" if how == "reject" else "timed out", None,
                              "provision", None, item["ms"])
        replacing = self.sk is not None
        store.save_key(self.root, sk)
        self._set_key(sk)
        sk = None
        if replacing:
            # sessions were granted to the old identity; the new one starts clean
            self.clients.clear()
            cl.save(self.root, self.clients)
            self.conf["secret"] = cl.new_secret(self.board.rng)
            cl.save_conf(self.root, self.conf)
        self._done(rid, "ok", None, "provision", None, item["ms"] + _ticks_diff(self._ticks(), t1),
                   pubkey=self.pubhex)
