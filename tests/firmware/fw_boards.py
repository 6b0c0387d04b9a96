# The hardware boards (pico, tdisplay) and their display drivers on the unix port,
# against the fake `machine` in fake_machine/ (put first on the path here, and only
# here). Panel controllers are modelled from the bus traffic, so the checks are about
# what an SSD1306 / ST7789 would actually do with the bytes, not about our own code's
# internals: init sequences as in the datasheets, frame pushes landing on the right
# pixels, debounce, holds, the two-button press, the screen saver, maintenance mode.
import sys
import os
import gc


def _fake_dir():
    for p in sys.path:
        for f in ("/fake_machine/machine.mpy", "/fake_machine/machine.py"):
            try:
                os.stat(p + f)
                return p + "/fake_machine"
            except OSError:
                pass
    raise OSError("fake_machine not found on " + repr(sys.path))


sys.path.insert(0, _fake_dir())
import machine  # noqa: E402  (the fake)

assert hasattr(machine, "trace"), "the real machine module was imported"

from boards import common, pins, ssd1306, st7789  # noqa: E402

# a directory of our own (the port has no getpid; several test runs may share /tmp)
TMP = "/tmp/fw_boards.%s" % "".join("%02x" % b for b in os.urandom(6))
ARGV = ["--storage", TMP, "--config", TMP + "/no-config.json"]


def _rmtree(path):
    for name, kind, *_ in os.ilistdir(path):
        p = path + "/" + name
        if kind & 0x4000:
            _rmtree(p)
        else:
            os.remove(p)
    os.rmdir(path)


def _cleanup():
    try:
        _rmtree(TMP)
    except OSError:
        pass


if hasattr(sys, "atexit"):
    sys.atexit(_cleanup)


def cmd_stream():
    """Commands the firmware sent over I2C with control byte 0x00, flattened."""
    out = []
    for kind, who, data in machine.trace:
        if kind == "i2c" and isinstance(data, bytes) and data[:1] == b"\x00":
            out.extend(data[1:])
    return out


# ---- SSD1306 ---------------------------------------------------------------------

# The datasheet's initialisation flow (SSD1306 application note), charge-pump module.
SSD1306_DATASHEET_INIT = [
    0xAE,             # display off
    0xD5, 0x80,       # display clock divide / oscillator
    0xA8, 0x3F,       # multiplex 64
    0xD3, 0x00,       # display offset
    0x40,             # start line
    0x8D, 0x14,       # charge pump enable
    0x20, 0x00,       # horizontal addressing
    0xA1, 0xC8,       # segment remap, COM scan direction
    0xDA, 0x12,       # COM pins hardware configuration
    0x81, 0xCF,       # contrast
    0xD9, 0xF1,       # pre-charge
    0xDB, 0x40,       # VCOMH
    0xA4, 0xA6,       # resume from RAM, normal display
    0x2E,             # no scrolling
    0xAF,             # display on
]


class OledModel:
    """What an SSD1306 in horizontal addressing mode does with I2C writes."""

    def __init__(self, addr=0x3C):
        self.addr = addr
        self.gram = bytearray(1024)
        self.col = self.page = 0
        self.c0, self.c1, self.p0, self.p1 = 0, 127, 0, 7
        self.on = False
        self.pending = []
        self.data_bytes = 0

    def __call__(self, kind, who, data):
        if kind != "i2c" or who != self.addr:
            return
        ctrl = data[0]
        if ctrl == 0x00:
            self.pending.extend(data[1:])
            self._commands()
        elif ctrl == 0x40:
            for b in memoryview(data)[1:]:
                self.gram[self.page * 128 + self.col] = b
                self.data_bytes += 1
                self.col += 1
                if self.col > self.c1:
                    self.col = self.c0
                    self.page = self.p0 if self.page >= self.p1 else self.page + 1

    def _commands(self):
        p = self.pending
        while p:
            c = p[0]
            if c in (0x21, 0x22):
                if len(p) < 3:
                    return
                if c == 0x21:
                    self.c0, self.c1 = p[1], p[2]
                    self.col = self.c0
                else:
                    self.p0, self.p1 = p[1], p[2]
                    self.page = self.p0
                del p[:3]
            elif c in (0xD5, 0xA8, 0xD3, 0x8D, 0x20, 0xDA, 0x81, 0xD9, 0xDB):
                if len(p) < 2:
                    return
                del p[:2]
            else:
                if c == 0xAE:
                    self.on = False
                elif c == 0xAF:
                    self.on = True
                del p[:1]


