# What the hardware boards (pico.py, tdisplay.py) share: the USB-CDC link on stdio, two
# buttons (debounce, hold, both-held), the screen saver, the RNG, configuration, and the
# maintenance gesture. Each board module only builds its display and pins and hands
# them to Board below.
#
# Buttons. Two physical buttons, LEFT and RIGHT (pins.py). Gestures, each giving at most
# one event, mapped to the app's button names by the keymap (config "keymap"):
#
#   gesture      default event    why
#   left tap     "up"             reading is free: taps only scroll
#   right tap    "down"
#   left hold    "reject"         deciding is deliberate: hold >= long_ms (1 s)
#   right hold   "approve"        a stray tap or a bounce can never approve
#   both held    "long-approve"   the strongest act (an "always allow" rule) needs both
#
# A hold fires as soon as it has lasted long_ms, while still held (so the person
# feels it happen); its release then does nothing. A tap fires on release. A press
# that wakes a blanked screen is swallowed: it only wakes. Releasing one button of a
# two-button press before long_ms cancels it.
#
# Debounce: a pin's new level counts only once it has been stable for debounce_ms, so
# the bounces of one press (within that window) make one edge. Pins are sampled on
# every main-loop pass; main waits at most idle_ms (10 ms) for the link, so a press
# shorter than a slow operation (a signature on an RP2040) can be missed, never doubled.
#
# Screen saver: the display blanks after saver_s without a press or a new picture
# (0 = never); a new picture (a request arriving) or a press lights it again.
#
# Maintenance: holding LEFT while the board powers up skips the signer and leaves the
# USB REPL open, which is what `make flash` needs. In normal operation the firmware
# turns Ctrl-C off (main.py), so the host cannot stop it and take over the REPL; a
# person holding the device can.
import sys
import os
import time
import select
import hashlib
try:
    from micropython import stack_use
except ImportError:
    stack_use = None

DEFAULTS = {
    "prompt_timeout_s": 60,
    "max_age_s": 300,
    "max_future_s": 60,
    "max_message": 65536,
    "saver_s": 60,
    "long_ms": 1000,
    "debounce_ms": 20,
    "brightness": 80,
    # the device's relays until the person sets its own from the host (kept in signer.json)
    "relays": ["ws://127.0.0.1:7777"],
    "keymap": {"left": "up", "right": "down", "left-hold": "reject",
               "right-hold": "approve", "both-hold": "long-approve"},
}
CONFIG_FILE = "/config.json"
STORAGE = "/data"  # the keystore and settings; `make flash` leaves it alone unless WIPE=1
LEFT = 0
RIGHT = 1
_NAMES = ("left", "right")
_EMPTY = ()


def options(argv):
    """--storage DIR and --config FILE (tests on the unix port; a board gets no argv)."""
    opts = {"storage": STORAGE, "config": CONFIG_FILE}
    argv = list(argv or ())
    for i in range(len(argv) - 1):
        if argv[i] in ("--storage", "--config"):
            opts[argv[i][2:]] = argv[i + 1]
    return opts


def load_config(board_defaults, path=CONFIG_FILE):
    """DEFAULTS, then the board's, then the optional JSON file on flash (known keys
    only). Only someone with the REPL (maintenance mode, i.e. the device in hand) can
    write that file; the host over the link cannot."""
    cfg = dict(DEFAULTS)
    cfg.update(board_defaults)
    try:
        import json
        with open(path) as f:
            extra = json.load(f)
    except (OSError, ValueError):
        return cfg
    if isinstance(extra, dict):
        for k in extra:
            if k in cfg:
                cfg[k] = extra[k]
    return cfg


# ---- the link: USB-CDC (or the USB-UART bridge) as MicroPython's stdio -------------

def _ready(p):
    # ipoll reuses one result tuple: no allocation per byte, unlike poll()
    for _ in p.ipoll(0):
        return True
    return False


class StdioLink:
    """The serial link on sys.stdin/stdout's binary buffers (raw bytes: the text
    streams would turn \\n into \\r\\n). Reads never block: one byte at a time while
    poll says one is there, since a bare-metal stdin read waits for its full length."""

    def __init__(self, inp=None, out=None):
        self.inp = inp or sys.stdin.buffer
        self.out = out or sys.stdout.buffer
        self._one = bytearray(1)
        self._poll = select.poll()
        self._poll.register(self.inp, select.POLLIN)
        # the C stack's peak at the link's writes, the deepest leaf of every request
        # (docs/stack.md): main.dispatch resets it per request, status reports it
        self.peak = 0

    def pollable(self):
        return self.inp

    def read(self, buf):
        n = 0
        one = self._one
        inp = self.inp
        p = self._poll
        size = len(buf)
        while n < size and _ready(p):
            if not inp.readinto(one):
                break
            buf[n] = one[0]
            n += 1
        return n

    def write(self, data):
        if stack_use:  # here, not in a wrapper: no frame added to the deepest path
            u = stack_use()
            if u > self.peak:
                self.peak = u
        mv = memoryview(data)
        off = 0
        size = len(mv)
        while off < size:
            w = self.out.write(mv[off:])
            if not w:
                return  # nobody listening: the port dropped it, the host resynchronises
            off += w


