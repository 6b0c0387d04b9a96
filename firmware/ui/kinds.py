# Per-kind approval summaries: what a sign_event would publish, in plain words.
#
# layout(tpl, ctx) -> list of str, each at most W columns, ready for the prompt body
#   (the caller scrolls; no further wrapping), and in their places ("c", content) and
#   ("t", tags): the whole content and every tag, which ui.screens renders lazily for
#   the visible rows (segment, seg_rows), so that a long event is never copied into
#   rows. Line 0 says what the event is, then the essentials (at most MAX lines, a cut
#   is said), then the whole event: "-- content --" + the content (unless the
#   essentials showed it whole, as a note does), "-- N tags --" + every tag (64-hex
#   values as their ends, the others whole).
# summary(tpl, ctx) -> the same with the content and tags written out as lines.
#   tpl: the parsed template the device signs (kind, content, tags, created_at).
#   ctx: dict, every key optional:
#     "npub": fn(hex64) -> short npub, e.g. screens.short_key(nip19.npub(unhexlify(h)))
#     "last_follows": the follows of the last kind 3 this device signed: a binary
#       file kinds_follows.follows_of(tpl, f) wrote (read 32 bytes at a time: no blob
#       in RAM), or follows_of(tpl)'s bytearray, or a list of hex; None: never
#     "now": unix seconds (shows a created_at/expiration far from it)
#     "w": columns of the display (16 on the OLED; more on a bigger screen)
#
# Memory: this module holds the common kinds (notes, replies, reactions, reposts, the
# generic view) and is loaded only to build a prompt's body, then dropped. The rarer
# kinds are in ui/kinds_more.py, follow lists (and the follow-set store) in
# ui/kinds_follows.py: each imported only for its kinds.
#
# Everything from the event goes through screens.esc. Malformed templates (missing
# values, wrong types, bad numbers) get a summary that says so, never an exception.
from ui import screens
from ui.screens import esc, wrap, kind_name, hex64 as _hex64, short_id as _id

W = 16  # columns: set from ctx["w"] by layout
MAX = 48  # lines of essentials (8 windows of 6); the content and tags come after them
# kinds summarised in ui/kinds_more.py (3: ui/kinds_follows.py)
MORE = (0, 4, 5, 13, 14, 1059, 9734, 10002, 22242, 24242, 27235, 30023)


def _s(v):
    return v if type(v) is str else ""


def _tags(tpl, name=None):
    # the tags list, or the tags named `name` (lists whose first item is that str)
    t = tpl.get("tags")
    if type(t) is not list and not getattr(t, "TAGS", False):  # or crypto.jsontags.Tags
        return []
    if name is None:
        return t
    return [x for x in t if type(x) is list and x and type(x[0]) is str and x[0] == name]


def _v(tag, i=1):
    return tag[i] if len(tag) > i and type(tag[i]) is str else None


def _get(tpl, name):
    for t in _tags(tpl):
        if type(t) is list and t and type(t[0]) is str and t[0] == name:
            return _v(t)
    return None


def _key(ctx, h):
    if _hex64(h):
        try:
            return esc(ctx["npub"](h))[:W]
        except Exception:
            return h[:8] + ".." + h[-6:]
    return "bad key " + esc(_s(h), 8)[:8]


def _put(out, s, n=8):
    out.extend(wrap(s, W, n))


def _field(out, label, v, limit=120, n=4):
    if v is None:
        return
    v = esc(v, limit) if type(v) is str else "(not text)"
    if len(label) + 2 + len(v) <= W:
        out.append(label + ": " + v)
    else:
        out.append(label + ":")
        _put(out, v, n)


def _text(out, tpl):
    # the whole content here, rendered lazily by ui.screens
    c = _s(tpl.get("content"))
    if c:
        out.append(("c", c))


def _whole(c, limit, n):
    # did _field(out, label, c, limit, n) show c whole?
    return len(c) <= limit and len(esc(c, limit)) <= n * W


