# The simulator's screen mirror: STATE/screen.txt (the text lines) and STATE/screen.png
# (the framebuffer), each written atomically (tmp file + rename) so a reader never sees
# half a file. Loaded by boards/sim.py only while it writes, then dropped: no heap is
# held for it between screens.
#
# The PNG is encoded here: 1-bit greyscale, one stored (uncompressed) deflate block, as
# this port's `deflate` module can only decompress. Lit pixel = white, as on an OLED.
import os
import binascii
import framebuf

_RAW = (1 + 128 // 8) * 64  # scanlines: a filter byte + 16 bytes, 64 rows: 1088 < 65535


def _chunk(f, typ, data):
    f.write(len(data).to_bytes(4, "big"))
    f.write(typ)
    f.write(data)
    f.write(binascii.crc32(data, binascii.crc32(typ)).to_bytes(4, "big"))


def png(path, fb):
    raw = bytearray(_RAW)
    # An HLSB framebuffer over the scanlines with a 136-pixel stride puts each row just
    # after its filter byte (the 8 stride pixels are the next row's filter byte, which
    # blit never touches): the VLSB -> PNG conversion is a single C-level blit.
    framebuf.FrameBuffer(memoryview(raw)[1:], 128, 64, framebuf.MONO_HLSB, 136).blit(fb, 0, 0)
    a, b = 1, 0
    for x in raw:  # adler32
        a += x
        b += a
        if b > 0x3FFFFFFF:
            a %= 65521
            b %= 65521
    a %= 65521
    b %= 65521
    n = _RAW
    with open(path + ".tmp", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        _chunk(f, b"IHDR", b"\x00\x00\x00\x80\x00\x00\x00\x40\x01\x00\x00\x00\x00")
        _chunk(f, b"IDAT", bytes((0x78, 0x01, 0x01, n & 0xFF, n >> 8, ~n & 0xFF, (~n >> 8) & 0xFF))
               + raw + ((b << 16) | a).to_bytes(4, "big"))
        _chunk(f, b"IEND", b"")
    os.rename(path + ".tmp", path)


def write(state, fb, lines):
    with open(state + "/screen.txt.tmp", "w") as f:
        for ln in lines:
            f.write(ln)
            f.write("\n")
    os.rename(state + "/screen.txt.tmp", state + "/screen.txt")
    png(state + "/screen.png", fb)