def _oled():
    machine.reset_trace()
    machine.listeners.clear()
    model = OledModel()
    machine.listeners.append(model)
    i2c = machine.I2C(0, sda=machine.Pin(4), scl=machine.Pin(5))
    d = ssd1306.Display(i2c, 0x3C, 128, 64)
    return d, model


def test_ssd1306_init_is_the_datasheet_sequence():
    d, model = _oled()
    cmds = cmd_stream()
    assert cmds[:len(SSD1306_DATASHEET_INIT)] == SSD1306_DATASHEET_INIT, cmds
    assert model.on
    # then a full-frame window and a blank frame
    assert cmds[len(SSD1306_DATASHEET_INIT):] == [0x21, 0, 127, 0x22, 0, 7]
    assert model.data_bytes == 1024 and model.gram == bytearray(1024)


def test_ssd1306_128x32_variant():
    c = ssd1306.init_commands(32)
    assert c[3:5] == b"\xa8\x1f" and c[c.index(0xDA) + 1] == 0x02


def test_ssd1306_frame_push_lands_on_the_pixels():
    d, model = _oled()
    machine.reset_trace()
    fb = d.fb
    fb.fill(0)
    fb.text("Approve?", 0, 0, 1)
    fb.pixel(127, 63, 1)
    fb.hline(0, 40, 128, 1)
    d.show(["Approve?"])
    # one window command, then one data transfer of the whole frame
    i2c = [e for e in machine.trace if e[0] == "i2c"]
    assert len(i2c) == 2, i2c
    assert i2c[0][2] == b"\x00\x21\x00\x7f\x22\x00\x07"
    assert i2c[1][2][0] == 1025  # 0x40 + 1024 bytes, in one transfer
    assert model.gram == d.buf
    for (x, y) in ((127, 63), (5, 40), (0, 0), (64, 20), (1, 3)):
        bit = (model.gram[(y >> 3) * 128 + x] >> (y & 7)) & 1
        assert bit == fb.pixel(x, y), (x, y)
    assert d.changed and d.lines == ["Approve?"]


def test_ssd1306_same_picture_is_not_pushed_again():
    d, model = _oled()
    d.fb.text("x", 0, 0, 1)
    d.show()
    d.changed = False
    machine.reset_trace()
    d.show()
    assert machine.trace == [] and not d.changed


def test_ssd1306_power_and_contrast():
    d, model = _oled()
    machine.reset_trace()
    d.power(False)
    assert not model.on and not d.on
    d.power(True)
    assert model.on
    d.brightness(50)
    assert cmd_stream() == [0xAE, 0xAF, 0x81, 127]


# ---- ST7789 ----------------------------------------------------------------------

DC = pins.TD_DC
CS = pins.TD_CS


