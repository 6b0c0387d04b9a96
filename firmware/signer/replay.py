# Bounded replay caches.
#
# An event is only accepted while it is fresh (max_age_s into the past), so a cache of
# the ids seen in that window stops a relay or the host from replaying a request the
# device already answered. The cache is a fixed ring: an attacker who floods it with
# more valid events than it holds can push an old id out, but the event must still be
# fresh and correctly signed by its client to be answered again, and answering twice
# gives them nothing the first answer did not (a repeated prompt, or the same
# rule-allowed operation). Keys are short bytes (a prefix of the id) to keep the heap
# small: 128 entries cost about 6 KB.


class Seen:
    def __init__(self, n):
        self.n = n
        self.ring = [None] * n
        self.pos = 0
        self.set = {}

    def add(self, key):
        """Record key; False if it was already there (a replay)."""
        if key in self.set:
            return False
        old = self.ring[self.pos]
        if old is not None:
            del self.set[old]
        self.ring[self.pos] = key
        self.set[key] = 1
        self.pos = (self.pos + 1) % self.n
        return True

    def __contains__(self, key):
        return key in self.set

    def __len__(self):
        return len(self.set)