# ---- entropy -----------------------------------------------------------------------

# allocated once, at boot, and updated in place: a new digest each call was kept where
# the request left it, in the middle of the free heap, until the next request moved it
_pool = bytearray(32)
_seeded = False


def jitter(k=16):
    """k bytes of loop timing: how long a few hundred instructions take varies with
    interrupts (USB, timers) and flash cache misses. Weak alone; it is only mixed in."""
    b = bytearray(k)
    t = time.ticks_us()
    n = 7
    for i in range(k):
        for _ in range(n):
            pass
        t2 = time.ticks_us()
        b[i] = time.ticks_diff(t2, t) & 0xFF
        n = 5 + (b[i] & 7)
        t = t2
    return b


def stir(data):
    """Mix data (e.g. the microsecond of a button edge) into the pool."""
    h = hashlib.sha256(_pool)
    h.update(data)
    _pool[:] = h.digest()


def seed(extra=b""):
    stir(os.urandom(32) + bytes(extra) + jitter(32))


def rng(n):
    """n random bytes: SHA-256 of the pool, fresh os.urandom (the chip's RNG) and timing
    jitter; the pool moves on through a different hash, so an output never reveals the
    pool that produces the next one."""
    global _seeded
    if not _seeded:
        seed()
        _seeded = True
    h = hashlib.sha256(_pool)
    h.update(os.urandom(32))
    h.update(jitter())
    key = h.digest()
    _pool[:] = hashlib.sha256(b"next" + key).digest()
    out = bytearray(n)
    ctr = 0
    i = 0
    while i < n:
        blk = hashlib.sha256(key + ctr.to_bytes(4, "big")).digest()
        m = min(32, n - i)
        out[i:i + m] = blk[:m]
        i += m
        ctr += 1
    return bytes(out)


# ---- buttons -----------------------------------------------------------------------

class Buttons:
    """Two active-low pins -> gesture events (see the top of this file)."""

    def __init__(self, left, right, cfg, now):
        self.pins = (left, right)
        self.debounce = int(cfg["debounce_ms"])
        self.long = int(cfg["long_ms"])
        km = cfg["keymap"]
        self.tap = (km.get("left"), km.get("right"))
        self.hold = (km.get("left-hold"), km.get("right-hold"))
        self.both = km.get("both-hold")
        self.raw = [1, 1]          # last sample (1 = released)
        self.t_raw = [now, now]    # when the sample last changed
        self.down = [False, False]  # debounced state
        self.t_down = [now, now]
        self.used = [False, False]  # this press has fired, or was swallowed / cancelled
        self.chord = False
        self.t_chord = now
        self.edges = []            # ticks of debounced edges, for the entropy pool

    def poll(self, now, out, asleep=False):
        """Sample both pins at time `now` (ms); append events to out. Returns how many
        debounced presses began (the board wakes the screen on any)."""
        presses = 0
        for i in range(2):  # LEFT, RIGHT (range: no tuple built per call)
            v = self.pins[i].value()
            if v != self.raw[i]:
                self.raw[i] = v
                self.t_raw[i] = now
                continue
            pressed = not v
            if pressed == self.down[i] or time.ticks_diff(now, self.t_raw[i]) < self.debounce:
                continue
            self.down[i] = pressed
            self.edges.append(now)
            if pressed:
                presses += 1
                self._press(i, asleep)
            else:
                self._release(i, out)
        self._holds(now, out)
        return presses

    def _press(self, i, asleep):
        o = 1 - i
        self.t_down[i] = self.t_raw[i]  # the moment the level changed, not the debounce end
        self.used[i] = asleep
        if self.down[o]:
            if self.used[o] and not self.chord:
                self.used[i] = True  # the other already fired a hold: ignore this one
            else:
                self.chord = True
                self.t_chord = self.t_down[i]

    def _release(self, i, out):
        o = 1 - i
        if self.chord:
            if not self.used[i]:  # let go before both-held fired: cancel, for both buttons
                self.used[o] = True
            if not self.down[o]:
                self.chord = False
        elif not self.used[i] and self.tap[i]:
            out.append(self.tap[i])
        self.used[i] = False

    def _holds(self, now, out):
        if self.chord:
            if self.down[LEFT] and self.down[RIGHT] and not (self.used[LEFT] or self.used[RIGHT]) \
                    and time.ticks_diff(now, self.t_chord) >= self.long:
                self.used[LEFT] = self.used[RIGHT] = True
                if self.both:
                    out.append(self.both)
            return
        for i in range(2):  # LEFT, RIGHT (range: no tuple built per call)
            if self.down[i] and not self.used[i] and time.ticks_diff(now, self.t_down[i]) >= self.long:
                self.used[i] = True
                if self.hold[i]:
                    out.append(self.hold[i])


# How each gesture reads on a footer: the screens name what the person does on this
# board ("hold >:yes <:no", "both:always"), from the keymap actually in use.
_SAY = {"left": "<", "right": ">", "left-hold": "hold<", "right-hold": "hold>", "both-hold": "both"}


