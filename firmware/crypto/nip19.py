# NIP-19 bech32 entities: npub, nsec, note (32 raw bytes) and the TLV kinds
# nprofile, nevent, naddr. Decoded TLV kinds come back as dicts shaped like
# nostr-tools' pointers, with hex strings for keys/ids (what NIP-46 replies carry):
#   nprofile -> {"pubkey": hex, "relays": [str]}
#   nevent   -> {"id": hex, "relays": [str], "author": hex?, "kind": int?}
#   naddr    -> {"identifier": str, "pubkey": hex, "kind": int, "relays": [str]}
# TLV types: 0 special, 1 relay, 2 author, 3 kind (u32 big-endian). Unknown types are
# skipped (the NIP says so); a known type with the wrong length is an error, as in
# go-nostr. Errors are ValueError("invalid ...").
from binascii import hexlify
from crypto import bech32

_RAW = ("npub", "nsec", "note")


def _bad(what):
    raise ValueError("invalid nip19: " + what)


def _b32(b, what):
    if not isinstance(b, (bytes, bytearray)) or len(b) != 32:
        _bad(what + " must be 32 bytes")
    return bytes(b)


def npub(pub32):
    return bech32.encode("npub", _b32(pub32, "public key"))


def nsec(sk):
    return bech32.encode("nsec", _b32(sk, "secret key"))


def note(id32):
    return bech32.encode("note", _b32(id32, "event id"))


def _tlv(out, t, v):
    if len(v) > 255:
        _bad("TLV value longer than 255 bytes")
    out.append(t)
    out.append(len(v))
    out.extend(v)


def _relays(out, relays):
    for r in relays:
        if type(r) is not str:
            _bad("relay must be a string")
        _tlv(out, 1, r.encode())


def _kind(kind):
    if type(kind) is not int or not 0 <= kind <= 0xFFFFFFFF:
        _bad("kind must be an integer 0..2^32-1")
    return kind.to_bytes(4, "big")


def nprofile(pub32, relays=()):
    out = bytearray()
    _tlv(out, 0, _b32(pub32, "public key"))
    _relays(out, relays)
    return bech32.encode("nprofile", out)


def nevent(id32, relays=(), author=None, kind=None):
    out = bytearray()
    _tlv(out, 0, _b32(id32, "event id"))
    _relays(out, relays)
    if author is not None:
        _tlv(out, 2, _b32(author, "author"))
    if kind is not None:
        _tlv(out, 3, _kind(kind))
    return bech32.encode("nevent", out)


def naddr(identifier, pub32, kind, relays=()):
    if type(identifier) is not str:
        _bad("identifier must be a string")
    out = bytearray()
    _tlv(out, 0, identifier.encode())
    _relays(out, relays)
    _tlv(out, 2, _b32(pub32, "author"))
    _tlv(out, 3, _kind(kind))
    return bech32.encode("naddr", out)


def _parse_tlv(data):
    """-> {type: [value, ...]} in order of appearance; truncation is an error."""
    res = {}
    i = 0
    n = len(data)
    while i < n:
        if i + 2 > n:
            _bad("truncated TLV")
        t = data[i]
        ln = data[i + 1]
        i += 2
        if i + ln > n:
            _bad("truncated TLV")
        res.setdefault(t, []).append(data[i:i + ln])
        i += ln
    return res


def _one(tlv, t, what, size=None, required=True):
    # single-valued types: the first one counts (as in nostr-tools)
    vals = tlv.get(t)
    if not vals:
        if required:
            _bad("missing " + what)
        return None
    v = vals[0]
    if size is not None and len(v) != size:
        _bad("%s must be %d bytes" % (what, size))
    return v


def _str(b, what):
    try:
        return str(b, "utf-8")
    except Exception:
        _bad(what + " is not UTF-8")


def decode(s):
    """NIP-19 string -> (hrp, value): bytes for npub/nsec/note, a dict for the rest."""
    try:
        hrp, data = bech32.decode(s)
    except ValueError as e:
        _bad(str(e)[len("invalid "):])  # "invalid nip19: bech32: checksum"
    if hrp in _RAW:
        if len(data) != 32:
            _bad("%s must hold 32 bytes" % hrp)
        return hrp, data
    if hrp not in ("nprofile", "nevent", "naddr"):
        _bad("unknown prefix " + hrp)
    tlv = _parse_tlv(data)
    relays = [_str(r, "relay") for r in tlv.get(1, ())]
    if hrp == "nprofile":
        return hrp, {"pubkey": hexlify(_one(tlv, 0, "pubkey", 32)).decode(), "relays": relays}
    if hrp == "nevent":
        v = {"id": hexlify(_one(tlv, 0, "event id", 32)).decode(), "relays": relays}
        a = _one(tlv, 2, "author", 32, False)
        if a is not None:
            v["author"] = hexlify(a).decode()
        k = _one(tlv, 3, "kind", 4, False)
        if k is not None:
            v["kind"] = int.from_bytes(k, "big")
        return hrp, v
    return hrp, {
        "identifier": _str(_one(tlv, 0, "identifier"), "identifier"),
        "pubkey": hexlify(_one(tlv, 2, "author", 32)).decode(),
        "kind": int.from_bytes(_one(tlv, 3, "kind", 4), "big"),
        "relays": relays,
    }
