# The menu's "Pair" screen: the bunker:// URL as a QR code, for a client to scan.
# Loaded by ui/menu.py when the screen opens and dropped (with ui.qr) when it closes.
#
# What fits: the screen is 128x64 (the T-Display scales the same framebuf up), so a
# module is one pixel and the symbol plus its 4-module quiet zone must fit in 64 rows:
# 17 + 4v + 8 <= 64 -> version 9 (53x53 modules, 61 px with the quiet zone). Byte mode
# at level L (the smallest error correction; the screen is not a printed sticker that
# gets dirty) holds 230 bytes there. The URL is the bridge's (bridge/qr.py): every
# query character outside [A-Za-z0-9_.-] percent-encoded, as strict clients want.
# One local relay and the secret make 132 bytes (version 6); about four wss:// relays
# still fit. When it does not: first fewer relays (the signer listens on all of them;
# a client needs one), the screen saying how many are left out; then the first relay
# without the secret (the connect is still approvable, marked "NO SECRET!" on its
# prompt), saying "secret: none". Past that, no QR: the text says to use the host.
#
# The secret is the device's own: never sent to the host (app.hello), so laptop
# malware cannot pair a key of its own with "secret ok". This QR is the only place it
# shows; the URL the host prints carries none, and the screen says so
# ("secret: none (host URL)").
#
# Polarity: the quiet zone and the light modules are lit and the dark modules unlit,
# so the screen reads as dark-on-light like paper (many scanners do not try inverted
# codes).
from ui import qr

ECC = "L"
QUIET = 4
_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"


def _ft(app, k, sim):
    # this board's footer k (boards/common.py feet: its own gestures), else the
    # simulator's keys (bridge/demo.py: a approve, r reject)
    f = getattr(app.board, "feet", None)
    return f.get(k, sim) if f else sim


def _enc(s):
    out = []
    for b in s.encode():
        out.append(chr(b) if b in _SAFE else "%%%02X" % b)
    return "".join(out)


def url(pub_hex, relays, secret=None):
    """bunker://<pubkey>?relay=..[&relay=..][&secret=..], as bridge/qr.py's bunker_url."""
    q = ["relay=" + _enc(r) for r in relays]
    if secret:
        q.append("secret=" + _enc(secret))
    return "bunker://" + pub_hex + "?" + "&".join(q)


def max_version(height):
    v = (height - 2 * QUIET - 17) // 4
    return min(v, qr.MAX_VERSION)


HOST_URL = ["secret:", "none", "(host", "URL)"]  # the host's printed URL has none


def choose(pub_hex, relays, secret, cap):
    """-> (url or None, notes): the fullest URL of at most cap bytes."""
    for n in range(len(relays), 0, -1):
        u = url(pub_hex, relays[:n], secret)
        if len(u) <= cap:
            return u, (["+%d relays" % (len(relays) - n), "on host"] if n < len(relays) else []) + HOST_URL
    u = url(pub_hex, relays[:1])
    if len(u) <= cap:
        return u, ["secret:", "none"]
    return None, ["URL too", "long:", "use the", "host"]


def open_(app):
    """-> (size, modules, notes) for the screen; size 0 when no QR fits."""
    d = app.board.display
    v = max_version(min(d.width, d.height))
    u, notes = choose(app.pubhex, app.conf["relays"], app.conf["secret"], qr.capacity(v, ECC))
    if u is None:
        return 0, None, notes
    size, mods = qr.encode(u, ECC)
    return size, mods, notes


def draw(app, size, mods, notes):
    d = app.board.display
    fb = d.fb
    fb.fill(0)
    side = size + 2 * QUIET
    x0 = 0
    y0 = (d.height - side) // 2
    if size:
        fb.fill_rect(x0, y0, side, side, 1)
        qr.draw(fb, size, mods, x0 + QUIET, y0 + QUIET, 1, 0)
    head = ["PAIR", "scan it", "in a", "client", ""] if len(notes) < 3 else ["PAIR", "scan it", ""][:7 - len(notes)]
    if not size:
        head = ["PAIR", ""]
    txt = head + notes
    txt = txt[:7] + [""] * (7 - len(txt)) + [_ft(app, "back", "R:back")]
    col = 64  # 8 columns on the right: the symbol is at most 61 px wide
    for i in range(8):
        fb.text(txt[i], col, i * 8, 1)
    d.show([" " * 8 + t for t in txt])
