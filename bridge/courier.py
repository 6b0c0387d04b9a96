"""The bridge's courier: relays -> device -> relays, across device reconnects.

The bridge is an untrusted courier (shared/DESIGN.md): the Courier forwards whole
kind-24133 events to the device, publishes whatever signed events the device hands back
(each once), and prints one line per request from the device's `done` (never plaintext: the
bridge never has any). Messages are those of docs/protocol.md. run.py's `serve` drives it:
handshake, sessions of `forward` + `receive`, reconnects.
"""
import asyncio
import inspect
import json
import logging
import re
import time
from collections import OrderedDict, deque

from .link import Busy, TooLarge
from .qr import print_bunker
from .relays import RelayPool, format_status, normalize_url

log = logging.getLogger("bridge.run")


def stream_messages(rid, now, ev, chunk):
    """ev (its content a str) as the device takes a request too big to take whole: a
    "big" message (the event without its content, and the content's length), then
    "more" messages of `chunk` characters, the last with "end" (signer/oversize.py)."""
    content = ev["content"]
    head = {k: v for k, v in ev.items() if k != "content"}
    out = [{"t": "big", "rid": rid, "now": now, "event": head, "n": len(content)}]
    for i in range(0, len(content), chunk):
        out.append({"t": "more", "rid": rid, "data": content[i:i + chunk], "end": i + chunk >= len(content)})
    return out

PROTO = 1
INFLIGHT_MAX = 256      # requests forwarded and not yet `done`
REFORWARD_AGE = 120     # s: after a device reset, re-send unanswered requests younger than this
# Relay events waiting for the device are bounded by what matters, not by a count: a
# burst of 1000 requests from 10 clients all wait their turn. QUEUE_AGE: a request older
# than a client waits for its answer is expired (and logged) instead of sent; QUEUE_BYTES:
# the laptop's memory, the oldest dropped (and logged) past it.
QUEUE_AGE = 120         # s
# "busy" from the device's link (no room for the message just then; nothing of it was
# done): the request is sent again after BUSY_WAIT s, doubled each time, this many times
BUSY_TRIES = 3
BUSY_WAIT = 0.5
QUEUE_BYTES = 64 << 20  # bytes of event JSON
PUBLISHED_MAX = 4096    # ids of events already published, so a replayed `publish` isn't sent twice
PROPOSE_TIMEOUT = 130.0  # s: the device's prompt times out after 60 s by default
_LOOPBACK_HOSTS = ("127.", "localhost", "[::1]", "0.0.0.0")


def loopback_only(relays):
    """True when every relay is on this machine: a URL with only these works for clients
    on this machine alone (a phone scanning the device's QR reaches nobody)."""
    hosts = [u.partition("://")[2].lower() for u in relays]
    return bool(hosts) and all(h.startswith(_LOOPBACK_HOSTS) for h in hosts)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class LinkLost(Exception):
    pass


async def maybe(x):
    return await x if inspect.isawaitable(x) else x


def short(text, n=48):
    s = "".join(c if c.isprintable() else "?" for c in str(text))
    return s if len(s) <= n else s[:n] + "..."


def check_hello(msg):
    """A usable device `hello`, or a reason it isn't."""
    if not isinstance(msg, dict) or msg.get("t", "hello") != "hello":
        return "not a hello message"
    if msg.get("proto") != PROTO:
        return "device speaks protocol %r, bridge speaks %d" % (msg.get("proto"), PROTO)
    pk = msg.get("pubkey")
    if pk is not None and not (isinstance(pk, str) and _HEX64.match(pk)):
        return "bad pubkey in hello"
    if not isinstance(msg.get("relays", []), list):
        return "bad relays in hello"
    return None


