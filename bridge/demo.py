"""`python -m bridge demo` (what `make run` runs with no hardware): a working signer on
this machine. It starts a real relay (nostr-sdk's LocalRelay) on ws://127.0.0.1:7777, the
firmware on the MicroPython unix port as a simulated device, and the bridge between them;
it draws the device's screen in the terminal whenever it changes and turns keys into the
device's buttons (through the simulator's control channel, never the serial link).

The first time, the simulated device has no key: the demo offers it a fresh random key
to import, which the device shows and asks you to confirm, as for any import. (Creating
the key on the device itself, with a mnemonic, is the keystore's job.)
"""
import asyncio
import os
import sys
import termios
import time
import tty

from . import link as L
from . import sim as S
from .localrelay import LocalRelayServer

KEYS = {"a": "approve", "r": "reject", "l": "long-approve", "k": "up", "j": "down",
        "\x1b[A": "up", "\x1b[B": "down"}
HELP = "keys: [a] approve  [r] reject  [l] always allow (long press)  [k]/[j] scroll  [q] quit"


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

    def say(self, line):
        self.out.write(line.rstrip("\n") + "\n")
        self.out.flush()

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


def ensure_key(tty_path, console, timeout=300):
    """Provision a fresh random key if the device has none (confirmed on the device)."""
    lk = L.DeviceLink(tty_path)
    try:
        hello = lk.hello(timeout=30)
        if hello.get("pubkey"):
            return hello["pubkey"]
        console.say("The simulated device has no key yet: offering it a fresh random one.")
        console.say("Confirm the import on the device: press [a] (or [r] to refuse).")
        rid = lk.request({"t": "provision", "key": os.urandom(32).hex()})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            console.draw_if_changed()
            done = lk.answer(rid, 0.1) if hasattr(lk, "answer") else None
            if done:
                if done.get("outcome") != "ok":
                    raise RuntimeError("the device did not import the key: %s" % done.get("outcome"))
                return done["pubkey"]
        raise RuntimeError("no answer on the device")
    finally:
        lk.close()


def add_parser(sub):
    p = sub.add_parser("demo", help="local relay + simulated device + bridge, screen in the terminal")
    p.add_argument("--state", default="state/demo", help="simulator state directory (kept between runs)")
    p.add_argument("--port", type=int, default=7777, help="port of the local relay")
    p.add_argument("--relay", action="append", default=[], metavar="URL", help="another relay (repeatable)")
    p.add_argument("--heap", default=S.HEAP, help="the simulated device's heap (default %s)" % S.HEAP)
    p.set_defaults(func=run)


def run(args):
    from . import control
    from .courier import Courier
    from .run import serve

    state = os.path.abspath(args.state)
    os.makedirs(state, exist_ok=True)
    console = Console(state)

    async def main():
        loop = asyncio.get_running_loop()
        relay = LocalRelayServer(port=args.port)
        url = await relay.start()
        console.say("local relay: %s (nostr-sdk LocalRelay)" % url)
        sim = S.Sim(state, ["--relay", url], heap=args.heap)
        console.say("simulated device: %s (MicroPython unix port, -X heapsize=%s, state in %s)"
                    % (sim.tty, args.heap, state))
        restore = _cbreak(console, loop)
        try:
            await loop.run_in_executor(None, ensure_key, sim.tty, console)
            link = L.AsyncDeviceLink(lambda: L.DeviceLink(sim.tty))
            courier = Courier(link, args.relay, out=console.say, qr=True, handshake_timeout=30.0)
            stop = console.quit
            tasks = [asyncio.create_task(console.watch_screen())]
            # `python -m bridge connect|url|status --state STATE` from another terminal
            sock = control.sock_path(state)
            ctl = await control.start(courier, sock)
            try:
                return await serve(link, stop=stop, courier=courier)
            finally:
                for t in tasks:
                    t.cancel()
                await control.stop(ctl, sock)
                link.close()
        finally:
            restore()
            sim.stop()
            relay.stop()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except RuntimeError as e:
        print("demo: %s" % e, file=sys.stderr)
        return 1
