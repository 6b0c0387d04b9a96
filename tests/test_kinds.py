"""ui.kinds from CPython: follow_diff/follows_of against Python sets, random garbage
templates through the real MicroPython, and the 500 -> 1 follow-list drop in a fresh
128K process holding only what a prompt holds (screens, kinds, the template, the
stored follows).

The behaviours per kind are in tests/firmware/fw_kinds.py (run on MicroPython)."""
import json
import os
import random
import textwrap

import mpy

KINDS_PY = os.path.join(mpy.FIRMWARE, "ui", "kinds.py")


def _key(r):
    return "%064x" % r.getrandbits(256)


def test_source_stays_under_16_kb():
    assert os.path.getsize(KINDS_PY) <= 16 * 1024


def test_follow_diff_matches_python_sets(fw):
    r = random.Random(5)
    pool = [_key(r) for _ in range(60)]
    for _ in range(60):
        old = r.sample(pool, r.randrange(0, 40))
        new = r.sample(pool, r.randrange(0, 40))
        tpl = {"kind": 3, "content": "", "tags": [["p", h] for h in new + new[:3]]}
        add, rem = fw.call("ui.kinds_follows", "follow_diff", old, tpl)
        assert add == sorted(set(new) - set(old)) and rem == sorted(set(old) - set(new))


def test_follows_of_is_the_sorted_unique_keys(fw):
    r = random.Random(6)
    keys = [_key(r) for _ in range(50)]
    tags = [["p", h] for h in keys + keys[:10]] + [["p", "nothex"], ["e", keys[0]], ["p"]]
    blob = fw.call("ui.kinds_follows", "follows_of", {"kind": 3, "content": "", "tags": tags})
    assert blob == b"".join(bytes.fromhex(h) for h in sorted(set(keys)))


def test_stored_blob_round_trips_through_follow_diff(fw):
    r = random.Random(7)
    keys = [_key(r) for _ in range(30)]
    blob = fw.call("ui.kinds_follows", "follows_of", {"tags": [["p", h] for h in keys]})
    add, rem = fw.call("ui.kinds_follows", "follow_diff", blob, keys[5:] + ["f" * 64])
    assert add == ["f" * 64] and rem == sorted(keys[:5])


def _garbage(r, depth=0):
    c = r.randrange(9)
    if c == 0:
        return r.choice([None, True, 0, -1, 2 ** 70, 1.5, ""])
    if c == 1:
        return "".join(chr(r.choice([r.randrange(32), 0x202E, 0x200B, 0x1F600, r.randrange(32, 127)]))
                       for _ in range(r.randrange(6)))
    if c == 2 and depth < 2:
        return [_garbage(r, depth + 1) for _ in range(r.randrange(4))]
    if c == 3 and depth < 2:
        return {"name": _garbage(r, depth + 1)}
    return r.choice(["p", "e", "amount", "r", "relay", "u", "a", "k", "title", "expiration",
                     "a" * 64, "read", "reply", str(r.randrange(10 ** 6))])


def test_random_garbage_templates_give_a_summary_of_short_ascii_lines(fw):
    r = random.Random(8)
    kinds = [0, 1, 3, 4, 5, 6, 7, 13, 14, 16, 1059, 9734, 10002, 22242, 24242, 27235, 30023, 1984, 31337]
    for i in range(300):
        tags = [[_garbage(r) for _ in range(r.randrange(5))] if r.randrange(5) else _garbage(r)
                for _ in range(r.randrange(8))]
        tpl = {"kind": r.choice(kinds) if i % 10 else _garbage(r), "tags": tags if i % 17 else _garbage(r),
               "content": _garbage(r) if i % 3 == 0 else json.dumps({"name": _garbage(r)}),
               "created_at": r.choice([0, 1700000000, "x", None])}
        ctx = {"now": 1700000000, "last_follows": r.choice([None, [], ["a" * 64], b"\x00" * 64])}
        lines = fw.call("ui.kinds", "summary", tpl, ctx)
        assert lines and lines[0] != "?? summary error", (tpl, lines)
        assert all(len(s) <= 16 and all(32 <= ord(c) < 127 for c in s) for s in lines), lines


def test_drop_from_500_follows_to_1_warns_at_128k():
    # what a prompt holds: the stored 500 follows (16000 bytes) and a 1-follow template
    script = textwrap.dedent("""
        import gc
        from ui import kinds, kinds_follows  # noqa: F401 (loaded for kind 3: not what is measured)
        old = bytearray(32 * 500)
        for i in range(500):
            old[i * 32 + 30] = i >> 8
            old[i * 32 + 31] = i & 255
        tpl = {"kind": 3, "content": "", "tags": [["p", "%064x" % 7]], "created_at": 1}
        gc.collect()
        before = gc.mem_alloc()
        lines = kinds.summary(tpl, {"last_follows": old, "npub": lambda h: "npub1" + h[-11:]})
        gc.collect()
        print("KEPT", gc.mem_alloc() - before)
        for s in lines:
            print("LINE", s)
    """)
    path = os.path.join(mpy.ROOT, "build", "kinds_drop_500.py")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(script)
    rc, out, err = mpy.run_script(path)
    assert rc == 0, err
    lines = [s[5:] for s in out.splitlines() if s.startswith("LINE ")]
    assert lines[:5] == ["follow list", "500 -> 1 follows", "!! DROPS 499 !!", "-499 removed",
                         "npub1" + "0" * 11], lines
    assert " and 496 more" in lines
    kept = int(out.split("KEPT ")[1].split()[0])
    assert kept < 2048, kept  # only the lines stay


def test_300_follow_template_against_500_stored_in_a_file_runs_at_128k(tmp_path):
    # the stored follows as a file (follows_of(tpl, f)): read 32 bytes at a time, never
    # a 16 KB blob in RAM; the new list written the same way after signing
    stored, new = tmp_path / "old.bin", tmp_path / "new.bin"
    stored.write_bytes(b"".join(i.to_bytes(32, "big") for i in range(500)))
    script = textwrap.dedent("""
        from ui import kinds
        tpl = {"kind": 3, "content": "", "tags": [["p", "%%064x" %% i] for i in range(200, 500)]}
        with open(%r, "rb") as f:
            lines = kinds.layout(tpl, {"last_follows": f})  # what a prompt holds: tags stay lazy
        print("|".join(lines[:4]))
        with open(%r, "wb") as f:
            from ui import kinds_follows
            print(kinds_follows.follows_of(tpl, f))
    """ % (str(stored), str(new)))
    path = os.path.join(mpy.ROOT, "build", "kinds_300.py")
    with open(path, "w") as f:
        f.write(script)
    rc, out, err = mpy.run_script(path)
    assert rc == 0, out + err
    first, count = out.split("\n")[:2]
    assert first == "follow list|500 -> 300|!! DROPS 200 !!|-200 removed", first
    assert count == "300"
    assert new.read_bytes() == b"".join(i.to_bytes(32, "big") for i in range(200, 500))
