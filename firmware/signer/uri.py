# nostrconnect:// pairing URIs (client-initiated connections).
#
#   nostrconnect://<client-pubkey-hex>?relay=..&relay=..&secret=..&perms=..&name=..&url=..&image=..
#
# Query values are form-encoded (nostr-tools builds and reads them with
# URLSearchParams): %XX escapes and "+" for a space. The older draft put the client's
# name and url in one `metadata={json}` parameter; both forms are read. `secret` is
# required: the client accepts our connect response only when it carries it back.
import json

MAX_URI = 2048
MAX_RELAYS = 8
_HEX = "0123456789abcdef"


def _bad(what):
    raise ValueError("invalid uri: " + what)


def unquote(s):
    if "%" not in s and "+" not in s:
        return s
    out = bytearray()
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "%":
            h = s[i + 1:i + 3].lower()
            if len(h) != 2 or h[0] not in _HEX or h[1] not in _HEX:
                _bad("bad percent escape")
            out.append(int(h, 16))
            i += 3
            continue
        if c == "+":
            out.append(32)
        else:
            out.extend(c.encode())
        i += 1
    try:
        return str(out, "utf-8")
    except UnicodeError:
        _bad("not UTF-8")


def relay_ok(v):
    """A ws:// or wss:// URL with a host: not "ws://" alone (the bridge would dial
    nothing, or whatever its library makes of it), no userinfo ("wss://known@evil"
    shows one host and dials another), no spaces or control characters."""
    if len(v) > 256:
        return False
    if v.startswith("wss://"):
        rest = v[6:]
    elif v.startswith("ws://"):
        rest = v[5:]
    else:
        return False
    for c in v:
        if c <= " " or c == "\x7f":
            return False
    end = len(rest)
    for c in "/?#":
        i = rest.find(c)
        if 0 <= i < end:
            end = i
    host = rest[:end]
    if "@" in host:
        return False
    if host.startswith("["):  # an IPv6 literal, then perhaps a port
        i = host.find("]")
        if i < 2:
            return False
        port = host[i + 1:]
        host = host[1:i]
        ok = "0123456789abcdefABCDEF:."
    else:
        i = host.find(":")
        port = host[i:] if i >= 0 else ""
        host = host[:i] if i >= 0 else host
        ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"
    if not host or any(c not in ok for c in host):
        return False
    if port and (len(port) < 2 or port[0] != ":" or any(c not in "0123456789" for c in port[1:])):
        return False
    return True


def _short(s, n):
    return s if len(s) <= n else s[:n]


def parse(uri):
    """-> {"pubkey", "relays", "secret", "perms", "name", "url", "image"}; ValueError("invalid uri: …")."""
    if type(uri) is not str or len(uri) > MAX_URI:
        _bad("too long")
    if not uri.startswith("nostrconnect://"):
        _bad("not nostrconnect://")
    rest = uri[15:]
    q = rest.find("?")
    pub = (rest if q < 0 else rest[:q]).rstrip("/").lower()
    query = "" if q < 0 else rest[q + 1:]
    if len(pub) != 64 or any(c not in _HEX for c in pub):
        _bad("client pubkey")
    r = {"pubkey": pub, "relays": [], "secret": "", "perms": "", "name": "", "url": "", "image": ""}
    for pair in query.split("&"):
        if not pair:
            continue
        if "=" in pair:
            k, v = pair.split("=", 1)
        else:
            k, v = pair, ""
        k = unquote(k)
        v = unquote(v)
        if k == "relay":
            if not relay_ok(v):
                _bad("relay")
            if v not in r["relays"]:
                if len(r["relays"]) >= MAX_RELAYS:
                    _bad("too many relays")
                r["relays"].append(v)
        elif k in ("secret", "perms", "name", "url", "image"):
            r[k] = v
        elif k == "metadata":
            try:
                md = json.loads(v)
            except ValueError:
                _bad("metadata")
            if type(md) is dict:
                for f in ("name", "url", "image", "perms"):
                    if type(md.get(f)) is str and not r[f]:
                        r[f] = md[f]
    if not r["relays"]:
        _bad("no relay")
    if not r["secret"]:
        _bad("no secret")
    if len(r["secret"]) > 128:
        _bad("secret too long")
    for f in ("name", "url", "image"):
        r[f] = _short(r[f], 200)
    return r
