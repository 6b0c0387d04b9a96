# The device's clock. It has no clock of its own: the host says the time with each
# message (`now`), and the device keeps it monotonic with its ticks. What the host says
# is trusted for freshness only, and bounded three ways:
#
# - a floor kept on flash (clock.json), so time never goes back below what the device
#   has already seen, across restarts too: a request signed a day ago is not fresh
#   after a reboot because the host says so. The floor is written sparingly (flash
#   wear): only when it has moved STEP/2 seconds, and the floor on boot is what was
#   written plus STEP, which covers the unwritten part. STEP stays well inside the
#   freshness window (300 s), so a quick reboot does not make clients' fresh requests
#   look stale.
# - the floor only ever takes time an admitted client's signed request agreed with
#   (created_at inside the freshness window, at most the device's own time), never the
#   host's word alone: a host that says "year 2096" cannot make the device refuse
#   everything for good, only until the next restart.
# - once the device has a time, a `now` more than max_jump_s ahead of it is ignored
#   (the device's ticks are better than that), and beyond MAX_T always: the person
#   sees a notice on the idle screen. The first `now` after boot cannot be bounded that
#   way (the device may have been off for a month), which is why it is not put on flash
#   until a client agrees.
from keystore import store

FILE = "clock.json"
STEP = 60
MAX_T = 4102444800  # 2100-01-01: later is junk, whatever the host says


def _span(s):
    # a jump, short enough for the 16-character screen
    if s >= 86400 * 100000:
        return "ages"
    if s >= 86400:
        return "%dd" % (s // 86400)
    if s >= 3600:
        return "%dh" % (s // 3600)
    return "%ds" % s


class Clock:
    def __init__(self, root, ticks, since, max_jump):
        self.root = root
        self._ticks = ticks
        self._since = since
        self.max_jump = max_jump
        rec = store.read_json(root, FILE)
        t = rec.get("t") if type(rec) is dict else None
        self.stored = t if type(t) is int and 0 < t < MAX_T else 0
        self.floor = self.stored + STEP if self.stored else 0
        self.base = 0  # host time last taken (or the floor), and the ticks then
        self.at = 0
        self.notice = None  # two screen lines after an ignored jump, until a press

    def now(self):
        """Unix seconds as the device believes them; 0 before the host told us."""
        if not self.base:
            return 0
        return self.base + self._since(self.at) // 1000

    def feed(self, t):
        """The host's `now`: taken if it moves time forward, within bounds.
        -> True if the screen's notice changed."""
        if type(t) not in (int, float) or not t > 0:  # (also NaN)
            return False
        cur = self.now()
        if t > MAX_T or (cur and t - cur > self.max_jump):
            n = ("host clock ahead", "+%s: ignored" % ("ages" if t > MAX_T else _span(int(t - cur))))
            old, self.notice = self.notice, n
            return n != old
        t = int(t)
        if not cur:
            t = max(t, self.floor)  # a host clock behind the floor: the floor holds
        if t > cur:
            self.base = t
            self.at = self._ticks()
        return False

    def agreed(self, created_at):
        """An admitted client's signed request, fresh by our clock, was created at
        created_at: the time it agrees with may go on flash."""
        t = min(created_at, self.now())
        if t - self.stored >= STEP // 2:
            try:
                store.write_json(self.root, FILE, {"t": t})
                self.stored = t
            except OSError:
                pass  # kept in RAM: the floor then lags, never leads
