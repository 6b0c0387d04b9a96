"""A real Nostr relay in this process: nostr-sdk's LocalRelay on a loopback port.

For tests and `make run` (no internet relay needed). nostr-sdk runs the server on its own
Rust runtime: `run()` returns at once and the relay keeps serving until `shutdown()` (which
also drops every open connection, so tests can "restart" a relay on the same port).

Its default rate limit (about 60 events a minute per connection, FIELD-NOTES.md) silently
throttles a burst of NIP-46 requests, so we always raise it.
"""
import argparse
import asyncio
import threading
import time

from nostr_sdk import (LocalRelayBuilder, LocalRelayBuilderNip42, LocalRelayBuilderNip42Mode,
                       RateLimit)

DEFAULT_PORT = 7777
RATE = dict(max_reqs=1000, notes_per_minute=100_000)
AUTH_MODES = {
    "read": LocalRelayBuilderNip42Mode.READ,
    "write": LocalRelayBuilderNip42Mode.WRITE,
    "both": LocalRelayBuilderNip42Mode.BOTH,
}


class LocalRelayServer:
    """One LocalRelay. port=None picks a free port (kept across restart()).

    auth: None, "read", "write" or "both": which operations need NIP-42 AUTH.
    """

    def __init__(self, port=None, host="127.0.0.1", auth=None):
        if auth is not None and auth not in AUTH_MODES:
            raise ValueError("auth must be one of %s" % ", ".join(AUTH_MODES))
        self.host = host
        self.port = port
        self.auth = auth
        self.relay = None

    @property
    def url(self):
        return "ws://%s:%d" % (self.host, self.port)

    def _build(self):
        b = LocalRelayBuilder().addr(self.host).rate_limit(RateLimit(**RATE))
        if self.port:
            b = b.port(self.port)
        if self.auth:
            b = b.nip42(LocalRelayBuilderNip42(mode=AUTH_MODES[self.auth]))
        return b.build()

    async def start(self):
        """Start serving; returns the ws:// URL."""
        if self.relay is not None:
            return self.url
        relay = self._build()
        await relay.run()
        if not self.port:
            # With no port given nostr-sdk picks a free one; its url() says which.
            self.port = int(str(await relay.url()).rstrip("/").rsplit(":", 1)[1])
        self.relay = relay
        return self.url

    def stop(self):
        """Stop serving and drop every connection (what a relay restart looks like to clients)."""
        if self.relay is not None:
            self.relay.shutdown()
            self.relay = None

    async def restart(self, down_for=0.0):
        self.stop()
        await asyncio.sleep(down_for)
        # The port can take a moment to be free again after shutdown.
        for _ in range(50):
            try:
                return await self.start()
            except Exception:
                self.relay = None
                await asyncio.sleep(0.1)
        return await self.start()

    def start_sync(self):
        """start() from plain (non-async) code, even inside a running event loop's thread."""
        box = {}

        def go():
            try:
                box["url"] = asyncio.run(self.start())
            except BaseException as e:   # re-raised in the caller's thread
                box["err"] = e
        t = threading.Thread(target=go, name="localrelay-start")
        t.start()
        t.join(30)
        if "err" in box:
            raise box["err"]
        return box["url"]

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc):
        self.stop()


def add_arguments(parser):
    """Options of the `relay` subcommand (for bridge/__main__.py)."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (default %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--auth", choices=sorted(AUTH_MODES), default=None,
                        help="require NIP-42 AUTH for read, write or both")


def add_parser(sub):
    """The `relay` subcommand of `python -m bridge`."""
    p = sub.add_parser("relay", help="run a local Nostr relay (nostr-sdk) for tests and demos")
    add_arguments(p)
    p.set_defaults(func=main_relay)


def main_relay(args):
    """`python -m bridge relay --port 7777`: run a local relay until Ctrl-C."""
    server = LocalRelayServer(port=args.port, host=args.host, auth=getattr(args, "auth", None))
    url = server.start_sync()
    print("local relay listening on %s (Ctrl-C to stop)" % url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m bridge.localrelay", description=main_relay.__doc__)
    add_arguments(p)
    raise SystemExit(main_relay(p.parse_args()))
