# The request pipeline and the approval queue, for App (app.py): every kind-24133
# event from the envelope's checks to the response, as on a Coldcard: envelope (shape,
# p tag, age, replay, id, signature) -> decrypt -> parse -> classify -> (summary on
# screen -> button) -> operate -> encrypt, sign and publish the response -> `done` log
# line. One prompt is active at a time; others wait in a short queue while requests
# that need no approval (ping, get_public_key, rule-allowed ones) are answered at once.
#
# Plain functions of the App `a`, which keeps the state (keys, clients, queue, screen);
# app.py is the board- and link-facing side.
import gc
import time
from crypto import nip01
from signer import envelope, rpc, methods, clients as cl, replay
from signer.envelope import Drop
from signer.rpc import Refuse, NoId

# requests waiting behind the one being handled, and what they may hold in parsed params
QUEUE_MAX = 8
# app._lazy and app._drop, set by app: modules loaded for a request and dropped after
lazy = drop = None
QUEUE_BYTES = 36 * 1024
# answered at once for an admitted client (no key use; nothing the host doesn't know)
FREE = ("get_relays", "switch_relays", "logout")  # and get_public_key


def on_event(a, msg, pre=None):
    # pre: (text, fresh) of a request taken as a stream whose envelope signer/oversize.py
    # checked and decrypted (never from the host's message)
    t0 = a._ticks()
    rid = msg.get("rid")
    ev = msg.get("event")
    client = text = scheme = None
    fresh = None
    checked = False
    try:
        if pre is not None:
            text, fresh = pre
            pre = None
            scheme = "nip44"
            checked = True
        else:
            if a.sk is None:
                raise Drop("locked" if a.locked else "no key")
            if type(ev) is dict and ev.get("pubkey") == a.pubhex:
                # the signer's own key as a client: our own responses echoed by a relay
                # would be answered again and again (issue 11, break 5)
                raise Drop("own key")
            while not checked:
                try:
                    fresh = envelope.check(ev, a.pubhex, a.now(), a.cfg.get("max_age_s", 300),
                                           a.cfg.get("max_future_s", 60), a.seen_ev, a.clients)
                    checked = True
                except MemoryError:
                    # the signature's key tables found no room beside the block set
                    # aside for decoding (link.py _pieces): once more without it (the
                    # decryption makes do)
                    if envelope.spare is None:
                        raise
                    envelope.spare = None
                    gc.collect()
        if fresh:  # an admitted client agrees with our time: it may go on flash
            a.seen_ev.sync(ev["created_at"], a.now())
        if text is None:
            text, scheme = envelope.open_(a.sk, ev)
        mv = memoryview(text)
        if not nip01.utf8_strict(mv, len(mv)):
            # an overlong form, a raw surrogate or an F5+ byte would be signed as it
            # is, and shown (issue 11): MicroPython's str() lets them through
            raise Drop("invalid request")
        mv = None
        client = ev["pubkey"]
        # the ciphertext is spent: drop it from the caller's message too, so a big
        # request's base64 is not held while we answer it
        ev = msg["event"] = None
        req = {"rid": rid, "client": client, "scheme": scheme, "t0": t0, "id": None,
               "method": None, "kind": None}
        try:
            req["id"], method, params = rpc.parse(text, a.cfg.get("max_request"))
        except NoId:
            raise Drop("invalid request")
        except Refuse as e:
            # the replay check runs before any refusal too, so a refusal is never
            # answered twice (a relay echo could loop on it)
            if a.seen_ev.add(replay.key((client + e.rid).encode())) is False:
                raise Drop("replayed")
            raise
        text = None
        # the same request id from the same client in a new event: a replay, or
        # a client resending; either way it has been or is being answered
        held = a.seen_ev.add(replay.key((client + req["id"]).encode()))
        if held is False:
            raise Drop("replayed")
    except Drop as e:
        return a._done(rid, "dropped: " + e.args[0], client, None, None, a._since(t0))
    except MemoryError:
        # too big to check, decrypt or parse here: answered "too large" under its own id,
        # read where it lies (signer/oversize.py), not dropped unanswered. The body goes
        # over in a list, so that this frame holds none of it while the answer is made
        held = [text] if text is not None else None
        text = None
        gc.collect()
        try:
            ov = lazy("signer.oversize")
        except MemoryError:
            # no room even for that code: nothing of it was taken as a request yet, so
            # the bridge may send it again in pieces
            if type(ev) is dict:
                ev["content"] = None
            gc.collect()
            return a._done(rid, "too large: asked for in pieces", None, None, None, a._since(t0), pieces=True)
        ov.too_large(a, rid, ev, held, client, t0, scheme, checked)
        return a._tidy()
    except Refuse as e:
        req["id"] = e.rid
        return a._refuse(req, e)
    if method in methods.KEYED or method in FREE or method in ("connect", "ping", "get_public_key"):
        req["method"] = method
    a.seen_ev.commit(method)  # on flash before an answer that changes anything
    if fresh is False:  # an admitted client's, older than the window (issue 11, 3)
        return a._refuse(req, Refuse("stale request", "stale"))
    if held is None:
        # Created at or before the replay horizon and not in the ring (signer/replay.py):
        # pushed out after its answer, or new, in a burst that wrapped the ring within
        # one second (issue 10: 1000 requests from 10 clients). It cannot be told, so it
        # gets no result (that could be a second one), and no silence (a new request
        # would wait forever): an error the client shows, and it may send the request
        # again, created later. One found in the ring stays silent above: answered
        # already, for certain. (docs/threat-model.md)
        return a._refuse(req, Refuse("busy: too many requests at once, try again", "busy"))
    try:
        try:
            dispatch(a, req, method, params)
        except MemoryError:
            # the heap could not hold this request's work: say so, don't hang the client
            for i in range(len(a.queue)):
                if a.queue[i] is req:
                    a.queue.pop(i)
                    break
            req.pop("op", None)
            params = None
            gc.collect()
            raise Refuse("too large")
    except Refuse as e:
        a._refuse(req, e)
    a._tidy()