class Courier:
    """State that outlives one device connection: the pool, requests in flight, what's published."""

    def __init__(self, link, extra_relays=(), out=print, qr=True, publish_timeout=10.0,
                 handshake_timeout=10.0, pool_options=None, connect_uris=(), propose=()):
        self.link = link
        self.connect_uris = list(connect_uris)
        # extra: listened on as well, never in the URL (the device's list is the one list);
        # propose: asked of the device as its own list (confirmed on its screen)
        self.extra = [normalize_url(u) for u in extra_relays]
        self.propose = [normalize_url(u) for u in propose]
        self.proposing = False
        self.out = out
        self.qr = qr
        self.publish_timeout = publish_timeout
        self.handshake_timeout = handshake_timeout
        self.pool_options = dict(pool_options or {})
        self.pool = None
        self.hello = None
        self.device_relays = []
        self.rid = int(time.time() * 1000) % 0x3FFFFFFF   # an earlier bridge's rids won't collide
        self.queue = deque()            # (event, monotonic arrival, bytes) not yet sent, arrival order
        self.queue_bytes = 0
        self.wake = asyncio.Event()
        self.inflight = OrderedDict()   # rid -> (event, monotonic time sent)
        self.answered = set()           # rids the device already published a response for
        self.published = OrderedDict()  # event ids handed to the pool
        self.waiters = {}               # rid -> future, for request/answer exchanges (auth)
        self.tasks = set()
        self.publishes = 0              # events actually handed to the pool (tests count them)
        self.auths = deque(maxlen=8)    # recent NIP-42 AUTHs the device signed or refused, for `status`
        self.held = deque(maxlen=64)    # (event, monotonic) the device refused while locked
        self.in_pieces = deque(maxlen=64)  # events the device took whole but asks for in pieces
        self.pieced = deque(maxlen=256)    # ids of events sent so: never twice
        self.busy = OrderedDict()       # event id -> times the device said "busy" to it
        self._printed = None            # (pubkey, relays, secret) of the bunker URL last printed
        self.hardware = False           # a real device (run.py): loopback-only URLs are warned about
        self.url_live = asyncio.Event()  # set once the URL is printed (a relay in it is subscribed)

    def say(self, line):
        self.out(time.strftime("%H:%M:%S ") + line)

    def next_rid(self):
        self.rid = self.rid % 0x3FFFFFFF + 1
        return self.rid

    def adopt(self, hello):
        """Take a (new) hello: start or re-point the pool, print the bunker URL if it changed."""
        first = self.hello is None
        old_pk = None if first else self.hello.get("pubkey")
        self.hello = hello
        pk = hello["pubkey"]
        relays = []
        for u in list(hello.get("relays") or []):
            try:
                u = normalize_url(u)
            except ValueError as e:
                self.say("skipping relay: %s" % e)
                continue
            if u not in relays:
                relays.append(u)
        listen = relays + [u for u in self.extra if u not in relays]
        self.say("device: fw %s, board %s, key %s..., %d relay(s)" % (
            short(hello.get("fw")), short(hello.get("board")), pk[:12], len(relays)))
        if hello.get("locked"):
            self.say("device is locked: enter the PIN on the device (requests are refused until then)")
        if first:
            signer = self.auth_signer if "auth" in (hello.get("features") or []) else None
            self.pool = RelayPool(listen, self.on_relay_event, pubkey=pk, auth_signer=signer,
                                  on_live=self.on_live, **self.pool_options)
            if self.propose and self.propose != relays:
                # `run --relay`: the person's relays become the device's own (its QR,
                # AUTH and get_relays follow), once confirmed on its screen; until then
                # no URL is printed, so none names a relay nobody runs
                self.proposing = True
                self.tasks_add(self.set_relays(self.propose))
        else:
            for u in listen:
                self.pool.add_relay(u)
            for u in self.device_relays:
                if u not in listen:
                    self.tasks_add(self.pool.remove_relay(u))
            if pk != old_pk:
                # another key: requests in flight were for the old one
                self.inflight.clear()
                self.queue.clear()
                self.queue_bytes = 0
                self.pool.set_pubkey(pk)
        self.device_relays = relays
        # The device's connect secret belongs in the URL (that's how a client pairs); it is
        # printed there only, never in a log line.
        self.show_bunker()

    def live_relays(self):
        """The device's relays on which the bridge is subscribed now (EOSE received)."""
        live = self.pool.live_urls() if self.pool is not None else []
        return [u for u in self.device_relays if u in live]

    def on_live(self, url):
        if url in self.device_relays:
            self.show_bunker()

    def show_bunker(self):
        """Print the bunker URL (again if it changed), but only once the bridge is
        subscribed on one of its relays: relays do not keep kind-24133 events, so a
        client that sends its connect the moment it sees the URL would be heard by nobody."""
        h = self.hello
        if h is None or self.proposing:
            return
        live = self.live_relays()
        if not live:
            return          # on_live prints it when a relay's EOSE comes
        shown = (h["pubkey"], self.device_relays, h.get("secret"))
        if shown != self._printed:
            self._printed = shown
            down = [u for u in self.device_relays if u not in live]
            self.say("listening on %s%s" % (", ".join(live), "; not yet on " + ", ".join(down) if down else ""))
            print_bunker(h["pubkey"], self.device_relays, secret=h.get("secret") or None,
                         out=self.out, qr=self.qr)
            if self.hardware and loopback_only(self.device_relays):
                self.say("WARNING: every relay in this bunker URL (and the device's QR) is on this "
                         "machine (%s): a phone or any other computer cannot reach the signer through it. "
                         "Set public relays: python -m bridge relays set wss://... (confirm on the device)"
                         % ", ".join(self.device_relays))
            self.url_live.set()

    def reprint_bunker(self):
        """Print the bunker URL shown last again (the demo's [u] key: screen redraws push it
        off the terminal); or say why there is none yet."""
        if self._printed is None:
            self.say("no bunker URL yet: it is printed once the bridge is subscribed on one of "
                     "the device's relays")
            return None
        pk, relays, secret = self._printed
        return print_bunker(pk, relays, secret=secret or None, out=self.out, qr=self.qr)

    async def set_relays(self, relays):
        """Ask the device to take `relays` as its own list (it shows SET RELAYS? and the
        person decides). -> the device's outcome. On "ok" the pool and URL follow."""
        self.proposing = True
        self.say("relays: asking the device to use %s: confirm SET RELAYS? on the device" % ", ".join(relays))
        try:
            msg = await self.request({"t": "relays", "relays": list(relays)}, PROPOSE_TIMEOUT)
        finally:
            self.proposing = False
        if msg is None:
            outcome = "no answer from the device"
        elif msg.get("t") == "done":
            outcome = short(msg.get("outcome"), 60)
        else:
            outcome = "refused: " + short(msg.get("error"), 60)
        if outcome == "ok" and isinstance(msg.get("relays"), list) and self.hello is not None:
            self.say("relays: the device now uses %s" % ", ".join(short(u, 80) for u in msg["relays"]))
            self.adopt(dict(self.hello, relays=msg["relays"]))
        else:
            self.say("relays: %s; the device keeps %s" % (outcome, ", ".join(self.device_relays)))
            self.show_bunker()
        return outcome

    # ---- relay -> device --------------------------------------------------------------

    def on_relay_event(self, ev, url):
        self._enqueue([(ev, time.monotonic())])

    def _enqueue(self, items, front=False):
        # items: [(event, monotonic time its client sent it, or near enough)]
        new = [(ev, t, len(_json(ev))) for ev, t in items]
        if front:
            self.queue.extendleft(reversed(new))
        else:
            self.queue.extend(new)
        for _, _, n in new:
            self.queue_bytes += n
        while self.queue_bytes > QUEUE_BYTES and self.queue:
            ev, _, n = self.queue.popleft()
            self.queue_bytes -= n
            self.say("request %s dropped: the bridge's queue is over %d MB" % (
                str(ev.get("id"))[:8], QUEUE_BYTES >> 20))
        self.wake.set()

    def again_later(self, ev, t):
        """The device had no room for ev just then: send it again after a pause, a few
        times, while its client can still be waiting (t: when it was sent). The client
        gets its answer from the device or, after the last try, the log says it gets
        none: the bridge holds no key to answer for the device."""
        eid = ev.get("id")
        n = self.busy.pop(eid, 0) + 1
        if n > BUSY_TRIES or time.monotonic() - t > REFORWARD_AGE:
            self.say("request %s dropped: the device was busy %d times, its client gets no answer"
                     % (str(eid)[:8], n - 1))
            return
        self.busy[eid] = n
        while len(self.busy) > INFLIGHT_MAX:
            self.busy.popitem(last=False)
        wait = BUSY_WAIT * 2 ** (n - 1)
        asyncio.get_running_loop().call_later(wait, self._enqueue, [(ev, t)], True)
        self.say("device busy with request %s: sent again in %.1f s (%d of %d)"
                 % (str(eid)[:8], wait, n, BUSY_TRIES))

    def _next(self):
        # the oldest waiting event still worth sending, or None; expired ones are logged
        while self.queue:
            ev, t, n = self.queue.popleft()
            self.queue_bytes -= n
            age = time.monotonic() - t
            if age <= QUEUE_AGE:
                return ev
            self.say("request %s expired: waited %d s for the device" % (str(ev.get("id"))[:8], age))
        return None

    def requeue_unanswered(self):
        """After a device reset: what it was working on is gone; send it again (once answered, never)."""
        now = time.monotonic()
        again = [(ev, t) for rid, (ev, t) in self.inflight.items()
                 if rid not in self.answered and now - t < REFORWARD_AGE]
        self.inflight.clear()
        if again:
            self._enqueue(again, front=True)
            self.say("re-sending %d unanswered request(s) to the device" % len(again))

    def release_held(self):
        """After an unlock: send again what the device refused while locked, if the
        client can still be waiting for it (younger than REFORWARD_AGE)."""
        now = time.monotonic()
        again = [(ev, now) for ev, t in self.held if now - t < REFORWARD_AGE]
        self.held.clear()
        if again:
            self._enqueue(again)
            self.say("re-sending %d request(s) that came while the device was locked" % len(again))

    async def forward(self):
        limit = (self.hello.get("limits") or {}).get("max_message") or 0
        while True:
            # one the device held whole but had no room to answer goes first, in pieces
            again = self.in_pieces.popleft() if self.in_pieces else None
            ev = again or self._next()
            if ev is None:
                self.wake.clear()
                await self.wake.wait()
                continue
            rid = self.next_rid()
            msg = {"t": "event", "rid": rid, "now": int(time.time()), "event": ev}
            if again is not None:
                self.pieced.append(ev.get("id"))
                self.inflight[rid] = (ev, time.monotonic())
                try:
                    if not await self.send_in_pieces(rid, msg):
                        self.inflight.pop(rid, None)
                        self.say("request %s not taken by the device: too large, and it takes no pieces"
                                 % str(ev.get("id"))[:8])
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    raise LinkLost("send: %s" % short(e, 120)) from e
                continue
            # In flight from here: if the send fails or the device resets, requeue_unanswered
            # sends it again.
            self.inflight[rid] = (ev, time.monotonic())
            while len(self.inflight) > INFLIGHT_MAX:
                self.inflight.popitem(last=False)
            try:
                if limit and len(_json(msg)) > limit:
                    raise TooLarge("larger than the device's max_message")
                await maybe(self.link.send(msg))
            except asyncio.CancelledError:
                raise
            except (TooLarge, Busy) as e:
                # the device refused this one request whole; the link itself is fine. A
                # device that takes requests in pieces still answers it ("too large",
                # under the request's own id: signer/oversize.py), so the client hears
                if isinstance(e, TooLarge) and await self.send_in_pieces(rid, msg):
                    continue
                self.inflight.pop(rid, None)
                if isinstance(e, Busy):
                    self.again_later(ev, time.monotonic())
                    continue
                self.say("request %s not taken by the device: %s" % (str(ev.get("id"))[:8], short(e, 80)))
            except Exception as e:
                raise LinkLost("send: %s" % short(e, 120)) from e

    async def send_in_pieces(self, rid, msg):
        """msg's event as "big" then "more" messages of the device's stream size; False
        if the device takes no pieces (hello limits.stream) or the event has no content."""
        chunk = (self.hello.get("limits") or {}).get("stream") or 0
        ev = msg["event"]
        content = ev.get("content")
        if not chunk or not isinstance(content, str) or not content:
            return False
        msgs = stream_messages(rid, msg["now"], ev, chunk)
        await maybe(self.link.send(msgs[0]))
        for piece in msgs[1:]:
            for n in range(BUSY_TRIES + 1):
                try:
                    await maybe(self.link.send(piece))
                    break
                except (TooLarge, Busy) as e:
                    # no hole for this piece just then: a lost piece loses the request
                    # (its id fails on the device), so it is sent again after a pause
                    if n == BUSY_TRIES:
                        self.say("request %s dropped: the device refused a piece of it %d times (%s)"
                                 % (str(ev.get("id"))[:8], n + 1, short(e, 60)))
                        return True
                    await asyncio.sleep(BUSY_WAIT * 2 ** n)
        self.say("request %s too large for the device: sent in pieces for its answer"
                 % str(ev.get("id"))[:8])
        return True

    # ---- device -> relays -------------------------------------------------------------

    async def receive(self):
        while True:
            try:
                msg = await self.link.recv()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                raise LinkLost("recv: %s" % short(e, 120)) from e
            if msg is None:
                raise LinkLost("link closed")
            if isinstance(msg, dict):
                self.handle(msg)

    def handle(self, msg):
        t = msg.get("t")
        rid = msg.get("rid")
        if rid in self.waiters and t != "publish":
            fut = self.waiters.pop(rid)
            if not fut.done():
                fut.set_result(msg)
            return
        if t == "publish":
            self.on_publish(rid, msg.get("event"), msg.get("relays") or [])
        elif t == "done":
            self.on_done(rid, msg)
        elif t == "error":
            if rid is None:  # not about a request: an error on the device itself
                self.say("device error: %s (shown on its screen)" % short(msg.get("error"), 120))
                return
            sent = self.inflight.pop(rid, None)
            if msg.get("error") == "too large" and self._may_piece(sent):
                # it took the request whole but had no room to parse it: in pieces
                self.in_pieces.append(sent[0])
                self.wake.set()
                self.say("device had no room for request %s whole: sending it in pieces" % str(sent[0].get("id"))[:8])
                return
            if sent is not None and str(msg.get("error")).startswith("busy"):
                return self.again_later(sent[0], sent[1])
            self.say("device refused request %s: %s" % (rid, short(msg.get("error"))))
        elif t == "hello":
            # The device restarted without the port going away: same as a reconnect.
            err = check_hello(msg)
            if err:
                self.say("device hello ignored: %s" % err)
                return
            was = self.hello or {}
            unlocked = was.get("locked") and not msg.get("locked") and was.get("pubkey") == msg.get("pubkey")
            self.say("device unlocked" if unlocked else "device restarted")
            self.adopt(msg)
            self.requeue_unanswered()
            if not msg.get("locked"):
                self.release_held()
        else:
            log.debug("device message %r ignored", short(t))

    def on_publish(self, rid, ev, relays):
        if rid is not None:
            self.answered.add(rid)
            if len(self.answered) > INFLIGHT_MAX * 4:
                self.answered = set(sorted(self.answered)[-INFLIGHT_MAX:])
        eid = ev.get("id") if isinstance(ev, dict) else None
        if not isinstance(eid, str):
            self.say("device sent a publish without an event: ignored")
            return
        if eid in self.published:
            self.say("event %s already published: not sending it twice" % eid[:8])
            return
        self.published[eid] = True
        while len(self.published) > PUBLISHED_MAX:
            self.published.popitem(last=False)
        extras = []
        for u in relays if isinstance(relays, list) else []:
            try:
                # a nostrconnect client sends its next requests on its own relays: listen there too
                extras.append(self.pool.add_relay(u).url)
            except ValueError as e:
                self.say("publish: skipping relay: %s" % e)
        self.publishes += 1
        self.tasks_add(self.publish(ev, extras))

    async def publish(self, ev, extras):
        res = await self.pool.publish(ev, relays=extras, timeout=self.publish_timeout)
        ok = [u for u, (good, _) in res.items() if good]
        bad = ["%s: %s" % (u, short(m, 60)) for u, (good, m) in res.items() if not good]
        line = "published %s to %d/%d relays" % (ev["id"][:8], len(ok), len(res))
        self.say(line + ("  (" + "; ".join(bad) + ")" if bad else ""))

    def _may_piece(self, sent):
        return sent is not None and sent[0].get("id") not in self.pieced

    def on_done(self, rid, msg):
        sent = self.inflight.pop(rid, None)
        client = msg.get("client")
        who = client[:8] if isinstance(client, str) and client else "-"
        what = short(msg.get("method") or "-", 24)
        if msg.get("kind") is not None:
            what += " kind=%s" % short(msg.get("kind"), 8)
        ms = msg.get("ms")
        line = "%-8s %-28s %s" % (who, what, short(msg.get("outcome"), 60))
        if isinstance(ms, (int, float)):
            line += " %d ms" % ms
        if sent is not None:
            line += " (%d ms round trip)" % ((time.monotonic() - sent[1]) * 1000)
        if msg.get("outcome") == "dropped: locked" and sent is not None:
            # the client is still waiting: hand it over again once the PIN is entered
            self.held.append((sent[0], time.monotonic()))
            line += " (kept until the device is unlocked)"
        elif msg.get("pieces") is True and self._may_piece(sent):
            # it arrived whole but left the device no room to read it: in pieces it needs
            # a few hundred bytes (the device still checks every one: signer/oversize.py)
            self.in_pieces.append(sent[0])
            self.wake.set()
        self.say(line)
        if msg.get("method") == "connect" and msg.get("outcome") == "ok":
            # a bunker secret is single-use: the device rotates it, so print the new URL
            self.tasks_add(self.refresh_secret())

    async def request(self, msg, timeout):
        """Send a request and wait for the device message with its rid (None on timeout)."""
        rid = msg["rid"] = self.next_rid()
        fut = asyncio.get_running_loop().create_future()
        self.waiters[rid] = fut
        try:
            await maybe(self.link.send(msg))
            return await asyncio.wait_for(fut, timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            return None
        except Exception as e:
            log.info("request %s failed: %s", msg.get("t"), short(e, 80))
            return None
        finally:
            self.waiters.pop(rid, None)

    async def refresh_secret(self):
        st = await self.request({"t": "status"}, 10)
        if st and st.get("t") == "status" and "secret" in st and self.hello is not None:
            self.hello = dict(self.hello, secret=st["secret"])
            self.show_bunker()

    async def nostrconnect(self, uri):
        """Hand a client's nostrconnect:// URI to the device (which asks the person, then answers)."""
        await maybe(self.link.send({"t": "nostrconnect", "rid": self.next_rid(), "now": int(time.time()),
                                     "uri": uri}))

    async def auth_signer(self, relay_url, challenge):
        """NIP-42 AUTH signed by the device (only when its hello lists the "auth" feature)."""
        msg = await self.request({"t": "auth", "now": int(time.time()), "relay": relay_url,
                                  "challenge": challenge}, 120)   # may wait for a button press
        if msg and msg.get("t") == "auth":
            self.auths.append({"relay": relay_url, "outcome": "ok", "at": int(time.time())})
            return msg.get("event")
        # the device refuses relays outside its own list (its rule, not ours to override)
        why = msg.get("outcome") or msg.get("error") if msg else "no answer"
        self.auths.append({"relay": relay_url, "outcome": short(why, 40), "at": int(time.time())})
        self.say("-        auth %s refused by the device: %s" % (short(relay_url, 60), short(why, 40)))
        return None

    def tasks_add(self, coro):
        t = asyncio.create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    def status_text(self):
        return format_status(self.pool.status()) if self.pool else "not started"


def _json(msg):
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()
