"""Relay pool: many Nostr relays over websockets, one NIP-46 subscription, publishing with OKs.

The bridge is an untrusted courier (shared/DESIGN.md, "the trust line"). This module never
signs, decrypts or judges an event: it keeps relay connections alive, hands every kind-24133
event addressed to the signer to its caller once (several relays usually carry the same
event) in arrival order, and publishes what the device hands back, reporting which relays
accepted it. NIP-42 AUTH events are signed by a callback the caller supplies (in the
product: the device), never here. One relay's protocol handling is in relayconn.py.
"""
import asyncio
import logging
import secrets
import time
from collections import OrderedDict

from .relayconn import NIP46_KIND, Pending, RelayConn

log = logging.getLogger("bridge.relays")

OVERLAP = 60            # s asked for again on every (re)subscribe: clock skew, events in flight
MAX_HISTORY = 600       # s: never ask for more; the device drops requests that old anyway
SEEN_MAX = 4096         # event ids remembered for de-duplication across relays
__all__ = ["RelayPool", "format_status", "normalize_url", "NIP46_KIND"]


def normalize_url(url):
    """Canonical form used as the pool's key, so "wss://R.example/" and "wss://r.example" are one."""
    u = str(url).strip()
    scheme, sep, rest = u.partition("://")
    if not sep or scheme.lower() not in ("ws", "wss") or not rest:
        raise ValueError("not a websocket relay URL: %r" % u[:100])
    host, slash, path = rest.partition("/")
    if not host:
        raise ValueError("relay URL without a host: %r" % u[:100])
    return scheme.lower() + "://" + host.lower() + (slash + path if path else "")


