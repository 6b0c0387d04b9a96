# First boot (and Keys > add new), a full-screen flow (app.open_flow):
#
#   app.open_flow("ui.setup")          app.py opens it at boot when there is no key
#   app.open_flow("ui.setup", "add")   from ui/keys.py: the key becomes a new identity
#
# Choose (taps move, hold right picks; hold left leaves, except on a first boot):
#   new 12/24 words  entropy from the board's RNG (boards/common.py mixes the chip's RNG,
#                    timing jitter and button edges) hashed with the times of the
#                    presses seen here; shown word by word ("word 3/12"), then two
#                    random words checked: candidates scrolled with taps, hold right
#                    picks; a wrong pick goes back to the words
#   restore 12/24    each word picked letter by letter: taps scroll the letters that
#                    can follow (only those some BIP-39 word has), hold right adds one,
#                    hold left deletes one (or goes back a word); a word is taken as
#                    soon as one word is left, or picked as "=word" when it is a prefix
#                    of others ("act", "action"); the checksum is verified at the end
#   import (host)    waits for `python -m bridge provision` (signer/pairing.py), which
#                    the device confirms on its own prompt; keystore/ids.adopt closes this
# The key is derived (NIP-06, keystore/nip06.py, with a progress bar through the slow
# BIP-39 seed) and stored by keystore/ids.py (under the PIN if one is set).
#
# The mnemonic is held in the flow's state only while the flow needs it; nothing of
# it is sent anywhere or logged.
import sys
from binascii import unhexlify
from crypto import bech32

CHOICES = (("new 12 words", "new", 12), ("new 24 words", "new", 24), ("restore 12", "restore", 12),
           ("restore 24", "restore", 24), ("import (host)", "import", 0))
CANDIDATES = 6  # offered for each checked word: the right one and 5 others


def _ft(app, k, sim):
    # this board's footer k (boards/common.py feet: its own gestures), else the
    # simulator's keys (bridge/demo.py: a approve, r reject)
    f = getattr(app.board, "feet", None)
    return f.get(k, sim) if f else sim


def _wl():
    # loaded while words are shown or picked; _forget() when the flow leaves them
    from keystore import wordlist
    return wordlist.WORDLIST


def _nip06(fn, *args):
    # keystore/nip06.py (and lib/hashlib) for one call, forgotten after
    from keystore import ids
    return ids.once("keystore.nip06", fn, *args)


def _forget():
    from signer import requests
    requests.drop("keystore.wordlist")   # app's, as signer/requests has it


def _rand(app, n):
    # a uniform number below n from the board's RNG
    while True:
        r = int.from_bytes(app.board.rng(2), "big")
        if r < 65536 - 65536 % n:
            return r % n


def start(app, mode=None):
    return {"v": "choose", "i": 0, "add": mode == "add", "t": b"", "msg": ""}


# ---- screens -----------------------------------------------------------------------

def draw(app, st):
    v = st["v"]
    if v == "choose":
        head = ["ADD A KEY", ""] if st["add"] else ["NOSTR SIGNER", "no key yet:"]
        return head + [("> " if i == st["i"] else "  ") + CHOICES[i][0] for i in range(len(CHOICES))] + \
            [_ft(app, "ok", "A:ok R:back") if st["add"] else _ft(app, "okonly", "A:ok")]
    if v == "show":
        n = st["n"]
        i = st["w"]
        return ["WRITE DOWN", "word %d/%d:" % (i + 1, n), "", "  " + st["m"].split()[i], "", st["msg"]] + \
            list(_ft(app, "show", ("tap:<> A:next", "R:back")))
    if v == "check":
        q = st["q"][st["k"]]
        c = st["c"]
        return ["CHECK %d/2" % (st["k"] + 1), "word #%d is?" % (q + 1), "",
                "< %s >" % _wl()[st["cands"][c]], "  (%d/%d)" % (c + 1, CANDIDATES), st["msg"]] + \
            list(_ft(app, "check", ("tap:<> A:pick", "R:words again")))
    if v == "word":
        ch = _letters(st["p"])[st["c"]]
        pick = "=" + st["p"] if ch == "=" else ch
        return ["RESTORE", "word %d/%d:" % (len(st["words"]) + 1, st["n"]), "> " + st["p"] + "_",
                "letter: < %s >" % pick, "matches: %d" % _count(st["p"]), st["msg"]] + \
            list(_ft(app, "letter", ("tap:<> A:add", "R:delete")))
    if v == "import":
        return ["IMPORT KEY", "on the computer:", "python -m bridge", "  provision", "then confirm", "here.",
                "", _ft(app, "back", "R:back")]
    if v == "done":
        return ["KEY STORED", st["npub"][:12] + "..", ".." + st["npub"][-12:], "", "hold right"]
    return ["", st["msg"]]


# ---- buttons -----------------------------------------------------------------------

def press(app, st, b):
    # the time of every press goes into the new key's entropy (on top of the board's)
    st["t"] = (st["t"] + app.board.ticks_ms().to_bytes(4, "little"))[-64:]
    st = _press(app, st, b)
    if st is None or st["v"] in ("choose", "import", "done"):
        _forget()
    return st


def _press(app, st, b):
    v = st["v"]
    if v == "choose":
        return _choose(app, st, b)
    if v == "show":
        return _show(app, st, b)
    if v == "check":
        return _check(app, st, b)
    if v == "word":
        return _word(app, st, b)
    if v == "import":
        if b == "reject":
            st["v"] = "choose"
        return st
    if v == "done":
        return None if b == "approve" else st
    return st


