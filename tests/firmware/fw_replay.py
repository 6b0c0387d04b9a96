# Unit tests of signer/replay.py on MicroPython: the answered-request rings (admitted
# and strangers apart, the horizon of what had to be forgotten), the clock's floor and
# bounds, and seen.bin across a restart. The App-level behaviour is in
# tests/test_signer_replay.py.
from signer import replay
from keystore import store


def _add(s, k, t, ok, low=0):
    # as the signer does: the event once its signature holds, then its request's key
    s.add(None, t, ok, low)
    return s.add(k)


def _rings(name, n=4, m=4):
    root = "/tmp/fw_signer_units_rings_" + name
    store.ensure_dir(root)
    store.remove(root, "seen.bin")
    return root, replay.Seen(root, n, m)


def test_replay_rings_refuse_a_key_they_hold():
    root, s = _rings("hold")
    k = replay.key(b"one")
    assert not s.find(k) and not s.seen(100, True)
    assert _add(s, k, 100, True)
    assert s.find(k) and not s.seen(100, True)  # held, and no horizon needed
    assert not _add(s, k, 100, False)  # whichever ring it is in
    assert _add(s, replay.key(b"two"), 100, True)


def test_replay_rings_keep_refusing_a_fresh_key_they_had_to_forget():
    root, s = _rings("forget", 2, 2)
    a, b, c = replay.key(b"a"), replay.key(b"b"), replay.key(b"c")
    _add(s, a, 100, True)
    _add(s, b, 101, True)
    _add(s, c, 102, True)  # a falls out while still fresh (window from 0)
    assert not s.find(a) and s.find(b) and s.find(c)
    assert s.seen(100, True) and not s.seen(101, True)  # by the horizon
    assert not s.seen(100, False)  # the strangers' horizon is theirs
    root, s = _rings("forget_stale", 2, 2)
    _add(s, a, 100, True)
    _add(s, b, 101, True)
    _add(s, c, 102, True, 101)  # a was stale already: no horizon needed
    assert not s.seen(100, True)


def test_replay_rings_tell_a_certain_replay_from_one_the_horizon_holds():
    # add() -> True: recorded; False: in a ring, answered already (a certain replay);
    # None: created at or before the horizon and not held: it may have been answered,
    # or not (a burst shares its second). The signer answers it "busy", and it is not
    # recorded, so it pushes nothing out and moves no horizon.
    root, s = _rings("held", 2, 2)
    a, b, c, d = replay.key(b"a"), replay.key(b"b"), replay.key(b"c"), replay.key(b"d")
    _add(s, a, 100, True)
    _add(s, b, 100, True)
    _add(s, c, 100, True)  # a falls out while still fresh: the horizon is 100
    assert _add(s, a, 100, True) is None  # forgotten: cannot be told from a new one
    assert _add(s, d, 100, True) is None  # a new one in the same second: the same
    assert not s.find(d) and s.find(b) and s.find(c)  # neither was recorded
    assert _add(s, b, 100, True) is False and _add(s, c, 101, True) is False  # certain
    assert not s.seen(101, True)  # nothing held moved the horizon
    assert _add(s, d, 101, True) is True  # after the horizon: answered as ever
    assert _add(s, replay.key(b"e"), 100, False) is True  # the strangers' horizon is theirs


def test_replay_rings_strangers_never_evict_admitted_keys():
    root, s = _rings("strangers", 2, 2)
    mine = replay.key(b"mine")
    _add(s, mine, 100, True)
    for i in range(10):
        _add(s, replay.key(b"x%d" % i), 100 + i, False)
    assert s.find(mine)


def test_replay_rings_do_not_match_across_slot_boundaries():
    root, s = _rings("slots", 3, 3)
    _add(s, bytes(range(8)), 100, True)
    _add(s, bytes(range(8, 16)), 100, True)
    t = bytes((0, 0, 0, 100))  # the entries' created_at
    assert not s.find(bytes(range(4, 8)) + t)  # a key's tail and its created_at
    assert not s.find(t + bytes(range(8, 12)))  # a created_at and the next key's head
    assert not s.find(bytes(8))  # empty slots are not zero keys


def test_replay_rings_and_floor_survive_a_restart_and_junk_does_not():
    root, s = _rings("restart")
    k = replay.key(b"k")
    _add(s, k, 1700000000, True)
    s.update(1700000000, 0)
    s.sync(1700000000, s.now(0))  # written: the floor moved
    s = replay.Seen(root, 4, 4)
    assert s.find(k) and s.floor == 1700000000 + 60
    s.update(1600000000, 0)  # a host clock behind the floor
    assert s.now(0) == 1700000060
    assert not replay.Seen(root, 8, 4).find(k)  # other ring sizes: afresh
    store.write_atomic(root, "seen.bin", b"RPL1" + bytes(8) + b"\xff" * (24 - 12 + 8 * 12))
    s = replay.Seen(root, 4, 4)
    assert not s.find(k) and s.floor == 0


def test_replay_clock_ignores_wild_jumps_once_it_has_a_time():
    root, s = _rings("clock")
    assert s.update(1e18, 0) and s.now(0) == 0  # junk even as the first
    assert not s.update(1700000000, 0) and s.now(0) == 1700000000
    assert s.update(1700000000 + 3601, 0) and s.now(0) == 1700000000
    assert s.lines[0] == "host clock ahead"
    assert not s.update(1700000000 + 3600, 0) and s.now(0) == 1700003600
    assert not s.update(float("nan"), 0) and not s.update("1", 0)
    s.update(float("inf"), 0)
    assert s.now(0) == 1700003600
    assert s.now(2000) == 1700003602  # and runs on with the ticks
