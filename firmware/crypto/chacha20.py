# ChaCha20 (RFC 8439), the stream cipher of NIP-44 v2.
# The block function is viper: 32-bit words as machine integers, no allocation per block.
# On a 64-bit unix port viper words are 64 bits, so every sum and rotation is masked.
import micropython

# quarter-round word indexes: four column rounds, then four diagonal rounds
_QR = bytes((0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
             0, 5, 10, 15, 1, 6, 11, 12, 2, 7, 8, 13, 3, 4, 9, 14))
_SIGMA = b"expand 32-byte k"


@micropython.viper
def _stream(ctx: ptr32, data: ptr8, out: ptr8, n: int):
    # ctx words: 0..15 input state, 16..31 working state, 32..39 the _QR table as bytes
    m = (uint(0xFFFF) << 16) | uint(0xFFFF)
    q = ptr8(uint(ctx) + 128)
    ks = ptr8(uint(ctx) + 64)
    pos = 0
    while pos < n:
        i = 0
        while i < 16:
            ctx[16 + i] = ctx[i]
            i += 1
        r = 0
        while r < 10:
            j = 0
            while j < 32:
                ia = 16 + q[j]
                ib = 16 + q[j + 1]
                ic = 16 + q[j + 2]
                id = 16 + q[j + 3]
                a = uint(ctx[ia])
                b = uint(ctx[ib])
                c = uint(ctx[ic])
                d = uint(ctx[id])
                a = (a + b) & m
                d = d ^ a
                d = ((d << 16) | (d >> 16)) & m
                c = (c + d) & m
                b = b ^ c
                b = ((b << 12) | (b >> 20)) & m
                a = (a + b) & m
                d = d ^ a
                d = ((d << 8) | (d >> 24)) & m
                c = (c + d) & m
                b = b ^ c
                b = ((b << 7) | (b >> 25)) & m
                ctx[ia] = a
                ctx[ib] = b
                ctx[ic] = c
                ctx[id] = d
                j += 4
            r += 1
        i = 0
        while i < 16:
            ctx[16 + i] = (uint(ctx[16 + i]) + uint(ctx[i])) & m
            i += 1
        i = 0
        while i < 64 and pos < n:
            out[pos] = data[pos] ^ ks[i]
            pos += 1
            i += 1
        ctx[12] = (uint(ctx[12]) + 1) & m


def chacha20_xor(key, nonce, data, counter=0, out=None):
    """Encrypt or decrypt `data` (bytes-like) with a 32-byte key and 12-byte nonce.
    `out` may be `data` itself (a bytearray) to work in place and save a copy."""
    if len(key) != 32 or len(nonce) != 12:
        raise ValueError("invalid ChaCha20 key or nonce length")
    ctx = bytearray(160)
    ctx[0:16] = _SIGMA
    ctx[16:48] = key
    ctx[48:52] = counter.to_bytes(4, "little")
    ctx[52:64] = nonce
    ctx[128:160] = _QR
    if out is None:
        out = bytearray(len(data))
    elif len(out) != len(data):
        raise ValueError("invalid ChaCha20 output buffer")
    if data:
        _stream(ctx, data, out, len(data))
    return out
