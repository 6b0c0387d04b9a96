# AES-256-CBC for NIP-04. The port's C `cryptolib` when it has one (unix, ESP32, RP2040
# builds usually do); otherwise our own table-free AES below, slow but small.
try:
    import cryptolib
except ImportError:
    cryptolib = None


def cbc_encrypt(key, iv, data):
    _check(key, iv, data)
    if cryptolib:
        return cryptolib.aes(key, 2, iv).encrypt(data)
    return soft_cbc_encrypt(key, iv, data)


def cbc_decrypt(key, iv, data):
    _check(key, iv, data)
    if cryptolib:
        return cryptolib.aes(key, 2, iv).decrypt(data)
    return soft_cbc_decrypt(key, iv, data)


def _check(key, iv, data):
    if len(key) != 32 or len(iv) != 16:
        raise ValueError("invalid AES key or IV length")
    if len(data) % 16:
        raise ValueError("invalid AES data length")


# --- our own AES-256 (FIPS-197), used when cryptolib is missing ---

def _sboxes():
    # build S-box and inverse from GF(2^8) inverses instead of shipping two 256-byte tables
    sbox = bytearray(256)
    inv = bytearray(256)
    p = q = 1
    while True:
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1) | (q >> 7)) & 0xFF ^ ((q << 2) | (q >> 6)) & 0xFF \
            ^ ((q << 3) | (q >> 5)) & 0xFF ^ ((q << 4) | (q >> 4)) & 0xFF
        x = (x ^ 0x63) & 0xFF
        sbox[p] = x
        inv[x] = p
        if p == 1:
            break
    sbox[0] = 0x63
    inv[0x63] = 0
    return sbox, inv


_tables = None


def _xt(a):
    return ((a << 1) ^ 0x1B) & 0xFF if a & 0x80 else a << 1


def _expand(key):
    global _tables
    if _tables is None:
        _tables = _sboxes()
    sbox = _tables[0]
    w = bytearray(key) + bytearray(240 - 32)
    rcon = 1
    for i in range(32, 240, 4):
        t = w[i - 4:i]
        if i % 32 == 0:
            t = bytearray((sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]))
            rcon = _xt(rcon)
        elif i % 32 == 16:
            t = bytearray(sbox[b] for b in t)
        for j in range(4):
            w[i + j] = w[i - 32 + j] ^ t[j]
    return w


def _encrypt_block(w, s):
    sbox = _tables[0]
    for i in range(16):
        s[i] ^= w[i]
    for rnd in range(1, 15):
        # SubBytes + ShiftRows
        t = bytearray(16)
        for c in range(4):
            for r in range(4):
                t[4 * c + r] = sbox[s[4 * ((c + r) % 4) + r]]
        if rnd != 14:  # MixColumns
            for c in range(0, 16, 4):
                a0, a1, a2, a3 = t[c], t[c + 1], t[c + 2], t[c + 3]
                x = a0 ^ a1 ^ a2 ^ a3
                t[c] ^= x ^ _xt(a0 ^ a1)
                t[c + 1] ^= x ^ _xt(a1 ^ a2)
                t[c + 2] ^= x ^ _xt(a2 ^ a3)
                t[c + 3] ^= x ^ _xt(a3 ^ a0)
        k = 16 * rnd
        for i in range(16):
            s[i] = t[i] ^ w[k + i]


def _decrypt_block(w, s):
    inv = _tables[1]
    for i in range(16):
        s[i] ^= w[224 + i]
    for rnd in range(13, -1, -1):
        # InvShiftRows + InvSubBytes
        t = bytearray(16)
        for c in range(4):
            for r in range(4):
                t[4 * ((c + r) % 4) + r] = inv[s[4 * c + r]]
        k = 16 * rnd
        for i in range(16):
            t[i] ^= w[k + i]
        if rnd:  # InvMixColumns
            for c in range(0, 16, 4):
                u = _xt(_xt(t[c] ^ t[c + 2]))
                v = _xt(_xt(t[c + 1] ^ t[c + 3]))
                t[c] ^= u
                t[c + 1] ^= v
                t[c + 2] ^= u
                t[c + 3] ^= v
            for c in range(0, 16, 4):
                a0, a1, a2, a3 = t[c], t[c + 1], t[c + 2], t[c + 3]
                x = a0 ^ a1 ^ a2 ^ a3
                t[c] ^= x ^ _xt(a0 ^ a1)
                t[c + 1] ^= x ^ _xt(a1 ^ a2)
                t[c + 2] ^= x ^ _xt(a2 ^ a3)
                t[c + 3] ^= x ^ _xt(a3 ^ a0)
        s[:] = t


def soft_cbc_encrypt(key, iv, data):
    _check(key, iv, data)
    w = _expand(key)
    out = bytearray(data)
    prev = bytes(iv)
    for off in range(0, len(out), 16):
        blk = bytearray(out[off + i] ^ prev[i] for i in range(16))
        _encrypt_block(w, blk)
        out[off:off + 16] = blk
        prev = blk
    return bytes(out)


def soft_cbc_decrypt(key, iv, data):
    _check(key, iv, data)
    w = _expand(key)
    out = bytearray(len(data))
    prev = bytes(iv)
    for off in range(0, len(data), 16):
        blk = bytearray(data[off:off + 16])
        _decrypt_block(w, blk)
        for i in range(16):
            out[off + i] = blk[i] ^ prev[i]
        prev = data[off:off + 16]
    return bytes(out)
