# ST7789 colour TFT on SPI (the LilyGO T-Display's 1.14" 135x240 IPS): our own small
# driver that shows the UI's 1-bit framebuffer.
#
# Memory: a full RGB565 frame of this panel is 135*240*2 = 64 KB, half of the heap the
# whole firmware must live in. So the UI keeps drawing into the same 128x64 MONO_VLSB
# framebuf as on the OLED (1 KB), and a push expands it, one source row at a time,
# into a 2-row RGB565 strip (960 bytes) that goes straight to the panel. The picture
# is scaled to fill the landscape panel: x by 15/8 (128 -> 240; in each 8-pixel font
# cell the first column, blank in the 8x8 font, stays 1 pixel wide and the other seven
# double, so every glyph looks the same), y by 2 (64 -> 128 of 135 rows, centred).
#
# SPI framing (datasheet 8.4, 4-line serial): CS low, D/C low for the command byte,
# D/C high for its parameters; a RAMWR (0x2C) is followed by as many pixel bytes as
# the window holds, all within one CS-low period.
import binascii
import time
import framebuf
import micropython

SWRESET = 0x01
SLPIN = 0x10
SLPOUT = 0x11
NORON = 0x13
INVON = 0x21
DISPOFF = 0x28
DISPON = 0x29
CASET = 0x2A
RASET = 0x2B
RAMWR = 0x2C
MADCTL = 0x36
COLMOD = 0x3A

# (command, parameters, milliseconds to wait after it). The datasheet's power-on flow:
# software reset (wait 5 ms, 120 ms if it follows sleep-out: we always wait 150),
# sleep out (wait 5 ms before the next command and 120 ms before any sleep-in: we
# wait 120 so a quick re-init can never violate it), 16-bit colour, orientation,
# inversion on (IPS panels such as this one show negative colours without it), normal
# mode, display on.
def init_sequence(madctl):
    return (
        (SWRESET, b"", 150),
        (SLPOUT, b"", 120),
        (COLMOD, b"\x55", 10),      # 65K colours, 16 bits per pixel (RGB565)
        (MADCTL, bytes((madctl,)), 0),
        (INVON, b"", 10),
        (NORON, b"", 10),
        (DISPON, b"", 10),
    )


def rgb565(r, g, b):
    """Big-endian RGB565 bytes (the panel's byte order over SPI) for 8-bit r, g, b."""
    c = ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)
    return bytes((c >> 8, c & 0xFF))


WHITE = rgb565(255, 255, 255)
BLACK = rgb565(0, 0, 0)


def reps(src, dst):
    """Nearest-neighbour widths: reps[x] = output pixels for source column x (sum = dst)."""
    r = bytearray(src)
    for x in range(src):
        r[x] = (x + 1) * dst // src - x * dst // src
    return r


@micropython.viper
def expand_row(src: ptr8, stride: int, row: int, reps: ptr8, n: int, dst: ptr8, out_w: int,
               rows: int, fg: int, bg: int):
    """One MONO_VLSB source row -> `rows` identical RGB565 rows of out_w pixels in dst.
    fg/bg are 16-bit colours already in wire byte order (hi byte first)."""
    base = (row >> 3) * stride
    bit = 1 << (row & 7)
    fh = (fg >> 8) & 0xFF
    fl = fg & 0xFF
    bh = (bg >> 8) & 0xFF
    bl = bg & 0xFF
    o = 0
    x = 0
    while x < n:
        if src[base + x] & bit:
            h = fh
            lo = fl
        else:
            h = bh
            lo = bl
        k = reps[x]
        while k > 0:
            dst[o] = h
            dst[o + 1] = lo
            o += 2
            k -= 1
        x += 1
    # the other rows of the strip are copies of the first
    line = out_w * 2
    r = 1
    while r < rows:
        i = 0
        d = r * line
        while i < line:
            dst[d + i] = dst[i]
            i += 1
        r += 1


