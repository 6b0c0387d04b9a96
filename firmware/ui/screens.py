# The screens: each is a list of at most H text lines of at most W columns, drawn on
# the board's framebuf (8x8 font) and handed unchanged to display.show() as the text
# mirror, so what tests and people read is exactly what the pixels say. W and H are
# the display's character grid (grid(): 16x8 on the 128x64 OLED, more on a TFT).
#
# A prompt screen is a title line, a window on its body (up/down scroll it) and a
# footer (FEET). Bodies are built from the parsed request the device will act on (see
# signer/methods.py), never from the raw text; a sign_event's body is its kind's
# summary in plain words and then the whole event (ui/kinds.py); an encrypt's or a
# decrypt's is ui/prompt_text.py's; a pairing's ui/prompt_pair.py's.
#
# Whatever can be long (a 16 KB note, hundreds of tags, a 30 KB plaintext) is a lazy
# segment, rendered only for the visible window: ("c", text, starts, n) for a text --
# rows are cut from esc(text) as if it were one wrapped string, starting from where
# every CK-th row begins (found by one counting pass when the prompt is built) -- and
# ("t", tags, starts, n) for a tag list, starts being the first row of every CK-th
# tag; a tag's rows are cut the same way from its values, each escaped whole however
# long. What stays on the heap is a few ints per CK rows, never the rows (here, not in a
# module of its own, whose dict every prompt would carry).
#
# The font draws printable ASCII only, and what a person is asked to approve must not
# hide anything: every other character is shown as an escape (\n, \x07, \u202e,
# \U0001f600). Bidi overrides and isolates, zero-width spaces and joiners, the BOM,
# C0/C1 control characters and DEL therefore appear as what they are instead of
# silently reordering or vanishing; a non-ASCII letter shows as its code point rather
# than a blank box, and a backslash as "\\" so no text can fake an escape.

from array import array
from binascii import unhexlify

W = 16
H = 8
BODY = H - 2
CK = 8  # rows (content) or tags between two remembered starts of a lazy segment

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}


def esc(s, limit=400):
    """s with every non-printable-ASCII character escaped; only the first `limit`
    chars are looked at (a summary's field; the whole text is a lazy segment), a cut
    is marked "..."."""
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



def hex64(s):
    if type(s) is not str or len(s) != 64:
        return False
    for c in s:
        if c not in "0123456789abcdef":
            return False
    return True


def short_id(h):
    # 13 columns, so "on " + short_id(h) fills a 16-column line
    return (h[:6] + ".." + h[-5:]) if hex64(h) else ("bad " + esc(h if type(h) is str else "", 9))[:13]


def _chars(s):
    # (index, code point) of each char: s a str (index: chars), or a memoryview of
    # UTF-8 (index: bytes), as a big note's content stays in the link's buffer
    # (signer/methods.py); surrogates MicroPython's json left as CESU-8 come out as
    # their halves, as in a str
    if type(s) is str:
        i = 0
        for c in s:
            yield i, ord(c)
            i += 1
        return
    n = len(s)
    i = 0
    while i < n:
        o = s[i]
        k = 1 if o < 0xC0 else 2 if o < 0xE0 else 3 if o < 0xF0 else 4
        if k > 1:
            o &= 0x7F >> k
            for j in range(i + 1, min(i + k, n)):
                o = (o << 6) | (s[j] & 0x3F)
        yield i, o
        i += k


def _scan(s, first, step, st):
    """Walk s as esc shows it; -> its columns. st (an array, or None): gets the start of
    columns first, first + step, ... as i * 16 + k: in the escape of char i (its index
    as _chars gives it), after k of its columns (a row end can cut an escape)."""
    nxt = first
    pos = prev = 0
    hi = False
    for i, o in _chars(s):
        if hi and 0xDC00 <= o < 0xE000:
            # esc shows a surrogate pair as one \U escape: it starts at the high half
            at, p0 = prev, pos - 6
            pos += 4
            hi = False
        else:
            at, p0 = i, pos
            if 0x20 <= o < 0x7F and o != 0x5C:
                pos += 1
            elif o in (10, 9, 13, 0x5C):  # _NAMED
                pos += 2
            else:
                pos += 4 if o < 0x100 else 6 if o < 0x10000 else 10
            hi = 0xD800 <= o < 0xDC00
        while pos > nxt:
            st.append(at * 16 + nxt - p0)
            nxt += step
        prev = i
    return pos


_FAR = 1 << 30  # a column no text reaches


def _cut(s, c, n, at=0):
    # columns c..c+n of esc(s) (at: where column c starts, from _scan, if known); every
    # char is at least one column, so n + k + 1 chars hold them (the one more completes
    # a surrogate pair cut at the end)
    if c and not at:
        st = array("I")
        _scan(s, c, _FAR, st)
        at = st[0] if st else len(s) * 16
    i, k = at >> 4, at & 15
    if type(s) is str:
        e = s[i:i + n + k + 1]
    else:  # UTF-8 bytes from char start i: enough for n + k + 1 chars, whole chars only
        j = min(len(s), i + 4 * (n + k + 1))
        while j < len(s) and (s[j] & 0xC0) == 0x80:
            j -= 1
        e = str(s[i:j], "utf-8")[:n + k + 1]
    return esc(e, len(e))[k:k + n]


