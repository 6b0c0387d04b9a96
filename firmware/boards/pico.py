# Raspberry Pi Pico (RP2040) + SSD1306 128x64 I2C OLED + two push buttons to GND.
# Wiring: hardware/pico/ (pins from boards/pins.py). Everything board-independent
# (link, buttons, saver, RNG, config, maintenance) is in boards/common.py.
#
# The link is the RP2040's native USB-CDC, which MicroPython uses as stdio: USB flow
# control means the host's bytes wait in the host (not lost) while the device is busy.
import machine

from boards import common, ssd1306

# RP2040: about 190 KB of heap, so the simulator's message limit fits.
DEFAULTS = {"max_message": 65536}


def make_display(pins):
    i2c = machine.I2C(pins.PICO_I2C_ID, sda=machine.Pin(pins.PICO_SDA), scl=machine.Pin(pins.PICO_SCL),
                      freq=pins.PICO_I2C_FREQ)
    return ssd1306.Display(i2c, pins.PICO_OLED_ADDR, pins.PICO_OLED_WIDTH, pins.PICO_OLED_HEIGHT)


def make_buttons(pins):
    pull = machine.Pin.PULL_UP if pins.PICO_BTN_PULL else None
    return (machine.Pin(pins.PICO_BTN_LEFT, machine.Pin.IN, pull),
            machine.Pin(pins.PICO_BTN_RIGHT, machine.Pin.IN, pull))


def native_field():
    """Point multiplication on the RP2040's native field arithmetic (crypto/fe_thumb.py,
    Thumb-1 machine code from the inline assembler): a sign or verify ~3x faster. A
    MicroPython built without the assembler has no fe_thumb (the bundle builds it for ARM
    only) and keeps crypto.ecmult's bignum loop. Done at boot: its workspace and
    programs (4.4 KB) are made once, low in the heap."""
    try:
        from crypto import fe_thumb
    except (ImportError, SyntaxError, ValueError):  # ValueError: a .mpy of another CPU
        return False
    from crypto import ecmult_fe
    if ecmult_fe.install(fe_thumb.run):   # after a known answer from it (~125 ms)
        return True
    common.forget("crypto.ecmult_fe")
    common.forget("crypto.fe_thumb")
    return False


class Board(common.Board):
    name = "pico"
    stack_limit = 8192  # the RP2040 port's C stack (issue 10), for status against its peak

    def __init__(self, argv=()):
        opts = common.options(argv)
        cfg = common.load_config(DEFAULTS, opts["config"])
        from boards import pins  # needed only here: forgotten below, once built
        left, right = make_buttons(pins)
        try:
            uid = machine.unique_id()  # the flash chip's id: not secret, only makes pools differ
        except Exception:
            uid = b""
        native_field()
        common.Board.__init__(self, make_display(pins), left, right, cfg, opts["storage"], uid)
        common.forget("boards.pins")
