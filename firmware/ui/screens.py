# The screens: each is a list of at most H text lines of at most W columns, drawn on
# the board's framebuf (8x8 font) and handed unchanged to display.show() as the text
# mirror, so what tests and people read is exactly what the pixels say. W and H are
# the display's character grid (grid(): 16x8 on the 128x64 OLED; a bigger
# framebuffer, as a TFT can have, shows more of each line and more lines).
#
# A prompt screen is a title line, a window on its body (up/down scroll it) and a
# footer naming the board's own gestures (one line, or two where they do not fit one).
# Bodies are built from the parsed request the device will act on (see
# signer/methods.py), never from the raw text; a sign_event's body is its kind's
# summary in plain words and then the whole event (ui/kinds.py); an encrypt's or a
# decrypt's is ui/prompt_text.py's.
#
# Whatever can be long (a 16 KB note, hundreds of tags, a whole plaintext) is a lazy
# segment (ui/textrows.py), rendered only for the visible window; everything from a
# request is shown through esc (textrows.py) so nothing can hide or fake a character.

from binascii import unhexlify
from ui.textrows import CK, esc, hex64, short_id, segment, seg_rows  # noqa: F401 (ui.kinds, tests)

W = 16
H = 8
BODY = H - 2


def grid(display, feet=None):
    """Lay screens out for this display (8x8-pixel character cells) and name this
    board's gestures in the footers (feet: the board's, see FEET)."""
    global W, H, BODY, FEET
    W = display.width // 8
    H = display.height // 8
    BODY = H - 2
    FEET = feet or SIM_FEET


KINDS = {
    0: "profile", 1: "note", 3: "contacts", 4: "nip04 DM", 5: "delete", 6: "repost",
    7: "reaction", 13: "seal", 14: "chat msg", 16: "repost", 1059: "gift wrap",
    1984: "report", 9734: "zap request", 10002: "relay list", 22242: "relay auth",
    24242: "blossom auth", 27235: "http auth", 30023: "article", 30078: "app data",
}

# The footers name the gestures of the board in hand (board.feet): "yes" for a prompt
# that approves or rejects, "rule" for one that can also make an always-allow rule.
# Each is a few parts, joined on one line where they fit the width and one a line
# where they do not (the body window is then a line shorter). The default names the
# simulator's keys (bridge/demo.py: a, r, l); a hardware board names its buttons'
# holds (boards/common.py), where "R:no" would read as "right = no".
SIM_FEET = {"yes": ("A:yes R:no",), "rule": ("A:yes R:no", "L:all")}
FEET = SIM_FEET


def foot(name):
    """The footer lines for FEET[name] on this display."""
    parts = FEET[name]
    one = " ".join(parts)
    return [one] if len(one) <= W else [x[:W] for x in parts]


def win(footer):
    """Rows of body a page shows above this footer (a str: one line)."""
    return H - 1 - (1 if type(footer) is str else len(footer))


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


def _seg_n(seg):
    return len(seg) // W if type(seg) is str else seg[3]


def _window(body, a, b):
    out = []
    r = 0
    for seg in body:
        n = _seg_n(seg)
        if r < b and r + n > a:
            lo, hi = max(a, r) - r, min(b, r + n) - r
            if type(seg) is str:
                out += [seg[i * W:i * W + W].rstrip() for i in range(lo, hi)]
            else:
                out += [x.rstrip() for x in seg_rows(seg, lo, hi, W)]
        r += n
    return out


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
    if type(body) is tuple:
        return sum(_seg_n(s) for s in body)
    return len(body) // W if type(body) is str else len(body)


def page(title, body, footer, scroll, waiting, at=False):
    """H lines: title (+N others waiting, scroll marks), body window, footer. body: a
    list of lines, pack()ed rows or a tuple of segments. footer: a line, or foot()'s
    lines. at: once scrolled, say where ("120/340": the window's last row of all rows)."""
    n = rows(body)
    foot_ = [footer] if type(footer) is str else footer
    nb = H - 1 - len(foot_)
    top = max(0, n - nb)
    scroll = max(0, min(scroll, top))
    marks = ("^" if scroll > 0 else "") + ("v" if scroll < top else "")
    head = (title + (" +%d" % waiting if waiting else ""))[:W - 3]
    if at and scroll:
        marks = "%d/%d %s" % (scroll + nb, n, marks)
        head = head[:max(0, W - 1 - len(marks))]
    if marks:
        head += " " * (W - len(head) - len(marks)) + marks
    if type(body) is tuple:
        shown = _window(body, scroll, min(n, scroll + nb))
    elif type(body) is str:
        shown = [body[i * W:i * W + W].rstrip() for i in range(scroll, min(n, scroll + nb))]
    else:
        shown = body[scroll:scroll + nb]
    return [head] + shown + [""] * (nb - len(shown)) + foot_


