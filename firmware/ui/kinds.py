# Per-kind approval summaries: what a sign_event would publish, in plain words.
#
#   summary(tpl, ctx) -> list of str, every line already at most 16 columns
#     (screens.W): the caller puts them in the prompt body unchanged and scrolls.
#     Line 0 says what the event is; then the essentials; then the full event:
#     "-- content --" and the escaped content (unless the essentials showed it
#     whole), "-- N tags --" and every tag; at most MAX lines (a cut says so).
#     tpl: the parsed template the device signs (kind, content, tags, created_at).
#     ctx (dict, every key optional):
#       "npub": fn(hex64) -> short npub (screens.short_key(nip19.npub(..)));
#       "last_follows": follows_of() of the last kind 3 this device signed (bytes),
#         or a list/set of hex pubkeys, or None when it never signed one;
#       "now": unix seconds (a created_at far from it is shown).
#   follows_of(tpl) -> bytearray: the sorted unique 32-byte pubkeys of tpl's p tags,
#     what to store as "last_follows" once a kind 3 is signed (32 bytes a follow).
#   follow_diff(old, new) -> (added, removed): lists of hex; old/new may each be a
#     template, a follows_of() blob or an iterable of hex pubkeys.
#
# Text from the event always goes through screens.esc. Malformed templates (missing
# values, wrong types, bad numbers) give a summary that says so, never an exception.
from binascii import hexlify, unhexlify
from ui.screens import esc, wrap, W, kind_name

MAX = 64  # lines in a summary
SHOW = 3  # added/removed follows named
_HEXC = "0123456789abcdef"


def _s(v):
    return v if type(v) is str else ""


def _tags(tpl):
    t = tpl.get("tags")
    return t if type(t) is list else ()


def _ok(t):
    return type(t) is list and t and type(t[0]) is str


def _v(tag, i=1):
    return tag[i] if len(tag) > i and type(tag[i]) is str else None


def _get(tpl, name):
    # the value of the first `name` tag, or None
    for t in _tags(tpl):
        if _ok(t) and t[0] == name:
            return _v(t)
    return None


def _all(tpl, name):
    return [t for t in _tags(tpl) if _ok(t) and t[0] == name]


def _hex64(s):
    if type(s) is not str or len(s) != 64:
        return False
    for c in s:
        if c not in _HEXC:
            return False
    return True


def _key(ctx, h):
    # one line naming a pubkey
    if not _hex64(h):
        return ("bad key " + esc(_s(h), 8))[:W]
    f = ctx.get("npub")
    if f:
        try:
            return esc(f(h))[:W]
        except Exception:
            pass
    return h[:8] + ".." + h[-6:]


def _id(h):
    # 13 columns: "on " / "id " + _id(h) fills a line
    return (h[:6] + ".." + h[-5:]) if _hex64(h) else ("bad " + esc(_s(h), 9))[:13]


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


