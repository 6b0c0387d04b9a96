"""bunker:// URL for the device's key and its terminal QR code.

Clients parse the URL strictly: nostr-tools 2.25.2 matches
`^bunker://<64 hex>?[?/\\w:.=&%-]*$`, so every query character outside [A-Za-z0-9_.-] is
percent-encoded (`+` for a space, or a bare `~`, would make it reject the whole URL).
"""
import io
import re

import qrcode

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _enc(value):
    return "".join(chr(b) if b in _SAFE else "%%%02X" % b for b in str(value).encode("utf-8"))


def bunker_url(pubkey_hex, relays, secret=None):
    """bunker://<pubkey>?relay=<url>&relay=...[&secret=...] (NIP-46), percent-encoded."""
    pk = str(pubkey_hex).lower()
    if not _HEX64.match(pk):
        raise ValueError("signer pubkey must be 64 hex characters")
    if not relays:
        raise ValueError("a bunker URL needs at least one relay")
    query = ["relay=" + _enc(r) for r in relays]
    if secret:
        query.append("secret=" + _enc(secret))
    return "bunker://" + pk + "?" + "&".join(query)


def qr_text(data, invert=True):
    """`data` as a QR code in Unicode half blocks (two modules per character row).

    invert=True draws the light modules as blocks, which reads right on the usual dark
    terminal (light text on black); invert=False is for light-background terminals.
    Error correction L keeps a long bunker URL small enough to scan.
    """
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=2)
    q.add_data(data)
    q.make(fit=True)
    out = io.StringIO()
    q.print_ascii(out=out, tty=False, invert=invert)
    return out.getvalue()


def print_bunker(pubkey_hex, relays, secret=None, out=print, qr=True):
    """The `run` banner: a label, the URL alone on a line (to copy or select with a
    double click, no prefix), then its QR code (to scan)."""
    url = bunker_url(pubkey_hex, relays, secret)
    out("bunker URL: " + url)
    out(url)
    if qr:
        out(qr_text(url))
    if not secret:
        # the device keeps its secret from the host (issue 11): its own QR carries it
        out("(no secret in it: the device shows \"NO SECRET!\" when a client connects with it;"
            " the QR on the device, menu -> Pair, carries one)")
    return url
