# Text as the 8x8 font shows it: esc() (every character that is not printable ASCII
# as an escape), and lazy segments -- a long text or tag list cut into W-column rows
# only for the rows a screen asks for, from row starts remembered every CK rows.
#
# The font draws printable ASCII only, and what a person is asked to approve must not
# hide anything: every other character is shown as an escape (\n, \x07, \u202e,
# \U0001f600). Bidi overrides and isolates, zero-width spaces and joiners, the BOM,
# C0/C1 control characters and DEL therefore appear as what they are instead of
# silently reordering or vanishing; a non-ASCII letter shows as its code point rather
# than a blank box, and a backslash as "\\" so no text can fake an escape.
#
# A long body (a 16 KB note, hundreds of tags, a 30 KB plaintext to encrypt) must not
# be copied as rows onto a small heap, so it is a segment: ("c", text, starts, n) for
# a text -- rows are cut from esc(text) as if it were one wrapped string, starting
# from where every CK-th row begins (found by one counting pass when the prompt is
# built) -- or ("t", tags, starts, n) for a tag list, starts being the first row of
# every CK-th tag; a tag's rows are cut the same way from its values, each escaped
# whole however long. What stays on the heap is a few ints per CK rows, never the rows.
# ui/screens.py lays segments out in a prompt's body window.

from array import array

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
