# The PIN, a full-screen flow (app.open_flow):
#
#   app.open_flow("ui.pin", "unlock")  at boot when the keys are in the vault (app.py
#                                      opens it; also hold right on the locked screen)
#   app.open_flow("ui.pin", "change")  from the menu: set a PIN when there is none;
#                                      otherwise change it or remove it, each after
#                                      the current PIN (a counted guess, as at boot)
#
# Entering a PIN with two buttons: taps move the digit under the cursor (left -1,
# right +1, past 9 comes "OK"), holding right adds the digit (or, on OK, enters the
# PIN), holding left deletes the last digit (or goes back when there is none; the
# boot unlock has no back). 4 to 12 digits.
#
# The vault work is keystore/ids.py (and keystore/vault.py); PBKDF2 shows a progress
# bar (ui/progress.py). Wrong PINs are counted on flash before each check; after 10
# the keys are erased and the screen says so, then the first-boot set-up follows.
MIN_LEN = 4
MAX_LEN = 12
OK = 10  # the cursor position after 9
_TITLE = {"unlock": "locked:", "old": "current PIN:", "new": "new PIN:", "again": "new PIN again:"}


def _ft(app, k, sim):
    # this board's footer k (boards/common.py feet: its own gestures), else the
    # simulator's keys (bridge/demo.py: a approve, r reject)
    f = getattr(app.board, "feet", None)
    return f.get(k, sim) if f else sim


def _op(fn, *args):
    # keystore/ids.py for one operation; it and what it loaded are forgotten after
    from keystore import ids
    return ids.once("keystore.ids", fn, *args)


def _enter(st, what, msg=""):
    st.update(v="enter", what=what, pin="", c=0, msg=msg)
    return st


def start(app, mode="unlock"):
    st = {"mode": mode, "i": 0}
    if mode == "unlock":
        return _enter(st, "unlock")
    if _op("pin_set", app):
        st["v"] = "menu"
        return st
    return _enter(st, "new")


def _menu_items(app):
    return ("Change PIN", "Remove PIN", "Back")


def draw(app, st):
    v = st["v"]
    if v == "menu":
        items = _menu_items(app)
        return ["PIN"] + [("> " if i == st["i"] else "  ") + items[i] for i in range(len(items))] + \
            ["", "", "", _ft(app, "ok", "A:ok R:back")]
    if v == "wiped":
        return ["KEY ERASED", "10 wrong PINs:", "the keys were", "erased.", "", "hold right:", "set up again"]
    if v == "done":
        return ["PIN", "", st["msg"], "", "", "hold right"]
    c = st["c"]
    pick = "OK" if c == OK else str(c)
    head = ["NOSTR SIGNER", "locked:", "enter PIN"] if st["what"] == "unlock" else ["PIN", _TITLE[st["what"]], ""]
    return head + ["PIN: " + "*" * len(st["pin"]), "digit: < %s >" % pick, st["msg"]] + \
            list(_ft(app, "digit", ("tap:-/+ A:add", "R:delete")))


def press(app, st, b):
    v = st["v"]
    if v == "menu":
        n = len(_menu_items(app))
        if b in ("up", "down"):
            st["i"] = (st["i"] + (1 if b == "down" else -1)) % n
        elif b == "reject":
            return None
        elif b == "approve":
            if st["i"] == 2:
                return None
            st["after"] = "change" if st["i"] == 0 else "remove"
            return _enter(st, "old")
        return st
    if v == "wiped":
        if b == "approve":
            app.open_flow("ui.setup")  # the set-up replaces this flow
        return st
    if v == "done":
        return None if b == "approve" else st
    return _press_digit(app, st, b)


def _press_digit(app, st, b):
    if b == "down":
        st["c"] = (st["c"] + 1) % (OK + 1)
    elif b == "up":
        st["c"] = (st["c"] - 1) % (OK + 1)
    elif b == "reject":
        if st["pin"]:
            st["pin"] = st["pin"][:-1]
        elif st["what"] != "unlock":
            return None  # back out: nothing changed
    elif b == "approve":
        if st["c"] != OK:
            if len(st["pin"]) < MAX_LEN:
                st["pin"] += str(st["c"])
            st["msg"] = ""
        elif len(st["pin"]) < MIN_LEN:
            st["msg"] = "at least %d" % MIN_LEN
        else:
            return _submit(app, st)
    return st


def _submit(app, st):
    import sys
    before = list(sys.modules)
    from keystore import vault, ids
    from ui import progress
    try:
        return _submit_with(app, st, ids, vault, progress)
    finally:
        ids.unload(before)


def _submit_with(app, st, ids, vault, progress):
    pin = st["pin"]
    st["pin"] = ""
    what = st["what"]
    try:
        if what == "unlock":
            ids.unlock(app, pin, progress.callback(app, "UNLOCKING"))
            return None
        if what == "old":
            ids.check(app, pin, progress.callback(app, "CHECKING PIN"))
            if st.get("after") == "remove":
                ids.remove_pin(app)
                return _done(st, "PIN removed")
            return _enter(st, "new")
        if what == "new":
            st["new"] = pin
            return _enter(st, "again")
        # again
        if pin != st.pop("new"):
            return _enter(st, "new", "no match: again")
        ids.set_pin(app, pin, progress.callback(app, "SETTING PIN"))
        return _done(st, "PIN set")
    except vault.WrongPin as e:
        return _enter(st, what, "wrong: %d left" % e.left)
    except vault.Wiped:
        st["v"] = "wiped"
        return st


def _done(st, msg):
    st["v"] = "done"
    st["msg"] = msg
    return st
