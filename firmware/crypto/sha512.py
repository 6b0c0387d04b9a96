# SHA-512 (FIPS 180-4) of our own: the port's hashlib has no sha512, and BIP-39's
# PBKDF2-HMAC-SHA512 runs 4096 compressions per seed, so the compression is viper code
# on 32-bit halves (hi, lo). Words are masked with `m` so the same code is right on a
# 64-bit unix port and on 32-bit boards; right shifts are on uint, so they are logical.
import micropython

_K = (
    "428a2f98d728ae227137449123ef65cdb5c0fbcfec4d3b2fe9b5dba58189dbbc3956c25bf348b538"
    "59f111f1b605d019923f82a4af194f9bab1c5ed5da6d8118d807aa98a303024212835b0145706fbe"
    "243185be4ee4b28c550c7dc3d5ffb4e272be5d74f27b896f80deb1fe3b1696b19bdc06a725c71235"
    "c19bf174cf692694e49b69c19ef14ad2efbe4786384f25e30fc19dc68b8cd5b5240ca1cc77ac9c65"
    "2de92c6f592b02754a7484aa6ea6e4835cb0a9dcbd41fbd476f988da831153b5983e5152ee66dfab"
    "a831c66d2db43210b00327c898fb213fbf597fc7beef0ee4c6e00bf33da88fc2d5a79147930aa725"
    "06ca6351e003826f142929670a0e6e7027b70a8546d22ffc2e1b21385c26c9264d2c6dfc5ac42aed"
    "53380d139d95b3df650a73548baf63de766a0abb3c77b2a881c2c92e47edaee692722c851482353b"
    "a2bfe8a14cf10364a81a664bbc423001c24b8b70d0f89791c76c51a30654be30d192e819d6ef5218"
    "d69906245565a910f40e35855771202a106aa07032bbd1b819a4c116b8d2d0c81e376c085141ab53"
    "2748774cdf8eeb9934b0bcb5e19b48a8391c0cb3c5c95a634ed8aa4ae3418acb5b9cca4f7763e373"
    "682e6ff3d6b2b8a3748f82ee5defb2fc78a5636f43172f6084c87814a1f0ab728cc702081a6439ec"
    "90befffa23631e28a4506cebde82bde9bef9a3f7b2c67915c67178f2e372532bca273eceea26619c"
    "d186b8c721c0c207eada7dd6cde0eb1ef57d4f7fee6ed17806f067aa72176fba0a637dc5a2c898a6"
    "113f9804bef90dae1b710b35131c471b28db77f523047d8432caab7b40c724933c9ebe0a15c9bebc"
    "431d67c49c100d4c4cc5d4becb3e42b6597f299cfc657e2a5fcb6fab3ad6faec6c44198c4a475817"
)
_IV = ("6a09e667f3bcc908bb67ae8584caa73b3c6ef372fe94f82ba54ff53a5f1d36f1"
       "510e527fade682d19b05688c2b3e6c1f1f83d9abfb41bd6b5be0cd19137e2179")


def _words(hexstr):
    # big-endian hex -> native 32-bit words, in a bytearray viper can index as ptr32
    raw = bytes.fromhex(hexstr)
    out = bytearray(len(raw))
    for i in range(0, len(raw), 4):
        out[i:i + 4] = bytes((raw[i + 3], raw[i + 2], raw[i + 1], raw[i]))
    return out


_KW = _words(_K)
_IVW = _words(_IV)
# one message schedule for every hash object: _compress never runs re-entrantly
# (MicroPython code here is single-threaded), and it saves 640 bytes per object
_W = bytearray(640)


@micropython.viper
def _to_bytes(st: ptr32, out: ptr8):
    # 16 native state words (hi, lo, ...) -> 64 big-endian digest bytes
    i = 0
    while i < 16:
        v = uint(st[i])
        j = i * 4
        out[j] = v >> 24
        out[j + 1] = v >> 16
        out[j + 2] = v >> 8
        out[j + 3] = v
        i += 1


