# The simulator board: the firmware on the MicroPython unix port.
#
# - link: raw stdin/stdout (the launcher, bridge/sim.py, puts a pseudo-terminal there);
# - display: a 128x64 MONO_VLSB framebuf; every show() also writes STATE/screen.txt
#   (text mirror) and STATE/screen.png, each atomically (tmp file + rename);
# - buttons: lines read from the FIFO STATE/control, never from the link: on a real
#   device the host cannot press buttons, so here it must not be able to either;
# - storage: the directory STATE/flash; entropy: os.urandom.
#
# Configuration: argv (--state DIR --prompt-timeout S --max-age S --max-future S
# --max-message N --relay URL (repeatable) --link-nonblock) with env fallbacks
# SIGNER_STATE, SIGNER_PROMPT_TIMEOUT, SIGNER_MAX_AGE, SIGNER_MAX_FUTURE.
import sys
import os
import errno
import time
import select
import binascii
import framebuf

BUTTONS = ("approve", "reject", "long-approve", "up", "down")

WIDTH = 128
HEIGHT = 64

# Give up on a write the host does not drain for this long: the frame is cut and
# the host resynchronises; better than the device freezing on a closed port.
WRITE_STALL_MS = 2000


def log(*a):
    # stderr is the simulator's log file (the launcher sends it to STATE/sim.log);
    # stdout is the link and must carry frames only.
    print(*a, file=sys.stderr)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _makedirs(path):
    if path and not _exists(path):
        parent = path.rpartition("/")[0]
        if parent and parent != path:
            _makedirs(parent)
        os.mkdir(path)


def parse_config(argv, env=os.getenv):
    cfg = {
        "state": env("SIGNER_STATE") or "sim-state",
        "prompt_timeout_s": int(env("SIGNER_PROMPT_TIMEOUT") or 60),
        "max_age_s": int(env("SIGNER_MAX_AGE") or 300),
        "max_future_s": int(env("SIGNER_MAX_FUTURE") or 60),
        "max_message": 65536,
        "link_nonblock": False,
        "relays": [],
    }
    keys = {"--state": ("state", str), "--prompt-timeout": ("prompt_timeout_s", int),
            "--max-age": ("max_age_s", int), "--max-future": ("max_future_s", int),
            "--max-message": ("max_message", int)}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--link-nonblock":
            cfg["link_nonblock"] = True
        elif a == "--relay" and i + 1 < len(argv):
            cfg["relays"].append(argv[i + 1])
            i += 1
        elif a in keys and i + 1 < len(argv):
            name, conv = keys[a]
            cfg[name] = conv(argv[i + 1])
            i += 1
        else:
            log("sim: ignoring argument", a)
        i += 1
    return cfg


class StdioLink:
    """The serial link: fd 0 in, fd 1 out.

    With --link-nonblock the launcher has set O_NONBLOCK on the pty (MicroPython has
    no fcntl to do it), so readinto() returns what is there. Without it (someone ran
    main.py by hand) we read one byte at a time while poll() says more is waiting,
    which never blocks either.
    """

    def __init__(self, nonblock):
        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer
        self.nonblock = nonblock
        self._one = bytearray(1)
        self._rpoll = select.poll()
        self._rpoll.register(self.inp, select.POLLIN)
        self._wpoll = select.poll()
        self._wpoll.register(self.out, select.POLLOUT)
        self.dropped_writes = 0

    def pollable(self):
        return self.inp

    def read(self, buf):
        """Read what has arrived into buf, without blocking; returns the count (0: none)."""
        try:
            if self.nonblock:
                n = self.inp.readinto(buf)
                if n is None:
                    return 0
                if n == 0:
                    self._gone()
                return n
            n = 0
            one = self._one
            while n < len(buf) and self._rpoll.poll(0):
                if not self.inp.readinto(one):
                    self._gone()
                buf[n] = one[0]
                n += 1
            return n
        except OSError as e:
            # EIO: every end of the pty is closed, i.e. the USB cable is out.
            if e.args and e.args[0] == errno.EAGAIN:
                return 0
            self._gone()

    def _gone(self):
        log("sim: link closed, powering off")
        raise SystemExit(0)

    def write(self, data):
        mv = memoryview(data)
        off = 0
        n = len(mv)
        waited = 0
        while off < n:
            try:
                w = self.out.write(mv[off:])
            except OSError as e:
                if not (e.args and e.args[0] == errno.EAGAIN):
                    self._gone()
                w = None
            if w:
                off += w
                waited = 0
                continue
            # Nobody is draining the pty: wait for room, but not forever.
            if waited >= WRITE_STALL_MS:
                self.dropped_writes += 1
                return
            self._wpoll.poll(50)
            waited += 50


