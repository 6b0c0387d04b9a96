# NIP-01 events: canonical serialisation, event id, shape checks, sign and verify.
#
# The id must equal nostr-tools' getEventHash byte for byte, i.e. sha256 of
# JSON.stringify([0, pubkey, created_at, kind, tags, content]). MicroPython's json.dumps
# escapes differently (e.g. it writes non-ASCII as \uXXXX on some builds), so the
# serialiser is ours. JSON.stringify escapes exactly: " \ \b \f \n \r \t, other
# C0 controls as lowercase \u00xx; everything else (DEL, U+2028/2029, emoji) goes out
# verbatim as UTF-8.
#
# Memory: a 16 KB event must hash inside a 128 KB heap. Nothing here builds the JSON
# text: pieces go straight into sha256.update, and unescaped runs of a string are
# passed as memoryview slices of the str itself (a MicroPython str exposes its UTF-8
# bytes as a buffer), so hashing allocates a few small objects per escape, not copies.
import hashlib
import micropython
from binascii import hexlify, unhexlify

# JSON.stringify turns integers beyond 2^53 into other digits (IEEE doubles), so a
# created_at above this could not have the same id in a JS client.
_MAX_SAFE_INT = 9007199254740991

_NAMED = {
    0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0C: b"\\f", 0x0D: b"\\r",
    0x22: b'\\"', 0x5C: b"\\\\",
}
_HEXDIGITS = "0123456789abcdef"

_SIGNED_KEYS = ("id", "pubkey", "created_at", "kind", "tags", "content", "sig")


# Index of the first byte at or after i that needs escaping (< 0x20, '"', '\\'), or n.
# UTF-8 continuation and lead bytes are all >= 0x80, so scanning bytes is safe for
# any str. Viper keeps this a tight machine loop (about 30x the plain-Python speed);
# the targets (unix, armv6m, xtensawin) all have the native emitter.
@micropython.viper
def _next_special(buf, i: int, n: int) -> int:
    p = ptr8(buf)
    while i < n:
        c = p[i]
        if c < 0x20 or c == 0x22 or c == 0x5C:
            return i
        i += 1
    return n


def _escape(c):
    e = _NAMED.get(c)
    if e is None:
        e = b"\\u00" + _HEXDIGITS[c >> 4].encode() + _HEXDIGITS[c & 15].encode()
    return e


def _write_string(w, s):
    # s is a str (checked by the caller); w receives bytes-like pieces in order
    mv = memoryview(s)
    n = len(mv)
    w(b'"')
    i = 0
    while i < n:
        j = _next_special(mv, i, n)
        if j > i:
            w(mv if (i == 0 and j == n) else mv[i:j])
        if j < n:
            w(_escape(mv[j]))
        i = j + 1
    w(b'"')


def _write_event(w, pubkey, created_at, kind, tags, content):
    # [0,"<pubkey>",<created_at>,<kind>,[[...],...],"<content>"]
    w(b'[0,')
    _write_string(w, pubkey)
    w(b',')
    w(str(created_at))
    w(b',')
    w(str(kind))
    w(b',[')
    first = True
    for tag in tags:
        w(b'[' if first else b',[')
        first = False
        sep = False
        for item in tag:
            if sep:
                w(b',')
            sep = True
            _write_string(w, item)
        w(b']')
    w(b'],')
    _write_string(w, content)
    w(b']')


def json_string(s):
    """s as a JSON string literal (with quotes), escaped as JSON.stringify does."""
    if type(s) is not str:
        raise ValueError("invalid string")
    buf = bytearray()
    _write_string(buf.extend, s)
    return str(buf, "utf-8")


def _bad(what):
    raise ValueError("invalid event: " + what)


def _is_lower_hex(s, n):
    if type(s) is not str or len(s) != n:
        return False
    for c in s:
        if c not in _HEXDIGITS:
            return False
    return True


