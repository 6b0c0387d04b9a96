# Replay defence: which requests were answered, and what time it is.
#
# A request is only answered while it is fresh (max_age_s into the past, by the clock
# below) and only once: the key of each (client, request id) answered, from an event
# whose signature held, is kept in one of two fixed rings, one for admitted clients
# (ring 0, 96) and one for everyone else (ring 1, 32), so strangers' traffic
# (throwaway keys cost nothing) only ever evicts strangers. A replayed event carries
# the same request, and so does a client's resend in a new event. Rings and clock
# survive a restart: they are one fixed bytearray that is also the file seen.bin,
# written whole with store.write_atomic:
#
#   a head: b"RPL1", the floor (the time last written, see the clock below),
#   per ring its next slot, its count and its horizon; then ring 0's entries, then
#   ring 1's, each a key (K bytes: a 64-bit prefix of a hash) and the event's
#   created_at (4, big endian); searched with bytearray.find in C (a dict of bytes
#   keys would cost ~10x the heap and grow in pieces)
#
# When an entry still inside the freshness window is overwritten, its created_at
# raises the ring's horizon, and a request created at or before the horizon counts as
# a possible replay: a key pushed out of the ring can never get a result again, however
# the ring was flushed. Such a request not in the ring is answered "busy" (add -> None;
# signer/requests.py); one in the ring is a certain replay and stays silent. (The clock
# only goes forward, across restarts too, so an entry stale when overwritten stays
# stale and needs no horizon.) With fewer requests than a ring holds in the freshness
# window, the horizon never moves.
#
# The clock. The device has none: the host says the time with each message and the
# device runs it on with its ticks, trusted for freshness only, and bounded:
# - a floor on flash: time never goes back below what admitted clients' signed
#   requests agreed with (created_at inside the freshness window), across restarts
#   too, so a request signed a day ago is not fresh after a reboot because the host
#   says so. Only a client's agreement is written, never the host's word alone, so a
#   host saying "year 2096" cannot make the device refuse everything for good.
# - written sparingly (flash wear): when the floor has moved STEP/2 s, and on boot the
#   floor is what was written plus STEP, which covers the unwritten part. STEP is
#   well inside the freshness window, so after a quick reboot fresh requests stay fresh.
# - once the device has a time, a `now` more than limit (an hour) ahead of it is
#   ignored (its ticks are better than that), and beyond 2100 always; the idle screen
#   says so (lines) until a press. The first `now` after boot cannot be bounded that
#   way (the device may have been off for a month): it is not written until a client
#   agrees, so a wrong one lasts until the next restart at most.
#
# Writes, for the flash: an admitted client's request that changes something (signs,
# decrypts, logs out, ...) is written before it is answered (commit); strangers'
# entries and harmless answers (ping, get_public_key, get_relays, a reconnect) at most
# once per _LAZY ms (tick), so no stranger can make the device write more often. A
# power cut can lose those last few, which only allows a harmless answer twice.
#
# Memory: the code is small and its names few and reused on purpose: it is resident,
# and every new name is interned for good (one too many allocates a new, doubled qstr
# pool on the heap).
try:
    import uhashlib as hashlib  # the port's own: lib/hashlib.py's shim costs 3 KB of heap
except ImportError:  # CPython
    import hashlib

import struct
import time
from micropython import const
from keystore import store

_REC = const(12)
_HEAD = const(24)
_STEP = const(60)
_LAZY = const(30000)
K = 8


def key(data):
    """A ring key for variable-length data (e.g. client pubkey + request id)."""
    return hashlib.sha256(data).digest()[:K]


def fresh(v, high):
    """v, or the same int in a new object if high(v) (app._settle, once the request is
    collected: made now, it goes low). On a 32-bit port a unix time (> 2**30) is a heap
    int, made where the request left the heap, and kept until the next one replaces it."""
    if type(v) is not int or v < 0 or v >> 64 or not high(v):
        return v
    return int.from_bytes(v.to_bytes(8, "big"), "big")


