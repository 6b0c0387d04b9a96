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
