# NIP-44 v2 encryption, per the current spec/44.md, including the extended length prefix
# (plaintexts of 65536 bytes and more carry 0x0000 + u32).
#
# Memory, for an n-byte plaintext (a 128 KB heap is the budget):
# - encrypt builds the raw payload (version | nonce | padded | mac) once and runs ChaCha20
#   in place inside it; the MAC reads it through a memoryview. Peak: the caller's text +
#   raw (~n) + base64 (~1.33n); bytes.decode() on MicroPython shares the bytes' buffer,
#   so the returned str costs no second copy.
# - decrypt checks the base64 text in viper, decodes it chunk by chunk into one bytearray,
#   MACs and decrypts that in place and builds the str straight from a slice of it.
#   Peak: payload (~1.33n) + decoded (~n) + result str (~n). decrypt_mv of a payload in
#   the link's buffer allocates nothing of the payload's size.
import binascii
import os
import micropython

from crypto import kdf, jsonspan
from crypto.chacha20 import chacha20_xor
from crypto.secp256k1 import ecdh_x

_SALT = b"nip44-v2"
MAX_PLAINTEXT = 0xFFFFFFFF
_EXT = 65536  # extended_prefix_threshold
_CHUNK = 1024  # base64 characters decoded per step (a multiple of 4)


def conversation_key(sk, pub):
    return kdf.hkdf_extract(_SALT, ecdh_x(sk, pub))


def message_keys(conv_key, nonce):
    if len(conv_key) != 32:
        raise ValueError("invalid conversation key length")
    if len(nonce) != 32:
        raise ValueError("invalid nonce length")
    k = kdf.hkdf_expand(conv_key, nonce, 76)
    return k[0:32], k[32:44], k[44:76]


