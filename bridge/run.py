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
import asyncio
import logging
import signal
import sys

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
    p = sub.add_parser("run", help="carry NIP-46 requests between relays and the device")
    p.add_argument("--device", required=True, help='"sim", "auto" (find it on USB by VID/PID) or a serial port such as /dev/ttyACM0')
    p.add_argument("--state", help="state directory: the simulator's (with --device sim), and where the control socket goes")
    p.add_argument("--relay", action="append", default=[], metavar="URL",
                   help="a relay for the device's own list (repeatable): proposed to the device, "
                        "used once confirmed on its screen")
    p.add_argument("--connect", action="append", default=[], metavar="NOSTRCONNECT_URI",
                   help="pair with a client's nostrconnect:// URI (approve on the device)")
    p.add_argument("--no-qr", action="store_true", help="print the bunker URL without a QR code")
    p.add_argument("--publish-timeout", type=float, default=10.0, help="seconds to wait for relay OKs")
    p.add_argument("-v", "--verbose", action="store_true", help="log relay connections")
    p.set_defaults(func=run)


def run(args):
    """Serve until Ctrl-C / SIGTERM. SIGUSR1 prints relay health."""
    from . import control
    from .link import AsyncDeviceLink, LinkError, open_link
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    out = lambda line: print(line, flush=True)  # noqa: E731
    from .checks import nostrconnect_problem
    for uri in args.connect:
        if nostrconnect_problem(uri):
            print("run: --connect: invalid uri: %s" % nostrconnect_problem(uri), file=sys.stderr)
            return 2
    try:
        open_link(args.device, args.state, probe=True)   # a path that is no serial port fails now
        owned = own_sim(args, out) if args.device == "sim" else None
    except (LinkError, RuntimeError) as e:
        print("run: %s" % e, file=sys.stderr)
        return 2
    try:
        return _serve_until_stopped(args, out, control, AsyncDeviceLink, open_link)
    except ValueError as e:     # a bad --relay URL
        print("run: %s" % e, file=sys.stderr)
        return 2
    finally:
        if owned is not None:
            owned.stop()


def _serve_until_stopped(args, out, control, AsyncDeviceLink, open_link):
    link = AsyncDeviceLink(lambda: open_link(args.device, args.state))
    courier = Courier(link, out=out, qr=not args.no_qr, publish_timeout=args.publish_timeout,
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
