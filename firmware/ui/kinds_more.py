# The rarer kinds' approval summaries (see ui/kinds.py for the contract): DMs and
# chat messages, zap requests, deletions, profiles, relay lists, and the kinds that
# are a title plus some tag values (NIP-42 relay login, blossom, HTTP auth, articles).
# Imported by ui.kinds only when such a kind is on screen, dropped with it.
from ui import kinds as K
from ui.screens import esc


def _dm(out, tpl, ctx):
    k = tpl.get("kind")
    if k == 14:
        out.append("chat message")
        K._who(out, ctx, tpl, 2)
        K._field(out, "subject", K._get(tpl, "subject"), 60)
        K._text(out, tpl)
        return True
    out.append({4: "DM (nip04)", 13: "seal"}.get(k, "gift wrap"))
    if k != 13:
        K._who(out, ctx, tpl)
    if k == 4:
        out.append("text encrypted:")
        out.append("can't show it")
    else:
        out.append("sealed content")
    return False


def _zap(out, tpl, ctx):
    out.append("zap request")
    a = K._get(tpl, "amount")
    if a is None:
        out.append("no amount")
    elif a and not a.strip("0123456789") and len(a) < 19:
        m = int(a)
        K._put(out, "%d sats" % (m // 1000) if m % 1000 == 0 else "%d.%03d sats" % (m // 1000, m % 1000), 2)
    else:
        out.append("invalid amount")
    K._who(out, ctx, tpl)
    e = K._get(tpl, "e")
    if e is not None:
        out.append("on " + K._id(e))
    n = 0
    for t in K._tags(tpl, "relays"):
        n += len(t) - 1
    out.append(K._count(n, "relay"))
    c = K._s(tpl.get("content"))
    K._field(out, "comment", c or None, 200, 12)
    return K._whole(c, 200, 12)


def _delete(out, tpl, ctx):
    out.append("delete")
    out.append(K._count(len(K._tags(tpl, "e")), "event"))
    n = len(K._tags(tpl, "a"))
    out.append("%d address%s" % (n, "" if n == 1 else "es"))
    ks = [K._s(K._v(t)) for t in K._tags(tpl, "k")]
    if ks:
        K._put(out, "kinds " + esc(",".join(ks), 60), 2)
    c = K._s(tpl.get("content"))
    K._field(out, "reason", c or None, 120, 8)
    return K._whole(c, 120, 8)


def _profile(out, tpl, ctx):
    out.append("profile update")
    import json
    try:
        p = json.loads(K._s(tpl.get("content")))
    except Exception:
        p = "invalid JSON"
    if type(p) is not dict:
        out.append(p if p == "invalid JSON" else "not an object")
        return False
    n = 0
    for f in ("name", "display_name", "about", "picture", "banner", "nip05", "lud16", "lud06", "website"):
        if f in p:
            K._field(out, f, p[f], 120, 5)
            n += 1
    if len(p) > n:
        out.append("+%d other fields" % (len(p) - n))
    return False


def _relays(out, tpl, ctx):
    out.append("relay list")
    out.append("")
    nr = nw = 0
    for t in K._tags(tpl, "r"):
        m = K._v(t, 2)
        r, w = m in (None, "read"), m in (None, "write")
        nr += r
        nw += w
        K._put(out, ((("r" if r else "") + ("w" if w else "")) or "??") + " " + esc(K._s(K._v(t)), 80), 3)
    out[1] = "%d read %d write" % (nr, nw)
    return False


# kinds that are a title and some tag values: kind -> "title|label tag|label tag..."
_FIELDS = {
    22242: "relay login|relay relay|challenge challenge",
    24242: "blossom auth|action t|server server",
    27235: "http auth|method method|url u",
    30023: "article|title title|summary summary|id d",
}


def _fields(out, tpl, ctx):
    f = _FIELDS[tpl["kind"]].split("|")
    out.append(f[0])
    for lf in f[1:]:
        label, name = lf.split(" ")
        K._field(out, label, K._get(tpl, name), 160, 6)
    return False


KINDS = {0: _profile, 4: _dm, 5: _delete, 13: _dm, 14: _dm, 1059: _dm, 9734: _zap, 10002: _relays,
         22242: _fields, 24242: _fields, 27235: _fields, 30023: _fields}
