# QR codes (ISO/IEC 18004) for the device screen: byte mode, versions 1-10, error
# correction L/M/Q/H, the mask chosen by the standard penalty rules. Enough for a
# bunker:// URL (about 130 bytes: version 8 at level M, 49x49 modules, which a 64-pixel
# high OLED shows at one pixel a module with a 4-module quiet zone... nearly: see fit()).
#
# encode(data, ecc="M") -> (size, modules): modules is a bit per module, row-major, read
# with get(modules, row * size + col) (1 = dark). Memory: the matrix, the "reserved" map,
# the best mask's copy and the one being tried, each (size*size+7)//8 bytes (352 at
# version 9), plus the codewords: no block near 1 KB, so a used heap still has room
# (a byte per module and a list of bits needed 2.8 KB and 8-16 KB blocks: menu -> Pair
# failed with MemoryError after normal start-up).

# per version: (EC codewords per block, ((blocks, data codewords per block), ...)) by level
_BLOCKS = {
    "L": ((7, ((1, 19),)), (10, ((1, 34),)), (15, ((1, 55),)), (20, ((1, 80),)),
          (26, ((1, 108),)), (18, ((2, 68),)), (20, ((2, 78),)), (24, ((2, 97),)),
          (30, ((2, 116),)), (18, ((2, 68), (2, 69)))),
    "M": ((10, ((1, 16),)), (16, ((1, 28),)), (26, ((1, 44),)), (18, ((2, 32),)),
          (24, ((2, 43),)), (16, ((4, 27),)), (18, ((4, 31),)), (22, ((2, 38), (2, 39))),
          (22, ((3, 36), (2, 37))), (26, ((4, 43), (1, 44)))),
    "Q": ((13, ((1, 13),)), (22, ((1, 22),)), (18, ((2, 17),)), (26, ((2, 24),)),
          (18, ((2, 15), (2, 16))), (24, ((4, 19),)), (18, ((2, 14), (4, 15))),
          (22, ((4, 18), (2, 19))), (20, ((4, 16), (4, 17))), (24, ((6, 19), (2, 20)))),
    "H": ((17, ((1, 9),)), (28, ((1, 16),)), (22, ((2, 13),)), (16, ((4, 9),)),
          (22, ((2, 11), (2, 12))), (28, ((4, 15),)), (26, ((4, 13), (1, 14))),
          (26, ((4, 14), (2, 15))), (24, ((4, 12), (4, 13))), (28, ((6, 15), (2, 16)))),
}
_ECC_BITS = {"L": 1, "M": 0, "Q": 3, "H": 2}
_ALIGN = ((), (6, 18), (6, 22), (6, 26), (6, 30), (6, 34), (6, 22, 38), (6, 24, 42),
          (6, 26, 46), (6, 28, 50))
MAX_VERSION = 10

# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1
_EXP = bytearray(512)
_LOG = bytearray(256)
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _rs_generator(n):
    g = bytearray([1])
    for i in range(n):
        nxt = bytearray(len(g) + 1)
        for j in range(len(g)):
            nxt[j] ^= g[j]
            if g[j]:
                nxt[j + 1] ^= _EXP[_LOG[g[j]] + i]
        g = nxt
    return g


def _rs_remainder(data, gen):
    n = len(gen) - 1
    rem = bytearray(n)
    for b in data:
        f = b ^ rem[0]
        rem[0:n - 1] = rem[1:n]
        rem[n - 1] = 0
        if f:
            lf = _LOG[f]
            for j in range(n):
                if gen[j + 1]:
                    rem[j] ^= _EXP[lf + _LOG[gen[j + 1]]]
    return rem


def capacity(version, ecc):
    ec, groups = _BLOCKS[ecc][version - 1]
    data_cw = sum(n * d for n, d in groups)
    return (data_cw * 8 - 4 - (8 if version < 10 else 16)) // 8


def _put(buf, v, n, nb):
    # n bits of v, most significant first, at bit nb of buf -> the next bit
    for i in range(n - 1, -1, -1):
        if (v >> i) & 1:
            buf[nb >> 3] |= 0x80 >> (nb & 7)
        nb += 1
    return nb


def get(m, k):
    """Module k (row * size + col) of a matrix: 1 = dark."""
    return (m[k >> 3] >> (k & 7)) & 1


