"""`python -m bridge demo` (what `make run` runs with no hardware): a working signer on
this machine. It starts a real relay (nostr-sdk's LocalRelay) on ws://127.0.0.1:7777, the
firmware on the MicroPython unix port as a simulated device, and the bridge between them;
it draws the device's screen in the terminal whenever it changes and turns keys into the
device's buttons (through the simulator's control channel, never the serial link).

The first time, the simulated device has no key: the demo offers it a fresh random key
to import, which the device shows and asks you to confirm, as for any import, with a
countdown here. Refused, the demo waits while you create the key on the device itself
(the keystore's set-up flow, with a mnemonic).
"""
import asyncio
import errno
import os
import signal
import sys
import termios
import time
import tty

from . import link as L
from . import sim as S
from .localrelay import LocalRelayServer

KEYS = {"a": "approve", "r": "reject", "l": "long-approve", "k": "up", "j": "down",
        "\x1b[A": "up", "\x1b[B": "down"}
HELP = ("keys: [a] approve  [r] reject  [l] always allow (long press)  [k]/[j] scroll  "
        "[u] bunker URL again  [q] quit")


def screen_box(lines, width=16):
    top = "+" + "-" * width + "+"
    rows = [top] + ["|%s|" % (ln[:width].ljust(width)) for ln in (lines + [""] * 8)[:8]] + [top]
    return "\n".join("    " + r for r in rows)


class Console:
    """Prints log lines and the device screen; reads keys in cbreak mode."""

    def __init__(self, state, out=sys.stdout):
        self.state = state
        self.out = out
        self.last = None
        self.quit = asyncio.Event()
        self.tty = hasattr(out, "isatty") and out.isatty()
        self._status = False
        self._first = True
        self.courier = None     # set once the bridge runs: [u] reprints its bunker URL

    def say(self, line):
        if self._status:
            self.out.write("\r\x1b[K")     # the countdown line goes; it is redrawn next second
            self._status = False
        self.out.write(line.rstrip("\n") + "\n")
        self.out.flush()

    def countdown(self, line, left=0):
        """A line that counts down: rewritten in place on a terminal, else every 10 s."""
        if line is None:
            self._first = True
            if self._status:
                self.out.write("\n")
                self.out.flush()
                self._status = False
            return
        if self.tty:
            self.out.write("\r\x1b[K" + line)
            self.out.flush()
            self._status = True
        elif left % 10 == 0 or self._first:
            self.say(line)
        self._first = False

    def draw_if_changed(self):
        try:
            with open(os.path.join(self.state, "screen.txt")) as f:
                text = f.read()
        except OSError:
            return
        if text != self.last:
            self.last = text
            self.say("device screen:\n" + screen_box(text.splitlines()) + "\n    " + HELP)

    async def watch_screen(self):
        while not self.quit.is_set():
            self.draw_if_changed()
            await asyncio.sleep(0.05)

    def on_key(self, data):
        if data in ("q", "\x03", "\x04"):
            self.quit.set()
            return
        if data[:1] in ("u", "U"):
            if self.courier is not None:
                self.courier.reprint_bunker()
            else:
                self.say("no bunker URL yet: the device needs a key first")
            return
        button = KEYS.get(data) or KEYS.get(data[:1])
        if button:
            try:
                S.press(self.state, button)
            except RuntimeError as e:
                self.say("press: %s" % e)


def _cbreak(console, loop):
    """Read single keys from a terminal; returns a function that restores it."""
    if not sys.stdin.isatty():
        return lambda: None
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def readable():
        data = os.read(fd, 16).decode(errors="replace")
        if data:
            console.on_key(data)
    loop.add_reader(fd, readable)

    def restore():
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return restore


class KeyWait:
    """What the control socket needs while the demo waits for a key (control.answer): only
    `provision` works, sent over the demo's own link, so a `python -m bridge provision` from
    another terminal does not open the simulator's port beside it."""

    def __init__(self, lk, console):
        self.lk = lk
        self.console = console
        self.hello = None
        self.busy = set()

    def say(self, line):
        self.console.say(time.strftime("%H:%M:%S ") + line)

    async def request(self, msg, timeout):
        def go():
            rid = self.lk.request(msg)
            return self.lk.answer(rid, timeout)
        fut = asyncio.get_running_loop().run_in_executor(None, go)
        self.busy.add(fut)
        try:
            return await fut
        except L.LinkError:
            return None
        finally:
            self.busy.discard(fut)


def ensure_key(lk, console, prompt_timeout=60):
    """The device's pubkey, once it has a key. If it has none, offer it a fresh random one
    (confirmed on the device, with a countdown here; offered again when the prompt times out);
    refused, wait for the person to create one on the device, or import one with `provision`
    (through KeyWait). None if they quit first."""
    hello = lk.hello(timeout=30)
    if hello.get("pubkey"):
        return hello["pubkey"]
    console.say("The simulated device has no key yet: offering it a fresh random one.")
    done = None
    while not console.quit.is_set():
        console.say("Confirm the import on the device: press [a] (or [r] to refuse).")
        rid = lk.request({"t": "provision", "key": os.urandom(32).hex()})
        done = _wait_answer(lk, rid, console, prompt_timeout)
        if done is None:
            return None
        if done.get("outcome") == "ok":
            console.countdown(None)
            return done["pubkey"]
        if done.get("outcome") != "timed out":
            break
        console.say("No answer on the device in %d s: offering a key again." % prompt_timeout)
    console.countdown(None)
    console.say("No key imported (%s). Create one on the device instead: on its screen pick "
                "new 12 / 24 words ([j]/[k] move, [a] picks); or import yours from another "
                "terminal: python -m bridge provision; or quit with [q]." % (
                    done.get("outcome") if done else "quit"))
    while not console.quit.is_set():
        console.draw_if_changed()
        # the device says hello by itself once it has a key (app._set_identity)
        h = lk.wait_for(lambda m: m.get("t") == "hello" and m.get("pubkey"), 0.1)
        if h:
            return h["pubkey"]
    return None