def _count(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def _span(d):
    a = -d if d < 0 else d
    for u, s in (("y", 31536000), ("d", 86400), ("h", 3600), ("m", 60)):
        if a >= s:
            return "%d%s" % (a // s, u)
    return "%ds" % a


def _who(out, ctx, tpl, n=1, i=0):
    # "to:" and the p tag keys (the first n, or only the one at index i)
    ps = _tags(tpl, "p")
    if not ps:
        out.append("no recipient!")
        return
    out.append("to:")
    for t in ps[i:i + n] if i >= 0 else ps[i:]:
        out.append(_key(ctx, _v(t)))
    if len(ps) > n and i == 0:
        out.append("+%d more" % (len(ps) - n))


# --- per kind: fn(out, tpl, ctx) -> True when the content was shown whole (or put
# in place by _text)

def _note(out, tpl, ctx):
    es = _tags(tpl, "e")
    tgt = None
    marked = False
    for t in es:  # NIP-10 markers: "reply" wins over "root"; "mention" is no reply
        m = _v(t, 3)
        if m in ("root", "reply", "mention"):
            marked = True
            if m == "reply" or (m == "root" and tgt is None):
                tgt = t
    if not marked and es:
        tgt = es[-1]  # positional (deprecated): the last e tag is the one replied to
    ps = _tags(tpl, "p")
    if tgt is None:
        out.append("note")
        if ps:
            out.append("mentions %d" % len(ps))
    else:
        out.append("reply")
        h = _v(tgt, 4)
        if not _hex64(h) and ps:
            h = _v(ps[0])
        if h is not None:
            out.append("to:")
            out.append(_key(ctx, h))
        out.append("on " + _id(_v(tgt)))
        if len(ps) > 1:
            out.append("+%d tagged" % (len(ps) - 1))
    q = _get(tpl, "q")
    if q is not None:
        out.append("quotes")
        out.append("id " + _id(q))
    _text(out, tpl)
    return True


def _reaction(out, tpl, ctx):
    c = _s(tpl.get("content"))
    r = {"+": "like", "": "like", "-": "dislike"}.get(c) or esc(c, 40)
    if len(r) <= W - 10:
        out.append("reaction: " + r)
    else:
        out.append("reaction:")
        _put(out, r, 3)
    if _tags(tpl, "p"):
        _who(out, ctx, tpl, 1, -1)  # NIP-25: the last p and e tags are the target
    es = _tags(tpl, "e")
    if es:
        out.append("on " + _id(_v(es[-1])))
    elif _get(tpl, "a") is None:
        out.append("on nothing?")
    else:
        _field(out, "on", _get(tpl, "a"), 80, 3)
    return _whole(c, 40, 3)


def _repost(out, tpl, ctx):
    out.append("repost")
    k = _get(tpl, "k")
    if tpl.get("kind") == 16 and k is not None:
        out.append(("of kind " + esc(k))[:W])
    ps = _tags(tpl, "p")
    if ps:
        out.append("of:")
        out.append(_key(ctx, _v(ps[0])))
    e, a = _get(tpl, "e"), _get(tpl, "a")
    if e is not None:
        out.append("id " + _id(e))
    elif a is None:
        out.append("no event tag!")
    else:
        _field(out, "a", a, 80, 3)
    return False


def _generic(out, tpl, ctx):
    k = tpl.get("kind")
    out.append(("kind %d %s" % (k, kind_name(k)))[:W] if type(k) is int else "kind ? (invalid)")
    c = _s(tpl.get("content"))
    out.append(_count(len(_tags(tpl)), "tag"))
    out.append(_count(len(c), "char"))
    if c:
        _put(out, esc(c.split("\n", 1)[0], 48), 3)
    return False


KINDS = {1: _note, 6: _repost, 7: _reaction, 16: _repost}


def _kind_fn(k):
    if k in KINDS:
        return KINDS[k]
    if k == 3:
        from ui import kinds_follows
        return kinds_follows.summary
    if k in MORE:
        from ui import kinds_more
        return kinds_more.KINDS[k]
    return _generic


def layout(tpl, ctx=None):
    global W
    if type(tpl) is not dict:
        return ["invalid event"]
    ctx = ctx or {}
    W = ctx.get("w") or 16
    out = []
    k = tpl.get("kind")
    try:
        shown = _kind_fn(k)(out, tpl, ctx) if type(k) is int else _generic(out, tpl, ctx)
    except MemoryError:
        # no room for the summary (a follow list's diff): the request is answered "too
        # large" (requests.on_event), never shown without what it changes
        raise
    except Exception:
        # a bug here must not hide the request
        out = ["?? summary error"]
        shown = _generic(out, tpl, ctx)
    now, t = ctx.get("now"), tpl.get("created_at")
    if type(now) is int and type(t) is int and not -3600 < now - t < 3600:
        out.append("dated " + (_span(now - t) + " ago" if now > t else "in " + _span(now - t)))
    x = _get(tpl, "expiration")
    if x is not None:
        if type(now) is int and x and not x.strip("0123456789") and len(x) < 19:
            x = int(x) - now
            out.append("expires in " + _span(x) if x > 0 else "expired")
        else:
            _field(out, "expires", x, 20, 2)
    if len(out) > MAX:
        keep = [x for x in out[MAX - 1:] if type(x) is tuple]
        del out[MAX - 1:]
        out.append("... (cut)")
        out += keep
    c = _s(tpl.get("content"))
    if c and not shown:
        out.append("-- content --")
        out.append(("c", c))
    tags = _tags(tpl)
    out.append("-- %s --" % _count(len(tags), "tag"))
    if tags:
        out.append(("t", tags))
    for i in range(len(out)):
        if type(out[i]) is str and len(out[i]) > W:  # never expected
            out[i] = out[i][:W - 1] + "~"
    return out


def summary(tpl, ctx=None):
    parts = layout(tpl, ctx)
    n = 0
    for i in range(len(parts)):
        if type(parts[i]) is tuple:
            parts[i] = screens.segment(parts[i], W)
            n += parts[i][3]
        else:
            n += 1
    out = [None] * n  # one block now: a list grown line by line would need ever bigger ones
    n = 0
    for x in parts:
        if type(x) is str:
            out[n] = x
            n += 1
            continue
        for a in range(0, x[3], 5):  # a few rows at a time, as a screen asks for them
            for s in screens.seg_rows(x, a, min(x[3], a + 5), W):
                out[n] = s
                n += 1
    return out
