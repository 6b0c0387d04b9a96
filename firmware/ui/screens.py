# The screens: each is a list of at most H text lines of at most W columns, drawn on
# the board's framebuf (8x8 font) and handed unchanged to display.show() as the text
# mirror, so what tests and people read is exactly what the pixels say. W and H are
# the display's character grid (grid(): 16x8 on the 128x64 OLED; a bigger
# framebuffer, as a TFT can have, shows more of each line and more lines).
#
# A prompt screen is a title line, an (H-2)-line window on its body (up/down scroll
# it) and a footer naming the buttons. Bodies are built from the parsed request the
# device will act on (see signer/methods.py), never from the raw text; a sign_event's
# body is its kind's summary in plain words and then the whole event (ui/kinds.py).
#
# The font draws printable ASCII only, and what a person is asked to approve must not
# hide anything: every other character is shown as an escape (\n, \x07, \u202e,
# \U0001f600). Bidi overrides and isolates, zero-width spaces and joiners, the BOM,
# C0/C1 control characters and DEL therefore appear as what they are instead of
# silently reordering or vanishing; a non-ASCII letter shows as its code point rather
# than a blank box, and a backslash as "\\" so no text can fake an escape.

from binascii import unhexlify

W = 16
H = 8
BODY = H - 2


def grid(display):
    """Lay screens out for this display: 8x8-pixel character cells."""
    global W, H, BODY
    W = display.width // 8
    H = display.height // 8
    BODY = H - 2

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}

KINDS = {
    0: "profile", 1: "note", 3: "contacts", 4: "nip04 DM", 5: "delete", 6: "repost",
    7: "reaction", 13: "seal", 14: "chat msg", 16: "repost", 1059: "gift wrap",
    1984: "report", 9734: "zap request", 10002: "relay list", 22242: "relay auth",
    24242: "blossom auth", 27235: "http auth", 30023: "article", 30078: "app data",
}

FOOT_RULE = "A:yes R:no L:all"
FOOT = "A:yes R:no"


def esc(s, limit=400):
    """s with every non-printable-ASCII character escaped; only the first `limit`
    chars are looked at (the rest of a 16 KB note cannot be shown anyway), a cut is
    marked "..."."""
    cut = len(s) > limit
    if cut:
        s = s[:limit]
    out = []
    hi = 0  # a UTF-16 high surrogate waiting for its low half (JSON escapes an emoji so)
    for c in s:
        o = ord(c)
        if hi:
            if 0xDC00 <= o < 0xE000:  # the pair is one code point: say which
                out[-1] = "\\U%08x" % (0x10000 + ((hi - 0xD800) << 10) + o - 0xDC00)
                hi = 0
                continue
            hi = 0
        if 0x20 <= o < 0x7F and c != "\\":
            out.append(c)
        elif c in _NAMED:
            out.append(_NAMED[c])
        elif o < 0x100:
            out.append("\\x%02x" % o)
        elif o < 0x10000:
            out.append("\\u%04x" % o)
            if 0xD800 <= o < 0xDC00:
                hi = o
        else:
            out.append("\\U%08x" % o)
    if cut:
        out.append("...")
    return "".join(out)


def wrap(s, width=None, max_lines=40):
    """Hard-wrap escaped text (one char = one column)."""
    width = width or W
    lines = []
    while s and len(lines) < max_lines:
        lines.append(s[:width])
        s = s[width:]
    return lines


def short_key(bech):
    # npub1abcd..vwxyz: 16 columns, enough of both ends to compare with a client's view
    return bech[:W - 7] + ".." + bech[-5:] if len(bech) > W else bech


def kind_name(k):
    return KINDS.get(k, "event")