def who(name, client_npub):
    # a client's name is its own claim: shown escaped and marked, or its key if nameless
    if name:
        name = esc(name, 40)
        return [name if len(name) <= W else name[:W - 1] + "~", "(unverified)"]
    return ["client", short_key(client_npub)]


def request(item, client_name, client_npub, peer_npub, ctx=None):
    """Title, body, footer for a keyed request waiting for approval. A sign_event's body
    is ui.kinds' layout as segments (the summary packed, content and tags lazy: they
    refer to the template, which the prompt keeps anyway); the others' is
    ui.prompt_text's. ctx: "npub" fn(32 bytes) -> bech32, "now", "root" (where the
    last signed follow list is kept), "me" (the signer's hex key). The caller keeps
    the result for the prompt's life and drops ui.kinds* after (see app.redraw)."""
    m = item["method"]
    body = who(client_name, client_npub)
    if m == "nip44_get_key":
        body.append("!! KEY EXPORT !!")
        title, ft = "EXPORT KEY?", foot("yes")
    else:
        body.append(m[:W])
        title, ft = "APPROVE?", foot("rule")
    ctx = ctx or {}
    npub = ctx.get("npub")
    short = (lambda h: short_key(npub(unhexlify(h)))) if npub else None
    if m != "sign_event":
        from ui import prompt_text
        return title, prompt_text.body(m, item["op"], body, client_npub, peer_npub,
                                       {"npub": short, "me": ctx.get("me")}), ft
    from ui import kinds
    f = None
    tpl = item["op"]["tpl"]
    big = tpl.get("content")
    if type(big) is memoryview:
        # a big note left in the link's buffer (signer/methods.py): the summary's
        # essentials read its start as a str; the content segment pages the buffer
        j = min(len(big), 480)
        while j < len(big) and (big[j] & 0xC0) == 0x80:  # back to a character's start
            j -= 1
        tpl = dict(tpl)
        tpl["content"] = str(big[:j], "utf-8")
    else:
        big = None
    if tpl.get("kind") == 3 and ctx.get("root"):
        from ui import kinds_follows
        f = kinds_follows.last(ctx["root"])
    try:
        parts = kinds.layout(tpl, {
            "npub": short,
            "now": ctx.get("now") or None, "last_follows": f, "w": W})
    finally:
        if f:
            f.close()
    # the summary's lines packed, the content and the tags as lazy segments
    segs = []
    for x in parts:
        if type(x) is str:
            body.append(x)
        else:
            if body:
                segs.append(pack(body))
                body = []
            if big is not None and x[0] == "c":
                x = ("c", big)  # the whole content, not the start the essentials read
            segs.append(segment(x, W))
    if body:
        segs.append(pack(body))
    return title, tuple(segs), ft


def rule(r):
    # how a requested permission reads on the screen
    if r == "sign_event":
        return "sign ANY kind!"
    if r.startswith("sign_event:"):
        k = int(r[11:])
        return ("sign %d %s" % (k, kind_name(k)))[:W]
    if r.endswith("_decrypt"):
        return (r + "!")[:W]  # reads every DM with anyone, unasked
    return r[:W]


def _danger(r):
    # how much a permission gives away: a pairing lists the worst first, so scrolling
    # is never needed to find them below harmless ones
    return 0 if r == "sign_event" else 2 if r.endswith("_decrypt") else 3


def connect(meta, secret_state, rules, client_npub, relays=None, asks_key=False):
    """Title, body, footer for a connect (bunker) or, with relays, a nostrconnect pairing.
    asks_key: the client asked for nip44_get_key (never a rule: asked for each time)."""
    body = who(meta.get("name"), client_npub)
    if meta.get("name"):  # a name is a claim; the key is who it is
        body.append(short_key(client_npub))
    if secret_state:
        body.append({"ok": "secret ok", "none": "NO SECRET!", "bad": "WRONG SECRET!"}[secret_state])
    if rules or asks_key:
        body.append("asks to allow:")
        for d in range(4):  # by danger (list.sort need not be stable on MicroPython)
            if d == 1 and asks_key:
                body += ["nip44_get_key!", " (asked each", " time: no rule)"]
            for r in rules:
                if _danger(r) == d:
                    body.append(rule(r))
    else:
        body.append("no auto-allow")
    if meta.get("url"):  # a claim too: below what the person is deciding on
        body += wrap(esc(meta["url"], 64), max_lines=2)
    if relays:
        body.append("relays:")
        for r in relays:
            body += wrap(esc(r, 64), max_lines=2)
    return ("PAIR?" if relays else "CONNECT?"), body, foot("yes")


def provision(npub, replacing):
    body = ["new key:"] + wrap(npub)
    if replacing:
        body += ["REPLACES the", "current key and", "forgets clients"]
    return "IMPORT KEY?", body, foot("yes")