@micropython.viper
def _xor_into(acc: ptr8, src: ptr8, n: int):
    i = 0
    while i < n:
        acc[i] = acc[i] ^ src[i]
        i += 1


@micropython.viper
def _compress(st: ptr32, w: ptr32, k: ptr32, blk: ptr8):
    # st: 16 words of state (hi, lo) x 8; w: 160-word schedule; blk: one 128-byte block
    m = (uint(0xFFFF) << 16) | uint(0xFFFF)
    i = 0
    while i < 32:
        j = i * 4
        w[i] = (uint(blk[j]) << 24) | (uint(blk[j + 1]) << 16) | (uint(blk[j + 2]) << 8) | uint(blk[j + 3])
        i += 1
    t = 16
    while t < 80:
        # s0 = sigma0(w[t-15]) = rotr1 ^ rotr8 ^ shr7
        xh = uint(w[2 * t - 30])
        xl = uint(w[2 * t - 29])
        s0h = ((xh >> 1) | (xl << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)
        s0l = ((xl >> 1) | (xh << 31)) ^ ((xl >> 8) | (xh << 24)) ^ ((xl >> 7) | (xh << 25))
        # s1 = sigma1(w[t-2]) = rotr19 ^ rotr61 ^ shr6
        xh = uint(w[2 * t - 4])
        xl = uint(w[2 * t - 3])
        s1h = ((xh >> 19) | (xl << 13)) ^ ((xl >> 29) | (xh << 3)) ^ (xh >> 6)
        s1l = ((xl >> 19) | (xh << 13)) ^ ((xh >> 29) | (xl << 3)) ^ ((xl >> 6) | (xh << 26))
        s0h &= m
        s0l &= m
        s1h &= m
        s1l &= m
        # w[t] = s1 + w[t-7] + s0 + w[t-16], carry out of the low half by the majority rule
        yl = uint(w[2 * t - 13])
        lo = (s1l + yl) & m
        hi = (s1h + uint(w[2 * t - 14]) + ((((s1l & yl) | ((s1l | yl) & ~lo)) >> 31) & 1)) & m
        yl = lo
        lo = (yl + s0l) & m
        hi = (hi + s0h + ((((yl & s0l) | ((yl | s0l) & ~lo)) >> 31) & 1)) & m
        yl = lo
        xl = uint(w[2 * t - 31])
        lo = (yl + xl) & m
        hi = (hi + uint(w[2 * t - 32]) + ((((yl & xl) | ((yl | xl) & ~lo)) >> 31) & 1)) & m
        w[2 * t] = hi
        w[2 * t + 1] = lo
        t += 1

    ah = uint(st[0]); al = uint(st[1]); bh = uint(st[2]); bl = uint(st[3])
    ch = uint(st[4]); cl = uint(st[5]); dh = uint(st[6]); dl = uint(st[7])
    eh = uint(st[8]); el = uint(st[9]); fh = uint(st[10]); fl = uint(st[11])
    gh = uint(st[12]); gl = uint(st[13]); hh = uint(st[14]); hl = uint(st[15])
    t = 0
    while t < 80:
        # T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]
        sh = ((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))
        sl = ((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23))
        sh &= m
        sl &= m
        lo = (hl + sl) & m
        hi = (hh + sh + ((((hl & sl) | ((hl | sl) & ~lo)) >> 31) & 1)) & m
        yh = ((eh & fh) ^ (~eh & gh)) & m
        yl = ((el & fl) ^ (~el & gl)) & m
        xl = lo
        lo = (xl + yl) & m
        hi = (hi + yh + ((((xl & yl) | ((xl | yl) & ~lo)) >> 31) & 1)) & m
        yh = uint(k[2 * t])
        yl = uint(k[2 * t + 1])
        xl = lo
        lo = (xl + yl) & m
        hi = (hi + yh + ((((xl & yl) | ((xl | yl) & ~lo)) >> 31) & 1)) & m
        yh = uint(w[2 * t])
        yl = uint(w[2 * t + 1])
        xl = lo
        t1l = (xl + yl) & m
        t1h = (hi + yh + ((((xl & yl) | ((xl | yl) & ~t1l)) >> 31) & 1)) & m
        # T2 = Sigma0(a) + Maj(a, b, c); Sigma0 = rotr28 ^ rotr34 ^ rotr39
        sh = ((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25))
        sl = ((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25))
        sh &= m
        sl &= m
        yh = (ah & bh) ^ (ah & ch) ^ (bh & ch)
        yl = (al & bl) ^ (al & cl) ^ (bl & cl)
        t2l = (sl + yl) & m
        t2h = (sh + yh + ((((sl & yl) | ((sl | yl) & ~t2l)) >> 31) & 1)) & m
        hh = gh; hl = gl; gh = fh; gl = fl; fh = eh; fl = el
        # e = d + T1
        el = (dl + t1l) & m
        eh = (dh + t1h + ((((dl & t1l) | ((dl | t1l) & ~el)) >> 31) & 1)) & m
        dh = ch; dl = cl; ch = bh; cl = bl; bh = ah; bl = al
        # a = T1 + T2
        al = (t1l + t2l) & m
        ah = (t1h + t2h + ((((t1l & t2l) | ((t1l | t2l) & ~al)) >> 31) & 1)) & m
        t += 1

    # add the compressed chunk into the state
    w[0] = ah; w[1] = al; w[2] = bh; w[3] = bl; w[4] = ch; w[5] = cl; w[6] = dh; w[7] = dl
    w[8] = eh; w[9] = el; w[10] = fh; w[11] = fl; w[12] = gh; w[13] = gl; w[14] = hh; w[15] = hl
    i = 0
    while i < 16:
        xl = uint(st[i + 1])
        yl = uint(w[i + 1])
        lo = (xl + yl) & m
        st[i] = (uint(st[i]) + uint(w[i]) + ((((xl & yl) | ((xl | yl) & ~lo)) >> 31) & 1)) & m
        st[i + 1] = lo
        i += 2


class sha512:
    """hashlib-style SHA-512: update(), digest(), copy()."""
    digest_size = 64
    block_size = 128
    name = "sha512"

    def __init__(self, data=None, _state=None):
        self._st = bytearray(_state[0] if _state else _IVW)
        self._buf = bytearray(_state[1]) if _state else bytearray(128)
        self._n = _state[2] if _state else 0  # bytes hashed so far
        if data is not None:
            self.update(data)

    def copy(self):
        return sha512(None, (self._st, self._buf, self._n))

    def update(self, data):
        if isinstance(data, str):
            raise TypeError("sha512 needs bytes")
        mv = memoryview(data)
        fill = self._n & 127
        self._n += len(mv)
        pos = 0
        if fill:
            take = min(128 - fill, len(mv))
            self._buf[fill:fill + take] = mv[:take]
            pos = take
            if fill + take < 128:
                return
            _compress(self._st, _W, _KW, self._buf)
        while len(mv) - pos >= 128:
            _compress(self._st, _W, _KW, mv[pos:pos + 128])
            pos += 128
        rest = len(mv) - pos
        if rest:
            self._buf[0:rest] = mv[pos:]

    def digest(self):
        c = self.copy()
        n = self._n
        fill = n & 127
        pad = bytearray((111 - fill) % 128 + 17)
        pad[0] = 0x80
        pad[-8:] = (n * 8).to_bytes(8, "big")
        c.update(pad)
        out = bytearray(64)
        _to_bytes(c._st, out)
        return bytes(out)

    def hexdigest(self):
        return self.digest().hex()


def digest(data=b""):
    """One-shot SHA-512(data) -> 64 bytes."""
    return sha512(data).digest()
