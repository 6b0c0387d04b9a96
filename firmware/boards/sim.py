# The simulator board: the firmware on the MicroPython unix port.
#
# - link: raw stdin/stdout (the launcher, bridge/sim.py, puts a pseudo-terminal there);
# - display: a 128x64 MONO_VLSB framebuf; every show() also writes STATE/screen.txt and
#   STATE/screen.png (boards/simscreen.py);
# - buttons: lines from the FIFO STATE/control, never from the link: on a real device
#   the host cannot press buttons, so here it must not be able to either;
# - storage: the directory STATE/flash; entropy: os.urandom.
#
# argv and environment: boards/simargs.py (loaded once, then dropped).
#
# Kept small: on the unix port every line of code lives in the same 128 KB heap as the
# signer, which a real board's frozen code would not use.
import gc
import sys
import os
import errno
import time
import select
import framebuf

BUTTONS = ("approve", "reject", "long-approve", "up", "down")
try:
    from micropython import stack_use
except ImportError:
    stack_use = None


def log(*a):
    # stderr is STATE/sim.log; stdout is the link and carries frames only
    print(*a, file=sys.stderr)


def _unload(name):
    # forget a module imported for one job, so its code can be collected
    sys.modules.pop("boards." + name, None)
    import boards
    if hasattr(boards, name):
        delattr(boards, name)


def _mkdir(path):
    try:
        os.mkdir(path)
    except OSError:  # exists (the launcher made STATE)
        pass


class Display:
    width = 128
    height = 64

    def __init__(self, state):
        self.state = state
        self.fb = framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB)
        self.lines = []

    def show(self, lines=None):
        if lines is not None:
            self.lines = lines
        # the screen writer's code and its 1 KB scanline buffer want a hole of their
        # own: collect first (a 128 KB heap is tight right after start or a request)
        gc.collect()
        from boards import simscreen
        try:
            simscreen.write(self.state, self.fb, self.lines)
        except OSError as e:
            log("sim: screen files:", e)
        finally:  # drop the module again
            _unload("simscreen")


class Board:
    name = "sim"
    # main.py's poll timeout when idle: only bounds how late app.tick() runs
    idle_ms = 100

    def __init__(self, argv=()):
        from boards import simargs
        c, self.nonblock = simargs.parse(argv, log)
        _unload("simargs")
        self.config = c
        state = c["state"]
        _mkdir(state)
        self.storage = state + "/flash"
        _mkdir(self.storage)
        self.max_message = c["max_message"]
        self.link = self  # read/write below
        # the C stack's peak at the link's writes (write below), the deepest leaf of
        # every request (docs/stack.md): main.dispatch resets it per request, status
        # reports it (signer/admin.py) against the thread's limit (boards/simstack.py)
        self.peak = 0
        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer
        self._one = bytearray(1)
        self._wpoll = select.poll()
        self._wpoll.register(self.out, select.POLLOUT)
        self._rpoll = select.poll()
        self._rpoll.register(self.inp, select.POLLIN)
        self.display = Display(state)
        # Buttons. O_RDWR ("r+b"): opening a FIFO read-only blocks until a writer
        # appears; read-write never blocks, and we never see EOF.
        self.ctl = None
        self._line = bytearray()
        try:
            self.ctl = open(state + "/control", "r+b")
            self._cpoll = select.poll()
            self._cpoll.register(self.ctl, select.POLLIN)
        except OSError:
            log("sim: no control FIFO in", state, "- no buttons")

    def rng(self, n):
        return os.urandom(n)

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def pollables(self):
        """What main.py waits on with select.poll (POLLIN)."""
        return [self.inp] if self.ctl is None else [self.inp, self.ctl]

    # ---- the link: fd 0 in, fd 1 out

    def read(self, buf):
        """What has arrived, into buf, without blocking; the count (0: nothing).

        With --link-nonblock the launcher has set O_NONBLOCK on the pty (MicroPython
        has no fcntl), so readinto() returns what is there. Without it (main.py run by
        hand) one byte at a time while poll() says more is waiting: never blocks either.
        """
        try:
            if self.nonblock:
                n = self.inp.readinto(buf)
                if n == 0:
                    self._gone()
                return n or 0
            n = 0
            while n < len(buf) and self._rpoll.poll(0):
                if not self.inp.readinto(self._one):
                    self._gone()
                buf[n] = self._one[0]
                n += 1
            return n
        except OSError:  # EIO: every end of the pty closed, i.e. the cable is out
            self._gone()

    def _gone(self):
        log("sim: link closed, powering off")
        raise SystemExit(0)

    def write(self, data):
        if stack_use:  # here, not in a wrapper: no frame added to the deepest path
            u = stack_use()
            if u > self.peak:
                self.peak = u
        mv = memoryview(data)
        waited = 0
        while mv:
            try:
                w = self.out.write(mv)
            except OSError as e:
                if e.args[0] != errno.EAGAIN:
                    self._gone()
                w = None
            if w:
                mv = mv[w:]
                waited = 0
            elif waited >= 2000:
                # nobody has drained the pty for 2 s: cut the frame (the host
                # resynchronises) rather than freeze the device
                return
            else:
                self._wpoll.poll(50)
                waited += 50

    # ---- buttons

    def buttons(self):
        """Presses since the last call. The FIFO is blocking: a byte at a time, only
        while poll says one is there, so half a line can never stall the device."""
        out = []
        if self.ctl is None:
            return out
        line = self._line
        while self._cpoll.poll(0):
            if not self.ctl.readinto(self._one):
                break
            c = self._one[0]
            if c == 10:
                name = line.decode().strip()
                line[:] = b""
                if name in BUTTONS:
                    out.append(name)
                elif name:
                    log("sim: unknown button", name)
            elif len(line) < 32:
                line.append(c)
        return out
