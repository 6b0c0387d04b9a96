# heap: 128K
# The encrypt prompt's body (ui/prompt_text.py) on MicroPython at the device's heap: a
# 30 KB plaintext is shown whole, to its last character, as a lazy segment -- building
# the prompt costs a few ints per 8 rows, never a wrapped copy, and paging it to the
# end and back does not grow the heap. And the footers each board gives the prompts
# (boards/common.py feet(), ui/screens.py foot()): the hardware boards name their
# holds, on one line where the width allows, two where it does not.
import gc

from ui import screens, prompt_text
from boards import common

PEER = "npub1" + "q" * 58
CLIENT = "npub1" + "c" * 58
HEAD = ["Coracle", "(unverified)", "nip44_encrypt"]


class Display:
    def __init__(self, w, h):
        self.width = w
        self.height = h


def _text(n):
    # numbered 16-char rows so that every row differs, the tail marked; made in one
    # block (a list of pieces joined would need the text twice over on this heap)
    b = bytearray(n)
    for i in range(n // 16):
        b[i * 16:i * 16 + 16] = b"row %05d of 30K" % i
    b[n - 9:] = b"THE END!!"
    t = str(b, "ascii")
    b = None
    gc.collect()
    return t


def _all_rows(body, foot):
    # the body as a person scrolls it: the window's rows, one tap at a time
    n = screens.rows(body)
    nb = screens.win(foot)
    out = screens.page("APPROVE?", body, foot, 0, 0)[1:1 + nb]
    for s in range(1, n - nb + 1):
        out.append(screens.page("APPROVE?", body, foot, s, 0)[nb])
    return out


def test_a_30_kb_plaintext_is_shown_to_its_last_character_at_128k():
    screens.grid(Display(128, 64))
    text = _text(30000)
    gc.collect()
    a = gc.mem_alloc()
    body = prompt_text.body("nip44_encrypt", {"text": text}, HEAD, CLIENT, PEER)
    gc.collect()
    cost = gc.mem_alloc() - a
    # a copy as rows would be more than the 30 KB again; the row starts are ~1 KB
    assert cost < 3000, cost
    n = screens.rows(body)
    assert n == 5 + (30000 + 15) // 16, n
    foot = screens.foot("rule")
    last = screens.page("APPROVE?", body, foot, n, 0)
    p = screens.page("APPROVE?", body, foot, 0, 0)
    assert p[1:6] == ["Coracle", "(unverified)", "nip44_encrypt to", "npub1qqqq..qqqqq", "30000 chars:"], p
    for r in (0, 999, 1860):  # rows from anywhere: the window starts at body row r + 5
        assert screens.page("APPROVE?", body, foot, r + 5, 0)[1] == "row %05d of 30K" % r, r
    tail = text[(len(text) - 1) // 16 * 16:]
    assert last[6] == tail and tail.endswith("THE END!!"), (last, tail)


def test_paging_a_30_kb_plaintext_does_not_grow_the_heap():
    screens.grid(Display(128, 64))
    text = _text(30000)
    body = prompt_text.body("nip04_encrypt", {"text": text}, HEAD, CLIENT, PEER)
    foot = screens.foot("rule")
    n = screens.rows(body)
    for s in range(0, n, 97):  # warm up: every code path once
        screens.page("APPROVE?", body, foot, s, 0)
    gc.collect()
    a = gc.mem_alloc()
    for s in range(0, n, 13):
        screens.page("APPROVE?", body, foot, s, 0)
    for s in range(n, 0, -29):
        screens.page("APPROVE?", body, foot, s, 0)
    gc.collect()
    assert gc.mem_alloc() - a < 256, gc.mem_alloc() - a


def test_every_row_of_a_plaintext_with_escapes_cut_by_row_ends():
    screens.grid(Display(128, 64))
    text = "ab\u202e" * 7 + "\U0001f600" * 5 + "\\x" + "\n" * 3 + "tail"
    body = prompt_text.body("nip44_encrypt", {"text": text}, HEAD, CLIENT, PEER)
    got = _all_rows(body, "A:yes")
    e = screens.esc(text, len(text))
    want = [e[i:i + 16].rstrip() for i in range(0, len(e), 16)]
    assert got[5:] == want, (got, want)
    assert got[:5] == HEAD[:2] + ["nip44_encrypt to", "npub1qqqq..qqqqq", "-- %d chars --" % len(text)], got


def test_a_plaintext_left_in_the_request_buffer_is_shown_as_its_str_is():
    # a big encrypt's plaintext is a memoryview of UTF-8 (signer/rpc.py _big): the same
    # rows, the same character count, a NIP-17 rumor read as one
    screens.grid(Display(128, 64))
    rumor = '{"kind":14,"content":"hi \u00e9","tags":[["p","' + "ab" * 32 + '"]],"created_at":1}'
    for text in ("ab\u202e" * 60 + "\U0001f600" * 9 + "\\x\n tail \u00e9", rumor):
        want = _all_rows(prompt_text.body("nip44_encrypt", {"text": text}, HEAD, CLIENT, PEER), "A:yes")
        view = memoryview(bytearray(text.encode()))
        got = _all_rows(prompt_text.body("nip44_encrypt", {"text": view}, HEAD, CLIENT, PEER), "A:yes")
        assert got == want, (got[:8], want[:8])
    assert "NIP-17 chat msg" in got


def test_hardware_boards_name_their_holds():
    f = common.feet(common.DEFAULTS["keymap"])
    assert (f["yes"], f["rule"]) == (("hold >:yes <:no",), ("hold >:yes <:no", "both:always")), f


def test_a_remapped_keymap_is_named_as_it_is():
    km = {"left": "reject", "right": "approve", "both-hold": "long-approve", "left-hold": "up"}
    f = common.feet(km)
    assert (f["yes"], f["rule"]) == ((">:yes <:no",), (">:yes <:no", "both:always")), f
    assert f["digit"] == ("hold</?:-/+", ">:add <:del"), f


def test_footer_on_one_line_where_it_fits_two_where_it_does_not():
    feet = common.feet(common.DEFAULTS["keymap"])
    screens.grid(Display(128, 64), feet)
    assert screens.foot("rule") == ["hold >:yes <:no", "both:always"]
    assert screens.foot("yes") == ["hold >:yes <:no"]
    body = tuple([screens.pack(["line %d" % i for i in range(20)])])
    p = screens.page("APPROVE?", body, screens.foot("rule"), 0, 0)
    assert len(p) == 8 and p[1:6] == ["line %d" % i for i in range(5)] and p[6:] == ["hold >:yes <:no", "both:always"], p
    assert screens.win(screens.foot("rule")) == 5
    screens.grid(Display(240, 128), feet)
    assert screens.foot("rule") == ["hold >:yes <:no both:always"]
    screens.grid(Display(128, 64))  # no feet: the simulator's keys
    assert screens.foot("rule") == ["A:yes R:no L:all"]


def test_every_footer_of_the_default_keymap_fits_the_oled_and_names_holds():
    f = common.feet(common.DEFAULTS["keymap"])
    for k in f:
        v = f[k]
        for line in ((v,) if type(v) is str else v):
            assert len(line) <= 16 and ("hold" in line or line.startswith("tap <>") or line == "both:always"), (k, line)
    assert f["ok"] == "hold >:ok <:back" and f["back"] == "hold <:back"
    assert f["digit"] == ("tap <>:-/+", "hold >:add <:del")
