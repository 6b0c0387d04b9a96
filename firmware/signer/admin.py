# The app's rare paths, loaded when one is needed and dropped again by app._tidy (on the
# unix port code lives in the same 128 KB heap as the data): the host's `status`, the
# bunker `connect` (prompt and admission), and the session methods get_relays,
# switch_relays and logout. Every function takes the App.
import json
from crypto.nip01 import json_string
from signer import perms, clients as cl
from signer.rpc import Refuse
from signer import requests  # resident already (app imports it): its queue


def status(a, msg, free=None):
    # free: the heap app.handle read before this module was loaded for the status.
    # stack: the C stack's peak at the link's writes (the deepest leaf, docs/stack.md)
    # since the last request arrived (main.dispatch), and the limit where the board
    # knows it; None where the port has no micropython.stack_use
    lk = getattr(a.board, "link", None)
    p = getattr(lk, "peak", None)
    h = heap(free)
    # never the bunker secret (see app.hello)
    a.send({"t": "status", "rid": msg.get("rid"), "pubkey": a.pubhex, "relays": a.conf["relays"],
            "clients": cl.summary(a.clients), "queue": len(a.queue), "locked": a.locked,
            "auths": getattr(a, "auths", []),  # recent NIP-42 AUTHs (signer/auth.py)
            "heap": h, "stack": {"peak": p, "limit": stack_limit(a.board)}})
    if p is not None:
        lk.peak = p  # this answer's own writes are not a request's


def stack_limit(board):
    # a board's own (boards/pico.py), or the simulator's thread's (boards/simstack.py,
    # run as __main__ or from the ROM bootstrap): looked up here, not kept on the board
    import sys
    st = sys.modules.get("boards.simstack") or sys.modules.get("__main__")
    return getattr(board, "stack_limit", None) or getattr(st, "LIMIT", None)


def heap(free=None):
    # free heap and the largest block one allocation can get (what bounds a request:
    # the link's buffer and the decrypted text are single blocks), found by halving
    import gc
    gc.collect()
    lo = 0
    hi = gc.mem_free()  # read before the probing below leaves its garbage
    free = hi if free is None else free
    while hi - lo > 512:
        mid = (lo + hi) // 2
        gc.collect()  # the last probe's block is garbage: free, or this one fails beside it
        try:
            b = bytearray(mid)
            b = None
            lo = mid
        except MemoryError:
            hi = mid
    gc.collect()
    return {"free": free, "largest": lo}


def session(a, req, method, c):
    # get_relays / switch_relays / logout for an admitted client c
    mine = a.conf["relays"]
    if method == "get_relays":
        return a._reply(req, "{" + ",".join([json_string(r) + ':{"read":true,"write":true}'
                                             for r in mine]) + "}")
    if method == "switch_relays":
        if c.get("relays") == mine:
            return a._reply(req, "null")
        # answered on the relays the client listens on now, then it moves to ours
        a._reply(req, "[" + ",".join([json_string(r) for r in mine]) + "]")
        c["relays"] = list(mine)
        return cl.save(a.id_root, a.clients)
    # logout: "ack" first (to the relays it knows), then the session is gone
    a._reply(req, "ack")
    a.clients.pop(req["client"], None)
    cl.save(a.id_root, a.clients)
    a.redraw()


def connect(a, req, params):
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
                "rules": perms.parse(params[2]) if len(params) > 2 else [], "meta": meta,
                "perms": params[2] if len(params) > 2 else ""})
    requests.enqueue(a, req, 512)


def admit(a, client, meta, rules, relays):
    # a client approved on the screen (bunker connect or nostrconnect pairing)
    if not cl.admit(a.clients, client, meta, rules, relays, a.now()):
        raise Refuse("too many clients", "busy")
    cl.save(a.id_root, a.clients)


def resolve_connect(a, req, how, t1):
    if how in ("reject", "timeout"):
        return a._refuse(req, a._refusal(how), t1)
    try:
        admit(a, req["client"], req["meta"], req["rules"], a.conf["relays"])
    except Refuse as e:
        return a._refuse(req, e, t1)
    if req["secret_state"] == "ok":
        # single use: the next connect needs the next secret
        a.conf["secret"] = cl.new_secret(a.board.rng)
        cl.save_conf(a.root, a.conf)
    a._reply(req, "ack", started=t1)