def _wait_answer(lk, rid, console, prompt_timeout):
    """The device's `done` for rid, drawing the screen and counting down; None on quit."""
    deadline = time.monotonic() + prompt_timeout + 5   # the device's own timeout answers first
    shown = None
    console.countdown(None)
    while not console.quit.is_set():
        console.draw_if_changed()
        left = max(0, int(deadline - 5 - time.monotonic() + 0.999))
        if left != shown:
            shown = left
            console.countdown("waiting for your answer on the device: %d s left" % left, left)
        done = lk.answer(rid, 0.1)
        if done:
            return done
        if time.monotonic() > deadline:
            return {"outcome": "timed out"}
    return None


def add_parser(sub):
    p = sub.add_parser("demo", help="local relay + simulated device + bridge, screen in the terminal")
    p.add_argument("--state", default="state/demo", help="simulator state directory (kept between runs)")
    p.add_argument("--port", type=int, default=7777, help="port of the local relay (make run PORT=...)")
    p.add_argument("--relay", action="append", default=[], metavar="URL", help="another relay for the device's list (repeatable; confirm on the device)")
    p.add_argument("--heap", default=S.HEAP, help="the simulated device's heap (default %s)" % S.HEAP)
    p.add_argument("--prompt-timeout", type=int, default=60,
                   help="seconds a prompt on the simulated device waits (default 60)")
    p.set_defaults(func=run)


def _in_use(e):
    return "address already in use" in str(e).lower() or getattr(e, "errno", None) == errno.EADDRINUSE


def run(args):
    from . import control
    from .courier import Courier
    from .run import serve

    try:
        S.need_checkout()
    except RuntimeError as e:
        print("demo: %s" % e, file=sys.stderr)
        return 1
    state = os.path.abspath(args.state)
    # a second `make run`: one line saying so, before anything is started
    if control.ask_sync(control.sock_path(state), {"cmd": "url"}, timeout=3) is not None:
        print("demo: already running for %s (in another terminal): use that one, or quit it "
              "with [q] first" % args.state, file=sys.stderr)
        return 1
    os.makedirs(state, exist_ok=True)
    console = Console(state)

    async def main():
        loop = asyncio.get_running_loop()
        relay = LocalRelayServer(port=args.port)
        try:
            url = await relay.start()
        except Exception as e:
            if _in_use(e):
                raise RuntimeError("port %d is in use (another `make run`, or a relay?): try "
                                   "`make run PORT=%d`" % (args.port, args.port + 1)) from None
            raise
        try:
            console.say("local relay: %s (nostr-sdk LocalRelay)" % url)
            sim = S.Sim(state, ["--relay", url, "--prompt-timeout", str(args.prompt_timeout)], heap=args.heap)
            try:
                console.say("simulated device: %s (MicroPython unix port, -X heapsize=%s, state in %s)"
                            % (sim.tty, args.heap, state))
                return await _serve(console, sim, args, loop, control, Courier, serve, url)
            finally:
                sim.stop()
        finally:
            relay.stop()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, L.LinkError) as e:
        print("demo: %s (the device's log: %s)" % (e, os.path.join(args.state, "sim.log"))
              if isinstance(e, L.LinkError) else "demo: %s" % e, file=sys.stderr)
        return 1


async def _first_key(console, sim, args, loop, control, sock):
    lk = L.DeviceLink(sim.tty)
    wait = KeyWait(lk, console)
    early = await control.start(wait, sock, announce_state=sim.state)
    try:
        pub = await loop.run_in_executor(None, ensure_key, lk, console, args.prompt_timeout)
        if wait.busy:     # the device says hello before `done`: let that answer reach its asker
            await asyncio.wait(list(wait.busy), timeout=5)
        return pub
    finally:
        await control.stop(early, sock)
        lk.close()


async def _serve(console, sim, args, loop, control, Courier, serve, url):
    restore = _cbreak(console, loop)
    loop.add_signal_handler(signal.SIGTERM, console.quit.set)
    try:
        sock = control.sock_path(sim.state)
        pub = await _first_key(console, sim, args, loop, control, sock)
        if pub is None:
            return 0
        link = L.AsyncDeviceLink(lambda: L.DeviceLink(sim.tty))
        # the device's list is this relay (and --relay): its flash may remember another
        # port from an earlier run, which nobody runs now; it is proposed (SET RELAYS?)
        courier = Courier(link, out=console.say, qr=True, handshake_timeout=30.0, propose=[url] + args.relay)
        console.courier = courier
        tasks = [asyncio.create_task(console.watch_screen())]
        # `python -m bridge connect|url|status` from another terminal (found without --state)
        ctl = await control.start(courier, sock, announce_state=sim.state)
        try:
            return await serve(link, stop=console.quit, courier=courier)
        finally:
            for t in tasks:
                t.cancel()
            await control.stop(ctl, sock)
            link.close()
    finally:
        console.quit.set()    # Ctrl-C while ensure_key waits in its thread: it stops too
        restore()
