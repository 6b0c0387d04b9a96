# ChaCha20 (RFC 8439), the stream cipher of NIP-44 v2.
# The block function is viper with the 16 state words in local variables (unrolled
# quarter rounds: twice as fast as indexing the state in memory) and no allocation per
# block. On a 64-bit unix port viper words are 64 bits, so every sum and rotation is
# masked to 32 bits with `m`, built at run time (a literal 0xffffffff would be a Python
# object in viper, micropython#9114); on 32-bit boards the masks cost one AND each.
# Keystream bytes are read through a byte pointer: the state words are stored natively,
# which is little-endian on every target (x64, armv6m, xtensa), as RFC 8439 serialises.
import micropython

_SIGMA = b"expand 32-byte k"


@micropython.viper
def _blocks(st: ptr32, data: ptr8, out: ptr8, n: int):
    # st: 16 input words, then 16 words of keystream (bytes 64..127, XORed bytewise:
    # data and out may start at any offset, and armv6m faults on unaligned words)
    m = (uint(0xFFFF) << 16) | uint(0xFFFF)
    ks = ptr8(uint(st) + 64)
    pos = 0
    while pos < n:
        x0 = uint(st[0])
        x1 = uint(st[1])
        x2 = uint(st[2])
        x3 = uint(st[3])
        x4 = uint(st[4])
        x5 = uint(st[5])
        x6 = uint(st[6])
        x7 = uint(st[7])
        x8 = uint(st[8])
        x9 = uint(st[9])
        x10 = uint(st[10])
        x11 = uint(st[11])
        x12 = uint(st[12])
        x13 = uint(st[13])
        x14 = uint(st[14])
        x15 = uint(st[15])
        r = 0
        while r < 10:  # 20 rounds as 10 double rounds
            # column rounds: (0,4,8,12) (1,5,9,13) (2,6,10,14) (3,7,11,15)
            x0 = (x0 + x4) & m
            x12 ^= x0
            x12 = ((x12 << 16) | (x12 >> 16)) & m
            x8 = (x8 + x12) & m
            x4 ^= x8
            x4 = ((x4 << 12) | (x4 >> 20)) & m
            x0 = (x0 + x4) & m
            x12 ^= x0
            x12 = ((x12 << 8) | (x12 >> 24)) & m
            x8 = (x8 + x12) & m
            x4 ^= x8
            x4 = ((x4 << 7) | (x4 >> 25)) & m
            x1 = (x1 + x5) & m
            x13 ^= x1
            x13 = ((x13 << 16) | (x13 >> 16)) & m
            x9 = (x9 + x13) & m
            x5 ^= x9
            x5 = ((x5 << 12) | (x5 >> 20)) & m
            x1 = (x1 + x5) & m
            x13 ^= x1
            x13 = ((x13 << 8) | (x13 >> 24)) & m
            x9 = (x9 + x13) & m
            x5 ^= x9
            x5 = ((x5 << 7) | (x5 >> 25)) & m
            x2 = (x2 + x6) & m
            x14 ^= x2
            x14 = ((x14 << 16) | (x14 >> 16)) & m
            x10 = (x10 + x14) & m
            x6 ^= x10
            x6 = ((x6 << 12) | (x6 >> 20)) & m
            x2 = (x2 + x6) & m
            x14 ^= x2
            x14 = ((x14 << 8) | (x14 >> 24)) & m
            x10 = (x10 + x14) & m
            x6 ^= x10
            x6 = ((x6 << 7) | (x6 >> 25)) & m
            x3 = (x3 + x7) & m
            x15 ^= x3
            x15 = ((x15 << 16) | (x15 >> 16)) & m
            x11 = (x11 + x15) & m
            x7 ^= x11
            x7 = ((x7 << 12) | (x7 >> 20)) & m
            x3 = (x3 + x7) & m
            x15 ^= x3
            x15 = ((x15 << 8) | (x15 >> 24)) & m
            x11 = (x11 + x15) & m
            x7 ^= x11
            x7 = ((x7 << 7) | (x7 >> 25)) & m
            # diagonal rounds: (0,5,10,15) (1,6,11,12) (2,7,8,13) (3,4,9,14)
            x0 = (x0 + x5) & m
            x15 ^= x0
            x15 = ((x15 << 16) | (x15 >> 16)) & m
            x10 = (x10 + x15) & m
            x5 ^= x10
            x5 = ((x5 << 12) | (x5 >> 20)) & m
            x0 = (x0 + x5) & m
            x15 ^= x0
            x15 = ((x15 << 8) | (x15 >> 24)) & m
            x10 = (x10 + x15) & m
            x5 ^= x10
            x5 = ((x5 << 7) | (x5 >> 25)) & m
            x1 = (x1 + x6) & m
            x12 ^= x1
            x12 = ((x12 << 16) | (x12 >> 16)) & m
            x11 = (x11 + x12) & m
            x6 ^= x11
            x6 = ((x6 << 12) | (x6 >> 20)) & m
            x1 = (x1 + x6) & m
            x12 ^= x1
            x12 = ((x12 << 8) | (x12 >> 24)) & m
            x11 = (x11 + x12) & m
            x6 ^= x11
            x6 = ((x6 << 7) | (x6 >> 25)) & m
            x2 = (x2 + x7) & m
            x13 ^= x2
            x13 = ((x13 << 16) | (x13 >> 16)) & m
            x8 = (x8 + x13) & m
            x7 ^= x8
            x7 = ((x7 << 12) | (x7 >> 20)) & m
            x2 = (x2 + x7) & m
            x13 ^= x2
            x13 = ((x13 << 8) | (x13 >> 24)) & m
            x8 = (x8 + x13) & m
            x7 ^= x8
            x7 = ((x7 << 7) | (x7 >> 25)) & m
            x3 = (x3 + x4) & m
            x14 ^= x3
            x14 = ((x14 << 16) | (x14 >> 16)) & m
            x9 = (x9 + x14) & m
            x4 ^= x9
            x4 = ((x4 << 12) | (x4 >> 20)) & m
            x3 = (x3 + x4) & m
            x14 ^= x3
            x14 = ((x14 << 8) | (x14 >> 24)) & m
            x9 = (x9 + x14) & m
            x4 ^= x9
            x4 = ((x4 << 7) | (x4 >> 25)) & m
            r += 1
        st[16] = x0 + uint(st[0])
        st[17] = x1 + uint(st[1])
        st[18] = x2 + uint(st[2])
        st[19] = x3 + uint(st[3])
        st[20] = x4 + uint(st[4])
        st[21] = x5 + uint(st[5])
        st[22] = x6 + uint(st[6])
        st[23] = x7 + uint(st[7])
        st[24] = x8 + uint(st[8])
        st[25] = x9 + uint(st[9])
        st[26] = x10 + uint(st[10])
        st[27] = x11 + uint(st[11])
        st[28] = x12 + uint(st[12])
        st[29] = x13 + uint(st[13])
        st[30] = x14 + uint(st[14])
        st[31] = x15 + uint(st[15])
        i = 0
        while i < 64 and pos < n:
            out[pos] = data[pos] ^ ks[i]
            pos += 1
            i += 1
        st[12] = (uint(st[12]) + 1) & m


def chacha20_xor(key, nonce, data, counter=0, out=None):
    """Encrypt or decrypt `data` (bytes-like) with a 32-byte key and 12-byte nonce,
    starting at block `counter`. `out` may be `data` itself (a bytearray or a writable
    memoryview) to work in place without a copy."""
    if len(key) != 32 or len(nonce) != 12:
        raise ValueError("invalid ChaCha20 key or nonce length")
    if not 0 <= counter <= 0xFFFFFFFF:
        raise ValueError("invalid ChaCha20 counter")
    st = bytearray(128)
    st[0:16] = _SIGMA
    st[16:48] = key
    st[48:52] = counter.to_bytes(4, "little")
    st[52:64] = nonce
    if out is None:
        out = bytearray(len(data))
    elif len(out) != len(data):
        raise ValueError("invalid ChaCha20 output buffer")
    if len(data):
        _blocks(st, data, out, len(data))
    return out
