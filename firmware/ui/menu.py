# The device menu, a full-screen flow (app.open_flow): opened by holding right on the
# idle screen, dropped when it closes, so none of it stays resident while the signer
# idles. Taps move the cursor (left up, right down, wrapping), holding right selects,
# holding left goes back (and leaves from the top).
#
#   Clients      admitted clients -> one client: its name (its own claim, unverified),
#                short npub, last use, its rules; remove a rule, or revoke the client
#                (after a confirm screen)
#   Auto-reject  kinds this device refuses to sign for anyone (signer/perms.py)
#   Audit log    the last answered requests, newest first (signer/audit.py)
#   Pair         the bunker:// URL as a QR code (ui/menu_pair.py, loaded for it)
#   Relays       the device's own relay list (set from the host, approved on a prompt:
#                signer/pairing.py): what the QR, hello, get_relays and AUTH use
#   Keys, PIN    other flows (ui/keys.py, ui/pin.py), listed when shipped
#
# The state is a small dict; client records are looked up by key on every press and
# never held (app._settle may replace app.clients with a copy). Every change is saved
# at once, atomically (keystore.store via signer.clients).
import sys
from binascii import unhexlify
from crypto import bech32
from signer import clients as cl, requests
from ui import screens

MAIN = (("Clients", "clients"), ("Auto-reject", "reject"), ("Audit log", "audit"),
        ("Pair (QR)", "pair"), ("Relays", "relays"), ("Keys", "keys"), ("PIN", "pin"), ("Exit", "exit"))
_FLOWS = {"keys": ("ui.keys",), "pin": ("ui.pin", "change")}
# offered in Auto-reject besides the kinds recently asked for (from the audit log)
COMMON_KINDS = (0, 1, 3, 4, 5, 6, 7, 1984, 9734, 10002, 30023)
_PARENT = {"client": "clients", "confirm": "client"}


def _ft(app, k, sim):
    # this board's footer k (boards/common.py feet: its own gestures), else the
    # simulator's keys (bridge/demo.py: a approve, r reject)
    f = getattr(app.board, "feet", None)
    return f.get(k, sim) if f else sim


def _shipped(app, name):
    # is flow module `name` in this build? (imported to see: dropped again until used)
    try:
        requests.lazy(name)
        ok = True
    except ImportError:
        ok = False
    requests.drop(name)
    return ok


def start(app):
    extra = [a for a in _FLOWS if _shipped(app, _FLOWS[a][0])]
    return {"v": "main", "i": 0, "extra": extra}


def _npub(pk):
    return bech32.encode("npub", unhexlify(pk))