def feet(keymap):
    """The footers for keymap. Prompts (ui/screens.py FEET): "yes" approve/reject,
    "rule" approve/reject/always, as parts. Flows (ui/menu.py, pin.py, setup.py,
    keys.py, each with the simulator's text as its default): one line per key, or
    two for the entry screens (a tap line, then the holds)."""
    g = {}
    for k in ("right-hold", "left-hold", "both-hold", "right", "left"):  # holds first
        ev = keymap.get(k)
        if ev and ev not in g:
            g[ev] = _SAY[k]
    y, n = g.get("approve", "?"), g.get("reject", "?")
    hold = y[:4] == n[:4] == "hold"

    def two(a, b):  # "hold >:a <:b" where both are holds (16 columns for a + b <= 6)
        return "hold %s:%s %s:%s" % (y[4:], a, n[4:], b) if hold else "%s:%s %s:%s" % (y, a, n, b)

    def one(x, w):
        return ("hold " + x[4:] if x[:4] == "hold" else x) + ":" + w

    u, d = g.get("up", "?"), g.get("down", "?")
    tap = "tap " + u + d if len(u) == len(d) == 1 else u + "/" + d  # "tap <>": scrolling
    yn = two("yes", "no")
    a = g.get("long-approve")
    return {"yes": (yn,), "rule": (yn, a + ":always") if a else (yn,),
            "ok": two("ok", "back"), "exit": two("ok", "exit"), "set": two("set", "bk"),
            "use": two("use", "bk"), "back": one(n, "back"), "scroll": one(n, "back"),
            "okonly": one(y, "ok"), "digit": (tap + ":-/+", two("add", "del")),
            "show": (tap + ":word", two("ok", "back")), "check": (tap + ":pick", two("ok", "back")),
            "letter": (tap + ":letter", two("add", "del"))}


# ---- the board ---------------------------------------------------------------------

class Board:
    """A hardware board: the interface of boards/sim.py (name, display, storage, rng,
    ticks_ms, ticks_diff, buttons, pollables, config, link, max_message, idle_ms)."""

    name = "board"
    max_frame = 512  # largest frame payload the board's link receives whole (hello limits)
    idle_ms = 10  # also the button sampling period: nothing else wakes the loop for them

    def __init__(self, display, left, right, cfg, storage, extra_seed=b""):
        self.display = display
        self.config = cfg
        self.max_message = int(cfg["max_message"])
        self.storage = storage
        _mkdir(storage)
        now = time.ticks_ms()
        self.keys = Buttons(left, right, cfg, now)
        self.feet = feet(cfg["keymap"])
        self.saver_ms = int(cfg["saver_s"]) * 1000
        self.active = now
        self._out = []
        seed(extra_seed)
        if hasattr(display, "brightness"):
            display.brightness(int(cfg["brightness"]))
        if maintenance_requested(left):
            maintenance(display)
        self.link = StdioLink()

    def rng(self, n):
        return rng(n)

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def pollables(self):
        return [self.link.pollable()]

    def buttons(self):
        """Events since the last call; also runs the screen saver. Called every loop pass."""
        now = self.ticks_ms()
        d = self.display
        out = self._out
        if self.keys.poll(now, out, asleep=not d.on):
            self.active = now
            if not d.on:
                d.power(True)
        if self.keys.edges:
            for t in self.keys.edges:
                stir(((time.ticks_us() & 0xFFFFFFFF) << 16 | (t & 0xFFFF)).to_bytes(6, "little"))
            self.keys.edges.clear()
        if d.changed:
            d.changed = False
            self.active = now
            if not d.on:
                d.power(True)
        elif d.on and self.saver_ms > 0 and time.ticks_diff(now, self.active) >= self.saver_ms:
            d.power(False)
        if not out:
            return _EMPTY
        ev = out[:]
        out.clear()
        return ev


def forget(name):
    """Unload a module needed only while starting (pins.py): its dict and constants go
    back to the heap. A module also lives on as an attribute of its package."""
    sys.modules.pop(name, None)
    pkg, _, leaf = name.rpartition(".")
    try:
        delattr(sys.modules[pkg], leaf)
    except (KeyError, AttributeError):
        pass


def _mkdir(path):
    try:
        os.mkdir(path)
    except OSError:  # it exists already
        return


def maintenance_requested(left, samples=5, gap_ms=10):
    # LEFT held (low) on every sample over ~50 ms: not a glitch, a person holding it
    for _ in range(samples):
        if left.value():
            return False
        time.sleep_ms(gap_ms)
    return True


def maintenance(display):
    """Show what is going on and leave to the REPL (main.py re-raises SystemExit; on a
    board a SystemExit from main.py ends it without a soft reset)."""
    fb = display.fb
    fb.fill(0)
    lines = ["MAINTENANCE", "", "USB REPL is open", "for make flash.", "", "Unplug to leave."]
    for i, s in enumerate(lines):
        fb.text(s, 0, i * 10, 1)
    display.show(lines)
    raise SystemExit(0)