def _set(m, k, v):
    if v:
        m[k >> 3] |= 1 << (k & 7)
    else:
        m[k >> 3] &= 0xFF ^ (1 << (k & 7))


def _codewords(data, version, ecc):
    ec, groups = _BLOCKS[ecc][version - 1]
    total = sum(n * d for n, d in groups)
    # the bit stream written straight into the codeword buffer: a list of bits (one
    # pointer each) needed an 8-16 KB block, which a used 128 KB heap may not have
    buf = bytearray(total)
    nb = _put(buf, 4, 4, 0)
    nb = _put(buf, len(data), 8 if version < 10 else 16, nb)
    for b in data:
        nb = _put(buf, b, 8, nb)
    nb += min(4, total * 8 - nb)  # the terminator (zeros)
    nd = (nb + 7) // 8
    for i in range(nd, total):
        buf[i] = 0xEC if (i - nd) % 2 == 0 else 0x11
    gen = _rs_generator(ec)
    blocks, ecs, at = [], [], 0
    for n, d in groups:
        for _ in range(n):
            blk = buf[at:at + d]
            at += d
            blocks.append(blk)
            ecs.append(_rs_remainder(blk, gen))
    out = bytearray()
    for i in range(max(len(b) for b in blocks)):
        for b in blocks:
            if i < len(b):
                out.append(b[i])
    for i in range(ec):
        for e in ecs:
            out.append(e[i])
    return out


def _bch(data, gen, shift):
    d = data << shift
    glen = len(bin(gen)) - 2
    while len(bin(d)) - 2 >= glen:
        d ^= gen << (len(bin(d)) - 2 - glen)
    return (data << shift) | d


