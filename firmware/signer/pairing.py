# nostrconnect:// pairing and provisioning a key. These are rare next to signing, so
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


def resolve(a, item, how, t1):
    """The person answered (or the timeout did) a nostrconnect or provision prompt."""
    k = item["type"]
    rid = item["rid"]
    yes = how in ("approve", "always")
    outcome = "ok" if yes else ("rejected" if how == "reject" else "timed out")
    if k == "provision":
        sk = item.pop("sk")
        if yes:
            # kept as the active identity's key (its clients go: sessions were granted
            # to the old key), or as a new identity when Keys > add asked for it; under
            # the PIN if one is set (app.adopt_key, keystore/ids.py)
            if a.adopt_key(sk):
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
