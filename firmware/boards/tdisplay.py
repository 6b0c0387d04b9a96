# LilyGO T-Display: ESP32 (no PSRAM), ST7789 1.14" 135x240 IPS on SPI, two buttons on
# the PCB (GPIO35 = LEFT, GPIO0 = RIGHT). Pins: boards/pins.py; the board-independent
# part (link, buttons, saver, RNG, config, maintenance): boards/common.py.
#
# The USB link goes through the board's CH9102 USB-UART bridge to UART0, MicroPython's
# stdio (115200 baud). Unlike native USB there is no flow control towards the device:
# bytes that arrive while the firmware is busy wait in a small receive buffer, and the
# link protocol's stop-and-wait (one frame in flight) plus CRC and resend cover the rest.
import machine

from boards import common, st7789

# ESP32 without PSRAM has less heap than an RP2040: refuse messages above 48 KB
# (a 16 KB sign_event arrives as about 30 KB of encrypted event).
DEFAULTS = {"max_message": 49152}


def make_display(pins):
    spi = machine.SPI(pins.TD_SPI_ID, baudrate=pins.TD_SPI_BAUD, polarity=1, phase=1,
                      sck=machine.Pin(pins.TD_SCLK), mosi=machine.Pin(pins.TD_MOSI))
    out = machine.Pin.OUT
    bl = machine.PWM(machine.Pin(pins.TD_BL, out), freq=1000, duty_u16=0)
    return st7789.Display(spi, dc=machine.Pin(pins.TD_DC, out), cs=machine.Pin(pins.TD_CS, out),
                          rst=machine.Pin(pins.TD_RST, out), bl=bl, madctl=pins.TD_MADCTL,
                          panel_w=pins.TD_PANEL_HEIGHT, panel_h=pins.TD_PANEL_WIDTH,
                          xoff=pins.TD_XOFF, yoff=pins.TD_YOFF)


def make_buttons(pins):
    up = machine.Pin.PULL_UP
    return (machine.Pin(pins.TD_BTN_LEFT, machine.Pin.IN, up if pins.TD_BTN_LEFT_PULL else None),
            machine.Pin(pins.TD_BTN_RIGHT, machine.Pin.IN, up if pins.TD_BTN_RIGHT_PULL else None))


class Board(common.Board):
    name = "tdisplay"
    # UART0's receive buffer holds 260 bytes and nothing pauses the sender: a frame
    # (payload + 10) must fit in it whole (the hello says so; the host cuts to it)
    max_frame = 250

    def __init__(self, argv=()):
        opts = common.options(argv)
        cfg = common.load_config(DEFAULTS, opts["config"])
        from boards import pins  # needed only here: forgotten below, once built
        left, right = make_buttons(pins)
        try:
            uid = machine.unique_id()  # the MAC address: not secret, only makes pools differ
        except Exception:
            uid = b""
        common.Board.__init__(self, make_display(pins), left, right, cfg, opts["storage"], uid)
        common.forget("boards.pins")