def padded_len(n):
    if n < 1:
        raise ValueError("invalid plaintext length")
    if n <= 32:
        return 32
    next_power = 1
    while next_power < n:  # 1 << (floor(log2(n - 1)) + 1); MicroPython has no bit_length()
        next_power <<= 1
    chunk = 32 if next_power <= 256 else next_power // 8
    return chunk * ((n - 1) // chunk + 1)


def _prefix_len(n):
    return 2 if n < _EXT else 6


def _head(raw, nonce, n, pre):
    # version, nonce and the plaintext length prefix (u16, or 0x0000 + u32 when extended)
    raw[0] = 2
    raw[1:33] = nonce
    if pre == 2:
        raw[33] = n >> 8
        raw[34] = n & 255
    else:
        raw[35:39] = n.to_bytes(4, "big")


def encrypt(text, conv_key, nonce=None):
    """text (str or bytes) -> base64 payload string."""
    if nonce is None:
        nonce = os.urandom(32)
    ck, cn, hk = message_keys(conv_key, nonce)
    # memoryview of a str is its UTF-8 bytes: no encoded copy of the plaintext
    try:
        data = memoryview(text)
    except TypeError:
        raise ValueError("invalid plaintext: need str or bytes")
    n = len(data)
    if n < 1 or n > MAX_PLAINTEXT:
        raise ValueError("invalid plaintext length")
    pre = _prefix_len(n)
    body = pre + padded_len(n)
    raw = bytearray(33 + body + 32)
    _head(raw, nonce, n, pre)
    raw[33 + pre:33 + pre + n] = data
    del data
    mv = memoryview(raw)
    ct = mv[33:33 + body]
    chacha20_xor(ck, cn, ct, 0, ct)
    # MAC over nonce || ciphertext, which lie next to each other in raw
    raw[33 + body:] = kdf.hmac_sha256(hk, mv[1:33 + body])
    del mv, ct
    b = binascii.b2a_base64(raw, newline=False)
    del raw
    return b.decode()


def _prep(conv_key, n, nonce):
    # what sealing an n-byte plaintext needs first: nonce, message keys, prefix and
    # padded body lengths
    if nonce is None:
        nonce = os.urandom(32)
    ck, cn, hk = message_keys(conv_key, nonce)
    if n < 1 or n > MAX_PLAINTEXT:
        raise ValueError("invalid plaintext length")
    pre = _prefix_len(n)
    return nonce, ck, cn, hk, pre, pre + padded_len(n)


def seal_b64(conv_key, n, pieces, nonce=None):
    """The base64 payload of an n-byte plaintext that pieces() yields in pieces, as one
    bytearray of ASCII. For big responses (a signed 16 KB event): the text is copied
    straight into the padded block inside the output buffer's tail, encrypted and MACed
    there, then base64-encoded in place from the front (4 output bytes for every 3 read
    never overtake the input still to read), so the only allocation is the payload's
    base64 itself: no copy of the text, no separate raw payload."""
    nonce, ck, cn, hk, pre, body = _prep(conv_key, n, nonce)
    rlen = 65 + body
    out = bytearray(4 * ((rlen + 2) // 3))
    mv = memoryview(out)
    raw = mv[len(out) - rlen:]
    _head(raw, nonce, n, pre)
    end = 33 + pre + n
    p = 33 + pre
    for b in pieces():
        k = len(b)
        if p + k > end:
            raise ValueError("plaintext longer than announced")
        raw[p:p + k] = b
        p += k
    if p != end:
        raise ValueError("plaintext shorter than announced")
    ct = raw[33:33 + body]  # the padding after the text is still the buffer's zeros
    chacha20_xor(ck, cn, ct, 0, ct)
    raw[33 + body:] = kdf.hmac_sha256(hk, raw[1:33 + body])
    i = o = 0
    while i < rlen:
        j = min(i + 768, rlen)  # whole 3-byte groups until the last piece
        e = binascii.b2a_base64(raw[i:j], newline=False)
        out[o:o + len(e)] = e
        o += len(e)
        i = j
    return out


_STAGE = 768  # body bytes encrypted at a time in seal_stream: 12 ChaCha20 blocks, 256 groups of 3


def _cipher(ck, cn, head, pieces, n, body, nonce=None, mac=None):
    # the padded block (length prefix, the n plaintext bytes pieces() yields, zeros),
    # encrypted in _STAGE-byte pieces (the last may be shorter), made in one staging
    # buffer: a piece is good until the next is pulled. With mac: the whole payload's
    # base64 instead (version and nonce first, MAC last). One generator either way, so
    # the link's loop pulls base64 one frame above the plaintext's own.
    b64 = binascii.b2a_base64
    st = bytearray(_STAGE)
    sv = memoryview(st)
    if mac is not None:
        yield b64(b"\x02" + nonce, newline=False)  # 33 bytes: whole 3-byte groups
    st[0:len(head)] = head
    fill = len(head)
    blk = 0
    got = 0
    for b in pieces():
        b = memoryview(b)
        ln = len(b)
        got += ln
        if got > n:
            raise ValueError("plaintext longer than announced")
        i = 0
        while i < ln:
            take = min(ln - i, _STAGE - fill)
            st[fill:fill + take] = b[i:i + take]
            fill += take
            i += take
            if fill == _STAGE:
                chacha20_xor(ck, cn, sv, blk, sv)
                yield sv if mac is None else b64(sv, newline=False)
                blk += _STAGE // 64
                fill = 0
    if got != n:
        raise ValueError("plaintext shorter than announced")
    z = body - len(head) - n  # the padding: zeros
    zs = memoryview(bytes(min(z, _STAGE)))
    tail = b""
    while z > 0 or fill:
        take = min(z, _STAGE - fill)
        st[fill:fill + take] = zs[0:take]
        fill += take
        z -= take
        m = sv[0:fill]
        chacha20_xor(ck, cn, m, blk, m)
        if mac is None:
            yield m
        else:  # only the last piece can be short: its odd bytes go out with the MAC
            k = fill // 3 * 3
            if k:
                yield b64(m[0:k], newline=False)
            tail = bytes(m[k:fill])
        blk += _STAGE // 64
        fill = 0
    if mac is not None:
        yield b64(tail + mac, newline=False)


def seal_stream(conv_key, n, pieces, nonce=None):
    """seal_b64 without its buffer: -> emit, a function whose call yields the base64
    payload in ~1 KB pieces, the same bytes every call. pieces() must yield the same n
    bytes each time it is called (a signed event written from its template). The payload
    is made again on every call (ChaCha20 with the same nonce and key is the same
    keystream; the MAC is found once here), so a big response costs no block of its
    size: after a big request the heap may not have one. The caller hashes it (nip01)
    and the link sends it (link.py _dump) as a string, each with a loop that pulls the
    pieces: the depth under it is the same for a 100-byte or a 40 KB response."""
    nonce, ck, cn, hk, pre, body = _prep(conv_key, n, nonce)
    head = bytearray(pre)
    if pre == 2:
        head[0] = n >> 8
        head[1] = n & 255
    else:
        head[2:6] = n.to_bytes(4, "big")
    ipad, opad = kdf._pads(hk)
    h = kdf.sha256(ipad)
    h.update(nonce)
    for m in _cipher(ck, cn, head, pieces, n, body):
        h.update(m)
    o = kdf.sha256(opad)
    o.update(h.digest())
    mac = o.digest()
    h = o = None

    def emit():
        return _cipher(ck, cn, head, pieces, n, body, nonce, mac)

    return emit


@micropython.viper
def _b64_ok(s: ptr8, n: int) -> bool:
    # Strict RFC 4648 shape: the alphabet only, '=' only as the last one or two characters.
    # binascii.a2b_base64 silently skips anything else, which would let junk ride along.
    i = 0
    while i < n:
        c = s[i]
        if not ((c >= 65 and c <= 90) or (c >= 97 and c <= 122) or (c >= 48 and c <= 57)
                or c == 43 or c == 47):
            if c != 61 or i < n - 2:
                return False
            if i == n - 2 and s[n - 1] != 61:
                return False
        i += 1
    return True


@micropython.viper
def _b64_eq(s: ptr8, n: int) -> int:
    # -1 at a character outside the base64 alphabet and '='; else the index of the
    # first '=' from which on all are '=', or n (none); a '=' followed by more base64
    # is -1 too
    i = 0
    eq = n
    while i < n:
        c = s[i]
        if c == 61:
            if eq == n:
                eq = i
        elif (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or (c >= 48 and c <= 57) or c == 43 or c == 47:
            if eq < n:
                return -1
        else:
            return -1
        i += 1
    return eq


def _decode_pieces(ps, into=None):
    # _decode of a payload in pieces (a tuple of memoryviews: a request in the link's
    # pieces) into one new buffer of the decoded size (~3/4 of the payload's)
    plen = 0
    for p in ps:
        plen += len(p)
    if plen == 0 or ps[0][0] == 35:
        raise ValueError("invalid payload: unknown version")
    if plen < 132:
        raise ValueError("invalid payload size")
    # as _b64_ok: the alphabet only, '=' only as the last one or two characters
    off = 0
    first = plen  # the first '='
    for p in ps:
        n = len(p)
        e = _b64_eq(p, n)
        if e < 0:
            raise ValueError("invalid payload: bad base64")
        if e < n and first == plen:
            first = off + e
        off += n
    pads = plen - first
    if plen % 4 or pads > 2 or _b64_eq(ps[-1], len(ps[-1])) != len(ps[-1]) - min(pads, len(ps[-1])):
        raise ValueError("invalid payload: bad base64")
    dlen = plen // 4 * 3 - pads
    if dlen < 99:
        raise ValueError("invalid payload: data too short")
    data = memoryview(into)[0:dlen] if into is not None and len(into) >= dlen else bytearray(dlen)
    o = 0
    rest = b""
    for p in ps:
        i = 0
        n = len(p)
        if rest:  # the end of a 4-character group cut between pieces
            i = min(n, 4 - len(rest))
            rest += bytes(p[0:i])
            if len(rest) < 4:
                continue
            part = binascii.a2b_base64(rest)
            data[o:o + len(part)] = part
            o += len(part)
            rest = b""
        while n - i >= 4:
            j = i + min(_CHUNK, (n - i) // 4 * 4)
            part = binascii.a2b_base64(p[i:j])
            data[o:o + len(part)] = part
            o += len(part)
            i = j
        rest = bytes(p[i:n])
    if data[0] != 2:
        raise ValueError("invalid payload: unknown version %d" % data[0])
    return data


def shape(payload):
    """-> the decoded size of a payload (a str, or a memoryview of its text) whose
    version, size and base64 hold: all that can be checked without the key. Decodes
    nothing but its first 3 bytes."""
    if not (type(payload) is memoryview or isinstance(payload, str)):
        raise ValueError("invalid payload: not a string")
    plen = len(payload)
    if plen == 0 or payload[0] in ("#", 35):
        raise ValueError("invalid payload: unknown version")
    if plen < 132:
        raise ValueError("invalid payload size")
    blen = len(memoryview(payload))  # bytes, not characters: a non-ASCII char is >1 byte
    if blen != plen or plen % 4 or not _b64_ok(payload, plen):
        raise ValueError("invalid payload: bad base64")
    eq = (61, "=")
    dlen = plen // 4 * 3 - (payload[-1] in eq) - (payload[-2] in eq)
    if dlen < 99:
        raise ValueError("invalid payload: data too short")
    v = binascii.a2b_base64(payload[0:4])[0]
    if v != 2:
        raise ValueError("invalid payload: unknown version %d" % v)
    return dlen


def _decode(payload, into=None):
    # a memoryview of writable bytes (a request still in the link's buffer) is decoded
    # in place, destroying it: no second buffer of the payload's size
    if type(payload) is tuple:
        return _decode_pieces(payload, into)
    dlen = shape(payload)
    plen = len(payload)
    inplace = type(payload) is memoryview
    # decoded bytes never overtake the text still to decode (3 for every 4)
    data = payload if inplace else bytearray(dlen)
    # decode in slices so no second full-size bytes object exists next to `data`
    o = 0
    for i in range(0, plen, _CHUNK):
        part = binascii.a2b_base64(payload[i:i + _CHUNK])
        data[o:o + len(part)] = part
        o += len(part)
    return data[0:dlen] if inplace else data


def decrypt(payload, conv_key):
    """base64 payload -> plaintext str. Every failure is a ValueError starting "invalid".
    payload: a str, or a memoryview of writable bytes, which is decoded in place."""
    pt = _plain(payload, conv_key)
    try:
        return str(pt, "utf-8")
    except UnicodeError:
        raise ValueError("invalid plaintext: not UTF-8")


def decrypt_mv(payload, conv_key, into=None):
    """decrypt() of a payload memoryview, decrypted in place and returned as a
    memoryview of the plaintext's UTF-8 bytes inside it: no str copy (a big request's
    text stays in the link's buffer; see crypto/jsonspan.py). A payload in pieces (a
    tuple of memoryviews) is decoded into one buffer first: `into` if it is big
    enough (a block the link set aside for it), else a new one."""
    pt = _plain(payload, conv_key, into)
    if not jsonspan.utf8_ok(pt, len(pt)):
        raise ValueError("invalid plaintext: not UTF-8")
    return pt


def _plain(payload, conv_key, into=None):
    # the plaintext as a memoryview into the decoded (and decrypted) payload
    data = _decode(payload, into)
    dlen = len(data)
    mv = memoryview(data)
    ck, cn, hk = message_keys(conv_key, mv[1:33])
    if not kdf.ct_equal(kdf.hmac_sha256(hk, mv[1:dlen - 32]), mv[dlen - 32:]):
        raise ValueError("invalid MAC")
    padded = mv[33:dlen - 32]
    chacha20_xor(ck, cn, padded, 0, padded)
    # unpad: u16 length, or 0x0000 then u32 for the extended form
    size = len(padded)
    n = (padded[0] << 8) | padded[1]
    start = 2
    if n == 0:
        if size < 6:
            raise ValueError("invalid padding")
        n = int.from_bytes(bytes(padded[2:6]), "big")
        start = 6
        if n < _EXT:
            raise ValueError("invalid padding")
    if start + n > size or size != start + padded_len(n):
        raise ValueError("invalid padding")
    return padded[start:start + n]
