# NIP-42 AUTH for the bridge's relays, signed here: the bridge never holds the key, so
# a relay that wants AUTH gets a kind-22242 event made and signed on the device.
#
# The on-device rule: sign only for a relay in the device's own relay list (what
# `hello` and `switch_relays` report). An AUTH event proves "this key talks to this
# relay"; signing one for any URL the host names would let a hostile host log in as us
# anywhere, so other relays are refused (outcome "unauthorized"). Every AUTH, signed or
# refused, is logged with `done` (method "auth") and kept in a short list (App.auths,
# newest last) for the device's status.
#
# Loaded lazily by app.py for an `auth` message and dropped after: nothing resident.
from crypto import nip01

KEEP = 8        # recent AUTHs remembered (relay, outcome, time)
MAX_URL = 256
MAX_CHALLENGE = 256


def norm(url):
    # the bridge's canonical form (bridge/relays.py normalize_url): lower-case scheme
    # and host, no trailing "/" on a bare host
    u = url.strip()
    i = u.find("://")
    if i < 0:
        return u
    rest = u[i + 3:]
    j = rest.find("/")
    host, path = (rest, "") if j < 0 else (rest[:j], rest[j:])
    if path == "/":
        path = ""
    return u[:i].lower() + "://" + host.lower() + path


def _remember(a, relay, outcome):
    lst = getattr(a, "auths", None)
    if lst is None:
        lst = a.auths = []
    lst.append({"relay": relay, "outcome": outcome, "at": a.now()})
    while len(lst) > KEEP:
        lst.pop(0)


def auth(a, msg):
    t0 = a._ticks()
    rid = msg.get("rid")
    relay = msg.get("relay")
    challenge = msg.get("challenge")
    if type(relay) is not str or not 0 < len(relay) <= MAX_URL or \
            type(challenge) is not str or not 0 < len(challenge) <= MAX_CHALLENGE:
        return a._done(rid, "invalid params", None, "auth", 22242, a._since(t0))
    relay = relay[:MAX_URL]
    if a.sk is None:
        return a._done(rid, "dropped: no key", None, "auth", 22242, a._since(t0), relay=relay)
    mine = [norm(r) for r in a.conf["relays"]]
    if norm(relay) not in mine:
        _remember(a, relay, "unauthorized")
        return a._done(rid, "unauthorized", None, "auth", 22242, a._since(t0), relay=relay)
    ev = nip01.sign({"pubkey": a.pubhex, "created_at": a.now(), "kind": 22242,
                     "tags": [["relay", relay], ["challenge", challenge]], "content": ""}, a.sk)
    _remember(a, relay, "ok")
    a.send({"t": "auth", "rid": rid, "event": ev})
    a._done(rid, "ok", None, "auth", 22242, a._since(t0), relay=relay)
