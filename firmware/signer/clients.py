# Admitted clients and the signer's own settings, persisted as two small JSON files.
#
#   clients.json  {"<client pubkey hex>": {"name", "url", "image", "rules": [...],
#                                          "relays": [...], "last_used": unix}}
#   signer.json   {"secret": "<current bunker secret>", "relays": [...]}
#
# clients.json is kept per identity (in its directory, keystore/ids.py): sessions
# are granted to one key. signer.json is the device's.
#
# Client metadata (name, url, image) is whatever the client said about itself: shown
# marked "(unverified)", never used to decide anything. The bunker secret is single
# use: the connect that presents it is approved, then a fresh one replaces it.
# `last_used` is kept in RAM and written only with other changes, to spare the flash.
from binascii import hexlify
from keystore import store
from signer import replay

CLIENTS = "clients.json"
CONF = "signer.json"
MAX_CLIENTS = 16


def new_secret(rng):
    return hexlify(rng(8)).decode()


def _relays_ok(v):
    if type(v) is not list or not v:
        return False
    for r in v:
        if type(r) is not str:
            return False
    return True


def load(root, default_relays, rng, id_root=None):
    """-> (clients, conf), creating defaults (and a first bunker secret) as needed.
    conf is the device's (root); the clients are the active identity's (id_root, the
    directory keystore/ids.py gives it; root itself for the first identity)."""
    conf = store.read_json(root, CONF)
    if type(conf) is not dict:
        conf = {}
    changed = False
    if not _relays_ok(conf.get("relays")):
        conf["relays"] = list(default_relays)
        changed = True
    if type(conf.get("secret")) is not str or not conf["secret"]:
        conf["secret"] = new_secret(rng)
        changed = True
    if changed:
        store.write_json(root, CONF, conf)
    return load_clients(id_root or root), conf


def load_clients(root):
    cl = store.read_json(root, CLIENTS)
    if type(cl) is not dict:
        cl = {}
    for k in list(cl):
        if type(cl[k]) is not dict:
            del cl[k]
    return cl


def save(root, clients):
    store.write_json(root, CLIENTS, clients)


def save_conf(root, conf):
    store.write_json(root, CONF, conf)


def _text(v, n=64):
    return v[:n] if type(v) is str else ""


def admit(clients, pub_hex, meta, rules, relays, now):
    """Add or update a client record; False if the device already holds too many."""
    if pub_hex not in clients and len(clients) >= MAX_CLIENTS:
        return False
    clients[pub_hex] = {
        "name": _text(meta.get("name")),
        "url": _text(meta.get("url"), 128),
        "image": _text(meta.get("image"), 128),
        "rules": list(rules),
        "relays": list(relays),
        "last_used": now,
    }
    return True


def settle(clients, high):
    """clients, with what a request made of it copied now (app._settle, once the request
    is collected), so that none of it stays where the request left the heap."""
    for k in clients:
        r = clients[k]
        if "last_used" in r:  # new with each request
            r["last_used"] = replay.fresh(r["last_used"], high)
    if high(clients) or [k for k in clients if high(k) or high(clients[k])]:
        import json
        return json.loads(json.dumps(clients))
    return clients


def summary(clients):
    """What `status` reports: no rules or secrets, just who is paired."""
    return [{"pubkey": k, "name": c.get("name", ""), "last_used": c.get("last_used", 0),
             "relays": c.get("relays", [])} for k, c in clients.items()]


# ---- rules (signer/perms.py makes them; these two run on every keyed request) ----

RULE_METHODS = ("sign_event", "nip04_encrypt", "nip04_decrypt", "nip44_encrypt", "nip44_decrypt")


def scoped(method, kind, peer):
    if method == "sign_event":
        return None if kind is None else "sign_event:%d" % kind
    return method + ":" + hexlify(peer).decode() if peer else None


def allows(c, method, kind=None, peer=None, now=0):
    """Does client record c have a rule for this request (peer: the other party's key,
    bytes, for encrypt/decrypt)? Counts the use against the rule's terms."""
    rules = c.get("rules")
    if method not in RULE_METHODS or not rules:
        return False
    if method in rules:
        return True
    r = scoped(method, kind, peer)
    if r not in rules:
        return False
    terms = c.get("terms") or {}
    t = terms.get(r)
    if t is None:  # a connect's
        return True
    if now >= t[0]:  # lapsed
        rules.remove(r)
        terms.pop(r)
        return False
    if now - t[1] >= 3600:  # a new hour
        t[1] = now
        t[2] = 0
    if t[2] >= 60:  # perms.PER_H
        return False
    t[2] += 1
    return True


def rejects(conf, method, kind):
    r = conf.get("reject")
    return method == "sign_event" and kind is not None and type(r) is list and kind in r