def _ago(ctx, tpl):
    now, t = ctx.get("now"), tpl.get("created_at")
    if type(now) is not int or type(t) is not int:
        return None
    d = now - t
    a = -d if d < 0 else d
    if a < 3600:
        return None
    for u, s in (("y", 31536000), ("d", 86400), ("h", 3600)):
        if a >= s:
            a = "%d%s" % (a // s, u)
            break
    return "dated " + (a + " ago" if d > 0 else "in " + a)


def _who(out, ctx, tpl, label, one=False):
    # recipients from the p tags: label line, first key(s), "+N more"
    ps = _all(tpl, "p")
    if not ps:
        out.append("no recipient!")
        return
    out.append(label)
    n = 1 if one else 2
    for t in ps[:n]:
        out.append(_key(ctx, _v(t)))
    if len(ps) > n:
        out.append("+%d more" % (len(ps) - n))


# --- per kind: fn(out, tpl, ctx) -> True when the content was shown whole

def _note(out, tpl, ctx):
    es = _all(tpl, "e")
    marked = [t for t in es if _v(t, 3) in ("root", "reply", "mention")]
    if marked:
        tgt = None
        for t in marked:
            if _v(t, 3) == "reply":
                tgt = t
        if tgt is None:
            for t in marked:
                if _v(t, 3) == "root":
                    tgt = t
    else:
        tgt = es[-1] if es else None
    ps = _all(tpl, "p")
    if tgt is not None:
        out.append("reply")
        who = _v(tgt, 4)
        if not _hex64(who):
            who = _v(ps[0]) if ps else None
        if who is not None:
            out.append("to:")
            out.append(_key(ctx, who))
        out.append("on " + _id(_v(tgt)))
        if len(ps) > 1:
            out.append("+%d tagged" % (len(ps) - 1))
    else:
        out.append("note")
        if ps:
            out.append("mentions " + str(len(ps)))
    q = _get(tpl, "q")
    if q is not None:
        out.append("quotes")
        out.append("id " + _id(q))
    _put(out, esc(_s(tpl.get("content"))), 30)
    return True


def _follows(out, tpl, ctx):
    new = _hexlist(tpl)
    bad = len(_all(tpl, "p")) - len(new)
    n = len(new)
    out.append("follow list")
    old = ctx.get("last_follows")
    if old is None:
        out.append(_count(n, "follow"))
        out.append("no earlier list")
    else:
        old = _norm(old)
        na, nr, add, rem = _diff(old, new, SHOW)
        m = _len(old)
        out.append("%d -> %d follows" % (m, n))
        if nr and (nr >= 10 or nr * 5 >= m):
            s = "!! DROPS %d !!" % nr
            out.append(s if len(s) <= W else ("!!DROPS %d" % nr)[:W])
        if not na and not nr:
            out.append("no change")
        for c, k, lst in ((na, "+", add), (nr, "-", rem)):
            if c:
                out.append("%s%d %s" % (k, c, "added" if k == "+" else "removed"))
                for h in lst:
                    out.append(_key(ctx, h))
                if c > len(lst):
                    out.append(" and %d more" % (c - len(lst)))
    if bad:
        out.append("%d bad p tags" % bad)
    return False


def _dm(out, tpl, ctx):
    k = tpl.get("kind")
    if k == 4:
        out.append("DM (nip04)")
        _who(out, ctx, tpl, "to:", True)
        out.append("text encrypted:")
        out.append("can't show it")
        return False
    if k == 14:
        out.append("chat message")
        _who(out, ctx, tpl, "to:")
        _field(out, "subject", _get(tpl, "subject"), 60)
        _put(out, esc(_s(tpl.get("content"))), 30)
        return True
    out.append("gift wrap" if k == 1059 else "seal")
    if k == 1059:
        _who(out, ctx, tpl, "to:", True)
    out.append("sealed content")
    return False


def _reaction(out, tpl, ctx):
    c = _s(tpl.get("content"))
    r = {"+": "like", "": "like", "-": "dislike"}.get(c)
    if r is None:
        r = esc(c, 40)
    if len(r) <= W - 10:
        out.append("reaction: " + r)
    else:
        out.append("reaction:")
        _put(out, r, 3)
    es, ps = _all(tpl, "e"), _all(tpl, "p")
    if ps:
        out.append("to:")
        out.append(_key(ctx, _v(ps[-1])))
    if es:
        out.append("on " + _id(_v(es[-1])))
    elif _get(tpl, "a") is not None:
        _field(out, "on", _get(tpl, "a"), 80, 3)
    else:
        out.append("on nothing?")
    return True


def _repost(out, tpl, ctx):
    out.append("repost")
    k = _get(tpl, "k")
    if tpl.get("kind") == 16 and k is not None:
        out.append(("of kind " + esc(k))[:W])
    ps = _all(tpl, "p")
    if ps:
        out.append("of:")
        out.append(_key(ctx, _v(ps[0])))
    e = _get(tpl, "e")
    if e is not None:
        out.append("id " + _id(e))
    elif _get(tpl, "a") is not None:
        _field(out, "a", _get(tpl, "a"), 80, 3)
    else:
        out.append("no event tag!")
    return False


def _zap(out, tpl, ctx):
    a = _get(tpl, "amount")
    if a is None:
        out.append("zap request")
        out.append("no amount")
    else:
        try:
            m = int(a)
            if m < 0 or not a.isdigit():
                raise ValueError
            s = "%d sats" % (m // 1000) if m % 1000 == 0 else "%d.%03d sats" % (m // 1000, m % 1000)
            out.append("zap request")
            _put(out, s, 2)
        except Exception:
            out.append("zap request")
            out.append("invalid amount")
    _who(out, ctx, tpl, "to:", True)
    e = _get(tpl, "e")
    if e is not None:
        out.append("on " + _id(e))
    n = 0
    for t in _all(tpl, "relays"):
        n += len(t) - 1
    out.append(_count(n, "relay"))
    _field(out, "comment", _s(tpl.get("content")) or None, 200, 12)
    return True


def _delete(out, tpl, ctx):
    ne, na = len(_all(tpl, "e")), len(_all(tpl, "a"))
    out.append("delete")
    out.append(_count(ne, "event"))
    out.append("%d address%s" % (na, "" if na == 1 else "es"))
    ks = [_v(t) for t in _all(tpl, "k")]
    if ks:
        _put(out, "kinds " + esc(",".join(k for k in ks if k is not None), 60), 2)
    _field(out, "reason", _s(tpl.get("content")) or None, 120, 8)
    return True


_PROFILE = ("name", "display_name", "about", "picture", "banner", "nip05", "lud16", "lud06", "website")


def _profile(out, tpl, ctx):
    out.append("profile update")
    import json
    try:
        p = json.loads(_s(tpl.get("content")))
    except Exception:
        out.append("invalid JSON")
        return False
    if type(p) is not dict:
        out.append("not an object")
        return False
    n = 0
    for f in _PROFILE:
        if f in p:
            _field(out, f, p[f], 120, 5)
            n += 1
    if len(p) > n:
        out.append("+%d other fields" % (len(p) - n))
    return False


def _article(out, tpl, ctx):
    out.append("article" if tpl.get("kind") == 30023 else "article draft")
    _field(out, "title", _get(tpl, "title"), 120, 4)
    _field(out, "summary", _get(tpl, "summary"), 160, 6)
    _field(out, "id", _get(tpl, "d"), 60, 2)
    out.append(_count(len(_s(tpl.get("content"))), "char"))
    return False


def _relays(out, tpl, ctx):
    rs = _all(tpl, "r")
    nr = nw = 0
    lines = []
    for t in rs:
        m = _v(t, 2)
        r, w = m in (None, "read"), m in (None, "write")
        nr += r
        nw += w
        lines.append((("r" if r else "") + ("w" if w else "") or "??") + " " + esc(_s(_v(t)), 80))
    out.append("relay list")
    out.append("%d read %d write" % (nr, nw))
    for s in lines:
        _put(out, s, 3)
    return False


def _relay_auth(out, tpl, ctx):
    out.append("relay login")
    _field(out, "relay", _get(tpl, "relay"), 100, 5)
    _field(out, "challenge", _get(tpl, "challenge"), 100, 5)
    return False


def _http_auth(out, tpl, ctx):
    k = tpl.get("kind")
    if k == 24242:
        out.append("blossom auth")
        _field(out, "action", _get(tpl, "t"), 20, 2)
        _field(out, "server", _get(tpl, "server"), 80, 4)
        nx = len(_all(tpl, "x"))
        if nx:
            out.append(_count(nx, "blob"))
        x = _get(tpl, "expiration")
        if x is not None:
            try:
                d = int(x) - ctx["now"]
                out.append(("expires in %dm" % (d // 60)) if d >= 0 else "expired")
            except Exception:
                _field(out, "expires", x, 20, 2)
        _field(out, "text", _s(tpl.get("content")) or None, 120, 6)
        return True
    out.append("http auth")
    _field(out, "method", _get(tpl, "method"), 20, 2)
    _field(out, "url", _get(tpl, "u"), 160, 8)
    if _get(tpl, "payload") is not None:
        out.append("with body hash")
    return False


def _generic(out, tpl, ctx):
    k = tpl.get("kind")
    out.append(("kind %s %s" % (k, kind_name(k) if type(k) is int else "?"))[:W])
    c = _s(tpl.get("content"))
    out.append(_count(len(_tags(tpl)), "tag"))
    out.append(_count(len(c), "char"))
    if c:
        i = c.find("\n")
        _put(out, esc(c if i < 0 else c[:i], 48), 3)
    return False


def _tv(v):
    # a tag value in the full listing; a 64-hex key or id as its ends, like _key
    if _hex64(v):
        return _id(v)
    if type(v) is not str:
        return "?"
    return esc(v, 80) if v else '""'


KINDS = {0: _profile, 1: _note, 3: _follows, 4: _dm, 5: _delete, 6: _repost, 7: _reaction,
         13: _dm, 14: _dm, 16: _repost, 1059: _dm, 9734: _zap, 10002: _relays,
         22242: _relay_auth, 24242: _http_auth, 27235: _http_auth, 30023: _article,
         30024: _article}


def summary(tpl, ctx=None):
    if type(tpl) is not dict:
        return ["invalid event"]
    ctx = ctx or {}
    out = []
    k = tpl.get("kind")
    f = KINDS.get(k, _generic) if type(k) is int else _generic
    try:
        shown = f(out, tpl, ctx)
    except Exception:
        # a bug here must not hide the request: fall back to the plain view
        out = ["?? summary error"]
        shown = _generic(out, tpl, ctx)
    a = _ago(ctx, tpl)
    if a:
        out.append(a)
    c = _s(tpl.get("content"))
    if c and not shown:
        out.append("-- content --")
        _put(out, esc(c), 30)
    tags = _tags(tpl)
    nt = len(tags)
    out.append("-- %s --" % _count(nt, "tag"))
    for i in range(nt):
        if len(out) >= MAX - 1:
            out.append("+%d more tags" % (nt - i))
            break
        t = tags[i]
        if not _ok(t):
            out.append("bad tag")
            continue
        _put(out, " ".join(_tv(v) for v in t), 6)
    if len(out) > MAX:
        del out[MAX - 1:]
        out.append("... (cut)")
    for i in range(len(out)):
        if len(out[i]) > W:  # never expected; a screen line must fit
            out[i] = out[i][:W - 1] + "~"
    return out


# --- follow lists: sorted unique hex lists (refs into the template) or a 32-byte blob

def _hexlist(x):
    p = type(x) is dict
    hs = []
    for h in _tags(x) if p else x:
        if p:
            if not (_ok(h) and h[0] == "p"):
                continue
            h = _v(h)
        if type(h) is str and len(h) == 64:
            if not _hex64(h):
                h = h.lower()
            if _hex64(h):
                hs.append(h)
    hs.sort()
    j = 0
    for i in range(len(hs)):
        if not j or hs[i] != hs[j - 1]:
            hs[j] = hs[i]
            j += 1
    del hs[j:]
    return hs


def _norm(x):
    if type(x) in (bytes, bytearray):
        n = len(x) // 32
        for i in range(1, n):
            if x[i * 32 - 32:i * 32] >= x[i * 32:i * 32 + 32]:
                break
        else:
            return x[:n * 32]
        x = [hexlify(x[i * 32:i * 32 + 32]).decode() for i in range(n)]
    return _hexlist(x)


def _len(s):
    return len(s) // 32 if type(s) in (bytes, bytearray) else len(s)


def _at(s, i):
    return s[i * 32:i * 32 + 32] if type(s) in (bytes, bytearray) else unhexlify(s[i])


def _hexat(s, i):
    return hexlify(s[i * 32:i * 32 + 32]).decode() if type(s) in (bytes, bytearray) else s[i]


def _diff(old, new, keep):
    # merge two sorted follow lists -> (n added, n removed, first added, first removed)
    i = j = na = nr = 0
    add, rem = [], []
    m, n = _len(old), _len(new)
    while i < m or j < n:
        a = _at(old, i) if i < m else None
        b = _at(new, j) if j < n else None
        if b is None or (a is not None and a < b):
            if keep is None or nr < keep:
                rem.append(_hexat(old, i))
            nr += 1
            i += 1
        elif a is None or b < a:
            if keep is None or na < keep:
                add.append(_hexat(new, j))
            na += 1
            j += 1
        else:
            i += 1
            j += 1
    return na, nr, add, rem


def follow_diff(old, new):
    na, nr, add, rem = _diff(_norm(old or ()), _norm(new or ()), None)
    return add, rem


def follows_of(tpl):
    hs = _hexlist(tpl) if type(tpl) is dict else []
    b = bytearray(32 * len(hs))
    for i in range(len(hs)):
        b[i * 32:i * 32 + 32] = unhexlify(hs[i])
    return b