def dispatch(a, req, method, params):
    client = req["client"]
    c = a.clients.get(client)
    if c:
        c["last_used"] = a.now()
    if method == "ping":
        # anyone who got through the envelope may learn the device is there
        return a._reply(req, "pong")
    if method == "connect":
        # already admitted: a reconnect (page reload) changes nothing, needs nothing
        return a._reply(req, "ack") if c is not None else lazy("signer.admin").connect(a, req, params)
    if req["method"] is None:
        raise Refuse("unknown method: " + method[:64], "unknown method")
    if c is None:
        raise Refuse("unauthorized")
    if method == "get_public_key":
        return a._reply(req, a.pubhex)
    if method in FREE:  # get_relays, switch_relays, logout
        return lazy("signer.admin").session(a, req, method, c)
    op = methods.prepare(method, params, a.sk, a.pubhex, a.now())
    params[:] = []  # parsed into op: the raw text is garbage now
    req["op"] = op
    req["kind"], req["size"] = op.get("kind"), op["size"]  # size: app._reply's "too large"
    if cl.rejects(a.conf, method, req["kind"]):  # auto-reject, set in the menu
        raise Refuse("rejected", "auto-rejected")
    if method != "nip44_get_key" and cl.allows(c, method, req["kind"], op.get("peer"), a.now()):
        op = None
        req["rule"] = True
        run(a, req)
        return a._reply(req)
    req["type"] = "request"
    enqueue(a, req, op["size"])


def enqueue(a, item, size):
    held = 0
    for q in a.queue:
        held += q["size"]
    if len(a.queue) >= QUEUE_MAX or (a.queue and held + size > QUEUE_BYTES):
        if item["type"] in ("request", "connect"):
            return a._reply(item, error="busy", outcome="busy")
        return a._done(item["rid"], "busy", item["client"], item["method"], None, 0)
    item["size"] = size
    item["ms"] = a._since(item["t0"])
    a.queue.append(item)
    if len(a.queue) == 1:
        activate(a)
    a.redraw()


def activate(a):
    item = a.queue[0]
    now = a._ticks()
    item["shown"] = now
    item["deadline"] = time.ticks_add(now, int(a.cfg.get("prompt_timeout_s", 60) * 1000))
    a.scroll = 0


def resolve(a, how):
    item = a.queue.pop(0)
    a.scroll = 0
    if a.queue:
        activate(a)
    # the next prompt (or idle) goes on screen before the slow part below
    a.redraw()
    t1 = a._ticks()
    try:
        if item["type"] == "request":
            resolve_request(a, item, how, t1)
        elif item["type"] == "connect":
            lazy("signer.admin").resolve_connect(a, item, how, t1)
        else:
            lazy("signer.pairing").resolve(a, item, how, t1)
    except MemoryError:
        # no room for the operation or its answer. This is a press, not a message:
        # main.py would only show it, and the client would wait for good. Answered once
        item.pop("op", None)
        item.pop("result", None)
        gc.collect()
        if item.get("id") is None or item["type"] not in ("request", "connect"):
            raise
        a._reply(item, error="busy", outcome="busy", started=t1)
    finally:
        item.clear()
    a.redraw()
    a._tidy()


def resolve_request(a, req, how, t1):
    req.pop("scr", None)  # the prompt's lines: not needed while signing
    if how in ("reject", "timeout"):
        return a._refuse(req, a._refusal(how), t1)
    c = a.clients.get(req["client"])
    if c is None:  # logged out while waiting
        return a._refuse(req, Refuse("unauthorized"), t1)
    peer = req["op"].get("peer")
    try:
        run(a, req)
    except Refuse as e:
        return a._refuse(req, e, t1)
    a._reply(req, started=t1)
    if how == "always":
        # the rule after the answer, once the request's big parts are freed: its code
        # (signer/perms.py) is loaded for it and dropped
        p = lazy("signer.perms")
        if p.add(c, p.rule_for(req["method"], req["kind"], peer), a.now()):
            cl.save(a.id_root, a.clients)
            a.seen_ev.lines = p.NOTE  # the idle screen's notice, until a press
        p = None
        drop("signer.perms")


def run(a, req):
    # the approved (or rule-allowed) operation -> req["result"]; a kind 3 becomes the
    # follow list the next one is compared with (ui/kinds_follows.py run)
    if req["kind"] == 3 and req["method"] == "sign_event":
        return lazy("ui.kinds_follows").run(a, req, methods)
    req["result"] = methods.run(req["method"], req.pop("op"), a.sk)
