"""Relay pool: many Nostr relays over websockets, one NIP-46 subscription, publishing with OKs.

The bridge is an untrusted courier (shared/DESIGN.md, "the trust line"). This module never
signs, decrypts or judges an event: it keeps relay connections alive, hands every kind-24133
event addressed to the signer to its caller once (several relays usually carry the same
event) in arrival order, and publishes what the device hands back, reporting which relays
accepted it. NIP-42 AUTH events are signed by a callback the caller supplies (in the
product: the device), never here.
"""
import asyncio
import json
import logging
import random
import secrets
import time
from collections import OrderedDict

import websockets

log = logging.getLogger("bridge.relays")

NIP46_KIND = 24133
OVERLAP = 60            # s asked for again on every (re)subscribe: clock skew, events in flight
MAX_HISTORY = 600       # s: never ask for more; the device drops requests that old anyway
SEEN_MAX = 4096         # event ids remembered for de-duplication across relays
RATE_RETRIES = 4        # resends of one event after "rate-limited:" before giving up
MAX_MESSAGE = 1 << 20   # bytes per websocket message we accept from a relay
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


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


def _clean(text, n=200):
    # Relay-supplied text goes into our logs: keep it short and on one line.
    s = "".join(c if c.isprintable() else "?" for c in str(text))
    return s if len(s) <= n else s[:n] + "..."


def _describe(exc):
    s = str(exc)
    return type(exc).__name__ + (": " + _clean(s, 120) if s else "")


class _Pending:
    """One event waiting for one relay's OK."""

    def __init__(self, event, future):
        self.event = event
        self.future = future
        self.tries = 0            # resends after rate-limited
        self.needs_auth = False   # held back until AUTH succeeds
        self.auth_tried = False   # AUTH is tried once per event, not in a loop


