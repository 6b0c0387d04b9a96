# NIP-01 events: canonical serialisation, event id, shape checks, sign and verify.
#
# The id must equal nostr-tools' getEventHash byte for byte, i.e. sha256 of
# JSON.stringify([0, pubkey, created_at, kind, tags, content]). MicroPython's json.dumps
# escapes differently (e.g. it writes non-ASCII as \uXXXX on some builds), so the
# serialiser is ours. JSON.stringify escapes exactly: " \ \b \f \n \r \t, other
# C0 controls as lowercase \u00xx; everything else (DEL, U+2028/2029, emoji) goes out
# verbatim as UTF-8. UTF-16 surrogates, which MicroPython strings can hold in CESU-8
# form, are handled as a JS string holding them would be (see _write_string).
#
# Memory: a 16 KB event must hash inside a 128 KB heap. Nothing here builds the JSON
# text: a viper loop reads each str's UTF-8 bytes in place (a MicroPython str is a
# buffer), escapes into one fixed 512-byte staging buffer, and each full buffer goes
# straight into sha256.update. Hashing a 16 KB event allocates about a kilobyte.
try:
    import uhashlib as hashlib  # the port's own: lib/hashlib.py's shim costs 3 KB of heap
except ImportError:  # CPython
    import hashlib
import micropython
from binascii import hexlify, unhexlify

# JSON.stringify turns integers beyond 2^53 into other digits (IEEE doubles), so a
# created_at above this could not have the same id in a JS client.
_MAX_SAFE_INT = 9007199254740991

_HEXDIGITS = "0123456789abcdef"

_SIGNED_KEYS = ("id", "pubkey", "created_at", "kind", "tags", "content", "sig")


# JSON-escape src[i:n] (a str's UTF-8 bytes) into out[0:cap+6]; stop when out is
# nearly full (cap), at the end, or at an encoded UTF-16 surrogate (0xED then >= 0xA0,
# left to _write_string). Returns i * 1024 + bytes written (cap < 1024, strings < 1 MB,
# so the result stays a small int: no allocation). UTF-8 lead and continuation bytes
# are all >= 0x80, so a byte-wise scan is right for any str. Viper keeps this a tight
# machine loop (about 30x plain Python); unix, armv6m and xtensawin all have it.
@micropython.viper
def _fill(src, i: int, n: int, out, cap: int) -> int:
    s = ptr8(src)
    o = ptr8(out)
    k = 0
    while i < n and k < cap:
        c = s[i]
        if c >= 0x20 and c != 0x22 and c != 0x5C:
            if c == 0xED and i + 1 < n and s[i + 1] >= 0xA0:
                break
            o[k] = c
            k += 1
            i += 1
            continue
        o[k] = 0x5C
        if c == 0x22 or c == 0x5C:
            o[k + 1] = c
            k += 2
        elif c == 0x08:
            o[k + 1] = 0x62  # b
            k += 2
        elif c == 0x09:
            o[k + 1] = 0x74  # t
            k += 2
        elif c == 0x0A:
            o[k + 1] = 0x6E  # n
            k += 2
        elif c == 0x0C:
            o[k + 1] = 0x66  # f
            k += 2
        elif c == 0x0D:
            o[k + 1] = 0x72  # r
            k += 2
        else:
            # \u00XX, lowercase hex; c < 0x20 so the high digit is 0 or 1
            d = c & 15
            o[k + 1] = 0x75
            o[k + 2] = 0x30
            o[k + 3] = 0x30
            o[k + 4] = 0x30 + (c >> 4)
            o[k + 5] = (0x30 + d) if d < 10 else (0x57 + d)
            k += 6
        i += 1
    return (i << 10) | k


# One staging buffer for all strings: escapes are assembled here and handed to the
# sink in chunks, instead of one small object per escape. The sink must consume the
# bytes before returning (hashlib update, bytearray.extend), as ours do.
_BUF = bytearray(512)
_BUFMV = memoryview(_BUF)
_CAP = 512 - 6


def _surrogate(mv, j, n):
    # UTF-16 code unit encoded at mv[j:j+3] as ED Ax/Bx xx, or -1
    if j + 2 < n and mv[j] == 0xED and mv[j + 1] >= 0xA0:
        return 0xD000 | ((mv[j + 1] & 0x3F) << 6) | (mv[j + 2] & 0x3F)
    return -1


def _mv(s):
    mv = memoryview(s)
    if len(mv) >= 1 << 20:  # keeps _fill's packed result within a 32-bit machine word
        raise ValueError("invalid string: longer than 1 MB")
    return mv


def _odd(mv, i, n):
    # (the piece for the UTF-16 surrogate encoded at mv[i:], where to go on)
    #
    # MicroPython's json.loads turns "\ud83d\ude00" (how ensure_ascii clients send
    # emoji) into two 3-byte CESU-8 sequences, not the 4-byte UTF-8 of U+1F600, and
    # accepts lone ones. A JS string holds the same UTF-16 units, and JSON.stringify
    # writes a valid pair as the real character and a lone surrogate as a lowercase
    # \udxxx escape; we do the same, so ids still match nostr-tools.
    hi = _surrogate(mv, i, n)
    if hi < 0:  # cut-off sequence: cannot happen in a valid str; keep the bytes
        return mv[i:], n
    lo = _surrogate(mv, i + 3, n)
    if 0xD800 <= hi < 0xDC00 and 0xDC00 <= lo < 0xE000:
        cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        return bytes((0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F),
                      0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F))), i + 6
    return b"\\u" + ("%04x" % hi).encode(), i + 3