class RelayPool:
    """Connect to relays, subscribe to NIP-46 requests for `pubkey`, publish responses.

    on_event(event, relay_url) is called synchronously, in arrival order, once per event id;
    without it events go to `self.queue` as (event, relay_url).
    auth_signer(relay_url, challenge) -> signed kind-22242 event dict (or None to decline) is
    awaited when a relay requires NIP-42 AUTH (or on every challenge with auth_eager=True).
    Lazy by default because each AUTH costs a device signature and maybe an approval.
    """

    def __init__(self, urls=(), on_event=None, *, pubkey=None, auth_signer=None, auth_eager=False,
                 overlap=OVERLAP, max_history=MAX_HISTORY, seen_max=SEEN_MAX,
                 backoff_min=0.5, backoff_max=30.0, open_timeout=10.0, idle_close=300.0,
                 clock=time.time, on_live=None):
        self.on_event = on_event
        self.on_live = on_live  # on_live(url): a relay's subscription is live (its EOSE came)
        self.queue = asyncio.Queue(maxsize=1000)
        self.pubkey = pubkey
        self.auth_signer = auth_signer
        self.auth_eager = auth_eager
        self.overlap = overlap
        self.max_history = max_history
        self.seen_max = seen_max
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.open_timeout = open_timeout
        self.idle_close = idle_close
        self.clock = clock
        self.sub_id = "nip46-" + secrets.token_hex(4)
        self.started_at = clock()
        self.closed = False
        self._seen = OrderedDict()
        self._relays = {}
        self._started = False
        for u in urls:
            self.add_relay(u)

    # ---- membership -------------------------------------------------------------------

    @property
    def urls(self):
        return [r.url for r in self._relays.values() if r.subscribe]

    def add_relay(self, url, subscribe=True):
        """Add a relay (idempotent); returns its RelayConn. subscribe=False: publish-only,
        forgotten again when idle."""
        url = normalize_url(url)
        r = self._relays.get(url)
        if r is None:
            r = self._relays[url] = RelayConn(self, url, subscribe)
            if self._started:
                r.start()
        elif subscribe and not r.subscribe:
            r.subscribe = True
            if r.connected and self.pubkey:
                asyncio.create_task(r.req())
        return r

    async def remove_relay(self, url):
        r = self._relays.pop(normalize_url(url), None)
        if r is not None:
            await r.stop()

    def forget(self, r):
        """An idle on-demand relay's task ended: drop it from the pool."""
        if not self.closed and self._relays.get(r.url) is r:
            del self._relays[r.url]

    def set_pubkey(self, pubkey):
        """Subscribe for another signer key (a different device); replaces the REQ everywhere."""
        if pubkey == self.pubkey:
            return
        self.pubkey = pubkey
        self.started_at = self.clock()
        for r in self._relays.values():
            r.last_seen = None
            if r.connected and r.subscribe and pubkey:
                asyncio.create_task(r.req())

    async def start(self):
        self._started = True
        for r in self._relays.values():
            r.start()

    async def close(self):
        self.closed = True
        for r in list(self._relays.values()):
            await r.stop()

    # ---- what the connections ask of the pool -----------------------------------------

    def since(self, r):
        """`since` for a (re)subscription on r: where it left off, minus the overlap, capped."""
        now = self.clock()
        base = r.last_seen if r.last_seen is not None else self.started_at
        return int(max(min(base, now) - self.overlap, now - self.max_history))

    def live(self, r):
        if self.on_live is not None and r.subscribe:
            try:
                self.on_live(r.url)
            except Exception:
                log.exception("on_live failed")

    def live_urls(self):
        """Relays whose NIP-46 subscription is up (EOSE received)."""
        return [r.url for r in self._relays.values() if r.subscribe and r.connected and r.eose]

    def deliver(self, ev, url):
        """Hand a new event to the caller; False if this id was seen already (from any relay)."""
        eid = ev["id"]
        if eid in self._seen:
            self._seen.move_to_end(eid)
            return False
        self._seen[eid] = True
        if len(self._seen) > self.seen_max:
            self._seen.popitem(last=False)
        if self.on_event is None:
            try:
                self.queue.put_nowait((ev, url))
            except asyncio.QueueFull:
                log.warning("event queue full: dropped %s", eid[:16])
            return True
        try:
            self.on_event(ev, url)
        except Exception:
            log.exception("on_event failed")
        return True

    # ---- publishing -------------------------------------------------------------------

    async def publish(self, event, relays=(), timeout=10.0):
        """Send `event` to every pool member plus `relays` (connected on demand, publish-only).

        Waits up to `timeout` for each relay's OK (a relay still connecting gets the event when
        it comes up); returns {url: (accepted, message)}. Never raises for relay trouble.
        """
        eid = event.get("id") if isinstance(event, dict) else None
        if not isinstance(eid, str):
            raise ValueError("event without an id")
        targets = [r for r in self._relays.values() if r.subscribe]
        for u in relays or ():
            try:
                r = self.add_relay(u, subscribe=False)
            except ValueError as e:
                log.warning("publish: skipping relay: %s", e)
                continue
            if r not in targets:
                targets.append(r)
        futs = {}
        loop = asyncio.get_running_loop()
        for r in targets:
            r.last_used = time.monotonic()
            p = r.pending.get(eid)
            if p is None:
                p = r.pending[eid] = Pending(event, loop.create_future())
                if r.connected:
                    await r.send_event(p)
            futs[r] = p.future
        if futs:
            await asyncio.wait(list(futs.values()), timeout=timeout)
        out = {}
        for r, f in futs.items():
            if f.done():
                out[r.url] = f.result()
                continue
            r.timeouts += 1
            r.pending.pop(eid, None)
            f.cancel()
            out[r.url] = (False, "timeout" if r.connected else "not connected: %s" % (r.last_error or "connecting"))
        return out

    # ---- health -----------------------------------------------------------------------

    def status(self):
        """Per relay: connection and counters, for the `status` command and tests."""
        return [r.status() for r in self._relays.values()]


def format_status(rows):
    """One line per relay for humans."""
    lines = []
    for s in rows:
        state = "up" if s["connected"] else "down"
        if s["connected"] and s["member"]:
            state += ", subscribed" if s["subscribed"] else ", not subscribed"
        if s["authed"]:
            state += ", authed"
        line = "%-40s %-26s in %d (dup %d) out %d rejected %d" % (
            s["url"], state, s["events_in"], s["dups"], s["events_out"], s["rejected"])
        if s["last_error"]:
            line += "  last error: " + s["last_error"]
        lines.append(line)
    return "\n".join(lines)
