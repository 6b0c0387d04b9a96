"""One relay connection of the pool (bridge/relays.py): NIP-01 and NIP-42 on one websocket.

Keeps itself connected (exponential backoff with jitter), sends the pool's REQ on every
connect, resends events still waiting for an OK, and deals with what relays say: EVENT, EOSE,
OK (true, false, "duplicate:", "rate-limited:", "auth-required:"), CLOSED, NOTICE and AUTH.
Never signs anything: NIP-42 AUTH events come from the pool's auth_signer callback.
"""
import asyncio
import socket
import json
import logging
import random
import time

import websockets

log = logging.getLogger("bridge.relays")

NIP46_KIND = 24133
RATE_RETRIES = 4        # resends of one event after "rate-limited:" before giving up
MAX_MESSAGE = 1 << 20   # bytes per websocket message we accept from a relay
STABLE = 30             # s connected before the reconnect backoff starts from the bottom again
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def clean(text, n=200):
    """Relay-supplied text goes into our logs: keep it short and on one line."""
    s = "".join(c if c.isprintable() else "?" for c in str(text))
    return s if len(s) <= n else s[:n] + "..."


def describe(exc):
    s = str(exc)
    return type(exc).__name__ + (": " + clean(s, 120) if s else "")



def quickack(ws):
    """ACK what the relay sent at once instead of up to 40 ms later (Linux delayed ACK).
    A relay that writes without TCP_NODELAY (nostr-sdk's LocalRelay) holds its next small
    write, the next request, until the previous one is ACKed (Nagle): measured 40 ms on
    every request over loopback. TCP_QUICKACK is not sticky, so it is set after each read."""
    if _QUICKACK is None:
        return
    try:
        sock = ws.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
    except (AttributeError, OSError):
        pass


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)

class Pending:
    """One event waiting for one relay's OK."""

    def __init__(self, event, future):
        self.event = event
        self.future = future
        self.tries = 0            # resends after rate-limited
        self.needs_auth = False   # held back until AUTH succeeds
        self.auth_tried = False   # AUTH is tried once per event, not in a loop