class Display:
    """The UI's 128x64 framebuffer shown scaled on an ST7789 panel.

    panel_w/panel_h: the visible area in the chosen orientation (240x135 landscape);
    xoff/yoff: where it starts in the controller's RAM (depends on MADCTL, see pins.py).
    bl: the backlight, a machine.PWM (brightness) or a machine.Pin (on/off) or None.
    """

    def __init__(self, spi, dc, cs, rst, bl=None, madctl=0x60, panel_w=240, panel_h=135,
                 xoff=40, yoff=53, width=128, height=64, fg=WHITE, bg=BLACK, sleep_ms=None):
        self.spi = spi
        self.dc = dc
        self.cs = cs
        self.rst = rst
        self.bl = bl
        self.width = width
        self.height = height
        self.buf = bytearray(width * height // 8)
        self.fb = framebuf.FrameBuffer(self.buf, width, height, framebuf.MONO_VLSB)
        self.lines = []
        self.on = True
        self.changed = False
        self._crc = None
        self._sleep = sleep_ms or time.sleep_ms
        self.fg = (fg[0] << 8) | fg[1]
        self.bg = (bg[0] << 8) | bg[1]
        self.level = 100
        self.panel_w = panel_w
        self.panel_h = panel_h
        self.xoff = xoff
        self.yoff = yoff
        self.sy = max(1, panel_h // height)          # 2 on the T-Display
        self.out_w = panel_w                          # fill the width (15/8 on the T-Display)
        self.reps = reps(width, self.out_w)
        self.top = (panel_h - height * self.sy) // 2  # centred vertically
        self.strip = bytearray(self.out_w * 2 * self.sy)
        self._cmd = bytearray(1)
        self._par = bytearray(4)
        cs.value(1)
        dc.value(1)
        self._backlight(0)          # no flash of RAM garbage while we start
        self.reset()
        for c, par, ms in init_sequence(madctl):
            self.command(c, par)
            if ms:
                self._sleep(ms)
        self.clear()
        self._backlight(self.level)

    # ---- bus ---------------------------------------------------------------------

    def reset(self):
        # hardware reset: RESX low >= 10 us, then 120 ms before commands (datasheet 7.4.5)
        if self.rst is None:
            return
        self.rst.value(1)
        self._sleep(1)
        self.rst.value(0)
        self._sleep(1)
        self.rst.value(1)
        self._sleep(120)

    def command(self, c, par=b""):
        self._cmd[0] = c
        self.cs.value(0)
        self.dc.value(0)
        self.spi.write(self._cmd)
        self.dc.value(1)
        if par:
            self.spi.write(par)
        self.cs.value(1)

    def window(self, x0, y0, x1, y1):
        """Set the RAM window (panel coordinates) and start a RAM write; CS stays low."""
        p = self._par
        x0 += self.xoff
        x1 += self.xoff
        y0 += self.yoff
        y1 += self.yoff
        p[0] = x0 >> 8
        p[1] = x0 & 0xFF
        p[2] = x1 >> 8
        p[3] = x1 & 0xFF
        self.command(CASET, p)
        p[0] = y0 >> 8
        p[1] = y0 & 0xFF
        p[2] = y1 >> 8
        p[3] = y1 & 0xFF
        self.command(RASET, p)
        self._cmd[0] = RAMWR
        self.cs.value(0)
        self.dc.value(0)
        self.spi.write(self._cmd)
        self.dc.value(1)

    def clear(self):
        """Fill the whole panel with the background colour."""
        s = self.strip
        line = self.panel_w * 2
        for i in range(0, line, 2):
            s[i] = self.bg >> 8
            s[i + 1] = self.bg & 0xFF
        mv = memoryview(s)[:line]
        self.window(0, 0, self.panel_w - 1, self.panel_h - 1)
        for _ in range(self.panel_h):
            self.spi.write(mv)
        self.cs.value(1)

    # ---- what the board and the UI call --------------------------------------------

    def push(self):
        out_h = self.height * self.sy
        self.window(0, self.top, self.out_w - 1, self.top + out_h - 1)
        src = self.buf
        strip = self.strip
        reps_ = self.reps
        w = self.width
        for y in range(self.height):
            expand_row(src, w, y, reps_, w, strip, self.out_w, self.sy, self.fg, self.bg)
            self.spi.write(strip)
        self.cs.value(1)

    def show(self, lines=None):
        if lines is not None:
            self.lines = lines
        crc = binascii.crc32(self.buf)
        if crc == self._crc:
            return
        self._crc = crc
        self.changed = True
        self.push()

    def _backlight(self, percent):
        bl = self.bl
        if bl is None:
            return
        if hasattr(bl, "duty_u16"):
            bl.duty_u16(percent * 65535 // 100)
        else:
            bl.value(1 if percent else 0)

    def power(self, on):
        """Blank: panel off and backlight off (the backlight is most of the power)."""
        self.on = bool(on)
        if on:
            self.command(DISPON)
            self._backlight(self.level)
        else:
            self._backlight(0)
            self.command(DISPOFF)

    def brightness(self, percent):
        self.level = max(1, min(100, percent))
        if self.on:
            self._backlight(self.level)