def _piece(v):
    # a tag value in the full listing when not a text of its own: (shown, None), or
    # (None, v) for text escaped whole
    if hex64(v):
        return short_id(v), None
    if type(v) is not str:
        return "?", None
    return (None, v) if v else ('""', None)


def _tag_cols(t):
    if type(t) is not list or not t:
        return 7  # "bad tag"
    n = len(t) - 1  # the spaces between values
    for v in t:
        f, v = _piece(v)
        n += len(f) if f else _scan(v, _FAR, 0, None)
    return n


def _tag(t, c, n):
    # columns c..c+n of a tag's line: its values, 64-hex ones as their ends, each
    # escaped whole however long
    if type(t) is not list or not t:
        return "bad tag"[c:c + n]
    out = []
    pos = 0
    for j in range(len(t)):
        f, v = _piece(t[j])
        if j:
            if c <= pos < c + n:
                out.append(" ")
            pos += 1
        m = len(f) if f else _scan(v, _FAR, 0, None)
        if pos < c + n and pos + m > c:
            a = max(c, pos) - pos
            b = min(c + n, pos + m) - pos
            out.append(f[a:b] if f else _cut(v, a, b - a))
        pos += m
        if pos >= c + n:
            break
    return "".join(out)


def segment(part, w):
    """A lazy body segment for ("c", text) or ("t", tags) (see the top): the counting
    pass only; no row is made here."""
    if part[0] == "t":
        tags = part[1]
        st = array("I")
        n = 0
        for i in range(len(tags)):
            if i % CK == 0:
                st.append(n)
            n += max(1, (_tag_cols(tags[i]) + w - 1) // w)
        return ("t", tags, st, n)
    st = array("I", [0])
    n = _scan(part[1], CK * w, CK * w, st)
    return ("c", part[1], st, (n + w - 1) // w)


def seg_rows(seg, a, b, w):
    """Rows a..b-1 of a lazy segment, each at most w columns."""
    if a >= b:
        return []  # (an empty window at the very end has no remembered start)
    st = seg[2]
    if seg[0] == "c":
        j = a // CK
        r0 = j * CK
        e = _cut(seg[1], 0, (b - r0) * w, st[j])
        return [e[r * w:r * w + w] for r in range(a - r0, b - r0)]
    tags = seg[1]
    lo, hi = 0, len(st) - 1
    while lo < hi:  # the last remembered start at or before row a
        m = (lo + hi + 1) // 2
        if st[m] <= a:
            lo = m
        else:
            hi = m - 1
    i, r = lo * CK, st[lo]
    out = []
    while r < b and i < len(tags):
        t = tags[i]
        n = max(1, (_tag_cols(t) + w - 1) // w)
        if r + n > a:
            x, y = max(a, r) - r, min(b, r + n) - r
            e = _tag(t, x * w, (y - x) * w)
            out += [e[q * w:q * w + w] for q in range(y - x)]
        r += n
        i += 1
    return out



def grid(display, feet=None):
    """Lay screens out for this display (8x8-pixel character cells) and name this
    board's gestures in the footers (feet: the board's, see FEET)."""
    global W, H, BODY, FEET
    W = display.width // 8
    H = display.height // 8
    BODY = H - 2
    FEET = feet


KINDS = {
    0: "profile", 1: "note", 3: "contacts", 4: "nip04 DM", 5: "delete", 6: "repost",
    7: "reaction", 13: "seal", 14: "chat msg", 16: "repost", 1059: "gift wrap",
    1984: "report", 9734: "zap request", 10002: "relay list", 22242: "relay auth",
    24242: "blossom auth", 27235: "http auth", 30023: "article", 30078: "app data",
}

# Footers name the board's own gestures (board.feet, boards/common.py: "hold >:yes
# <:no", where "R:no" would read as "right = no"); None: the simulator's keys
# (bridge/demo.py). "yes": approve/reject; "rule": also always-allow. Parts share a
# line where they fit, else one a line (the body window a line shorter).
FEET = None


def foot(name):
    """The footer lines for FEET[name] on this display."""
    parts = FEET[name] if FEET else ("A:yes R:no",) if name == "yes" else ("A:yes R:no", "L:all")
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
    last signed follow list is kept), "pubkey" (the signer's, hex), "lazy" (app._lazy,
    for the prompt's code). The caller keeps
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
    lazy = ctx.get("lazy")
    if lazy:
        # what this prompt imports, imported first by app._lazy: a first import interns
        # names for good, and made after a collection they go low in the heap
        if m != "sign_event":
            lazy("ui.prompt_text")
        else:
            k = item["op"]["tpl"].get("kind")
            if k in lazy("ui.kinds").MORE:
                lazy("ui.kinds_more")
            elif k == 3:
                lazy("ui.kinds_follows")
    npub = ctx.get("npub")
    short = (lambda h: short_key(npub(unhexlify(h)))) if npub else None
    if m != "sign_event":
        from ui import prompt_text
        return title, prompt_text.body(m, item["op"], body, client_npub, peer_npub,
                                       {"npub": short, "pubkey": ctx.get("pubkey")}), ft
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
