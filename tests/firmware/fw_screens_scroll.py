# ui.screens' lazy segments on MicroPython at 128K: a long text's rows, asked for any
# window, are exactly esc(text) hard-wrapped (escapes cut by a row end included, a
# surrogate pair one escape wherever a row starts); a tag list's rows are every tag's;
# the counting pass keeps a few ints per CK rows, not the rows.
import gc
import json
from ui import screens

PIECES = ("a", "b c", "\\", "\n", "\x07", "\u202e", "\u200b", "\xe9", "\u4e2d", "\U0001f600",
          json.loads('"\\ud83e\\udd19"'), json.loads('"\\ud83e"'), json.loads('"\\udd19"'), "xyz" * 5)


class Rng:
    def __init__(self, seed):
        self.x = seed

    def n(self, m):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % m


def text(r, n):
    return "".join(PIECES[r.n(len(PIECES))] for _ in range(n))


def whole(s, w):
    e = screens.esc(s, len(s))
    return [e[i:i + w] for i in range(0, len(e), w)]


def test_text_rows_of_any_window_are_the_escaped_text_wrapped():
    r = Rng(3)
    for w in (16, 30):
        for n in (0, 1, 7, 40, 200):
            s = text(r, n)
            want = whole(s, w)
            seg = screens.segment(("c", s), w)
            assert seg[3] == len(want), (w, n, seg[3], len(want))
            for _ in range(12):
                a = r.n(len(want) + 1)
                b = a + r.n(min(9, len(want) - a) + 1)
                got = screens.seg_rows(seg, a, b, w)
                assert got == want[a:b], (s, w, a, b, got, want[a:b])


def test_a_content_left_in_the_link_buffer_pages_as_the_same_text():
    # a big note's content is a memoryview of its UTF-8 (signer/methods.py): the same
    # rows as the str, surrogates MicroPython's json leaves as CESU-8 included
    r = Rng(5)
    for w in (16, 30):
        for n in (1, 40, 300):
            s = text(r, n)
            mv = memoryview(bytearray(memoryview(s)))
            want = whole(s, w)
            seg = screens.segment(("c", mv), w)
            assert seg[3] == len(want), (w, n, seg[3], len(want))
            for _ in range(12):
                a = r.n(len(want) + 1)
                b = a + r.n(min(9, len(want) - a) + 1)
                assert screens.seg_rows(seg, a, b, w) == want[a:b], (s, w, a, b)


def test_a_surrogate_pair_cut_by_a_remembered_row_start_is_still_one_escape():
    pair = json.loads('"\\ud83e\\udd19"')
    for lead in range(120, 136):  # the pair's 10 columns across row 8's start (128)
        s = "x" * lead + pair + "y" * 40
        seg = screens.segment(("c", s), 16)
        got = "".join(screens.seg_rows(seg, 7, seg[3], 16))
        assert got == screens.esc(s, len(s))[7 * 16:], (lead, got)


def tag_line(t):
    # a tag as the full listing shows it: values escaped whole, 64-hex as their ends
    if type(t) is not list or not t:
        return "bad tag"
    out = []
    for v in t:
        if screens.hex64(v):
            out.append(screens.short_id(v))
        elif type(v) is not str:
            out.append("?")
        else:
            out.append(screens.esc(v, len(v)) if v else '""')
    return " ".join(out)


def test_tag_rows_of_any_window_are_every_tags_rows_with_values_whole():
    r = Rng(5)
    tags = []
    for i in range(90):
        if i % 7:
            tags.append(["t", "tag%d" % i])
        else:
            tags.append(["r", "wss://" + text(r, i % 30), "", "f" * 64, None, "a\u202eb"])
    tags[5] = 5
    tags[6] = []
    tags[40] = ["alt", text(r, 100) + "END"]
    seg = screens.segment(("t", tags), 16)
    want = []
    for t in tags:
        e = tag_line(t)
        want += [e[i:i + 16] for i in range(0, len(e), 16)]
    assert seg[3] == len(want) and "bad tag" in want and len(want) > 200, (seg[3], len(want))
    for a in range(0, len(want), 5):
        for b in (a, a + 1, a + 6, a + 17):
            b = min(b, len(want))
            assert screens.seg_rows(seg, a, b, 16) == want[a:b], (a, b, screens.seg_rows(seg, a, b, 16), want[a:b])


def test_counting_a_16_kb_text_keeps_a_few_hundred_bytes():
    s = "note " * 3276 + "end!"  # 16384 chars: 1024 rows
    gc.collect()
    before = gc.mem_alloc()
    seg = screens.segment(("c", s), 16)
    gc.collect()
    kept = gc.mem_alloc() - before
    assert seg[3] == (len(s) + 15) // 16 and kept < 1024, (seg[3], kept)
    assert screens.seg_rows(seg, 1022, 1024, 16) == [s[-32:-16], s[-16:]]


def test_page_shows_the_row_position_once_scrolled():
    body = (screens.pack(["abc"] * 4), screens.segment(("c", "z" * 400), 16))
    assert screens.rows(body) == 29
    p = screens.page("APPROVE?", body, "f", 0, 0, True)
    assert p[0] == "APPROVE?       v" and p[1:7] == ["abc"] * 4 + ["z" * 16] * 2, p
    p = screens.page("APPROVE?", body, "f", 3, 0, True)
    assert p[0] == "APPROVE? 9/29 ^v" and p[1] == "abc" and p[2:7] == ["z" * 16] * 5, p
    assert screens.page("APPROVE?", body, "f", 99, 2, True)[0] == "APPROVE? 29/29 ^"
    assert screens.page("APPROVE?", body, "f", 3, 0)[0] == "APPROVE?      ^v"
