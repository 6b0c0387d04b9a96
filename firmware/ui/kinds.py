# Per-kind approval summaries: what a sign_event would publish, in plain words.
#
# summary(tpl, ctx) -> list of str, each at most 16 columns (screens.W), ready for the
#   prompt body (the caller scrolls; no further wrapping). Line 0 says what the event
#   is, then the essentials, then the whole event: "-- content --" + the content
#   (unless the essentials showed it already), "-- N tags --" + every tag (64-hex
#   values as their ends); at most MAX lines, a cut is said.
#   tpl: the parsed template the device signs (kind, content, tags, created_at).
#   ctx: dict, every key optional:
#     "npub": fn(hex64) -> short npub, e.g. screens.short_key(nip19.npub(unhexlify(h)))
#     "last_follows": the follows of the last kind 3 this device signed: a binary
#       file follows_of(tpl, f) wrote (read from the start, 32 bytes at a time: no
#       blob in RAM), or follows_of(tpl)'s bytearray, or a list of hex; None: never
#     "now": unix seconds (shows a created_at/expiration far from it)
# follows_of(tpl, f=None): the sorted unique 32-byte pubkeys of the p tags, what to
#   store as the new "last_follows" once a kind 3 is signed: a bytearray, or written
#   to the binary file f (returns the count).
# follow_diff(old, new) -> (added, removed): lists of hex; old/new may each be a
#   template, a follows_of() blob or a list of hex pubkeys.
#
# Everything from the event goes through screens.esc. Malformed templates (missing
# values, wrong types, bad numbers) get a summary that says so, never an exception.
from binascii import hexlify, unhexlify
from ui.screens import esc, wrap, W, kind_name

MAX = 48  # lines in a summary (8 windows of 6)
SHOW = 3  # follows named as added/removed


def _s(v):
    return v if type(v) is str else ""


def _tags(tpl, name=None):
    # the tags list, or the tags named `name` (lists whose first item is that str)
    t = tpl.get("tags")
    if type(t) is not list:
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


def _hex64(s):
    if type(s) is not str or len(s) != 64:
        return False
    for c in s:
        if c not in "0123456789abcdef":
            return False
    return True


def _id(h):
    # 13 columns, so "on " + _id(h) fills a line
    return (h[:6] + ".." + h[-5:]) if _hex64(h) else ("bad " + esc(_s(h), 9))[:13]


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


# --- per kind: fn(out, tpl, ctx) -> True when the content was shown whole

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
    _put(out, esc(_s(tpl.get("content"))), 30)
    return True


def _follows(out, tpl, ctx):
    new = _hexlist(tpl)
    n = len(new)
    out.append("follow list")
    old = ctx.get("last_follows")
    if old is None:
        out.append(_count(n, "follow"))
        out.append("no earlier list")
    else:
        na, nr, add, rem, m = _diff(_blob(old), new, SHOW)
        s = "%d -> %d follows" % (m, n)
        out.append(s if len(s) <= W else ("%d -> %d" % (m, n))[:W])
        if nr and (nr >= 10 or nr * 5 >= m):  # a fifth or 10+ gone at once: loud
            s = "!! DROPS %d !!" % nr
            out.append(s if len(s) <= W else ("!!DROPS %d" % nr)[:W])
        if not na and not nr:
            out.append("no change")
        for c, lst, w in ((na, add, "+%d added"), (nr, rem, "-%d removed")):
            if c:
                out.append(w % c)
                for h in lst:
                    out.append(_key(ctx, h))
                if c > len(lst):
                    out.append(" and %d more" % (c - len(lst)))
    bad = -n
    for t in _tags(tpl):
        if type(t) is list and t and type(t[0]) is str and t[0] == "p":
            bad += 1
    if bad:
        out.append("%d bad p tags" % bad)
    return False


def _dm(out, tpl, ctx):
    k = tpl.get("kind")
    if k == 14:
        out.append("chat message")
        _who(out, ctx, tpl, 2)
        _field(out, "subject", _get(tpl, "subject"), 60)
        _put(out, esc(_s(tpl.get("content"))), 30)
        return True
    out.append({4: "DM (nip04)", 13: "seal"}.get(k, "gift wrap"))
    if k != 13:
        _who(out, ctx, tpl)
    if k == 4:
        out.append("text encrypted:")
        out.append("can't show it")
    else:
        out.append("sealed content")
    return False


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
    return True


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


