# Bounded replay caches.
#
# An event is only accepted while it is fresh (max_age_s into the past), so a cache of
# the ids seen in that window stops a relay or the host from replaying a request the
# device already answered. The cache is a fixed ring: an attacker who floods it with
# more valid events than it holds can push an old id out, but the event must still be
# fresh and correctly signed by its client to be answered again, and answering twice
# gives them nothing the first answer did not (a repeated prompt, or the same
# rule-allowed operation).
#
# Memory: one preallocated bytearray of n fixed-size keys (12 bytes: a 96-bit prefix of
# an event id, or of a hash), searched with bytearray.find in C. A dict of bytes keys
# would cost ~10x the heap and grow in pieces; this never allocates after start.
try:
    import uhashlib as hashlib  # the port's own: lib/hashlib.py's shim costs 3 KB of heap
except ImportError:  # CPython
    import hashlib

K = 12


def key(data):
    """A cache key for variable-length data (e.g. client pubkey + request id)."""
    return hashlib.sha256(data).digest()[:K]


class Seen:
    def __init__(self, n):
        self.n = n
        self.ring = bytearray(n * K)
        self.pos = 0
        self.count = 0

    def __contains__(self, k):
        ring = self.ring
        i = ring.find(k)
        while i >= 0:
            if i % K == 0 and i // K < self.count:
                return True
            i = ring.find(k, i + 1)
        return False

    def add(self, k):
        """Record k (K bytes); False if it was already there (a replay)."""
        if k in self:
            return False
        p = self.pos * K
        self.ring[p:p + K] = k
        self.pos = (self.pos + 1) % self.n
        if self.count < self.n:
            self.count += 1
        return True


# ---- the persistent record of answered requests (seen.bin) --------------------------
#
# Seen above forgets everything at a restart and lets anyone who can sign an event (a
# stranger's throwaway key) push an admitted client's ids out. Rings keeps the event ids
# of requests that got past the signature check in two rings, one for admitted clients
# and one for everyone else, so strangers only ever evict strangers; both are kept in
# one fixed bytearray that is also the file, written with store.write_atomic.
#
# A ring holds N entries of 16 bytes: the id prefix (K bytes) and created_at (4, big
# endian). When an entry still inside the freshness window is overwritten, its
# created_at raises the ring's horizon, and a request created at or before the horizon
# is refused as a possible replay: so an id that fell out of the ring can never be
# answered again, however the ring was flushed. (The device's clock only goes forward,
# across restarts too (signer/clock.py), so an entry that was stale when overwritten
# stays stale and needs no horizon.) Under normal use (fewer than N requests in the
# freshness window) the horizon never moves.
#
# Writes, for the flash: an admitted client's request that changes something (signs,
# decrypts, logs out, ...) is written before it is answered (commit); strangers' entries
# and harmless answers (ping, get_public_key, get_relays, a reconnect) are written at
# most once per LAZY_MS (tick), so no stranger can make the device write more often.
# A power cut can lose those last few, which only allows a harmless answer twice.
import os
from keystore import store

FILE = "seen.bin"
REC = 16
_MAGIC = b"RPL1"
_HEAD = 20  # magic, then per ring: pos (2), count (2), horizon (4)
HARMLESS = ("ping", "get_public_key", "get_relays", "connect")
LAZY_MS = 30000


def _u(b, i, n):
    return int.from_bytes(b[i:i + n], "big")


def _put(b, i, n, v):
    b[i:i + n] = v.to_bytes(n, "big")


class Rings:
    def __init__(self, root, n=64, m=64):
        self.root = root
        self.n = (n, m)
        self.off = (_HEAD, _HEAD + n * REC)
        size = _HEAD + (n + m) * REC
        b = bytearray(size)
        got = 0
        try:
            path = root + "/" + FILE
            if os.stat(path)[6] == size:  # other ring sizes (config): start afresh
                with open(path, "rb") as f:
                    got = f.readinto(b)
        except OSError:
            pass
        self.buf = b
        if got != size or b[0:4] != _MAGIC or not self._sane():
            for i in range(size):  # none yet, or not ours: start empty
                b[i] = 0
            b[0:4] = _MAGIC
        self.dirty = 0  # bit r: ring r changed since the last write
        self.urgent = False
        self.t_saved = None

    def _sane(self):
        for r in (0, 1):
            h = self._h(r)
            if _u(self.buf, h, 2) >= self.n[r] or _u(self.buf, h + 2, 2) > self.n[r]:
                return False
        return True

    def _h(self, r):
        return 4 + r * 8

    def has(self, k):
        b = self.buf
        for r in (0, 1):
            s = self.off[r]
            e = s + self.n[r] * REC
            cnt = _u(b, self._h(r) + 2, 2)
            i = b.find(k, s, e)
            while i >= 0:
                if (i - s) % REC == 0 and (i - s) // REC < cnt:
                    return True
                i = b.find(k, i + 1, e)
        return False

    def replayed(self, k, created_at, admitted):
        """Was (or may have been) an event with id prefix k answered already?"""
        return self.has(k) or created_at <= _u(self.buf, self._h(0 if admitted else 1) + 4, 4)

    def add(self, k, created_at, admitted, oldest):
        """Record an answered event; oldest: the freshness window's start now."""
        r = 0 if admitted else 1
        b = self.buf
        h = self._h(r)
        pos = _u(b, h, 2)
        cnt = _u(b, h + 2, 2)
        p = self.off[r] + pos * REC
        if cnt == self.n[r]:
            old = _u(b, p + K, 4)
            if old >= oldest and old > _u(b, h + 4, 4):
                _put(b, h + 4, 4, old)
        else:
            _put(b, h + 2, 2, cnt + 1)
        b[p:p + K] = k
        _put(b, p + K, 4, max(0, min(created_at, 0xFFFFFFFF)))
        _put(b, h, 2, (pos + 1) % self.n[r])
        self.dirty |= 1 << r
        self.urgent = admitted

    def commit(self, method):
        """The request just added is method: on flash now unless harmless."""
        if self.urgent and method not in HARMLESS:
            self.save()
        self.urgent = False

    def tick(self, ticks, diff):
        # the lazy write of what commit left (called from the main loop)
        if not self.dirty:
            return
        if self.t_saved is None:
            self.t_saved = ticks  # the first change since boot waits LAZY_MS too
        elif diff(ticks, self.t_saved) >= LAZY_MS:
            self.save()
            self.t_saved = ticks

    def save(self):
        try:
            store.write_atomic(self.root, FILE, self.buf)
            self.dirty = 0
        except OSError:
            pass  # a full or failing flash must not stop the signer; kept in RAM