def _write_string(w, s):
    # s is a str (checked by the caller); w, a C function here (a hash's update,
    # bytearray.extend), receives bytes-like pieces in order
    mv = _mv(s)
    n = len(mv)
    w(b'"')
    i = 0
    while i < n:
        r = _fill(mv, i, n, _BUF, _CAP)
        i = r >> 10
        k = r & 1023
        if k:
            w(_BUFMV[:k])
        if i < n and k < _CAP:  # stopped at a surrogate
            b, i = _odd(mv, i, n)
            w(b)
    w(b'"')


def string_pieces(s):
    """_write_string's pieces as a generator, for a consumer whose loop pulls them (the
    response writer: no call chain grows under it). A piece in the staging buffer is
    good until the next is pulled."""
    mv = _mv(s)
    n = len(mv)
    yield b'"'
    i = 0
    while i < n:
        r = _fill(mv, i, n, _BUF, _CAP)
        i = r >> 10
        k = r & 1023
        if k:
            yield _BUFMV[:k]
        if i < n and k < _CAP:
            b, i = _odd(mv, i, n)
            yield b
    yield b'"'


def _write_event(w, pubkey, created_at, kind, tags, content):
    # [0,"<pubkey>",<created_at>,<kind>,[[...],...],"<content>"]; the tag list is
    # walked here, not in write_tags, and the content's pieces pulled by this loop: the
    # deepest hash of a response (its content is nip44.seal_stream's) stays shallow
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
    if type(content) is tuple:  # a request's base64 in the link's pieces (envelope.loads)
        w(b'"')
        for c in content:
            w(c)
        w(b'"')
    elif callable(content):  # a response's base64 made as it is read (nip44.seal_stream)
        w(b'"')
        for p in content():
            w(p)
        w(b'"')
    else:
        _write_string(w, content)
    w(b']')


def json_string(s):
    """s as a JSON string literal (with quotes), escaped as JSON.stringify does."""
    if type(s) is not str:
        raise ValueError("invalid string")
    buf = bytearray()
    _write_string(buf.extend, s)
    return str(buf, "utf-8")


@micropython.viper
def utf8_strict(b: ptr8, n: int) -> int:
    # 1 if b[0:n] is UTF-8 as RFC 3629 has it, else 0 (MicroPython's own check, in
    # str(b, "utf-8"), looks at each sequence's shape only): no overlong form (C0, C1, E0 80..9F,
    # F0 80..8F), no encoded surrogate (ED A0..BF: CESU-8), nothing past U+10FFFF
    # (F4 90.., F5..FF), every continuation byte where it belongs
    i = 0
    while i < n:
        c = b[i]
        if c < 0x80:
            i += 1
            continue
        if c < 0xC2 or c > 0xF4:
            return 0
        m = 1
        lo = 0x80
        hi = 0xBF
        if c >= 0xF0:
            m = 3
            if c == 0xF0:
                lo = 0x90
            if c == 0xF4:
                hi = 0x8F
        elif c >= 0xE0:
            m = 2
            if c == 0xE0:
                lo = 0xA0
            if c == 0xED:
                hi = 0x9F
        if i + m >= n:
            return 0
        d = b[i + 1]
        if d < lo or d > hi:
            return 0
        j = 2
        while j <= m:
            d = b[i + j]
            if d < 0x80 or d > 0xBF:
                return 0
            j += 1
        i += m + 1
    return 1



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
        # crypto.jsontags.Tags: a big template's tags as text, checked as it was made
        if getattr(tags, "TAGS", False):
            tags = ()
        else:
            _bad("tags must be a list")
    for i, tag in enumerate(tags):
        if type(tag) is not list:
            _bad("tag %d is not a list" % i)
        for j, item in enumerate(tag):
            if type(item) is not str:
                _bad("tag %d item %d is not a string" % (i, j))
    # a memoryview, or a tuple of them: a received request's base64 content left in
    # the link's buffer or pieces (signer.envelope.loads); JSON never parses to one
    if type(content) not in (str, memoryview, tuple):
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


def sign_own(ev, sk, aux=None):
    """Add id and sig to an event this device built itself (a response): its fields are
    known good and its content may be a bytes-like of ASCII (nip44.seal_b64's buffer),
    hashed where it lies, or a function yielding it in pieces (nip44.seal_stream)."""
    from crypto import secp256k1
    # _digest(ev), inline: the deepest hash there is (its content may be a stream)
    h = hashlib.sha256()
    _write_event(h.update, ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"])
    h = h.digest()
    ev["id"] = hexlify(h).decode()
    ev["sig"] = hexlify(secp256k1.schnorr_sign(h, sk, aux)).decode()
    return ev


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