def _check_fields(pubkey, created_at, kind, tags, content):
    # the five serialised fields; type() not isinstance(): bool must not pass as int
    if not _is_lower_hex(pubkey, 64):
        _bad("pubkey must be 64 lowercase hex characters")
    if type(created_at) is not int or created_at < 0 or created_at > _MAX_SAFE_INT:
        _bad("created_at must be an integer 0..2^53-1")
    if type(kind) is not int or kind < 0 or kind > 65535:
        _bad("kind must be an integer 0..65535")
    if type(tags) is not list:
        _bad("tags must be a list")
    for i, tag in enumerate(tags):
        if type(tag) is not list:
            _bad("tag %d is not a list" % i)
        for j, item in enumerate(tag):
            if type(item) is not str:
                _bad("tag %d item %d is not a string" % (i, j))
    if type(content) is not str:
        _bad("content must be a string")


def validate(ev, signed=True):
    """Check the shape of an event; raise ValueError("invalid event: ...").

    signed=True: exactly id, pubkey, created_at, kind, tags, content, sig.
    signed=False (a template): created_at, kind, tags, content; id, pubkey, sig
    optional (checked when present). No other keys in either case.
    """
    if type(ev) is not dict:
        _bad("not an object")
    for k in ev:
        if k not in _SIGNED_KEYS:
            _bad("unexpected key %r" % (k,))
    for k in _SIGNED_KEYS:
        if k not in ev and (signed or k in ("created_at", "kind", "tags", "content")):
            _bad("missing " + k)
    if "pubkey" in ev:
        _check_fields(ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"])
    else:
        _check_fields("0" * 64, ev["created_at"], ev["kind"], ev["tags"], ev["content"])
    if "id" in ev and not _is_lower_hex(ev["id"], 64):
        _bad("id must be 64 lowercase hex characters")
    if "sig" in ev and not _is_lower_hex(ev["sig"], 128):
        _bad("sig must be 128 lowercase hex characters")


def serialize(pubkey_hex, created_at, kind, tags, content):
    """The canonical JSON of an event as UTF-8 bytes (what the id hashes)."""
    _check_fields(pubkey_hex, created_at, kind, tags, content)
    buf = bytearray()
    _write_event(buf.extend, pubkey_hex, created_at, kind, tags, content)
    return bytes(buf)


def _digest(ev):
    # fields already checked by the caller
    h = hashlib.sha256()
    _write_event(h.update, ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"])
    return h.digest()


def event_id(ev):
    """Hex event id of ev (a dict with pubkey, created_at, kind, tags, content)."""
    if type(ev) is not dict:
        _bad("not an object")
    for k in ("pubkey", "created_at", "kind", "tags", "content"):
        if k not in ev:
            _bad("missing " + k)
    _check_fields(ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"])
    return hexlify(_digest(ev)).decode()


def verify(ev):
    """True if ev is a well-formed signed event whose id and BIP-340 signature hold.

    Never raises: a bad shape is simply not a valid event.
    """
    try:
        validate(ev, True)
    except ValueError:
        return False
    h = _digest(ev)
    if hexlify(h).decode() != ev["id"]:
        return False
    from crypto import secp256k1  # imported late: hashing alone needs no curve code
    return bool(secp256k1.schnorr_verify(h, unhexlify(ev["pubkey"]), unhexlify(ev["sig"])))


def sign(template, sk, aux=None):
    """Sign an unsigned event with the 32-byte secret sk; return the full event.

    The template has created_at, kind, tags, content and may have pubkey, which must
    then be sk's. aux is the BIP-340 auxiliary randomness (None: from the RNG).
    """
    validate(template, False)
    if "id" in template or "sig" in template:
        _bad("template must not have id or sig")
    from crypto import secp256k1
    pub = hexlify(secp256k1.pubkey(sk)).decode()
    if "pubkey" in template and template["pubkey"] != pub:
        _bad("pubkey does not match the signing key")
    ev = {
        "pubkey": pub,
        "created_at": template["created_at"],
        "kind": template["kind"],
        "tags": template["tags"],
        "content": template["content"],
    }
    h = _digest(ev)
    sig = secp256k1.schnorr_sign(h, sk, aux)
    ev["id"] = hexlify(h).decode()
    ev["sig"] = hexlify(sig).decode()
    return ev
