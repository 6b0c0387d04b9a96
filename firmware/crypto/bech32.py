# Bech32 (BIP-173, the original checksum constant 1; NOT bech32m) as NIP-19 uses it.
#
# Differences from BIP-173 on purpose: no 90-character limit, because NIP-19 TLV
# strings (nprofile/nevent/naddr with relays) are longer; instead a 5000-character cap
# like nostr-tools, so hostile input cannot make us allocate without bound.
# Errors are ValueError("invalid bech32: ...").

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
MAX_LEN = 5000
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bad(what):
    raise ValueError("invalid bech32: " + what)


def _polymod(values, chk=1):
    for v in values:
        b = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i in range(5):
            if (b >> i) & 1:
                chk ^= _GEN[i]
    return chk


def _hrp_expand(hrp):
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def convertbits(data, frombits, tobits, pad):
    """Regroup a sequence of frombits-bit values into tobits-bit values.

    pad=False (decoding 5->8): leftover bits must be fewer than frombits and zero,
    as BIP-173 requires.
    """
    acc = 0
    bits = 0
    out = bytearray()
    maxv = (1 << tobits) - 1
    for v in data:
        if v >> frombits:
            _bad("value out of range")
        acc = ((acc << frombits) | v) & 0xFFFFFFF
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        _bad("non-zero padding")
    return out


def encode(hrp, data):
    """hrp (str) + data (bytes, 8-bit) -> lowercase bech32 string."""
    hrp = hrp.lower()
    if not hrp or any(ord(c) < 33 or ord(c) > 126 for c in hrp):
        _bad("hrp")
    words = convertbits(data, 8, 5, True)
    chk = _polymod(_hrp_expand(hrp) + list(words) + [0] * 6) ^ 1
    out = [hrp, "1"]
    for w in words:
        out.append(CHARSET[w])
    for i in range(6):
        out.append(CHARSET[(chk >> (5 * (5 - i))) & 31])
    s = "".join(out)
    if len(s) > MAX_LEN:
        _bad("too long")
    return s


def decode(s):
    """bech32 string -> (hrp lowercase, data bytes). Checks characters, case,
    separator, length and the bech32 checksum."""
    if type(s) is not str:
        _bad("not a string")
    if len(s) > MAX_LEN:
        _bad("too long")
    for c in s:
        if ord(c) < 33 or ord(c) > 126:
            _bad("character out of range")
    low = s.lower()
    if low != s and s.upper() != s:
        _bad("mixed case")
    pos = low.rfind("1")
    if pos < 1 or pos + 7 > len(low):
        _bad("separator position")
    hrp = low[:pos]
    words = []
    for c in low[pos + 1:]:
        v = CHARSET.find(c)
        if v < 0:
            _bad("character %r" % c)
        words.append(v)
    if _polymod(_hrp_expand(hrp) + words) != 1:
        _bad("checksum")
    return hrp, bytes(convertbits(words[:-6], 5, 8, False))