def _choose(app, st, b):
    if b in ("up", "down"):
        st["i"] = (st["i"] + (1 if b == "down" else -1)) % len(CHOICES)
    elif b == "reject" and st["add"]:
        return None
    elif b == "approve":
        _, what, n = CHOICES[st["i"]]
        st["n"] = n
        st["msg"] = ""
        if what == "new":
            _new(app, st)
        elif what == "restore":
            st.update(v="word", words=[], p="", c=0)
        else:
            st["v"] = "import"
    return st


def _new(app, st):
    from crypto import kdf
    ent = kdf.hmac_sha256(app.board.rng(32), st["t"])[:16 if st["n"] == 12 else 32]
    st["m"] = _nip06("new_mnemonic", ent)
    ent = None
    st.update(v="show", w=0)


def _show(app, st, b):
    if b == "up":
        st["w"] = max(0, st["w"] - 1)
    elif b in ("down", "approve"):
        if st["w"] + 1 < st["n"]:
            st["w"] += 1
        elif b == "approve":
            _ask(app, st)
    elif b == "reject":
        if st["w"] > 0:
            st["w"] -= 1
        else:  # drop this mnemonic altogether
            st.pop("m", None)
            st["v"] = "choose"
    st["msg"] = "" if st["v"] != "show" else st["msg"]
    return st


def _ask(app, st):
    # two different positions, asked in order
    a = _rand(app, st["n"])
    b = _rand(app, st["n"] - 1)
    if b >= a:
        b += 1
    st.update(v="check", q=sorted((a, b)), k=0, msg="")
    _candidates(app, st)


def _candidates(app, st):
    wl = _wl()
    right = wl.index(st["m"].split()[st["q"][st["k"]]])
    cands = [right]
    while len(cands) < CANDIDATES:
        w = _rand(app, len(wl))
        if w not in cands:
            cands.append(w)
    # the right one at a random place
    j = _rand(app, CANDIDATES)
    cands[0], cands[j] = cands[j], cands[0]
    st["cands"] = cands
    st["c"] = 0


def _check(app, st, b):
    if b in ("up", "down"):
        st["c"] = (st["c"] + (1 if b == "down" else -1)) % CANDIDATES
    elif b == "reject":
        st.update(v="show", w=0, msg="")
    elif b == "approve":
        picked = _wl()[st["cands"][st["c"]]]
        if picked != st["m"].split()[st["q"][st["k"]]]:
            # written down wrong (or not at all): read the words again
            st.update(v="show", w=0, msg="wrong: check all")
            st.pop("cands")
            return st
        st["k"] += 1
        st["msg"] = ""
        if st["k"] < 2:
            _candidates(app, st)
        else:
            st.pop("cands")
            _derive(app, st, st.pop("m"))
    return st


# ---- restore: letters ----------------------------------------------------------------

def _range(p):
    # the run of words that start with p: [lo, hi)
    wl = _wl()
    lo = wl.lower(p)
    hi = wl.lower(p[:-1] + chr(ord(p[-1]) + 1)) if p else len(wl)
    return lo, hi


def _count(p):
    lo, hi = _range(p)
    return hi - lo


def _letters(p):
    """What may follow p: "=" (p itself is a word, and a prefix of others), then the
    letters some word continues p with."""
    wl = _wl()
    out = []
    lo, hi = _range(p)
    if lo < hi and wl[lo] == p:
        out.append("=")
    for c in "abcdefghijklmnopqrstuvwxyz":
        a, z = _range(p + c)
        if a < z:
            out.append(c)
    return out


def _word(app, st, b):
    p = st["p"]
    if b in ("up", "down"):
        st["c"] = (st["c"] + (1 if b == "down" else -1)) % len(_letters(p))
        return st
    if b == "reject":
        st["msg"] = ""
        if p:
            st["p"] = p[:-1]
        elif st["words"]:
            st["p"] = st["words"].pop()[:-1]
        else:
            st["v"] = "choose"
        st["c"] = 0
        return st
    if b != "approve":
        return st
    st["msg"] = ""
    ch = _letters(p)[st["c"]]
    st["c"] = 0
    if ch == "=":
        return _take(app, st, p)
    p += ch
    lo, hi = _range(p)
    if hi - lo == 1:
        return _take(app, st, _wl()[lo])
    st["p"] = p
    return st


def _take(app, st, word):
    st["words"].append(word)
    st["p"] = ""
    if len(st["words"]) < st["n"]:
        return st
    m = " ".join(st["words"])
    ok = _nip06("mnemonic_valid", m)
    if not ok:
        # one word (or more) is wrong: go back to the last one; L goes further back
        st["p"] = st["words"].pop()[:-1]
        st["msg"] = "bad checksum"
        return st
    st.pop("words")
    _derive(app, st, m)
    return st


# ---- the key ---------------------------------------------------------------------------

def _derive(app, st, mnemonic):
    # BIP-32 needs most of a 128 KB heap: nothing of the pickers stays loaded
    _forget()
    import gc
    gc.collect()
    before = list(sys.modules)
    from keystore import nip06, ids
    from ui import progress
    try:
        sk = nip06.mnemonic_to_key(mnemonic, progress=progress.callback(app, "NEW KEY"))
        mnemonic = None
        ids.adopt(app, sk, st["add"])
    finally:
        ids.unload(before)
    st["npub"] = bech32.encode("npub", unhexlify(app.pubhex))
    st["v"] = "done"