class TftModel:
    """An ST7789 on 4-line SPI: commands while D/C is low, parameters and pixels while
    it is high, nothing while CS is high. GRAM is kept as one bit per pixel (lit = the
    foreground colour) over the controller's 240x320 RAM."""

    def __init__(self, fg=0xFFFF, bg=0x0000):
        self.fg = fg
        self.bg = bg
        self.cmds = []        # [command, params bytearray]
        self.lit = bytearray(240 * 320 // 8)
        self.written = 0      # pixels written
        self.other = 0        # pixels neither fg nor bg
        self.out_of_panel = 0
        self.cur = None
        self.xs = self.xe = self.ys = self.ye = 0
        self.x = self.y = 0
        self.half = None      # pending high byte of a pixel
        self.on = False

    def __call__(self, kind, who, data):
        if kind != "spi" or machine.level(CS) != 0:
            return
        if machine.level(DC) == 0:
            for c in data:
                self.cur = [c, bytearray()]
                self.cmds.append(self.cur)
                if c == 0x2C:
                    self.x, self.y, self.half = self.xs, self.ys, None
                elif c == 0x29:
                    self.on = True
                elif c == 0x28:
                    self.on = False
            return
        c = self.cur[0]
        if c == 0x2C:
            self._pixels(data)
            return
        self.cur[1].extend(data)
        p = self.cur[1]
        if c == 0x2A and len(p) == 4:
            self.xs, self.xe = (p[0] << 8) | p[1], (p[2] << 8) | p[3]
        elif c == 0x2B and len(p) == 4:
            self.ys, self.ye = (p[0] << 8) | p[1], (p[2] << 8) | p[3]

    def _pixels(self, data):
        fg = self.fg
        bg = self.bg
        lit = self.lit
        for b in data:
            if self.half is None:
                self.half = b
                continue
            v = (self.half << 8) | b
            self.half = None
            x, y = self.x, self.y
            if not (40 <= x < 280 and 53 <= y < 188):  # the visible 240x135 in landscape
                self.out_of_panel += 1
            i = y * 240 + (x - 40) if 40 <= x < 280 else None
            if i is not None and 0 <= i < 240 * 320:
                if v == fg:
                    lit[i >> 3] |= 1 << (i & 7)
                else:
                    lit[i >> 3] &= ~(1 << (i & 7))
            if v != fg and v != bg:
                self.other += 1
            self.written += 1
            self.x += 1
            if self.x > self.xe:
                self.x = self.xs
                self.y += 1

    def pixel(self, x, y):
        """Lit at panel coordinates (0..239, 0..134)?"""
        i = (y + 53) * 240 + x
        return (self.lit[i >> 3] >> (i & 7)) & 1

    def commands(self):
        return [c for c, _ in self.cmds]


def _tft():
    machine.reset_trace()
    machine.listeners.clear()
    gc.collect()
    model = TftModel()
    machine.listeners.append(model)
    sleeps = []
    out = machine.Pin.OUT
    spi = machine.SPI(1, baudrate=30000000, sck=machine.Pin(18), mosi=machine.Pin(19))
    bl = machine.PWM(machine.Pin(pins.TD_BL, out), freq=1000, duty_u16=0)
    d = st7789.Display(spi, dc=machine.Pin(DC, out), cs=machine.Pin(CS, out),
                       rst=machine.Pin(pins.TD_RST, out), bl=bl, madctl=0x60, panel_w=240,
                       panel_h=135, xoff=40, yoff=53, sleep_ms=sleeps.append)
    return d, model, sleeps


def test_st7789_init_is_the_datasheet_sequence():
    d, model, sleeps = _tft()
    # hardware reset pulse on RST before any command
    rst = [v for k, who, v in machine.trace if k == "pin" and who == pins.TD_RST]
    assert rst[:3] == [1, 0, 1], rst
    cmds = model.commands()
    want = [0x01, 0x11, 0x3A, 0x36, 0x21, 0x13, 0x29]
    assert cmds[:len(want)] == want, cmds
    params = dict((c, bytes(p)) for c, p in model.cmds[:len(want)])
    assert params[0x3A] == b"\x55"   # RGB565
    assert params[0x36] == b"\x60"   # MV|MX: landscape
    assert all(params[c] == b"" for c in (0x01, 0x11, 0x21, 0x13, 0x29))
    # waits the datasheet asks for: 120 ms after reset, >= 5 ms after SWRESET and
    # after SLPOUT (120 ms before a sleep-in may follow)
    assert sleeps[2] >= 120 and sleeps[3] >= 120 and sleeps[4] >= 120, sleeps
    # then the whole visible panel is cleared to black, with the backlight still off
    assert cmds[len(want):len(want) + 3] == [0x2A, 0x2B, 0x2C]
    assert bytes(model.cmds[len(want)][1]) == b"\x00\x28\x01\x17"   # columns 40..279
    assert bytes(model.cmds[len(want) + 1][1]) == b"\x00\x35\x00\xbb"  # rows 53..187
    assert model.written == 240 * 135 and model.out_of_panel == 0
    duties = [v for k, who, v in machine.trace if k == "pwm"]
    assert duties[0] == 0 and duties[-1] == 65535, duties
    assert model.on


def test_st7789_frame_push_scales_the_mono_frame():
    d, model, sleeps = _tft()
    model.cmds.clear()
    model.written = 0
    fb = d.fb
    fb.fill(0)
    fb.text("Sign note?", 0, 0, 1)
    fb.rect(0, 56, 128, 8, 1)
    fb.pixel(127, 63, 1)
    fb.pixel(8, 30, 1)
    d.show(["Sign note?"])
    assert model.commands() == [0x2A, 0x2B, 0x2C]
    # 240 columns from 40, 128 rows centred: 3 blank rows above
    assert bytes(model.cmds[0][1]) == b"\x00\x28\x01\x17"
    assert bytes(model.cmds[1][1]) == bytes((0, 53 + 3, 0, 53 + 3 + 127))
    assert model.written == 240 * 128 and model.other == 0 and model.out_of_panel == 0
    # every source pixel became its 1x2 or 2x2 block, and nothing else is lit
    for y in range(64):
        for x in range(128):
            want = fb.pixel(x, y)
            cx = (x >> 3) * 15 + (0 if x & 7 == 0 else 1 + 2 * ((x & 7) - 1))
            w = 1 if x & 7 == 0 else 2
            for dy in (0, 1):
                for dx in range(w):
                    got = model.pixel(cx + dx, 3 + 2 * y + dy)
                    if got != want:
                        raise AssertionError("pixel %d,%d -> %d,%d: %d != %d" % (
                            x, y, cx + dx, 3 + 2 * y + dy, got, want))
    # the push works in strips: it allocates (almost) nothing, let alone a 64 KB frame
    machine.listeners.clear()
    machine.record = False
    try:
        fb.text("more", 0, 30, 1)
        gc.collect()
        before = gc.mem_free()
        d.show()
        used = before - gc.mem_free()
    finally:
        machine.record = True
    assert used < 512, used


def test_st7789_width_map_is_15_per_8():
    r = st7789.reps(128, 240)
    assert sum(r) == 240
    assert list(r[:8]) == [1, 2, 2, 2, 2, 2, 2, 2] and r[8:16] == r[:8]


def test_st7789_blank_and_wake():
    d, model, sleeps = _tft()
    machine.reset_trace()
    d.power(False)
    assert not model.on and [v for k, _, v in machine.trace if k == "pwm"] == [0]
    d.power(True)
    assert model.on and [v for k, _, v in machine.trace if k == "pwm"][-1] > 0


def test_st7789_memory_is_small():
    gc.collect()
    before = gc.mem_free()
    d, model, sleeps = _tft()
    machine.listeners.clear()
    model = None
    gc.collect()
    used = before - gc.mem_free()
    # the 1 KB mono frame, a 960-byte strip, the object: far from 64 KB
    assert used < 6 * 1024, used


# ---- boards, buttons, screen saver ---------------------------------------------------

class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


def _board(mod_name):
    machine.reset_trace()
    machine.listeners.clear()
    for p in (pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT, pins.TD_BTN_LEFT, pins.TD_BTN_RIGHT):
        machine.set_level(p, 1)
    gc.collect()
    mod = __import__("boards." + mod_name, None, None, ("Board",))
    b = mod.Board(ARGV)
    clock = Clock()
    b.ticks_ms = clock  # the board reads time through ticks_ms: tests step it by hand
    b.active = clock.t
    return b, clock


def _run(b, clock, script, left, right, step=2):
    """script: list of (until_ms, left_level, right_level); sample every `step` ms."""
    events = []
    for until, lv, rv in script:
        machine.set_level(left, lv)
        machine.set_level(right, rv)
        while clock.t < until:
            clock.t += step
            events.extend(b.buttons())
    return events


def test_pico_board_builds_with_the_board_interface():
    b, clock = _board("pico")
    assert b.name == "pico"
    assert b.display.width == 128 and b.display.height == 64
    assert b.storage == TMP
    os.stat(TMP)
    assert len(b.rng(32)) == 32 and b.rng(32) != b.rng(32)
    assert len(b.rng(100)) == 100
    assert b.ticks_diff(b.ticks_ms(), 0) == clock.t
    assert b.pollables() == [b.link.pollable()]
    assert b.max_message == 65536 and b.config["max_message"] == 65536
    for k in ("prompt_timeout_s", "max_age_s", "max_future_s"):
        assert type(b.config[k]) is int
    assert b.buttons() == ()
    # buttons are inputs with pull-ups on the pins of pins.py
    assert machine.pins[pins.PICO_BTN_LEFT].pull == machine.Pin.PULL_UP
    assert machine.pins[pins.PICO_BTN_RIGHT].mode == machine.Pin.IN
    # the UI's drawing path works as on the simulator
    b.display.fb.text("hello", 0, 0, 1)
    b.display.show(["hello"])


def test_tdisplay_board_builds_with_the_board_interface():
    b, clock = _board("tdisplay")
    assert b.name == "tdisplay"
    assert b.display.width == 128 and b.display.height == 64
    assert b.max_message == 49152
    assert machine.pins[pins.TD_BTN_LEFT].pull is None  # GPIO35: input-only, no pull
    assert machine.pins[pins.TD_BTN_RIGHT].pull == machine.Pin.PULL_UP
    assert b.buttons() == ()


def test_debounce_bounces_count_once():
    b, clock = _board("pico")
    L, R = pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT
    t = clock.t
    script = [(t + 100, 1, 1)]
    # press: 5 bounces 2 ms apart (within the 20 ms window), then held 200 ms
    for i in range(5):
        script.append((t + 102 + 2 * i, i % 2, 1))
    script.append((t + 300, 0, 1))
    # release with bounces, then quiet
    for i in range(5):
        script.append((t + 302 + 2 * i, (i + 1) % 2, 1))
    script.append((t + 500, 1, 1))
    assert _run(b, clock, script, L, R) == ["up"]
    # the same on the right button
    t = clock.t
    script = [(t + 2 * i + 2, 1, i % 2) for i in range(6)] + [(t + 200, 1, 0)]
    script += [(t + 202 + 2 * i, 1, (i + 1) % 2) for i in range(6)] + [(t + 400, 1, 1)]
    assert _run(b, clock, script, L, R) == ["down"]


def test_a_glitch_shorter_than_the_window_is_ignored():
    b, clock = _board("pico")
    t = clock.t
    ev = _run(b, clock, [(t + 10, 0, 1), (t + 300, 1, 1)], pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT)
    assert ev == []


def test_hold_fires_once_while_held():
    b, clock = _board("pico")
    L, R = pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT
    t = clock.t
    assert _run(b, clock, [(t + 990, 1, 0)], L, R) == []       # not yet: < 1 s
    assert _run(b, clock, [(t + 1030, 1, 0)], L, R) == ["approve"]  # fires while still held
    assert _run(b, clock, [(t + 2500, 1, 0), (t + 2700, 1, 1)], L, R) == []  # release: nothing
    t = clock.t
    assert _run(b, clock, [(t + 1500, 0, 1), (t + 1700, 1, 1)], L, R) == ["reject"]


def test_both_held_is_long_approve_and_early_release_cancels():
    b, clock = _board("pico")
    L, R = pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT
    t = clock.t
    ev = _run(b, clock, [(t + 300, 0, 1), (t + 1800, 0, 0), (t + 2000, 1, 1)], L, R)
    assert ev == ["long-approve"], ev
    t = clock.t
    ev = _run(b, clock, [(t + 200, 0, 0), (t + 500, 1, 0), (t + 2500, 1, 0), (t + 2700, 1, 1)], L, R)
    assert ev == [], ev  # cancelled: neither a tap, a hold nor long-approve


def test_keymap_comes_from_config():
    b, clock = _board("pico")
    b.keys.tap = ("reject", "approve")
    b.keys.hold = (None, "long-approve")
    L, R = pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT
    t = clock.t
    ev = _run(b, clock, [(t + 100, 1, 0), (t + 300, 1, 1), (t + 1500, 1, 0), (t + 1600, 1, 1)], L, R)
    assert ev == ["approve", "long-approve"], ev


def test_screen_saver_blanks_after_idle_and_a_press_wakes_it():
    b, clock = _board("pico")
    model = OledModel()
    model.on = True
    machine.listeners.append(model)
    b.saver_ms = 5000
    L, R = pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT
    t = clock.t
    _run(b, clock, [(t + 4900, 1, 1)], L, R, step=50)
    assert b.display.on and model.on
    _run(b, clock, [(t + 5100, 1, 1)], L, R, step=50)
    assert not b.display.on and not model.on
    # the waking press is swallowed: a tap or even a hold does nothing but wake
    t = clock.t
    ev = _run(b, clock, [(t + 1500, 1, 0), (t + 1600, 1, 1)], L, R)
    assert ev == [] and b.display.on and model.on
    # next press works normally
    t = clock.t
    assert _run(b, clock, [(t + 100, 1, 0), (t + 200, 1, 1)], L, R) == ["down"]


def test_new_picture_wakes_the_screen_same_picture_does_not():
    b, clock = _board("pico")
    b.saver_ms = 1000
    b.display.fb.text("idle", 0, 0, 1)
    b.display.show(["idle"])
    b.buttons()
    clock.t += 1500
    b.buttons()
    assert not b.display.on
    b.display.show(["idle"])  # a redraw of the same screen
    clock.t += 10
    b.buttons()
    assert not b.display.on
    b.display.fb.text("REQUEST", 0, 20, 1)  # a request arrives
    b.display.show(["REQUEST"])
    clock.t += 10
    b.buttons()
    assert b.display.on


def test_saver_zero_means_never():
    b, clock = _board("tdisplay")
    b.saver_ms = 0
    clock.t += 10 ** 6
    b.buttons()
    assert b.display.on


def test_config_file_overrides_known_keys_only():
    path = TMP + "/config.json"
    with open(path, "w") as f:
        f.write('{"saver_s": 7, "long_ms": 800, "bogus": 1}')
    cfg = common.load_config({"max_message": 1000}, path)
    assert cfg["saver_s"] == 7 and cfg["long_ms"] == 800 and "bogus" not in cfg
    assert cfg["max_message"] == 1000
    os.remove(path)


def test_config_file_sets_the_devices_first_relays():
    # issue 13 item 2: `relays` was not a key config.json could set
    path = TMP + "/config.json"
    with open(path, "w") as f:
        f.write('{"relays": ["wss://nos.lol"]}')
    assert common.load_config({}, path)["relays"] == ["wss://nos.lol"]
    os.remove(path)


def test_holding_left_at_power_up_enters_maintenance():
    machine.set_level(pins.PICO_BTN_LEFT, 0)
    try:
        from boards import pico
        pico.Board(ARGV)
        raise AssertionError("no SystemExit")
    except SystemExit:
        pass
    finally:
        machine.set_level(pins.PICO_BTN_LEFT, 1)


def test_rng_mixes_button_timings():
    b, clock = _board("pico")
    before = bytes(common._pool)
    L, R = pins.PICO_BTN_LEFT, pins.PICO_BTN_RIGHT
    t = clock.t
    _run(b, clock, [(t + 100, 0, 1), (t + 200, 1, 1)], L, R)
    assert common._pool != before


def test_the_rng_pool_stays_where_boot_put_it():
    # replaced by a new digest on every call, it was kept wherever the request that
    # called last had left the heap: in the middle of the big free block, at rest
    pool = common._pool
    a, b = common.rng(32), common.rng(32)
    common.stir(b"edge")
    assert common._pool is pool and len(pool) == 32
    assert a != b and len(a) == 32 and bytes(pool) not in (a, b)
