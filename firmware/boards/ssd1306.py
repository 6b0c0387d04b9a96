# SSD1306 128x64 (or 128x32) monochrome OLED on I2C: our own small driver.
#
# The controller's RAM is 8 "pages" of 8 pixel rows, one byte per column per page,
# LSB on top: exactly framebuf's MONO_VLSB layout. So the UI draws straight into the
# buffer that is pushed, with no conversion and no second copy (1 KB for 128x64).
#
# I2C framing (datasheet 8.1.5): after the address, a control byte; 0x00 = "the rest
# of this transfer is commands", 0x40 = "the rest is display data". A frame is sent
# with writevto so the 1 KB buffer is not copied to prepend the 0x40.
import binascii
import framebuf

# Power-on sequence from the datasheet's application note ("Software initialization
# flow"), for the charge-pump (3.3 V only) modules everyone sells. The values that
# depend on the panel height are patched in init().
INIT = (
    0xAE,        # display off while we configure
    0xD5, 0x80,  # clock divide ratio 1, oscillator frequency default
    0xA8, 0x3F,  # multiplex ratio: height - 1
    0xD3, 0x00,  # display offset 0
    0x40,        # start line 0
    0x8D, 0x14,  # charge pump on (no external VCC on these modules)
    0x20, 0x00,  # horizontal addressing: one write fills the whole frame in order
    0xA1,        # segment remap: column 127 is SEG0 (module is mounted rotated)
    0xC8,        # COM scan from COM[N-1] down: together with A1, (0,0) is top left
    0xDA, 0x12,  # COM pins: alternative configuration (0x02 for 128x32)
    0x81, 0xCF,  # contrast
    0xD9, 0xF1,  # pre-charge period, for the internal charge pump
    0xDB, 0x40,  # VCOMH deselect level
    0xA4,        # display follows RAM (not all-on)
    0xA6,        # normal, not inverted
    0x2E,        # scrolling off
    0xAF,        # display on
)

DISPLAY_OFF = 0xAE
DISPLAY_ON = 0xAF
CONTRAST = 0x81
COLUMN_ADDR = 0x21
PAGE_ADDR = 0x22


def init_commands(height=64):
    cmds = bytearray(INIT)
    cmds[4] = height - 1
    cmds[cmds.index(0xDA) + 1] = 0x02 if height == 32 else 0x12
    return cmds


def command(i2c, addr, cmds):
    """Send command bytes in one transfer (control byte 0x00)."""
    i2c.writevto(addr, (b"\x00", cmds))


class Display:
    """The UI's framebuffer on an SSD1306: `fb` is drawn on, show() pushes it.

    `changed` is set when a show() brings new content, for the board's screen saver:
    a new request must wake a blanked screen, a redraw of the same picture must not.
    """

    def __init__(self, i2c, addr=0x3C, width=128, height=64):
        self.i2c = i2c
        self.addr = addr
        self.width = width
        self.height = height
        self.pages = height // 8
        self.buf = bytearray(width * self.pages)
        self.fb = framebuf.FrameBuffer(self.buf, width, height, framebuf.MONO_VLSB)
        self.lines = []
        self.on = True
        self.changed = False
        self._crc = None
        # the addressing window for a full frame, built once
        self._window = bytes((COLUMN_ADDR, 0, width - 1, PAGE_ADDR, 0, self.pages - 1))
        command(i2c, addr, init_commands(height))
        self.push()

    def push(self):
        command(self.i2c, self.addr, self._window)
        self.i2c.writevto(self.addr, (b"\x40", self.buf))

    def show(self, lines=None):
        if lines is not None:
            self.lines = lines
        crc = binascii.crc32(self.buf)
        if crc == self._crc:
            return  # same picture: no I2C traffic, and not "activity" for the saver
        self._crc = crc
        self.changed = True
        self.push()

    def power(self, on):
        """Blank (False) or light (True) the panel; RAM keeps the picture meanwhile."""
        self.on = bool(on)
        command(self.i2c, self.addr, bytes((DISPLAY_ON if on else DISPLAY_OFF,)))

    def brightness(self, percent):
        command(self.i2c, self.addr, bytes((CONTRAST, max(1, min(255, percent * 255 // 100)))))