def _zap(out, tpl, ctx):
    out.append("zap request")
    a = _get(tpl, "amount")
    if a is None:
        out.append("no amount")
    elif a and not a.strip("0123456789") and len(a) < 19:
        m = int(a)
        _put(out, "%d sats" % (m // 1000) if m % 1000 == 0 else "%d.%03d sats" % (m // 1000, m % 1000), 2)
    else:
        out.append("invalid amount")
    _who(out, ctx, tpl)
    e = _get(tpl, "e")
    if e is not None:
        out.append("on " + _id(e))
    n = 0
    for t in _tags(tpl, "relays"):
        n += len(t) - 1
    out.append(_count(n, "relay"))
    _field(out, "comment", _s(tpl.get("content")) or None, 200, 12)
    return True


def _delete(out, tpl, ctx):
    out.append("delete")
    out.append(_count(len(_tags(tpl, "e")), "event"))
    n = len(_tags(tpl, "a"))
    out.append("%d address%s" % (n, "" if n == 1 else "es"))
    ks = [_s(_v(t)) for t in _tags(tpl, "k")]
    if ks:
        _put(out, "kinds " + esc(",".join(ks), 60), 2)
    _field(out, "reason", _s(tpl.get("content")) or None, 120, 8)
    return True


def _profile(out, tpl, ctx):
    out.append("profile update")
    import json
    try:
        p = json.loads(_s(tpl.get("content")))
    except Exception:
        p = "invalid JSON"
    if type(p) is not dict:
        out.append(p if p == "invalid JSON" else "not an object")
        return False
    n = 0
    for f in ("name", "display_name", "about", "picture", "banner", "nip05", "lud16", "lud06", "website"):
        if f in p:
            _field(out, f, p[f], 120, 5)
            n += 1
    if len(p) > n:
        out.append("+%d other fields" % (len(p) - n))
    return False


def _relays(out, tpl, ctx):
    out.append("relay list")
    out.append("")
    nr = nw = 0
    for t in _tags(tpl, "r"):
        m = _v(t, 2)
        r, w = m in (None, "read"), m in (None, "write")
        nr += r
        nw += w
        _put(out, ((("r" if r else "") + ("w" if w else "")) or "??") + " " + esc(_s(_v(t)), 80), 3)
    out[1] = "%d read %d write" % (nr, nw)
    return False


# kinds that are a title and some tag values: kind -> (title, (label, tag name)...)
_FIELDS = {
    22242: ("relay login", ("relay", "relay"), ("challenge", "challenge")),
    24242: ("blossom auth", ("action", "t"), ("server", "server")),
    27235: ("http auth", ("method", "method"), ("url", "u")),
    30023: ("article", ("title", "title"), ("summary", "summary"), ("id", "d")),
}


def _fields(out, tpl, ctx):
    f = _FIELDS[tpl["kind"]]
    out.append(f[0])
    for label, name in f[1:]:
        _field(out, label, _get(tpl, name), 160, 6)
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


KINDS = {0: _profile, 1: _note, 3: _follows, 4: _dm, 5: _delete, 6: _repost, 7: _reaction,
         13: _dm, 14: _dm, 16: _repost, 1059: _dm, 9734: _zap, 10002: _relays,
         22242: _fields, 24242: _fields, 27235: _fields, 30023: _fields}


def _tv(v):
    # a tag value in the full listing
    if _hex64(v):
        return _id(v)
    if type(v) is not str:
        return "?"
    return esc(v, 80) if v else '""'


def summary(tpl, ctx=None):
    if type(tpl) is not dict:
        return ["invalid event"]
    ctx = ctx or {}
    out = []
    k = tpl.get("kind")
    try:
        shown = KINDS.get(k, _generic)(out, tpl, ctx) if type(k) is int else _generic(out, tpl, ctx)
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
    c = _s(tpl.get("content"))
    if c and not shown:
        out.append("-- content --")
        _put(out, esc(c), 30)
    tags = _tags(tpl)
    out.append("-- %s --" % _count(len(tags), "tag"))
    for i in range(len(tags)):
        if len(out) >= MAX - 1:
            out.append("+%d more tags" % (len(tags) - i))
            break
        t = tags[i]
        if type(t) is list and t:
            _put(out, " ".join(_tv(v) for v in t), 6)
        else:
            out.append("bad tag")
    if len(out) > MAX:
        del out[MAX - 1:]
        out.append("... (cut)")
    for i in range(len(out)):
        if len(out[i]) > W:  # never expected
            out[i] = out[i][:W - 1] + "~"
    return out


# --- follow lists: the new one a sorted list of hex (refs into the template), the
# stored one sorted 32-byte keys (blob or file); merged in one pass.

def _pkey(x, d):
    # a tag (d) or list item -> its lowercase hex pubkey, or None
    if d:
        if type(x) is not list or len(x) < 2 or type(x[0]) is not str or x[0] != "p":
            return None
        x = x[1]
    if type(x) is str and len(x) == 64:
        if not _hex64(x):
            x = x.lower()
        if _hex64(x):
            return x
    return None


def _hexlist(x):
    # one list of the right size: no regrowth on a fragmented heap
    d = type(x) is dict
    if d:
        x = _tags(x)
    n = 0
    for h in x:
        if _pkey(h, d):
            n += 1
    hs = [None] * n
    n = 0
    for h in x:
        h = _pkey(h, d)
        if h:
            hs[n] = h
            n += 1
    hs.sort()
    j = 0
    for h in hs:
        if not j or h != hs[j - 1]:
            hs[j] = h
            j += 1
    del hs[j:]
    return hs


def _blob(x):
    if hasattr(x, "read"):
        return x  # a file of follows_of() keys, read 32 bytes at a time
    if type(x) in (bytes, bytearray):
        n = len(x) // 32
        for i in range(1, n):
            if x[i * 32 - 32:i * 32] >= x[i * 32:i * 32 + 32]:
                break
        else:
            return x if len(x) == n * 32 else x[:n * 32]
        x = [hexlify(x[i * 32:i * 32 + 32]).decode() for i in range(n)]
    hs = _hexlist(x)
    b = bytearray(32 * len(hs))
    for i in range(len(hs)):
        b[i * 32:i * 32 + 32] = unhexlify(hs[i])
    return b


def _next(old, i):
    if type(old) in (bytes, bytearray):
        a = old[i * 32:i * 32 + 32]
    else:
        try:
            a = old.read(32)
        except Exception:
            a = None
    return a if a and len(a) == 32 else None


def _diff(old, new, keep):
    # old: sorted blob or binary file of them, new: sorted hex list ->
    # (n added, n removed, first added, first removed, n old)
    if type(old) not in (bytes, bytearray):
        try:
            old.seek(0)
        except Exception:
            pass
    i = j = na = nr = 0
    add, rem = [], []
    n = len(new)
    a = _next(old, 0)
    b = unhexlify(new[0]) if n else None
    while a is not None or b is not None:
        if b is None or (a is not None and a < b):  # only in the old list
            if keep is None or nr < keep:
                rem.append(hexlify(a).decode())
            nr += 1
        elif a is None or b < a:  # only in the new one
            if keep is None or na < keep:
                add.append(new[j])
            na += 1
        sa = b is None or (a is not None and a <= b)
        if a is None or (b is not None and b <= a):
            j += 1
            b = unhexlify(new[j]) if j < n else None
        if sa:
            i += 1
            a = _next(old, i)
    return na, nr, add, rem, i


def follow_diff(old, new):
    if type(new) in (bytes, bytearray):
        new = [hexlify(new[i:i + 32]).decode() for i in range(0, len(new) - 31, 32)]
    na, nr, add, rem, m = _diff(_blob(old or ()), _hexlist(new or ()), None)
    return add, rem


def follows_of(tpl, f=None):
    """The sorted unique p-tag pubkeys as one bytearray; or, given a binary file f,
    written to it 32 bytes at a time (no blob in RAM) -> how many."""
    if f is None:
        return _blob(tpl if type(tpl) is dict else ())
    hs = _hexlist(tpl if type(tpl) is dict else ())
    for h in hs:
        f.write(unhexlify(h))
    return len(hs)
