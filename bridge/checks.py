"""What the person typed, checked on the laptop before the device is asked.

None of this is a security check: the device validates everything again (the laptop is
untrusted, docs/DESIGN.md). These exist so a typo fails at once with the reason, instead
of a prompt on the device, a retry loop, or the device's terse one-word refusal.
"""
import os
import re
import stat
import urllib.parse

MAX_URI = 2048        # the device's limits (firmware/signer/uri.py)
MAX_RELAYS = 8


def serial_port_problem(path):
    """Why `path` can't be a serial port (a reason), or None. A path that does not exist
    yet is not a problem: the device may be plugged in later (the bridge waits)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        return "%s: %s" % (path, e.strerror or e)
    if stat.S_ISCHR(st.st_mode):
        return None
    what = ("a directory" if stat.S_ISDIR(st.st_mode) else
            "a regular file" if stat.S_ISREG(st.st_mode) else "not a character device")
    return "%s is %s, not a serial port (a device such as /dev/ttyACM0, or sim / auto)" % (path, what)


def secret_key_hex(text):
    """An nsec1... or 64 hex digits -> the key as lowercase hex; ValueError saying what is
    wrong (never echoing the value). nostr-sdk checks the bech32 checksum and the range."""
    key = (text or "").strip()
    if not key:
        raise ValueError("no key given")
    if key.startswith("nsec1"):
        what = "nsec (bad bech32 checksum or length)"
    elif key.lower().startswith(("npub1", "nprofile1")):
        raise ValueError("that is a public key (npub): the device needs the secret key (nsec1...)")
    elif len(key) == 64 and all(c in "0123456789abcdefABCDEF" for c in key):
        what = "key (out of range for secp256k1)"
    else:
        raise ValueError("not an nsec1... or 64 hex digits (%d characters)" % len(key))
    from nostr_sdk import SecretKey
    try:
        return SecretKey.parse(key).to_hex()
    except Exception:
        raise ValueError("invalid " + what) from None


def nostrconnect_problem(uri):
    """Why the device would refuse this nostrconnect:// URI (a reason), or None. The same
    rules as firmware/signer/uri.py, said in words."""
    if not isinstance(uri, str) or not uri.startswith("nostrconnect://"):
        return "expected a nostrconnect:// URI"
    if len(uri) > MAX_URI:
        return "longer than %d characters" % MAX_URI
    rest = uri[len("nostrconnect://"):]
    pub, _, query = rest.partition("?")
    pub = pub.rstrip("/")
    if len(pub) != 64 or any(c not in "0123456789abcdefABCDEF" for c in pub):
        return "the client's public key after nostrconnect:// must be 64 hex digits"
    if re.search(r"%(?![0-9a-fA-F]{2})", query):
        return "a bad %-escape (a % not followed by two hex digits)"
    try:
        q = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=False,
                                  errors="strict")
    except (ValueError, UnicodeError):
        return "a parameter is not valid UTF-8 percent-encoding"
    relays = []
    for r in q.get("relay", []):
        if not r.startswith(("ws://", "wss://")) or len(r) > 256:
            return "relay %r is not a ws:// or wss:// URL" % r[:80]
        if r not in relays:
            relays.append(r)
    if not relays:
        return "no relay= parameter (the client's relay, where the answer goes)"
    if len(relays) > MAX_RELAYS:
        return "more than %d relays" % MAX_RELAYS
    secret = (q.get("secret") or [""])[0]
    if not secret:
        return "no secret= parameter (the client only accepts an answer that carries it)"
    if len(secret) > 128:
        return "secret= longer than 128 characters"
    return None