def draw(display, lines):
    fb = display.fb
    fb.fill(0)
    for i in range(min(len(lines), display.height // 8)):
        fb.text(lines[i], 0, i * 8, 1)
    display.show(lines)


def idle(npub, nclients, waiting):
    if not npub:
        return ["NOSTR SIGNER", "no key yet:", "provision it", "from the host", "", "waiting: %d" % waiting]
    return ["NOSTR SIGNER", short_key(npub), "", "clients: %d" % nclients, "waiting: %d" % waiting]


def pack(lines):
    """A body kept for a prompt's life as one string of W-column rows: one block on
    the heap instead of a string object per line scattered through it."""
    return "".join(ln + " " * (W - len(ln)) for ln in lines)


def rows(body):
    return len(body) // W if type(body) is str else len(body)


def page(title, body, footer, scroll, waiting):
    """H lines: title (+N others waiting, scroll marks), body window, footer. body: a
    list of lines or pack()ed rows."""
    n = rows(body)
    top = max(0, n - BODY)
    scroll = max(0, min(scroll, top))
    marks = ("^" if scroll > 0 else "") + ("v" if scroll < top else "")
    head = (title + (" +%d" % waiting if waiting else ""))[:W - 3]
    if marks:
        head += " " * (W - len(head) - len(marks)) + marks
    if type(body) is str:
        win = [body[i * W:i * W + W].rstrip() for i in range(scroll, min(n, scroll + BODY))]
    else:
        win = body[scroll:scroll + BODY]
    return [head] + win + [""] * (BODY - len(win)) + [footer]


def who(name, client_npub):
    # a client's name is its own claim: shown escaped and marked, or its key if nameless
    if name:
        name = esc(name, 40)
        return [name if len(name) <= W else name[:W - 1] + "~", "(unverified)"]
    return ["client", short_key(client_npub)]


def summary(method, op, peer_npub):
    """One line (wrapped later) saying what a DM request would do (sign_event: kinds)."""
    who_ = short_key(peer_npub)
    if method == "nip44_get_key":
        return "nip44 key with %s: client can read all DMs with them" % who_
    if method.endswith("encrypt"):
        return "encrypt %s to %s: %s" % (method[:5], who_, esc(op["text"], 160))
    return "decrypt %s from %s: %s" % (method[:5], who_, esc(op["text"], 160))


def request(item, client_name, client_npub, peer_npub, ctx=None):
    """Title, body, footer for a keyed request waiting for approval. A sign_event's body
    is ui.kinds' summary; ctx: "npub" fn(32 bytes) -> bech32, "now", "root" (where the
    last signed follow list is kept). The caller keeps the result for the prompt's
    life and drops ui.kinds* after (see app.redraw)."""
    m = item["method"]
    body = who(client_name, client_npub)
    if m == "nip44_get_key":
        body.append("!! KEY EXPORT !!")
        title, foot = "EXPORT KEY?", FOOT
    else:
        body.append(m[:W])
        title, foot = "APPROVE?", FOOT_RULE
    if m != "sign_event":
        return title, body + wrap(summary(m, item["op"], peer_npub)), foot
    from ui import kinds
    ctx = ctx or {}
    f = None
    tpl = item["op"]["tpl"]
    c = tpl.get("content")
    if type(c) is memoryview:
        # a big note left in the link's buffer (signer/methods.py): the summary reads
        # its start as a str; esc() shows 400 chars at most and marks the cut
        j = min(len(c), 2400)
        while j < len(c) and (c[j] & 0xC0) == 0x80:  # back to a character's start
            j -= 1
        tpl = dict(tpl)
        tpl["content"] = str(c[:j], "utf-8")
    c = None
    if tpl.get("kind") == 3 and ctx.get("root"):
        from ui import kinds_follows
        f = kinds_follows.last(ctx["root"])
    npub = ctx.get("npub")
    try:
        body += kinds.summary(tpl, {
            "npub": (lambda h: short_key(npub(unhexlify(h)))) if npub else None,
            "now": ctx.get("now") or None, "last_follows": f, "w": W})
    finally:
        if f:
            f.close()
    return title, pack(body), foot


def rule(r):
    # how a requested permission reads on the screen
    if r == "sign_event":
        return "sign ANY kind!"
    if r.startswith("sign_event:"):
        k = int(r[11:])
        return ("sign %d %s" % (k, kind_name(k)))[:W]
    return r[:W]


def connect(meta, secret_state, rules, client_npub, relays=None):
    """Title, body, footer for a connect (bunker) or, with relays, a nostrconnect pairing."""
    body = who(meta.get("name"), client_npub)
    if meta.get("url"):
        body += wrap(esc(meta["url"], 64), max_lines=2)
    if secret_state:
        body.append({"ok": "secret ok", "none": "NO SECRET!", "bad": "WRONG SECRET!"}[secret_state])
    if rules:
        body.append("asks to allow:")
        for r in rules:
            body.append(rule(r))
    else:
        body.append("no auto-allow")
    if relays:
        body.append("relays:")
        for r in relays:
            body += wrap(esc(r, 64), max_lines=2)
    return ("PAIR?" if relays else "CONNECT?"), body, FOOT


def provision(npub, replacing):
    body = ["new key:"] + wrap(npub)
    if replacing:
        body += ["REPLACES the", "current key and", "forgets clients"]
    return "IMPORT KEY?", body, FOOT