class RelayConn:
    """State, counters (for `status`) and the connection task of one relay."""

    def __init__(self, pool, url, subscribe):
        self.pool = pool
        self.url = url
        self.subscribe = subscribe      # pool member (REQ + every publish) or on-demand extra
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
        self.pending = {}               # event id -> Pending
        self.last_seen = None           # newest created_at seen here (clipped to now), for `since`
        self.last_error = None
        self.last_notice = None
        self.events_in = self.dups = self.junk = 0
        self.published = self.rejected = self.timeouts = self.connects = 0
        self.last_used = time.monotonic()

    def idle(self):
        return (not self.subscribe and not self.pending
                and time.monotonic() - self.last_used > self.pool.idle_close)

    def start(self):
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run())

    async def stop(self):
        for t in (self.task, self.auth_task, self.sub_retry):
            if t is not None and not t.done():
                t.cancel()
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 2)
            except Exception:
                pass
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        for p in self.pending.values():
            if not p.future.done():
                p.future.set_result((False, "relay removed"))
        self.pending.clear()

    # ---- connection loop --------------------------------------------------------------

    async def run(self):
        pool = self.pool
        attempt = 0
        while not pool.closed:
            if self.idle():
                break   # an on-demand relay nobody has published to for a while: forget it
            up_since = None
            try:
                host = self.url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
                # A proxy from the environment can't reach our own loopback relay.
                kw = {"proxy": None} if host in LOOPBACK else {}
                async with websockets.connect(self.url, open_timeout=pool.open_timeout, close_timeout=2,
                                              max_size=MAX_MESSAGE, **kw) as ws:
                    up_since = time.monotonic()
                    self.on_connect(ws)
                    if self.subscribe and pool.pubkey:
                        await self.req()
                    for p in list(self.pending.values()):
                        await self.send_event(p)
                    await self.read(ws)
            except asyncio.CancelledError:
                raise
            except Exception as e:   # refused, reset, TLS, bad handshake, timeout: all mean "retry"
                self.last_error = describe(e)
            finally:
                if self.connected and self.eose:
                    # The subscription was live until now: resume from here (minus overlap).
                    self.last_seen = max(self.last_seen or 0, int(pool.clock()))
                self.connected = False
                self.ws = None
                self.sub_open = False
                if self.sub_retry is not None:
                    self.sub_retry.cancel()
            if pool.closed:
                break
            if up_since is not None and time.monotonic() - up_since > STABLE:
                attempt = 0
            delay = min(pool.backoff_max, pool.backoff_min * (2 ** attempt))
            attempt += 1
            delay = random.uniform(delay / 2, delay)   # jitter: don't reconnect in lock-step
            log.info("relay %s: %s; reconnecting in %.1f s", self.url, self.last_error, delay)
            await asyncio.sleep(delay)
        self.connected = False
        pool.forget(self)

    def on_connect(self, ws):
        self.ws = ws
        self.connected = True
        self.connects += 1
        self.challenge = None      # a challenge is valid for one connection only (NIP-42)
        self.authed = False
        self.auth_wanted = False
        self.auth_id = None
        self.eose = False
        self.sub_backoff = 0
        for p in self.pending.values():
            p.needs_auth = False
        log.info("relay %s: connected", self.url)

    async def read(self, ws):
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), 30)
            except asyncio.TimeoutError:
                if self.idle():
                    self.last_error = "idle"
                    return
                continue
            except websockets.ConnectionClosed as e:
                self.last_error = "closed: " + describe(e)
                return
            quickack(ws)
            await self.handle(raw)

    # ---- relay messages ---------------------------------------------------------------

    async def handle(self, raw):
        try:
            msg = json.loads(raw)
        except ValueError:
            self.junk += 1
            return
        if not isinstance(msg, list) or len(msg) < 2 or not isinstance(msg[0], str):
            self.junk += 1
            return
        t = msg[0]
        if t == "EVENT" and len(msg) >= 3:
            self.on_event(msg[1], msg[2])
        elif t == "OK" and len(msg) >= 3:
            await self.on_ok(msg[1], msg[2] is True, str(msg[3]) if len(msg) > 3 else "")
        elif t == "EOSE":
            if msg[1] == self.pool.sub_id:
                self.eose = True
                self.sub_backoff = 0
                # subscribed: from now on a request sent here reaches us (the pool's caller
                # prints the bunker URL only then)
                self.pool.live(self)
        elif t == "CLOSED":
            self.on_closed(msg[1], str(msg[2]) if len(msg) > 2 else "")
        elif t == "NOTICE":
            self.last_notice = clean(msg[1])
            log.info("relay %s: NOTICE %s", self.url, self.last_notice)
        elif t == "AUTH" and isinstance(msg[1], str):
            self.challenge = msg[1]
            if self.pool.auth_eager or self.auth_wanted:
                self.start_auth()

    def on_event(self, sub_id, ev):
        pool = self.pool
        if sub_id != pool.sub_id or not isinstance(ev, dict):
            return
        eid = ev.get("id")
        tags = ev.get("tags")
        # Cheap shape checks only save the device work; the device verifies everything itself.
        if (not isinstance(eid, str) or len(eid) != 64 or ev.get("kind") != NIP46_KIND
                or not isinstance(tags, list)
                or not any(isinstance(t, list) and t[:2] == ["p", pool.pubkey] for t in tags)):
            self.junk += 1
            return
        self.events_in += 1
        ca = ev.get("created_at")
        if isinstance(ca, int):
            # clipped to now: a client with a clock in the future must not push `since` ahead
            self.last_seen = max(self.last_seen or 0, min(ca, int(pool.clock())))
        if not pool.deliver(ev, self.url):
            self.dups += 1

    async def on_ok(self, eid, ok, reason):
        if eid is not None and eid == self.auth_id:
            self.auth_id = None
            if ok:
                self.authed = True
                self.auth_wanted = False
                log.info("relay %s: authenticated", self.url)
                if self.subscribe and self.pool.pubkey and not self.sub_open:
                    await self.req()
                for p in list(self.pending.values()):
                    if p.needs_auth:
                        p.needs_auth = False
                        await self.send_event(p)
            else:
                self.last_error = "AUTH refused: " + clean(reason)
                self.fail_waiting_auth("auth-required: AUTH refused")
            return
        p = self.pending.get(eid)
        if p is None:
            return
        if ok or reason.startswith("duplicate:"):
            self.published += 1
            self.resolve(p, True, reason)
        elif reason.startswith("rate-limited:") and p.tries < RATE_RETRIES:
            p.tries += 1
            delay = self.pool.backoff_min * 2 ** p.tries
            delay = random.uniform(0.5, 1.0) * min(self.pool.backoff_max, delay)
            asyncio.create_task(self.resend_later(p, delay))
        elif reason.startswith("auth-required:") and self.pool.auth_signer and not p.auth_tried:
            p.auth_tried = True
            p.needs_auth = True
            self.auth_wanted = True
            self.start_auth()
        else:
            self.rejected += 1
            self.resolve(p, False, clean(reason))

    def on_closed(self, sub_id, reason):
        if sub_id != self.pool.sub_id:
            return
        self.sub_open = False
        self.last_error = "subscription closed: " + clean(reason)
        log.info("relay %s: CLOSED %s", self.url, clean(reason))
        if reason.startswith("auth-required:") and self.pool.auth_signer and not self.authed:
            self.auth_wanted = True    # REQ again once AUTH is accepted (see on_ok)
            self.start_auth()
            return
        # Anything else (rate-limited:, error:, restricted:, no signer): try again later.
        self.sub_backoff += 1
        delay = min(self.pool.backoff_max, self.pool.backoff_min * 2 ** self.sub_backoff)
        if reason.startswith(("auth-required:", "restricted:")):
            delay = self.pool.backoff_max
        if self.sub_retry is not None:
            self.sub_retry.cancel()
        self.sub_retry = asyncio.create_task(self.req_later(random.uniform(delay / 2, delay)))

    def resolve(self, p, ok, reason):
        self.pending.pop(p.event.get("id"), None)
        if not p.future.done():
            p.future.set_result((ok, reason))

    def fail_waiting_auth(self, reason):
        for p in list(self.pending.values()):
            if p.needs_auth:
                self.resolve(p, False, reason)

    # ---- sending ----------------------------------------------------------------------

    async def send(self, msg):
        ws = self.ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(msg, separators=(",", ":"), ensure_ascii=False))
            return True
        except websockets.ConnectionClosed:
            return False   # the read loop notices and reconnects

    async def req(self):
        if self.ws is None or not self.pool.pubkey:
            return
        flt = {"kinds": [NIP46_KIND], "#p": [self.pool.pubkey], "since": self.pool.since(self)}
        if await self.send(["REQ", self.pool.sub_id, flt]):
            self.sub_open = True
            self.eose = False

    async def req_later(self, delay):
        await asyncio.sleep(delay)
        if self.connected and not self.sub_open:
            await self.req()

    async def send_event(self, p):
        self.last_used = time.monotonic()
        if not p.needs_auth:
            await self.send(["EVENT", p.event])

    async def resend_later(self, p, delay):
        await asyncio.sleep(delay)
        if self.pending.get(p.event.get("id")) is p:
            await self.send_event(p)   # if disconnected, the reconnect resends it

    def start_auth(self):
        if self.pool.auth_signer is None or not self.challenge:
            return      # without a challenge yet: the AUTH message will start it
        if self.auth_task is not None and not self.auth_task.done():
            return
        self.auth_task = asyncio.create_task(self.auth())

    async def auth(self):
        while True:
            ws, challenge = self.ws, self.challenge
            try:
                ev = await self.pool.auth_signer(self.url, challenge)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.last_error = "auth signer failed: " + describe(e)
                return
            if self.ws is ws and self.challenge == challenge:
                break
            # reconnected or re-challenged while the signer worked: that signature is useless
            if self.ws is None or not self.challenge:
                return
        if not isinstance(ev, dict) or not isinstance(ev.get("id"), str):
            self.last_error = "auth declined"
            self.fail_waiting_auth("auth-required: declined")
            return
        self.auth_id = ev["id"]
        await self.send(["AUTH", ev])

    def status(self):
        return {
            "url": self.url, "member": self.subscribe, "connected": self.connected,
            "subscribed": self.sub_open, "eose": self.eose, "authed": self.authed,
            "events_in": self.events_in, "events_out": self.published, "dups": self.dups,
            "rejected": self.rejected, "timeouts": self.timeouts, "junk": self.junk,
            "connects": self.connects, "pending": len(self.pending),
            "last_error": self.last_error, "last_notice": self.last_notice,
        }
