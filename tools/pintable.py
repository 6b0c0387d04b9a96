"""Pin tables for hardware/<board>/pins.md, generated from firmware/boards/pins.py.

    python tools/pintable.py            # rewrite the tables in hardware/*/pins.md
    python tools/pintable.py --check    # exit 1 if a table is out of date

The tables sit between `<!-- pins:begin -->` and `<!-- pins:end -->`; the text around
them is hand-written. The wiring SVGs carry `data-signal` labels that
tests/test_hardware.py checks against label() below, so a pin changed in pins.py
shows up as a failing test until the docs and the drawing follow.
"""
import importlib.util
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HARDWARE = os.path.join(ROOT, "hardware")
BEGIN = "<!-- pins:begin -->"
END = "<!-- pins:end -->"


def load_pins():
    spec = importlib.util.spec_from_file_location(
        "pins", os.path.join(ROOT, "firmware", "boards", "pins.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Raspberry Pi Pico's 40-pin header: physical pin -> name (datasheet, "Pinout").
PICO_HEADER = {
    1: "GP0", 2: "GP1", 3: "GND", 4: "GP2", 5: "GP3", 6: "GP4", 7: "GP5", 8: "GND",
    9: "GP6", 10: "GP7", 11: "GP8", 12: "GP9", 13: "GND", 14: "GP10", 15: "GP11",
    16: "GP12", 17: "GP13", 18: "GND", 19: "GP14", 20: "GP15", 21: "GP16", 22: "GP17",
    23: "GND", 24: "GP18", 25: "GP19", 26: "GP20", 27: "GP21", 28: "GND", 29: "GP22",
    30: "RUN", 31: "GP26", 32: "GP27", 33: "GND", 34: "GP28", 35: "ADC_VREF",
    36: "3V3(OUT)", 37: "3V3_EN", 38: "GND", 39: "VSYS", 40: "VBUS",
}
# RP2040 I2C0 can use these GPIOs (datasheet, GPIO function table)
RP2040_I2C_SDA = {0: (0, 4, 8, 12, 16, 20), 1: (2, 6, 10, 14, 18, 26)}
RP2040_I2C_SCL = {0: (1, 5, 9, 13, 17, 21), 1: (3, 7, 11, 15, 19, 27)}


def pico_pin(gpio):
    name = "GP%d" % gpio
    return next(n for n, v in PICO_HEADER.items() if v == name)


def nearest_gnd(pin):
    """The GND header pin closest to `pin` on the same side of the board (1-20 | 21-40)."""
    side = [n for n, v in PICO_HEADER.items() if v == "GND" and (n <= 20) == (pin <= 20)]
    return min(side, key=lambda n: abs(n - pin))


def signals(board, pins=None):
    """[(signal, what, where, pin on the board, connects to, note)] for a board."""
    p = pins or load_pins()
    if board == "pico":
        g = lambda n: ("GP%d" % n, str(pico_pin(n)))  # noqa: E731
        gnd_btn = "GND (pin %d)" % nearest_gnd(pico_pin(p.PICO_BTN_LEFT))
        return [
            ("OLED_SDA", "OLED SDA", *g(p.PICO_SDA), "OLED module SDA", "I2C%d SDA, 400 kHz" % p.PICO_I2C_ID),
            ("OLED_SCL", "OLED SCL", *g(p.PICO_SCL), "OLED module SCL", "I2C%d SCL" % p.PICO_I2C_ID),
            ("OLED_VCC", "OLED power", "3V3(OUT)", "36", "OLED module VCC", "3.3 V (the modules take 3.3-5 V)"),
            ("OLED_GND", "OLED ground", "GND", "38", "OLED module GND", ""),
            ("BTN_LEFT", "Button LEFT", *g(p.PICO_BTN_LEFT), "push button, other leg to " + gnd_btn,
             "tap: scroll up, hold 1 s: reject; held at power-up: maintenance mode; internal pull-up"),
            ("BTN_RIGHT", "Button RIGHT", *g(p.PICO_BTN_RIGHT), "push button, other leg to " + gnd_btn,
             "tap: scroll down, hold 1 s: approve; internal pull-up"),
        ]
    if board == "tdisplay":
        g = lambda n: ("GPIO%d" % n, "on the PCB")  # noqa: E731
        return [
            ("TFT_MOSI", "TFT MOSI (SDA)", *g(p.TD_MOSI), "ST7789", "SPI %d at %d MHz" % (p.TD_SPI_ID, p.TD_SPI_BAUD // 1000000)),
            ("TFT_SCLK", "TFT SCLK", *g(p.TD_SCLK), "ST7789", ""),
            ("TFT_CS", "TFT CS", *g(p.TD_CS), "ST7789", ""),
            ("TFT_DC", "TFT DC", *g(p.TD_DC), "ST7789", "low: command, high: data"),
            ("TFT_RST", "TFT RST", *g(p.TD_RST), "ST7789", ""),
            ("TFT_BL", "TFT backlight", *g(p.TD_BL), "backlight transistor", "PWM brightness; off when the screen saver blanks"),
            ("BTN_LEFT", "Button LEFT", *g(p.TD_BTN_LEFT), "PCB button", "tap: scroll up, hold 1 s: reject; held at power-up: maintenance mode; input-only pin, pull-up on the PCB"),
            ("BTN_RIGHT", "Button RIGHT", *g(p.TD_BTN_RIGHT), "PCB button (BOOT)", "tap: scroll down, hold 1 s: approve; held during reset it starts the ESP32 ROM bootloader instead"),
        ]
    raise ValueError(board)


def label(board, signal, pins=None):
    """The text the wiring SVG shows for a signal: 'GP4 (pin 6)' / 'GPIO19'."""
    for s, what, where, pin, to, note in signals(board, pins):
        if s == signal:
            return "%s (pin %s)" % (where, pin) if board == "pico" else where
    raise KeyError(signal)


def table(board, pins=None):
    if board == "pico":
        head = "| signal | Pico pin | header pin | connects to | notes |\n|---|---|---|---|---|\n"
        rows = ["| %s | %s | %s | %s | %s |" % (what, where, pin, to, note)
                for s, what, where, pin, to, note in signals(board, pins)]
    else:
        head = "| signal | ESP32 pin | where | connects to | notes |\n|---|---|---|---|---|\n"
        rows = ["| %s | %s | %s | %s | %s |" % (what, where, pin, to, note)
                for s, what, where, pin, to, note in signals(board, pins)]
    return head + "\n".join(rows) + "\n"


def rewrite(path, board):
    with open(path) as f:
        text = f.read()
    new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END),
                 lambda m: BEGIN + "\n" + table(board) + END, text, flags=re.S)
    return text, new


def main(argv):
    stale = []
    for board in ("pico", "tdisplay"):
        path = os.path.join(HARDWARE, board, "pins.md")
        old, new = rewrite(path, board)
        if old != new:
            stale.append(path)
            if "--check" not in argv:
                with open(path, "w") as f:
                    f.write(new)
    if stale and "--check" in argv:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
