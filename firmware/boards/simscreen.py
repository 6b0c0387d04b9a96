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
    # one scanline at a time (a filter byte + 16 bytes): no 1 KB block to find in a
    # fragmented heap. A 1-row HLSB framebuffer over the row's 16 bytes; blitting the
    # VLSB screen at -y puts row y there (a single C-level blit per row).
    row = bytearray(17)
    line = framebuf.FrameBuffer(memoryview(row)[1:], 128, 1, framebuf.MONO_HLSB)
    n = _RAW
    head = bytes((0x78, 0x01, 0x01, n & 0xFF, n >> 8, ~n & 0xFF, (~n >> 8) & 0xFF))
    a, b = 1, 0
    with open(path + ".tmp", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        _chunk(f, b"IHDR", b"\x00\x00\x00\x80\x00\x00\x00\x40\x01\x00\x00\x00\x00")
        f.write((len(head) + n + 4).to_bytes(4, "big"))
        f.write(b"IDAT")
        f.write(head)
        crc = binascii.crc32(head, binascii.crc32(b"IDAT"))
        for y in range(64):
            line.blit(fb, 0, -y)
            for x in row:  # adler32 (n < 5552: no modulo needed until the end)
                a += x
                b += a
            f.write(row)
            crc = binascii.crc32(row, crc)
        a %= 65521
        b %= 65521
        tail = ((b << 16) | a).to_bytes(4, "big")
        f.write(tail)
        f.write(binascii.crc32(tail, crc).to_bytes(4, "big"))
        _chunk(f, b"IEND", b"")
    os.rename(path + ".tmp", path)


def write(state, fb, lines):
    # the image first, the text last: whoever sees screen.txt change (tests, the demo,
    # tools/screenshots.py) finds screen.png already showing the same screen
    png(state + "/screen.png", fb)
    with open(state + "/screen.txt.tmp", "w") as f:
        for ln in lines:
            f.write(ln)
            f.write("\n")
    os.rename(state + "/screen.txt.tmp", state + "/screen.txt")
