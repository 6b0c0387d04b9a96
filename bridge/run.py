"""`python -m bridge run`: the bridge between Nostr relays and the signer device.

`serve(link, relays)` is the core: the device handshake and the reconnect loop here, the
message routing in courier.py (Courier). What it needs
from the device link (bridge/link.py's AsyncDeviceLink provides exactly this):
  await link.hello()   -> the device's `hello` dict; sends `hello` with `now`, waits for the
                          answer; (re)opens the port if needed; raises while the device is absent
  await link.reopen()  -> optional: called before re-handshaking after the link was lost
  link.send(msg)       -> send one message (plain function or coroutine)
  await link.recv()    -> next device message (dict); raises (or returns None) when the link
                          is lost; safe to cancel
"""
import argparse
import asyncio
import logging
import os
import signal
import sys
import time

from .courier import Courier, LinkLost, check_hello, maybe, short

RELAY_WARN_AFTER = 5.0   # s after the start, relays not connected yet are warned about


async def handshake(c, stop):
    """The device's hello (retrying with backoff while it is absent), or None once stop is set."""
    delay, last = 0.5, None
    while not stop.is_set():
        try:
            reopen = getattr(c.link, "reopen", None)
            if reopen is not None and c.hello is not None:
                await maybe(reopen())
            msg = await asyncio.wait_for(maybe(c.link.hello()), c.handshake_timeout)
            err = check_hello(msg)
            if err is None:
                return msg
        except asyncio.CancelledError:
            raise
        except Exception as e:
            err = "%s: %s" % (type(e).__name__, short(e, 120))
        if err != last:
            c.say("waiting for the device (%s)" % err)
            last = err
        await _sleep_or(stop, delay)
        delay = min(delay * 2, 5.0)
    return None


