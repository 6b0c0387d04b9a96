# Pairing and keys: bunker `connect` requests, nostrconnect:// pairing, provisioning a
# key, and `status`. These are rare next to signing, so app.py imports this module
# when one arrives and drops it again once no such prompt is waiting: its code does
# not sit in the 128 KB heap while the device signs (see app.py, _lazy).
#
# `a` is the App: these functions use its state (clients, conf, queue) and its
# reply/queue helpers, as its own methods would.
from binascii import hexlify, unhexlify
import json
from crypto import secp256k1, bech32
from keystore import store
from signer import envelope, rpc, perms, clients as cl
from signer.rpc import Refuse


def connect(a, req, params, c):
    """A `connect` request (bunker:// flow) from the client in req."""
    if c is not None:
        # already admitted: a reconnect (page reload) changes nothing, needs nothing
        return a._reply(req, "ack")
    if len(params) > 4:
        raise Refuse("invalid params: connect takes up to 4", "invalid params")
    secret = params[1] if len(params) > 1 else ""
    if not secret:
        state = "none"
    elif secret == a.conf["secret"]:
        state = "ok"
    else:
        state = "bad"  # an old (used) secret, or a guess: still askable, loudly
    meta = {}
    if len(params) > 3 and params[3]:
        try:
            m = json.loads(params[3])
            if type(m) is dict:
                meta = {k: m[k] for k in ("name", "url", "image") if type(m.get(k)) is str}
        except ValueError:
            pass
    req.update({"type": "connect", "secret_state": state,
                "rules": perms.parse(params[2]) if len(params) > 2 else [], "meta": meta})
    a._enqueue(req, 512)


def nostrconnect(a, msg):
    t0 = a._ticks()
    rid = msg.get("rid")
    if a.sk is None:
        return a._done(rid, "invalid: no key", None, "connect", None, 0)
    from signer import uri
    try:
        u = uri.parse(msg.get("uri"))
    except ValueError as e:
        return a._done(rid, str(e).split(":")[0], None, "connect", None, a._since(t0))
    a._enqueue({"type": "nostrconnect", "rid": rid, "t0": t0, "client": u["pubkey"],
                "method": "connect", "kind": None, "secret": u["secret"], "relays": u["relays"],
                "rules": perms.parse(u["perms"]),
                "meta": {"name": u["name"], "url": u["url"], "image": u["image"]}}, 1024)


def provision(a, msg):
    t0 = a._ticks()
    rid = msg.get("rid")
    key = msg.get("key")
    msg["key"] = None  # drop the caller's copy of the secret as soon as we have ours
    sk = None
    try:
        if type(key) is str and key.startswith("nsec1"):
            from crypto import nip19  # only here: provisioning happens about once
            hrp, sk = nip19.decode(key)
        elif type(key) is str and len(key) == 64:
            sk = unhexlify(key)
    except ValueError:
        sk = None
    key = None
    if sk is None or not secp256k1.seckey_valid(sk):
        # the reason only, never the value
        return a._done(rid, "invalid key", None, "provision", None, a._since(t0))
    a._enqueue({"type": "provision", "rid": rid, "t0": t0, "sk": sk, "client": None,
                "npub": bech32.encode("npub", secp256k1.pubkey(sk)), "method": "provision", "kind": None}, 256)


def status(a, msg):
    a.send({"t": "status", "rid": msg.get("rid"), "pubkey": a.pubhex, "relays": a.conf["relays"],
            "secret": a.conf["secret"], "clients": cl.summary(a.clients), "queue": len(a.queue)})


def _admit(a, client, meta, rules, relays):
    if not cl.admit(a.clients, client, meta, rules, relays, a.now()):
        raise Refuse("too many clients", "busy")
    cl.save(a.root, a.clients)


def resolve(a, item, how, t1):
    """The person answered (or the timeout did) a connect, nostrconnect or provision prompt."""
    k = item["type"]
    rid = item["rid"]
    yes = how in ("approve", "always")
    if k == "connect":
        if not yes:
            return a._refuse(item, a._refusal(how), t1)
        try:
            _admit(a, item["client"], item["meta"], item["rules"], a.conf["relays"])
        except Refuse as e:
            return a._refuse(item, e, t1)
        if item["secret_state"] == "ok":
            # single use: the next connect needs the next secret
            a.conf["secret"] = cl.new_secret(a.board.rng)
            cl.save_conf(a.root, a.conf)
        return a._reply(item, "ack", started=t1)
    outcome = "ok" if yes else ("rejected" if how == "reject" else "timed out")
    if k == "provision":
        sk = item.pop("sk")
        if yes:
            replacing = a.sk is not None
            store.save_key(a.root, sk)
            a._set_key(sk)
            if replacing:
                # sessions were granted to the old identity; the new one starts clean
                a.clients.clear()
                cl.save(a.root, a.clients)
                a.conf["secret"] = cl.new_secret(a.board.rng)
                cl.save_conf(a.root, a.conf)
        sk = None
        return a._done(rid, outcome, None, "provision", None, item["ms"] + a._since(t1),
                       pubkey=a.pubhex if yes else None)
    # nostrconnect
    client = item["client"]
    if yes:
        try:
            _admit(a, client, item["meta"], item["rules"], item["relays"])
        except Refuse as e:
            outcome = e.args[1]
            yes = False
    if yes:
        # the connect *response* the client waits for: result = its own secret
        body = rpc.response(hexlify(a.board.rng(8)).decode(), item["secret"])
        ev = envelope.seal(a.sk, a.pubhex, client, body, "nip44", a.now())
        relays = list(item["relays"])
        for r in a.conf["relays"]:
            if r not in relays:
                relays.append(r)
        a.send({"t": "publish", "rid": rid, "event": ev, "relays": relays})
    a._done(rid, outcome, client, "connect", None, item["ms"] + a._since(t1))
