# Every pin of every supported board, in one place. The board modules (pico.py,
# tdisplay.py) read these names; hardware/*/pins.md and the wiring SVGs are checked
# against them by tests/test_hardware.py, so change a pin here and the docs must follow.
#
# Buttons are named by role, not by where they sit on a particular PCB:
#   LEFT  = reject / scroll up   (also: hold it while plugging in = maintenance mode)
#   RIGHT = approve / scroll down
# Both are active low (pressed = 0).
#
# Plain ints, no machine import: the docs generator imports this file under CPython.

# --- Raspberry Pi Pico (RP2040) + SSD1306 128x64 I2C OLED + two push buttons -------
PICO_I2C_ID = 0          # I2C0 peripheral
PICO_SDA = 4             # GP4, header pin 6
PICO_SCL = 5             # GP5, header pin 7
PICO_I2C_FREQ = 400000   # SSD1306 fast mode
PICO_OLED_ADDR = 0x3C    # most 0.96" modules; 0x3D when the module's address pad is moved
PICO_OLED_WIDTH = 128
PICO_OLED_HEIGHT = 64
PICO_BTN_LEFT = 14       # GP14, header pin 19 (switch to GND, header pin 18)
PICO_BTN_RIGHT = 15      # GP15, header pin 20 (switch to GND, header pin 18)
PICO_BTN_PULL = True     # the RP2040's internal ~50 k pull-ups; no resistors to solder

# --- LilyGO T-Display (ESP32, ST7789 1.14" 135x240 IPS, two buttons on the PCB) ----
TD_SPI_ID = 1            # HSPI via the GPIO matrix (SPI 2's default MISO is GPIO19 = our MOSI)
TD_SPI_BAUD = 30000000   # the panel is fine at 40 MHz; 30 leaves margin through the matrix
TD_MOSI = 19
TD_SCLK = 18
TD_CS = 5
TD_DC = 16
TD_RST = 23
TD_BL = 4                # backlight, PWM for brightness
TD_PANEL_WIDTH = 135     # the panel, portrait
TD_PANEL_HEIGHT = 240
# Landscape (240x135), USB-C on the right: MADCTL 0x60, the 135x240 glass sits at
# column 40, row 53 of the controller's 240x320 RAM. Rotated 180 degrees (USB-C on the
# left) use 0xA0 with offsets 40, 52. Portrait: 0x00 at 52, 40.
TD_MADCTL = 0x60
TD_XOFF = 40
TD_YOFF = 53
TD_BTN_LEFT = 35         # input-only pin without internal pull-up: the PCB has its own
TD_BTN_RIGHT = 0         # BOOT strap: held at reset it enters the ROM bootloader, so the
                         # maintenance gesture uses LEFT (GPIO35), never this one
TD_BTN_LEFT_PULL = False
TD_BTN_RIGHT_PULL = True
