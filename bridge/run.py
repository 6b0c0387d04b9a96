"""`python -m bridge run`: the bridge between Nostr relays and the signer device.

`serve(link, relays)` is the core (the Courier in courier.py does the work). What it needs
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

from .courier import Courier


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
    return await c.run(stop)


def add_parser(sub):
    p = sub.add_parser("run", help="carry NIP-46 requests between relays and the device")
    p.add_argument("--device", required=True, help='"sim" or a serial port such as /dev/ttyACM0')
    p.add_argument("--state", help="simulator state directory (with --device sim)")
    p.add_argument("--relay", action="append", default=[], metavar="URL",
                   help="another relay on top of the device's own (repeatable)")
    p.add_argument("--connect", action="append", default=[], metavar="NOSTRCONNECT_URI",
                   help="pair with a client's nostrconnect:// URI (approve on the device)")
    p.add_argument("--no-qr", action="store_true", help="print the bunker URL without a QR code")
    p.add_argument("--publish-timeout", type=float, default=10.0, help="seconds to wait for relay OKs")
    p.add_argument("-v", "--verbose", action="store_true", help="log relay connections")
    p.set_defaults(func=run)


def run(args):
    """Serve until Ctrl-C / SIGTERM. SIGUSR1 prints relay health."""
    from .link import AsyncDeviceLink, open_link
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    out = lambda line: print(line, flush=True)  # noqa: E731
    link = AsyncDeviceLink(lambda: open_link(args.device, args.state))
    courier = Courier(link, args.relay, out=out, qr=not args.no_qr, publish_timeout=args.publish_timeout,
                      handshake_timeout=30.0, connect_uris=args.connect)

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, lambda: out(courier.status_text()))
        try:
            return await serve(link, stop=stop, courier=courier)
        finally:
            link.close()
    try:
        return asyncio.run(main())
    except ValueError as e:     # a bad --relay URL
        print("run: %s" % e, file=sys.stderr)
        return 2