class Seen:
    def __init__(self, root, n=96, m=32, limit=3600):
        self.root = root
        self.n = (n, m)
        self.limit = limit
        size = _HEAD + (n + m) * _REC
        b = bytearray(size)
        try:
            with open(store._path(root, "seen.bin"), "rb") as f:
                if f.readinto(b) != size or f.read(1):  # other ring sizes: start afresh
                    raise OSError
            h = struct.unpack_from(">4sIHHIHHI", b)  # the head (above)
            if h[0] != b"RPL1" or h[2] >= n or h[3] > n or h[5] >= m or h[6] > m:
                raise OSError
            self.data = list(h[1:])
        except OSError:  # none yet, or not ours
            b = None
            b = bytearray(size)
            self.data = [0] * 7  # floor, then per ring: pos, count, horizon
        self.buf = b
        t = self.data[0]
        self.floor = t + _STEP if t else 0
        self.t_base = 0  # host time last taken (or the floor), and the ticks then
        self.t_ticks = 0
        self.lines = None  # the screen's notice after an ignored jump
        self.flags = 0  # bit r: ring r changed since written; 4: an admitted entry waits
        self.t0 = time.ticks_ms()  # (boot) a board's ticks are the chip's
        self.t1 = [0, False, 0, False]  # the event add(None) announced (created at,
        # admitted, the window's start, held by the horizon): filled in place, for a new
        # tuple per event would be a long-lived object in the middle of the heap

    # ---- answered ids

    def find(self, k):
        b = self.buf
        d = self.data
        s = _HEAD
        for r in (0, 1):
            e = s + self.n[r] * _REC
            i = b.find(k, s, e)
            while i >= 0:
                if (i - s) % _REC == 0 and (i - s) // _REC < d[2 + 3 * r]:
                    return True
                i = b.find(k, i + 1, e)
            s = e
        return False

    def seen(self, t, ok):
        """Might a request created at t have been answered though its key is no longer
        held (at or before the horizon)? ok: an admitted client's."""
        return t <= self.data[3 if ok else 6]

    def add(self, k, t=0, ok=False, low=0):
        """Record request key k -> True; False if it is held already (a replay, for
        certain: answered, or being answered); None if the event is at or before its
        ring's horizon and k is not held: it may have been answered once and pushed
        out, or be new (a burst shares its second), and cannot be told. None is not
        recorded: the signer answers it "busy" (signer/requests.py), an error that may
        be repeated without harm, and a record would push out one of a real answer.
        k None: the event the next keys come in, once its signature holds: created at
        t, an admitted client's if ok; low: the freshness window's start now."""
        if k is None:
            t1 = self.t1
            t1[0] = t
            t1[1] = ok
            t1[2] = low
            t1[3] = self.seen(t, ok)  # held by the horizon: decided now, once
            self.flags &= 3  # a new event: what waited for commit was not committed
            return True
        if self.find(k):
            return False
        t1 = self.t1
        if t1[3]:
            return None
        t, ok, low = t1[0], t1[1], t1[2]
        r = 0 if ok else 1
        d = self.data
        j = 1 + 3 * r
        p = _HEAD + (r * self.n[0] + d[j]) * _REC
        if d[j + 1] == self.n[r]:
            old = int.from_bytes(self.buf[p + K:p + _REC], "big")
            if old >= low and old > d[j + 2]:
                d[j + 2] = old
        else:
            d[j + 1] += 1
        self.buf[p:p + K] = k
        self.buf[p + K:p + _REC] = max(0, min(t, 0xFFFFFFFF)).to_bytes(4, "big")
        d[j] = (d[j] + 1) % self.n[r]
        self.flags |= (1 << r) | (4 if ok else 0)
        return True

    def commit(self, method):
        """The request just added is method: on flash now unless harmless."""
        if self.flags & 4 and method not in ("ping", "get_public_key", "get_relays", "connect"):
            self.save()
        self.flags &= 3

    def tick(self, ticks):
        # the lazy write of what commit left (from the main loop): _LAZY after the last
        if self.flags & 3 and time.ticks_diff(ticks, self.t0) >= _LAZY:
            self.save()
            self.t0 = ticks

    def save(self):
        """Write the rings and clock -> False if the flash refused: a full or failing
        flash must not stop the signer, so they stay in RAM, still marked changed, and
        the next save (commit, or tick's lazy one) tries again."""
        struct.pack_into(">4sIHHIHHI", self.buf, 0, b"RPL1", *self.data)
        try:
            store.write_atomic(self.root, "seen.bin", self.buf)
        except OSError:
            return False
        self.flags &= 4
        return True

    def settle(self, high):
        """The times a request left here, copied down (see fresh)."""
        for v in (self.data, self.t1):
            for i in range(len(v)):
                v[i] = fresh(v[i], high)
        self.floor = fresh(self.floor, high)
        self.t_base = fresh(self.t_base, high)

    # ---- the clock

    def now(self, ticks):
        """Unix seconds as the device believes them; 0 before the host told us."""
        if not self.t_base:
            return 0
        return self.t_base + time.ticks_diff(ticks, self.t_ticks) // 1000

    def update(self, t, ticks):
        """The host's `now`: taken if it moves time forward, within bounds. -> True
        if the screen's notice changed."""
        if type(t) not in (int, float) or not t > 0:  # (NaN too)
            return False
        cur = self.now(ticks)
        if t > 4102444800 or (cur and t - cur > self.limit):
            n = ("host clock ahead", "+%dh: ignored" % (int(min(t, 9e9) - cur) // 3600))
            old = self.lines
            self.lines = n
            return n != old
        t = max(int(t), self.floor)  # a host clock behind the floor: the floor holds
        if t > cur:
            self.t_base = t
            self.t_ticks = ticks
        return False

    def sync(self, t, now):
        """An admitted client's signed request, fresh by our clock, was created at t:
        the time it agrees with may go on flash."""
        t = min(t, now)
        if t - self.data[0] >= _STEP // 2:
            self.data[0] = t
            self.save()