def ago(now, t):
    """'2m ago' from unix seconds; '?' when either clock is unknown."""
    if not now or not t:
        return "?"
    d = now - t
    if d < 60:
        return "just now" if d < 5 else "%ds ago" % d
    for n, u in ((86400, "d"), (3600, "h"), (60, "m")):
        if d >= n:
            return "%d%s ago" % (d // n, u)


def _name(c, pk):
    n = c.get("name")
    return screens.esc(n, 40)[:screens.W - 1] if n else screens.short_key(_npub(pk))[:screens.W - 1]


# ---- the views: (title, items, footer); an item is (text, action), action None for a
# line that only informs -------------------------------------------------------------

def _main(app, st):
    return "MENU", [(t, a) for t, a in MAIN if a not in _FLOWS or a in st["extra"]], _ft(app, "exit", "A:ok R:exit")


def _clients(app, st):
    c = app.clients
    if not c:
        return "CLIENTS", [("no clients", None), ("pair one: Pair", None), ("or from host", None)], _ft(app, "ok", "A:ok R:back")
    return "CLIENTS %d" % len(c), [(_name(c[pk], pk), pk) for pk in sorted(c)], _ft(app, "ok", "A:ok R:back")


def _client(app, st):
    pk = st["c"]
    c = app.clients.get(pk)
    if c is None:
        return "CLIENT", [("gone", None)], _ft(app, "ok", "A:ok R:back")
    items = [(x, None) for x in screens.who(c.get("name"), _npub(pk))]
    if c.get("name"):
        items.append((screens.short_key(_npub(pk)), None))
    items.append(("used " + ago(app.now(), c.get("last_used")), None))
    rules = c.get("rules") or []
    items.append(("rules: A=remove" if rules else "no rules", None))
    for r in rules:
        items.append(("x " + screens.rule(r), ("rule", r)))
    items.append(("Revoke client", ("revoke",)))
    return "CLIENT", items, _ft(app, "ok", "A:ok R:back")


def _confirm(app, st):
    pk = st["c"]
    c = app.clients.get(pk, {})
    items = [(_name(c, pk), None), ("is forgotten:", None), ("its rules too;", None),
             ("it must pair", None), ("again to sign", None), ("Yes, revoke", ("yes",))]
    return "REVOKE?", items, _ft(app, "yes", ("A:yes R:no",))[0]


def _kinds(app):
    # common kinds, then the kinds asked for lately, then any others set
    ks = list(COMMON_KINDS)
    audit = _audit()
    root = app.root
    for slot in audit.newest(root)[:20]:
        r = audit.read(root, slot)
        if r and r["kind"] is not None and r["kind"] not in ks:
            ks.append(r["kind"])
    _drop("signer.audit")
    for k in app.conf.get("reject") or ():
        if k not in ks:
            ks.append(k)
    return ks


def _reject(app, st):
    on = app.conf.get("reject") or ()
    items = [(("[x] " if k in on else "[ ] ") + ("%d %s" % (k, screens.kind_name(k))), k)
             for k in st["kinds"]]
    return "AUTO-REJECT", items, _ft(app, "set", "A:set R:back")


def _relays(app, st):
    items = []
    for r in app.conf["relays"]:
        items += [(x, None) for x in screens.wrap(screens.esc(r, 256), max_lines=4)]
    return "RELAYS %d" % len(app.conf["relays"]), items + [("set: host", None)], _ft(app, "back", "R:back")


_VIEWS = {"main": _main, "clients": _clients, "client": _client, "confirm": _confirm,
          "reject": _reject, "relays": _relays}


def _first(items, i=0, step=1):
    # the next selectable item from i (inclusive), wrapping; -1 if none
    n = len(items)
    for j in range(n):
        k = (i + step * j) % n
        if items[k][1] is not None:
            return k
    return -1


def _go(app, st, v, **kw):
    st["v"] = v
    st.update(kw)
    if v in _VIEWS:
        st["i"] = _first(_VIEWS[v](app, st)[1])
    return st


# ---- the audit log view ---------------------------------------------------------------

def _lazy(name):
    __import__(name)
    return sys.modules[name]


def _drop(name):
    requests.drop(name)   # app's, as signer/requests has it


def _drop_screens():
    # ui.screens and what it imports (as app._tidy drops them)
    for m in ("ui.screens", "ui.prompt_text", "ui.prompt_pair"):
        _drop(m)


def _audit():
    return _lazy("signer.audit")


def _log_lines(app, st):
    # two records a page, three lines each: when and who, what, how it ended
    audit = _audit()
    out = []
    for slot in st["log"][st["top"]:st["top"] + screens.BODY // 3]:
        r = audit.read(app.root, slot)
        if r is None:
            out += ["(unreadable)", "", ""]
            continue
        who = r["client"]
        for pk in app.clients:
            if pk.startswith(who) and app.clients[pk].get("name"):
                who = screens.esc(app.clients[pk]["name"], 20)
                break
        what = r["method"]
        if r["kind"] is not None:
            what = "sign %d %s" % (r["kind"], screens.kind_name(r["kind"]))
        how = r["outcome"] + (" id:" + r["eid"] if r["eid"] else "")
        t = ago(app.now(), r["time"])
        out += [(t[:-4] if t.endswith(" ago") else t) + " " + who, " " + what, " " + how]
    _drop("signer.audit")
    return [x[:screens.W] for x in out]


def _log_draw(app, st):
    n = len(st["log"])
    if not n:
        return screens.page("AUDIT LOG", ["nothing yet"], _ft(app, "back", "R:back"), 0, 0)
    body = _log_lines(app, st)
    title = "LOG %d/%d" % (st["top"] + 1, n)
    head = title + " " * (screens.W - len(title) - 2) + ("^" if st["top"] else " ") + \
        ("v" if st["top"] + screens.BODY // 3 < n else " ")
    return [head] + body + [""] * (screens.BODY - len(body)) + [_ft(app, "scroll", "tap:scroll R:bk")]


# ---- the flow API -------------------------------------------------------------------

def draw(app, st):
    v = st["v"]
    if v == "audit":
        return _log_draw(app, st)
    if v == "pair":
        q = st["qr"]
        _lazy("ui.menu_pair").draw(app, q[0], q[1], q[2])
        return None
    title, items, foot = _VIEWS[v](app, st)
    i = st["i"]
    body = []
    for k in range(len(items)):
        t, a = items[k]
        body.append(t[:screens.W] if a is None else ((">" if k == i else " ") + t)[:screens.W])
    return screens.page(title, body, foot, max(0, i - (screens.BODY - 1)), 0)


def _back(app, st):
    v = st["v"]
    if v == "main":
        _drop_screens()  # no prompt is up (a flow gets presses only then): not needed
        return None
    if v == "pair":
        st.pop("qr", None)
        _drop("ui.menu_pair")
        _drop("ui.qr")
    if v == "audit":
        st.pop("log", None)
    if v == "reject":
        st.pop("kinds", None)
    parent = _PARENT.get(v, "main")
    cur = {"clients": "clients", "client": "clients", "confirm": "client", "reject": "reject",
           "audit": "audit", "pair": "pair", "relays": "relays"}[v]
    _go(app, st, parent)
    # put the cursor back on the entry we came from
    items = _VIEWS[parent](app, st)[1]
    for k in range(len(items)):
        a = items[k][1]
        if a == cur or (parent == "clients" and a == st.get("c")) or (parent == "client" and a == ("revoke",)):
            st["i"] = k
            break
    return st


def press(app, st, button):
    v = st["v"]
    if button == "reject":
        return _back(app, st)
    if v == "audit":
        if button in ("up", "down"):
            n = len(st["log"])
            st["top"] = max(0, min(st["top"] + (1 if button == "down" else -1), n - 1))
        return st
    if v == "pair":
        return st
    items = _VIEWS[v](app, st)[1]
    i = st["i"]
    if i < 0:
        return st
    if button in ("up", "down"):
        step = 1 if button == "down" else -1
        st["i"] = _first(items, (i + step) % len(items), step)
        return st
    if button != "approve":
        return st
    return _select(app, st, items[i][1])


def _select(app, st, a):
    v = st["v"]
    if v == "main":
        if a == "exit":
            _drop_screens()
            return None
        if a in _FLOWS:
            _drop_screens()
            app.open_flow(*_FLOWS[a])  # ends this flow: the menu is dropped
            return st
        if a == "audit":
            st["log"] = _audit().newest(app.root)
            _drop("signer.audit")
            st["top"] = 0
            st["v"] = a
            return st
        if a == "pair":
            q = _lazy("ui.menu_pair").open_(app)
            st["qr"] = q
            st["v"] = a
            return st
        if a == "reject":
            st["kinds"] = _kinds(app)
        return _go(app, st, a)
    if v == "clients":
        return _go(app, st, "client", c=a)
    if v == "client":
        c = app.clients.get(st["c"])
        if c is None:
            return st
        if a[0] == "revoke":
            return _go(app, st, "confirm")
        rules = c.get("rules") or []
        if a[1] in rules:
            rules.remove(a[1])
            cl.save(app.id_root, app.clients)
        items = _client(app, st)[1]
        st["i"] = _first(items, min(st["i"], len(items) - 1))
        return st
    if v == "confirm":
        if app.clients.pop(st["c"], None) is not None:
            cl.save(app.id_root, app.clients)
        st["i"] = 0
        return _go(app, st, "clients")
    if v == "reject":
        # signer/perms.py is loaded for this and dropped: a copy left behind in the
        # middle of the heap splits the block a BIP-39 restore needs later
        if requests.lazy("signer.perms").set_reject(app.conf, a, a not in (app.conf.get("reject") or ())):
            cl.save_conf(app.root, app.conf)
        requests.drop("signer.perms")
        return st
    return st