async def session(c, stop):
    """Forward and receive until the link is lost (LinkLost) or stop is set."""
    parts = [asyncio.create_task(c.forward()), asyncio.create_task(c.receive()),
             asyncio.create_task(stop.wait())]
    try:
        done, _ = await asyncio.wait(parts, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for p in parts:
            p.cancel()
        await asyncio.gather(*parts, return_exceptions=True)
    for p in done:
        if not p.cancelled() and p.exception() is not None:
            raise p.exception()


async def run_courier(c, stop):
    """Handshake, start the pool, then sessions until stop; re-handshake whenever the link is lost."""
    hello = await handshake(c, stop)
    if hello is None:
        return 0
    if not hello.get("pubkey"):
        c.say("the device has no key yet: provision it first")
        return 2
    c.adopt(hello)
    await c.pool.start()
    watch = asyncio.create_task(warn_down_relays(c, getattr(c, "relay_warn_after", RELAY_WARN_AFTER)))
    for uri in c.connect_uris:
        try:
            await c.nostrconnect(uri)
        except Exception as e:
            c.say("could not hand the nostrconnect URI to the device: %s" % short(e, 120))
    try:
        while not stop.is_set():
            try:
                await session(c, stop)
            except LinkLost as e:
                c.say("device link lost (%s); reconnecting" % e)
                for fut in c.waiters.values():
                    fut.cancel()
                c.waiters.clear()
                hello = await handshake(c, stop)
                if hello is None:
                    break
                if not hello.get("pubkey"):
                    c.say("the device has no key any more: stopping")
                    return 2
                c.say("device back")
                c.adopt(hello)
                c.requeue_unanswered()
        return 0
    finally:
        watch.cancel()
        # Let responses the device already produced reach the relays before we go.
        if c.tasks:
            await asyncio.wait(list(c.tasks), timeout=c.publish_timeout + 1)
        await c.pool.close()


async def warn_down_relays(c, wait):
    """Say which relays are still down `wait` s after the start: they are in the bunker URL,
    yet a client that uses only those reaches nobody (the pool keeps retrying them)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline and not all(r["connected"] for r in c.pool.status() if r["member"]):
        await asyncio.sleep(0.1)
    for r in c.pool.status():
        if r["member"] and not r["connected"]:
            where = "it is in the bunker URL" if r["url"] in c.device_relays else "it is listened on"
            c.say("WARNING: relay %s is down (%s); %s, but no request reaches "
                  "the device through it until it is up (retrying)" % (
                      r["url"], short(r.get("last_error") or "no connection yet", 80), where))


async def _sleep_or(stop, delay):
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except asyncio.TimeoutError:
        pass


async def serve(link, relays=(), *, stop=None, out=print, qr=True, publish_timeout=10.0,
                handshake_timeout=10.0, pool_options=None, connect_uris=(), courier=None):
    """Run the bridge until `stop` (an asyncio.Event) is set; returns an exit code.

    relays: extra relay URLs (CLI) on top of the ones the device lists in its hello.
    connect_uris: nostrconnect:// URIs to hand to the device once it is up.
    pool_options: passed to RelayPool (backoff, overlap...). courier: a Courier to use
    (lets tests look inside); otherwise one is made here.
    """
    stop = stop or asyncio.Event()
    c = courier or Courier(link, relays, out=out, qr=qr, publish_timeout=publish_timeout,
                           handshake_timeout=handshake_timeout, pool_options=pool_options,
                           connect_uris=connect_uris)
    return await run_courier(c, stop)


def add_parser(sub):
    p = sub.add_parser("run", help="carry NIP-46 requests between relays and the device",
                       description="Carry NIP-46 requests between relays and the device. Options not "
                                   "given here come from the config file (--config; default %s), "
                                   "then the defaults." % shown_path(default_config_path()))
    p.add_argument("--device", help='"sim", "auto" (find it on USB by VID/PID; the default) or a serial '
                                    'port such as /dev/ttyACM0')
    p.add_argument("--config", metavar="PATH",
                   help="the config file (TOML; default %s, read if it exists)" % shown_path(default_config_path()))
    p.add_argument("--state", help="state directory: the simulator's (with --device sim), and where the control socket goes")
    p.add_argument("--relay", action="append", default=[], metavar="URL",
                   help="a relay for the device's own list (repeatable): proposed to the device, "
                        "used once confirmed on its screen")
    p.add_argument("--connect", action="append", default=[], metavar="NOSTRCONNECT_URI",
                   help="pair with a client's nostrconnect:// URI (approve on the device)")
    p.add_argument("--qr", action=argparse.BooleanOptionalAction, default=None,
                   help="print the bunker URL as a QR code too (default: yes)")
    p.add_argument("--log-file", metavar="PATH",
                   help="also append the console's lines (never plaintext; not the QR drawing) to PATH")
    p.add_argument("--publish-timeout", type=float, help="seconds to wait for relay OKs (default 10)")
    p.add_argument("-v", "--verbose", action="store_true", help="log relay connections")
    p.set_defaults(func=run)


# ---- the config file ------------------------------------------------------------------

# key -> (type(s), what it is); README's "Daily use" lists the same
CONFIG_KEYS = {
    "device": (str, '"auto", a serial port such as "/dev/ttyACM0", or "sim" (as --device)'),
    "relays": (list, "the device's own relays, proposed to it and kept once confirmed on its screen (as --relay)"),
    "log_file": (str, "append the console's lines to this file (as --log-file; ~ is expanded)"),
    "qr": (bool, "print the bunker URL as a QR code too (as --qr / --no-qr)"),
    "publish_timeout": ((int, float), "seconds to wait for relay OKs (as --publish-timeout)"),
}
DEFAULTS = {"device": "auto", "relays": [], "log_file": None, "qr": True, "publish_timeout": 10.0}


def default_config_path():
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "nostr-signer", "bridge.toml")


def shown_path(path):
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if home != "/" and path.startswith(home + os.sep) else path


def load_config(path, required=True):
    """The config file's settings as a dict (only CONFIG_KEYS); {} when it does not exist
    and was not asked for. ValueError naming the file and what is wrong."""
    import tomllib
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        if required:
            raise ValueError("config %s: no such file" % path) from None
        return {}
    except tomllib.TOMLDecodeError as e:
        raise ValueError("config %s: not valid TOML (%s)" % (path, e)) from None
    except OSError as e:
        raise ValueError("config %s: %s" % (path, e.strerror or e)) from None
    for key, value in data.items():
        if key not in CONFIG_KEYS:
            raise ValueError("config %s: unknown key %r (known: %s)" % (path, key, ", ".join(CONFIG_KEYS)))
        want = CONFIG_KEYS[key][0]
        if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
            raise ValueError("config %s: %s must be %s" % (path, key, {
                str: "a string", list: "a list of strings", bool: "true or false"}.get(want, "a number")))
        if key == "relays" and not all(isinstance(u, str) for u in value):
            raise ValueError("config %s: relays must be a list of strings" % path)
    return data


def apply_config(args):
    """Fill what the command line left unset from the config file, then DEFAULTS: a flag
    given on the command line always wins (--relay replaces the file's whole list)."""
    conf = load_config(args.config, required=True) if args.config else \
        load_config(default_config_path(), required=False)
    for key, default in DEFAULTS.items():
        attr = "relay" if key == "relays" else key
        if getattr(args, attr) in (None, []):
            setattr(args, attr, conf.get(key, default))
    if args.log_file:
        args.log_file = os.path.expanduser(args.log_file)
    return args


# ---- where the lines go ----------------------------------------------------------------

_QR_CHARS = frozenset(" \xa0\u2580\u2584\u2588\n")


def _is_qr_drawing(text):
    # qr_text's block: many rows of half blocks only; a log line (time-stamped) never is
    return text.count("\n") >= 10 and set(text) <= _QR_CHARS


class Output:
    """run's console (stdout for its lines, stderr for errors) and, with --log-file, the
    same lines appended to that file (0600), except the QR drawing. The lines are the
    courier's: client, method, kind, outcome, ms, never plaintext nor a key."""

    def __init__(self, log_file=None):
        self.log = None
        if log_file:
            d = os.path.dirname(os.path.abspath(log_file))
            os.makedirs(d, mode=0o700, exist_ok=True)
            fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self.log = os.fdopen(fd, "a", encoding="utf-8", buffering=1)
            from . import __version__
            self._file("%s nostr-signer-bridge %s: run" % (time.strftime("%Y-%m-%d %H:%M:%S %z"), __version__))

    def out(self, line):
        print(line, flush=True)
        self._file(line)

    def err(self, line):
        print(line, file=sys.stderr, flush=True)
        self._file(line)

    def _file(self, line):
        if self.log is None or _is_qr_drawing(line):
            return
        try:
            self.log.write(line.rstrip("\n") + "\n")
        except (OSError, ValueError) as e:
            # a full disk or a removed file must not stop the bridge: say so once on the
            # console, and go on without the file
            self.log = None
            print("log file: %s; logging to the console only" % e, file=sys.stderr, flush=True)

    def close(self):
        if self.log is not None:
            self.log.close()
            self.log = None


def run(args):
    """Serve until Ctrl-C / SIGTERM. SIGUSR1 prints relay health."""
    try:
        apply_config(args)
        output = Output(args.log_file)
    except (ValueError, OSError) as e:
        print("run: %s" % e, file=sys.stderr)
        return 2
    try:
        return _run(args, output)
    finally:
        output.close()


def _run(args, output):
    from . import control
    from .link import AsyncDeviceLink, LinkError, open_link
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    out = output.out
    from .checks import nostrconnect_problem
    for uri in args.connect:
        if nostrconnect_problem(uri):
            output.err("run: --connect: invalid uri: %s" % nostrconnect_problem(uri))
            return 2
    try:
        open_link(args.device, args.state, probe=True)   # a path that is no serial port fails now
        owned = own_sim(args, out) if args.device == "sim" else None
    except (LinkError, RuntimeError) as e:
        output.err("run: %s" % e)
        return 2
    try:
        return _serve_until_stopped(args, out, control, AsyncDeviceLink, open_link)
    except ValueError as e:     # a bad --relay URL
        output.err("run: %s" % e)
        return 2
    finally:
        if owned is not None:
            owned.stop()


def _serve_until_stopped(args, out, control, AsyncDeviceLink, open_link):
    link = AsyncDeviceLink(lambda: open_link(args.device, args.state))
    courier = Courier(link, out=out, qr=args.qr, publish_timeout=args.publish_timeout,
                      handshake_timeout=30.0, connect_uris=args.connect, propose=args.relay)
    courier.hardware = args.device != "sim"

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, lambda: out(courier.status_text()))
        # `connect`, `url` and `status` from another terminal talk to us here (we hold the port)
        sock = control.sock_path(args.state)
        try:
            ctl = await control.start(courier, sock, announce_state=args.state)
        except (OSError, RuntimeError) as e:
            out("run: no control socket (%s); connect/url/status won't reach this bridge" % short(e, 120))
            ctl = None
        try:
            return await serve(link, stop=stop, courier=courier)
        finally:
            if ctl is not None:
                await control.stop(ctl, sock)
            link.close()
    return asyncio.run(main())


def own_sim(args, out):
    """With --device sim: the simulator already running for --state (left running), or one
    started here and stopped when this bridge exits (None in the first case)."""
    from . import sim
    if sim.running_tty(args.state):
        out("using the simulator already running for %s (`python -m bridge sim stop --state %s` "
            "stops it)" % (args.state, args.state))
        return None
    s = sim.Sim(args.state)    # RuntimeError (with the `sim stop` hint) if one is starting
    out("simulated device: %s (state in %s; stopped when this bridge exits)" % (s.tty, s.state))
    return s