class _Relay:
    """State and counters of one relay connection (counters feed `status`)."""

    def __init__(self, url, subscribe):
        self.url = url
        self.subscribe = subscribe      # member of the pool (REQ + every publish) or on-demand extra
        self.task = None
        self.ws = None
        self.connected = False
        self.sub_open = False           # REQ sent and not CLOSED
        self.eose = False
        self.sub_backoff = 0
        self.sub_retry = None
        self.challenge = None
        self.authed = False
        self.auth_wanted = False
        self.auth_task = None
        self.auth_id = None
        self.pending = {}               # event id -> _Pending
        self.last_seen = None           # newest created_at seen here (clipped to now), for `since`
        self.last_error = None
        self.last_notice = None
        self.events_in = self.dups = self.junk = 0
        self.published = self.rejected = self.timeouts = self.connects = 0
        self.last_used = time.monotonic()


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
                 clock=time.time):
        self.on_event = on_event
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
        self._seen = OrderedDict()
        self._relays = {}
        self._started = False
        self._closed = False
        for u in urls:
            self.add_relay(u)

    # ---- membership -------------------------------------------------------------------

    @property
    def urls(self):
        return [r.url for r in self._relays.values() if r.subscribe]

    def add_relay(self, url, subscribe=True):
        """Add a relay (idempotent). subscribe=False: publish-only, closed again when idle."""
        url = normalize_url(url)
        r = self._relays.get(url)
        if r is None:
            r = self._relays[url] = _Relay(url, subscribe)
            if self._started:
                r.task = asyncio.create_task(self._run(r))
        elif subscribe and not r.subscribe:
            r.subscribe = True
            if r.connected and self.pubkey:
                asyncio.create_task(self._req(r))
        return r

    async def remove_relay(self, url):
        r = self._relays.pop(normalize_url(url), None)
        if r is not None:
            await self._stop_relay(r)

    def set_pubkey(self, pubkey):
        """Subscribe for another signer key (a different device); replaces the REQ everywhere."""
        if pubkey == self.pubkey:
            return
        self.pubkey = pubkey
        self.started_at = self.clock()
        for r in self._relays.values():
            r.last_seen = None
            if r.connected and r.subscribe and pubkey:
                asyncio.create_task(self._req(r))

    async def start(self):
        self._started = True
        for r in self._relays.values():
            if r.task is None:
                r.task = asyncio.create_task(self._run(r))

    async def close(self):
        self._closed = True
        for r in list(self._relays.values()):
            await self._stop_relay(r)

    async def _stop_relay(self, r):
        for t in (r.task, r.auth_task, r.sub_retry):
            if t is not None and not t.done():
                t.cancel()
        if r.ws is not None:
            try:
                await asyncio.wait_for(r.ws.close(), 2)
            except Exception:
                pass
        if r.task is not None:
            await asyncio.gather(r.task, return_exceptions=True)
        for p in r.pending.values():
            if not p.future.done():
                p.future.set_result((False, "relay removed"))
        r.pending.clear()

    # ---- connection loop --------------------------------------------------------------

    async def _run(self, r):
        attempt = 0
        while not self._closed:
            if not r.subscribe and not r.pending and time.monotonic() - r.last_used > self.idle_close:
                break   # an on-demand relay nobody has published to for a while: forget it
            up_since = None
            try:
                host = r.url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
                # A proxy from the environment can't reach our own loopback relay.
                kw = {"proxy": None} if host in LOOPBACK else {}
                async with websockets.connect(r.url, open_timeout=self.open_timeout, close_timeout=2,
                                              max_size=MAX_MESSAGE, **kw) as ws:
                    up_since = time.monotonic()
                    self._on_connect(r, ws)
                    if r.subscribe and self.pubkey:
                        await self._req(r)
                    for p in list(r.pending.values()):
                        await self._send_event(r, p)
                    await self._read(r, ws)
            except asyncio.CancelledError:
                raise
            except Exception as e:   # refused, reset, TLS, bad handshake, timeout: all mean "retry"
                r.last_error = _describe(e)
            finally:
                if r.connected and r.eose:
                    # The subscription was live until now: resume from here (minus overlap).
                    r.last_seen = max(r.last_seen or 0, int(self.clock()))
                r.connected = False
                r.ws = None
                r.sub_open = False
                if r.sub_retry is not None:
                    r.sub_retry.cancel()
            if self._closed:
                break
            if up_since is not None and time.monotonic() - up_since > 30:
                attempt = 0
            delay = min(self.backoff_max, self.backoff_min * (2 ** attempt))
            attempt += 1
            delay = random.uniform(delay / 2, delay)   # jitter: don't reconnect in lock-step
            log.info("relay %s: %s; reconnecting in %.1f s", r.url, r.last_error, delay)
            await asyncio.sleep(delay)
        r.connected = False
        if not self._closed and self._relays.get(r.url) is r:
            del self._relays[r.url]

    def _on_connect(self, r, ws):
        r.ws = ws
        r.connected = True
        r.connects += 1
        r.challenge = None      # a challenge is valid for one connection only (NIP-42)
        r.authed = False
        r.auth_wanted = False
        r.auth_id = None
        r.eose = False
        r.sub_backoff = 0
        for p in r.pending.values():
            p.needs_auth = False
        log.info("relay %s: connected", r.url)

    async def _read(self, r, ws):
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), 30)
            except asyncio.TimeoutError:
                if not r.subscribe and not r.pending and time.monotonic() - r.last_used > self.idle_close:
                    r.last_error = "idle"
                    return
                continue
            except websockets.ConnectionClosed as e:
                r.last_error = "closed: " + _describe(e)
                return
            await self._handle(r, raw)

    # ---- relay messages ---------------------------------------------------------------

    async def _handle(self, r, raw):
        try:
            msg = json.loads(raw)
        except ValueError:
            r.junk += 1
            return
        if not isinstance(msg, list) or len(msg) < 2 or not isinstance(msg[0], str):
            r.junk += 1
            return
        t = msg[0]
        if t == "EVENT" and len(msg) >= 3:
            self._on_event(r, msg[1], msg[2])
        elif t == "OK" and len(msg) >= 3:
            await self._on_ok(r, msg[1], msg[2] is True, str(msg[3]) if len(msg) > 3 else "")
        elif t == "EOSE":
            if msg[1] == self.sub_id:
                r.eose = True
                r.sub_backoff = 0
        elif t == "CLOSED":
            self._on_closed(r, msg[1], str(msg[2]) if len(msg) > 2 else "")
        elif t == "NOTICE":
            r.last_notice = _clean(msg[1])
            log.info("relay %s: NOTICE %s", r.url, r.last_notice)
        elif t == "AUTH" and isinstance(msg[1], str):
            r.challenge = msg[1]
            if self.auth_eager or r.auth_wanted:
                self._start_auth(r)

    def _on_event(self, r, sub_id, ev):
        if sub_id != self.sub_id or not isinstance(ev, dict):
            return
        eid = ev.get("id")
        tags = ev.get("tags")
        # Cheap shape checks only save the device work; the device verifies everything itself.
        if (not isinstance(eid, str) or len(eid) != 64 or ev.get("kind") != NIP46_KIND
                or not isinstance(tags, list)
                or not any(isinstance(t, list) and t[:2] == ["p", self.pubkey] for t in tags)):
            r.junk += 1
            return
        r.events_in += 1
        ca = ev.get("created_at")
        if isinstance(ca, int):
            # clipped to now: a client with a clock in the future must not push `since` ahead
            r.last_seen = max(r.last_seen or 0, min(ca, int(self.clock())))
        if eid in self._seen:
            self._seen.move_to_end(eid)
            r.dups += 1
            return
        self._seen[eid] = True
        if len(self._seen) > self.seen_max:
            self._seen.popitem(last=False)
        if self.on_event is None:
            try:
                self.queue.put_nowait((ev, r.url))
            except asyncio.QueueFull:
                log.warning("event queue full: dropped %s", eid[:16])
            return
        try:
            self.on_event(ev, r.url)
        except Exception:
            log.exception("on_event failed")

    async def _on_ok(self, r, eid, ok, reason):
        if eid is not None and eid == r.auth_id:
            r.auth_id = None
            if ok:
                r.authed = True
                r.auth_wanted = False
                log.info("relay %s: authenticated", r.url)
                if r.subscribe and self.pubkey and not r.sub_open:
                    await self._req(r)
                for p in list(r.pending.values()):
                    if p.needs_auth:
                        p.needs_auth = False
                        await self._send_event(r, p)
            else:
                r.last_error = "AUTH refused: " + _clean(reason)
                for p in list(r.pending.values()):
                    if p.needs_auth:
                        self._resolve(r, p, False, "auth-required: AUTH refused")
            return
        p = r.pending.get(eid)
        if p is None:
            return
        if ok or reason.startswith("duplicate:"):
            r.published += 1
            self._resolve(r, p, True, reason)
        elif reason.startswith("rate-limited:") and p.tries < RATE_RETRIES:
            p.tries += 1
            delay = random.uniform(0.5, 1.0) * min(self.backoff_max, self.backoff_min * 2 ** p.tries)
            asyncio.create_task(self._resend_later(r, p, delay))
        elif reason.startswith("auth-required:") and self.auth_signer and not p.auth_tried:
            p.auth_tried = True
            p.needs_auth = True
            r.auth_wanted = True
            self._start_auth(r)
        else:
            r.rejected += 1
            self._resolve(r, p, False, _clean(reason))

    def _on_closed(self, r, sub_id, reason):
        if sub_id != self.sub_id:
            return
        r.sub_open = False
        r.last_error = "subscription closed: " + _clean(reason)
        log.info("relay %s: CLOSED %s", r.url, _clean(reason))
        if reason.startswith("auth-required:") and self.auth_signer and not r.authed:
            r.auth_wanted = True    # REQ again once AUTH is accepted (see _on_ok)
            self._start_auth(r)
            return
        # Anything else (rate-limited:, error:, restricted:, no signer): try again later.
        r.sub_backoff += 1
        delay = min(self.backoff_max, self.backoff_min * 2 ** r.sub_backoff)
        if reason.startswith(("auth-required:", "restricted:")):
            delay = self.backoff_max
        if r.sub_retry is not None:
            r.sub_retry.cancel()
        r.sub_retry = asyncio.create_task(self._req_later(r, random.uniform(delay / 2, delay)))

    def _resolve(self, r, p, ok, reason):
        r.pending.pop(p.event.get("id"), None)
        if not p.future.done():
            p.future.set_result((ok, reason))

    # ---- sending ----------------------------------------------------------------------

    async def _send(self, r, msg):
        ws = r.ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(msg, separators=(",", ":"), ensure_ascii=False))
            return True
        except websockets.ConnectionClosed:
            return False   # the read loop notices and reconnects

    async def _req(self, r):
        if r.ws is None or not self.pubkey:
            return
        now = self.clock()
        base = r.last_seen if r.last_seen is not None else self.started_at
        since = int(max(min(base, now) - self.overlap, now - self.max_history))
        flt = {"kinds": [NIP46_KIND], "#p": [self.pubkey], "since": since}
        if await self._send(r, ["REQ", self.sub_id, flt]):
            r.sub_open = True
            r.eose = False

    async def _req_later(self, r, delay):
        await asyncio.sleep(delay)
        if r.connected and not r.sub_open:
            await self._req(r)

    async def _send_event(self, r, p):
        r.last_used = time.monotonic()
        if not p.needs_auth:
            await self._send(r, ["EVENT", p.event])

    async def _resend_later(self, r, p, delay):
        await asyncio.sleep(delay)
        if r.pending.get(p.event.get("id")) is p:
            await self._send_event(r, p)   # if disconnected, the reconnect resends it

    def _start_auth(self, r):
        if self.auth_signer is None or not r.challenge:
            return      # without a challenge yet: the AUTH message will start it
        if r.auth_task is not None and not r.auth_task.done():
            return
        r.auth_task = asyncio.create_task(self._auth(r))

    async def _auth(self, r):
        while True:
            ws, challenge = r.ws, r.challenge
            try:
                ev = await self.auth_signer(r.url, challenge)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                r.last_error = "auth signer failed: " + _describe(e)
                return
            if r.ws is ws and r.challenge == challenge:
                break
            # reconnected or re-challenged while the signer worked: that signature is useless
            if r.ws is None or not r.challenge:
                return
        if not isinstance(ev, dict) or not isinstance(ev.get("id"), str):
            r.last_error = "auth declined"
            for p in list(r.pending.values()):
                if p.needs_auth:
                    self._resolve(r, p, False, "auth-required: declined")
            return
        r.auth_id = ev["id"]
        await self._send(r, ["AUTH", ev])

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
                p = r.pending[eid] = _Pending(event, loop.create_future())
                if r.connected:
                    await self._send_event(r, p)
            futs[r] = p.future
        if futs:
            await asyncio.wait(list(futs.values()), timeout=timeout)
        out = {}
        for r, f in futs.items():
            if f.done():
                out[r.url] = f.result()
            else:
                r.timeouts += 1
                p = r.pending.pop(eid, None)
                if p is not None and not f.done():
                    f.cancel()
                out[r.url] = (False, "timeout" if r.connected else "not connected: %s" % (r.last_error or "connecting"))
        return out

    # ---- health -----------------------------------------------------------------------

    def status(self):
        """Per relay: connection and counters, for the `status` command and tests."""
        return [{
            "url": r.url, "member": r.subscribe, "connected": r.connected,
            "subscribed": r.sub_open, "eose": r.eose, "authed": r.authed,
            "events_in": r.events_in, "events_out": r.published, "dups": r.dups,
            "rejected": r.rejected, "timeouts": r.timeouts, "junk": r.junk,
            "connects": r.connects, "pending": len(r.pending),
            "last_error": r.last_error, "last_notice": r.last_notice,
        } for r in self._relays.values()]


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
