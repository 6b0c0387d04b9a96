# nostrconnect:// pairing, provisioning a key, and the device's own relay list. These are rare next to signing, so
# app.py imports this module when one arrives and drops it again once no such prompt
# is waiting: its code does not sit in the 128 KB heap while the device signs (see
# app.py, _lazy).
#
# `a` is the App: these functions use its state (clients, conf, queue) and its
# reply/queue helpers, as its own methods would.
from binascii import hexlify, unhexlify
from crypto import secp256k1, bech32
from signer import envelope, rpc, perms, clients as cl
from signer.rpc import Refuse
from signer import requests  # resident already (app imports it): its queue


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
    if u["pubkey"] == a.pubhex:
        # the signer's own key as the client: refused, whatever name it claims (its
        # responses would come back to it as requests: issue 11, break 5)
        return a._done(rid, "invalid uri: own key", None, "connect", None, a._since(t0))
    requests.enqueue(a, {"type": "nostrconnect", "rid": rid, "t0": t0, "client": u["pubkey"],
                "method": "connect", "kind": None, "secret": u["secret"], "relays": u["relays"],
                "rules": perms.parse(u["perms"]), "perms": u["perms"],
                "meta": {"name": u["name"], "url": u["url"], "image": u["image"]}}, 1024)


def provision(a, msg):
    t0 = a._ticks()
    rid = msg.get("rid")
    key = msg.get("key")
    msg["key"] = None  # drop the caller's copy of the secret as soon as we have ours
    sk = None
    try:
        if type(key) is str and key.startswith("nsec1"):
            # bech32 (already loaded) rather than all of crypto.nip19 for one decode
            hrp, sk = bech32.decode(key)
            if hrp != "nsec" or len(sk) != 32:
                sk = None
        elif type(key) is str and len(key) == 64:
            sk = unhexlify(key)
    except ValueError:
        sk = None
    key = None
    if sk is None or not secp256k1.seckey_valid(sk):
        # the reason only, never the value
        return a._done(rid, "invalid key", None, "provision", None, a._since(t0))
    requests.enqueue(a, {"type": "provision", "rid": rid, "t0": t0, "sk": sk, "client": None,
                "npub": bech32.encode("npub", secp256k1.pubkey(sk)), "method": "provision", "kind": None}, 256)


def relays(a, msg):
    """The host proposes the device's relays (bridge `relays set`, `run --relay`): the
    list its QR, the bunker URL, get_relays/switch_relays and AUTH all use. Kept only
    once the person approves it on the screen: a host that could change it silently
    could steer new clients to relays it controls, and get AUTH signed for them."""
    t0 = a._ticks()
    rid = msg.get("rid")
    from signer import uri
    v = msg.get("relays")
    new = []
    if type(v) is list and len(v) <= uri.MAX_RELAYS:
        for r in v:
            if type(r) is not str or not uri.relay_ok(r):
                new = []
                break
            if r not in new:
                new.append(r)
    if not new:
        return a._done(rid, "invalid relays", None, "relays", None, a._since(t0))
    if new == a.conf["relays"]:
        return a._done(rid, "ok", None, "relays", None, a._since(t0), relays=new)
    # the SET RELAYS? prompt, built once (app.redraw shows a queued item's "scr"): every
    # relay in full, wrapped: where new clients will be sent
    import sys
    __import__("ui.screens")  # as app._lazy: app._tidy drops it again
    screens = sys.modules["ui.screens"]
    screens.grid(a.board.display, getattr(a.board, "feet", None))  # this board's width and gestures
    body = ["new relays:"]
    for r in new:
        body += screens.wrap(screens.esc(r, 256), max_lines=4)
    body += ["clients use", "them from now"]
    requests.enqueue(a, {"type": "relays", "rid": rid, "t0": t0, "client": None, "method": "relays",
                "kind": None, "relays": new, "scr": ("SET RELAYS?", body, screens.foot("yes"))}, 512)


def resolve(a, item, how, t1):
    """The person answered (or the timeout did) a nostrconnect, provision or relays prompt."""
    k = item["type"]
    rid = item["rid"]
    yes = how in ("approve", "always")
    outcome = "ok" if yes else ("rejected" if how == "reject" else "timed out")
    if k == "relays":
        if not yes:
            return a._done(rid, outcome, None, "relays", None, item["ms"] + a._since(t1))
        a.conf["relays"] = item["relays"]
        cl.save_conf(a.root, a.conf)
        return a._done(rid, outcome, None, "relays", None, item["ms"] + a._since(t1), relays=item["relays"])
    if k == "provision":
        sk = item.pop("sk")
        if yes:
            # kept as the active identity's key (its clients go: sessions were granted
            # to the old key), or as a new identity when Keys > add asked for it; under
            # the PIN if one is set (keystore/ids.py, loaded for it and forgotten after)
            from keystore import ids
            if ids.once("keystore.ids", "adopt", a, sk):
                a.conf["secret"] = cl.new_secret(a.board.rng)
                cl.save_conf(a.root, a.conf)
        sk = None
        return a._done(rid, outcome, None, "provision", None, item["ms"] + a._since(t1),
                       pubkey=a.pubhex if yes else None)
    # nostrconnect
    client = item["client"]
    if yes:
        try:
            from signer import admin  # dropped again by app._tidy
            admin.admit(a, client, item["meta"], item["rules"], item["relays"])
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