def _mask(m, i, j):
    if m == 0:
        return (i + j) % 2 == 0
    if m == 1:
        return i % 2 == 0
    if m == 2:
        return j % 3 == 0
    if m == 3:
        return (i + j) % 3 == 0
    if m == 4:
        return (i // 2 + j // 3) % 2 == 0
    if m == 5:
        return (i * j) % 2 + (i * j) % 3 == 0
    if m == 6:
        return ((i * j) % 2 + (i * j) % 3) % 2 == 0
    return ((i + j) % 2 + (i * j) % 3) % 2 == 0


def _function_patterns(version):
    """(matrix, reserved): finders, separators, timing, alignment, dark module; the
    format and version areas reserved (filled per mask)."""
    size = 17 + 4 * version
    n = (size * size + 7) // 8  # a bit per module: 352 bytes at version 9
    mat = bytearray(n)
    res = bytearray(n)

    def setm(r, c, v):
        _set(mat, r * size + c, v)
        _set(res, r * size + c, 1)
    for r0, c0 in ((0, 0), (size - 7, 0), (0, size - 7)):
        for r in range(-1, 8):
            for c in range(-1, 8):
                rr, cc = r0 + r, c0 + c
                if 0 <= rr < size and 0 <= cc < size:
                    dark = (0 <= r <= 6 and c in (0, 6)) or (0 <= c <= 6 and r in (0, 6)) \
                        or (2 <= r <= 4 and 2 <= c <= 4)
                    setm(rr, cc, 1 if dark else 0)
    pos = _ALIGN[version - 1]
    for r in pos:
        for c in pos:
            if get(res, r * size + c):
                continue
            for dr in range(-2, 3):
                for dc in range(-2, 3):
                    setm(r + dr, c + dc, 1 if max(abs(dr), abs(dc)) != 1 else 0)
    for i in range(8, size - 8):
        if not get(res, i * size + 6):
            setm(i, 6, 1 if i % 2 == 0 else 0)
        if not get(res, 6 * size + i):
            setm(6, i, 1 if i % 2 == 0 else 0)
    for i in range(9):  # format areas
        _set(res, 8 * size + i, 1)
        _set(res, i * size + 8, 1)
    for i in range(8):
        _set(res, 8 * size + size - 1 - i, 1)
        _set(res, (size - 1 - i) * size + 8, 1)
    setm(size - 8, 8, 1)  # the dark module
    if version >= 7:
        for i in range(18):
            _set(res, (i // 3) * size + size - 11 + i % 3, 1)
            _set(res, (size - 11 + i % 3) * size + i // 3, 1)
    return size, mat, res


def _info(mat, size, version, ecc, m):
    bits = _bch((_ECC_BITS[ecc] << 3) | m, 0x537, 10) ^ 0x5412
    for i in range(15):
        b = (bits >> i) & 1
        if i < 6:
            _set(mat, i * size + 8, b)
        elif i < 8:
            _set(mat, (i + 1) * size + 8, b)
        else:
            _set(mat, (size - 15 + i) * size + 8, b)
        if i < 8:
            _set(mat, 8 * size + size - i - 1, b)
        elif i < 9:
            _set(mat, 8 * size + 15 - i, b)
        else:
            _set(mat, 8 * size + 14 - i, b)
    _set(mat, (size - 8) * size + 8, 1)
    if version >= 7:
        vb = _bch(version, 0x1F25, 12)
        for i in range(18):
            b = (vb >> i) & 1
            _set(mat, (i // 3) * size + size - 11 + i % 3, b)
            _set(mat, (size - 11 + i % 3) * size + i // 3, b)


def _place(mat, res, size, data, m):
    bit = 0
    nbits = len(data) * 8
    row, inc = size - 1, -1
    col = size - 1
    while col > 0:
        if col == 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                k = row * size + c
                if not get(res, k):
                    dark = 0
                    if bit < nbits:
                        dark = (data[bit >> 3] >> (7 - (bit & 7))) & 1
                    bit += 1
                    _set(mat, k, dark ^ (1 if _mask(m, row, c) else 0))
            row += inc
            if row < 0 or row >= size:
                row -= inc
                inc = -inc
                break
        col -= 2


def _line(mat, size, a, horiz, out):
    # row a (or column a) unpacked into out, a byte per module
    for b in range(size):
        out[b] = get(mat, a * size + b if horiz else b * size + a)


def _penalty(mat, size):
    # the standard's four rules, on one row or column unpacked at a time (a few
    # size-byte buffers, never the whole matrix as bytes)
    p = 0
    line = bytearray(size)
    prev = bytearray(size)
    dark = 0
    pat1 = b"\x01\x00\x01\x01\x01\x00\x01\x00\x00\x00\x00"
    pat2 = b"\x00\x00\x00\x00\x01\x00\x01\x01\x01\x00\x01"
    for horiz in (True, False):
        for a in range(size):
            _line(mat, size, a, horiz, line)
            run, last = 0, -1
            for b in range(size):
                v = line[b]
                if v == last:
                    run += 1
                else:
                    if run >= 5:
                        p += run - 2
                    run, last = 1, v
            if run >= 5:
                p += run - 2
            for i in range(size - 10):
                seg = bytes(line[i:i + 11])
                if seg == pat1 or seg == pat2:
                    p += 40
            if horiz:
                dark += sum(line)
                if a:
                    for c in range(size - 1):
                        v = line[c]
                        if v == line[c + 1] == prev[c] == prev[c + 1]:
                            p += 3
                line, prev = prev, line
    p += abs(dark * 20 - size * size * 10) // (size * size) * 10
    return p


def encode(data, ecc="M", version=None, mask=None):
    """QR code of `data` (bytes or str) -> (size, modules). Smallest version that fits
    unless given; the best mask by penalty unless given. ValueError if it can't fit."""
    if isinstance(data, str):
        data = data.encode()
    if ecc not in _BLOCKS:
        raise ValueError("invalid error correction level")
    if version is None:
        for v in range(1, MAX_VERSION + 1):
            if capacity(v, ecc) >= len(data):
                version = v
                break
        else:
            raise ValueError("invalid QR data: too long for version %d" % MAX_VERSION)
    elif not 1 <= version <= MAX_VERSION or capacity(version, ecc) < len(data):
        raise ValueError("invalid QR version for this data")
    cw = _codewords(data, version, ecc)
    size, base, res = _function_patterns(version)
    best, best_p = None, None
    for m in ((mask,) if mask is not None else range(8)):
        mat = bytearray(base)
        _place(mat, res, size, cw, m)
        _info(mat, size, version, ecc, m)
        if mask is not None:
            return size, mat
        p = _penalty(mat, size)
        if best_p is None or p < best_p:
            best, best_p = mat, p
    return size, best


def draw(fb, size, modules, x0, y0, scale=1, dark=1):
    """Draw on a framebuf with the quiet zone the caller leaves around (x0, y0)."""
    for r in range(size):
        for c in range(size):
            if get(modules, r * size + c):
                fb.fill_rect(x0 + c * scale, y0 + r * scale, scale, scale, dark)
