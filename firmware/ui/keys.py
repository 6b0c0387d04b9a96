# The keys list, a full-screen flow (app.open_flow):
#
#   app.open_flow("ui.keys")   from the menu (ui/menu.py "Keys"); no arguments
#
# Every identity on the device by its short npub, the active one marked "*", then
# "+ add new". Taps move the cursor, holding right on a key makes it the active one
# (its clients and rules come with it: keystore/ids.py, app._set_identity) and goes
# back to the idle screen; on "+ add new" it opens the set-up flow (ui/setup.py) to
# create, restore or import a key as a new identity. Holding left leaves.
from binascii import unhexlify
from crypto import bech32

ROWS = 5  # list rows on a 16x8 screen (title, 5 rows, message, footer)


def _ft(app, k, sim):
    # this board's footer k (boards/common.py feet: its own gestures), else the
    # simulator's keys (bridge/demo.py: a approve, r reject)
    f = getattr(app.board, "feet", None)
    return f.get(k, sim) if f else sim


def _op(fn, *args):
    # keystore/ids.py for one operation; it and what it loaded are forgotten after
    from keystore import ids
    return ids.once("keystore.ids", fn, *args)


def start(app):
    ls = _op("listing", app)
    rows = []
    for n, pub in ls:
        if pub:
            npub = bech32.encode("npub", unhexlify(pub))
            rows.append((n, npub[:8] + ".." + npub[-4:]))  # 14 columns: 16 with the marks
        else:
            rows.append((n, "(no key)"))
    i = 0
    for k in range(len(rows)):
        if rows[k][0] == app.id_n:
            i = k
    return {"rows": rows, "i": i, "msg": ""}


def draw(app, st):
    rows = st["rows"]
    items = [("*" if n == app.id_n else " ") + s for n, s in rows] + ["+ add new"]
    i = st["i"]
    top = max(0, min(i - ROWS + 1, len(items) - ROWS))
    out = ["KEYS %d" % len(rows)]
    for k in range(top, min(len(items), top + ROWS)):
        out.append((">" if k == i else " ") + items[k])
    out += [""] * (ROWS + 1 - len(out)) + [st["msg"], _ft(app, "use", "A:use R:back")]
    return out


def press(app, st, b):
    n_items = len(st["rows"]) + 1
    if b in ("up", "down"):
        st["i"] = (st["i"] + (1 if b == "down" else -1)) % n_items
        st["msg"] = ""
        return st
    if b == "reject":
        return None
    if b != "approve":
        return st
    if st["i"] == len(st["rows"]):
        if not _op("room", app):
            st["msg"] = "no room for more"
            return st
        app.open_flow("ui.setup", "add")  # replaces this flow
        return st
    n = st["rows"][st["i"]][0]
    if n == app.id_n:
        return None
    try:
        _op("switch", app, n)
    except ValueError:
        st["msg"] = "no key there"
        return st
    return None