class Display:
    """128x64 MONO_VLSB framebuffer with a text and PNG mirror on each show()."""

    width = WIDTH
    height = HEIGHT

    def __init__(self, state):
        self.state = state
        self.buf = bytearray(WIDTH * HEIGHT // 8)
        self.fb = framebuf.FrameBuffer(self.buf, WIDTH, HEIGHT, framebuf.MONO_VLSB)
        self.lines = []
        self.shows = 0
        self._png, self._raw_at = _png_template()
        # PNG scanlines are 1 filter byte + 16 bytes of MSB-first pixels: an HLSB
        # framebuffer over the IDAT data with a 136-pixel stride puts each row right
        # after its filter byte (the 8 stride pixels are the next row's filter byte,
        # which blit never touches), so converting is a single C-level blit.
        raw = memoryview(self._png)[self._raw_at + 1:]
        self._pngfb = framebuf.FrameBuffer(raw, WIDTH, HEIGHT, framebuf.MONO_HLSB, WIDTH + 8)

    def show(self, lines=None):
        if lines is not None:
            self.lines = lines
        self.shows += 1
        _write_atomic(self.state + "/screen.txt", "\n".join(self.lines) + "\n")
        self._pngfb.blit(self.fb, 0, 0)
        _png_finish(self._png, self._raw_at)
        _write_atomic(self.state + "/screen.png", self._png)


# --- PNG, encoded here: 1-bit greyscale, one stored (uncompressed) deflate block.
# (This port's `deflate` module can only decompress.) Lit pixel = white, as on an OLED.
_ROW = 1 + WIDTH // 8
_RAW = _ROW * HEIGHT  # 1088 bytes, < 65535 so one stored block


def _chunk_header(png, at, ln, typ):
    png[at:at + 4] = ln.to_bytes(4, "big")
    png[at + 4:at + 8] = typ


def _chunk_crc(png, at, ln):
    c = binascii.crc32(memoryview(png)[at + 4:at + 8 + ln])
    png[at + 8 + ln:at + 12 + ln] = c.to_bytes(4, "big")


def _png_template():
    idat_len = 2 + 5 + _RAW + 4  # zlib header, stored-block header, data, adler32
    size = 8 + (12 + 13) + (12 + idat_len) + 12
    png = bytearray(size)
    png[0:8] = b"\x89PNG\r\n\x1a\n"
    at = 8
    _chunk_header(png, at, 13, b"IHDR")
    png[at + 8:at + 21] = WIDTH.to_bytes(4, "big") + HEIGHT.to_bytes(4, "big") + b"\x01\x00\x00\x00\x00"
    _chunk_crc(png, at, 13)
    at += 25
    _chunk_header(png, at, idat_len, b"IDAT")
    d = at + 8
    png[d:d + 7] = bytes((0x78, 0x01, 0x01, _RAW & 0xFF, _RAW >> 8, ~_RAW & 0xFF, (~_RAW >> 8) & 0xFF))
    raw_at = d + 7
    end = at + 12 + idat_len
    _chunk_header(png, end, 0, b"IEND")
    _chunk_crc(png, end, 0)
    return png, raw_at


def _png_finish(png, raw_at):
    # adler32 of the scanlines, then the IDAT chunk CRC
    a = 1
    b = 0
    for i in range(raw_at, raw_at + _RAW):
        a += png[i]
        b += a
        if b > 0x3FFFFFFF:  # stay in small ints; reduce mod 65521 when large
            a %= 65521
            b %= 65521
    a %= 65521
    b %= 65521
    at = raw_at + _RAW
    png[at:at + 4] = ((b << 16) | a).to_bytes(4, "big")
    idat = 8 + 25
    _chunk_crc(png, idat, 2 + 5 + _RAW + 4)


def _write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb" if not isinstance(data, str) else "w") as f:
        f.write(data)
    os.rename(tmp, path)


class Controls:
    """Buttons from the FIFO STATE/control, one name per line."""

    def __init__(self, path):
        self.f = None
        self._line = bytearray()
        self._one = bytearray(1)
        if not _exists(path):
            log("sim: no control FIFO at", path, "- buttons disabled")
            return
        # O_RDWR: opening a FIFO read-only blocks until a writer appears; read-write
        # never blocks, and as a writer ourselves we never see EOF either.
        self.f = open(path, "r+b")
        self._poll = select.poll()
        self._poll.register(self.f, select.POLLIN)

    def pollable(self):
        return self.f

    def read(self):
        out = []
        if self.f is None:
            return out
        one = self._one
        line = self._line
        # The FIFO is blocking: read a byte at a time, only while poll says one is
        # there, so a writer that leaves half a line can never stall the device.
        while self._poll.poll(0):
            if not self.f.readinto(one):
                break
            c = one[0]
            if c == 10:
                name = bytes(line).decode().strip()
                line[:] = b""
                if name in BUTTONS:
                    out.append(name)
                elif name:
                    log("sim: unknown button", name)
            elif len(line) < 32:
                line.append(c)
        return out


class Board:
    name = "sim"

    def __init__(self, argv=()):
        cfg = parse_config(list(argv))
        state = cfg["state"].rstrip("/") or "/"
        _makedirs(state)
        self.storage = state + "/flash"
        _makedirs(self.storage)
        self.config = {
            "prompt_timeout_s": cfg["prompt_timeout_s"],
            "max_age_s": cfg["max_age_s"],
            "max_future_s": cfg["max_future_s"],
            "max_message": cfg["max_message"],
            "state": state,
        }
        if cfg["relays"]:  # otherwise the app's default
            self.config["relays"] = cfg["relays"]
        self.max_message = cfg["max_message"]
        self.link = StdioLink(cfg["link_nonblock"])
        self.display = Display(state)
        self.controls = Controls(state + "/control")

    def rng(self, n):
        return os.urandom(n)

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def buttons(self):
        return self.controls.read()

    def pollables(self):
        """Objects main.py waits on with select.poll (POLLIN)."""
        p = [self.link.pollable()]
        if self.controls.pollable() is not None:
            p.append(self.controls.pollable())
        return p

    # How long main may sleep in poll when idle; the sim's inputs are all pollable,
    # this only bounds the delay of app.tick() (timeouts, countdowns).
    idle_ms = 100
