# ui.kinds on MicroPython at 128K: the per-kind approval summaries (what each kind
# shows), the follow-list diff and its drop warning, escapes of invisible/bidi/control/
# non-Latin text, and garbage templates giving a summary instead of an exception.
import gc
import os
from ui import kinds, kinds_follows, screens

A = "a" * 64
B = "b" * 64
C = "c" * 64
EV = "e0" * 32
NOW = 1700000000


def npub(h):
    return "npub1" + h[:4] + ".." + h[-5:]


def ctx(**kw):
    c = {"npub": npub, "now": NOW, "last_follows": None}
    c.update(kw)
    return c


def show(kind, content="", tags=(), **kw):
    tpl = {"kind": kind, "content": content, "tags": [list(t) for t in tags], "created_at": NOW,
           "pubkey": "f" * 64}
    lines = kinds.summary(tpl, ctx(**kw))
    fits(lines)
    return lines


def fits(lines):
    assert type(lines) is list and lines, lines
    for s in lines:
        assert type(s) is str and len(s) <= screens.W, (s, lines)
        for c in s:
            assert 0x20 <= ord(c) < 0x7F, (s, lines)


def has(lines, *want):
    for w in want:
        assert w in lines, (w, lines)


def text(lines):
    return "".join(lines)


def key(i):
    return "%064x" % i


def blob(keys):
    b = bytearray(32 * len(keys))
    for n, i in enumerate(keys):
        b[n * 32 + 28:n * 32 + 32] = i.to_bytes(4, "big")
    return b


# --- the API

def test_escapes_are_screens_esc_not_a_copy():
    assert kinds.esc is screens.esc and kinds.wrap is screens.wrap


def test_first_line_says_what_the_event_is_for_every_known_kind():
    want = {0: "profile update", 1: "note", 3: "follow list", 4: "DM (nip04)", 5: "delete",
            6: "repost", 7: "reaction: like", 13: "seal", 14: "chat message", 16: "repost",
            1059: "gift wrap", 9734: "zap request", 10002: "relay list", 22242: "relay login",
            24242: "blossom auth", 27235: "http auth", 30023: "article"}
    for k in want:
        assert show(k, "+" if k == 7 else "")[0] == want[k], (k, show(k))


def test_full_tags_follow_the_summary_with_a_count():
    lines = show(1, "hi", [("t", "nostr"), ("p", A)])
    i = lines.index("-- 2 tags --")
    assert lines[i + 1:] == ["t nostr", "p aaaaaa..aaaaa"], lines


def test_content_not_shown_in_the_summary_is_listed_in_full():
    lines = show(30023, "# Title\nbody", [("title", "T")])
    i = lines.index("-- content --")
    assert lines[i + 1] == "# Title\\nbody", lines


def test_works_without_ctx_and_shows_keys_as_hex_ends():
    lines = kinds.summary({"kind": 4, "content": "x?iv=y", "tags": [["p", A]]})
    fits(lines)
    has(lines, "aaaaaaaa..aaaaaa")


def test_npub_function_that_raises_falls_back_to_hex():
    def bad(h):
        raise ValueError("no")
    lines = kinds.summary({"kind": 4, "content": "", "tags": [["p", A]]}, {"npub": bad})
    has(lines, "aaaaaaaa..aaaaaa")


# --- kind 1 notes

def test_note_shows_its_text():
    lines = show(1, "gm nostr")
    assert lines[:2] == ["note", "gm nostr"], lines


def test_note_long_text_wraps_to_16_columns():
    lines = show(1, "x" * 40)
    assert lines[1:4] == ["x" * 16, "x" * 16, "x" * 8], lines


def test_note_with_p_tags_only_is_a_note_that_mentions():
    lines = show(1, "hi", [("p", A), ("p", B)])
    assert lines[0] == "note" and "mentions 2" in lines, lines


def test_reply_marked_names_the_author_from_the_e_tag_and_the_event():
    lines = show(1, "yes", [("e", C, "", "root"), ("e", EV, "wss://r", "reply", B), ("p", A), ("p", B)])
    assert lines[:4] == ["reply", "to:", npub(B), "on e0e0e0..0e0e0"], lines
    has(lines, "+1 tagged", "yes")


def test_reply_marked_without_author_uses_the_first_p_tag():
    lines = show(1, "yes", [("e", EV, "", "reply"), ("p", A)])
    assert lines[:3] == ["reply", "to:", npub(A)], lines


def test_reply_to_root_only_is_a_reply():
    lines = show(1, "yes", [("e", EV, "", "root"), ("p", A)])
    assert lines[0] == "reply", lines


def test_reply_positional_uses_the_last_e_tag():
    lines = show(1, "ok", [("e", C), ("e", EV), ("p", A)])
    assert lines[0] == "reply" and "on e0e0e0..0e0e0" in lines, lines


def test_mention_marker_alone_is_not_a_reply():
    lines = show(1, "see", [("e", EV, "", "mention")])
    assert lines[0] == "note", lines


def test_quote_tag_is_said():
    lines = show(1, "look", [("q", EV)])
    has(lines, "quotes", "id e0e0e0..0e0e0")


# --- kind 7 reactions

def test_reaction_plus_and_empty_are_like_minus_is_dislike():
    assert show(7, "+")[0] == "reaction: like"
    assert show(7, "")[0] == "reaction: like"
    assert show(7, "-")[:2] == ["reaction:", "dislike"]


def test_reaction_emoji_is_escaped():
    lines = show(7, "\U0001f919", [("e", EV), ("p", A)])
    assert lines[:2] == ["reaction:", "\\U0001f919"], lines


def test_reaction_names_the_author_and_the_event_from_the_last_tags():
    lines = show(7, "+", [("e", C), ("e", EV), ("p", B), ("p", A)])
    assert lines[1:4] == ["to:", npub(A), "on e0e0e0..0e0e0"], lines


def test_reaction_without_target_says_so():
    has(show(7, "+"), "on nothing?")


# --- kind 6/16 reposts

def test_repost_names_whom_and_which_event():
    lines = show(6, "", [("e", EV, "wss://r"), ("p", A)])
    assert lines[:4] == ["repost", "of:", npub(A), "id e0e0e0..0e0e0"], lines


def test_generic_repost_says_the_kind():
    lines = show(16, "", [("e", EV), ("p", A), ("k", "30023")])
    has(lines, "of kind 30023", npub(A))


def test_repost_without_event_tag_says_so():
    has(show(6, "", [("p", A)]), "no event tag!")


# --- kind 3 follow lists

def test_first_follow_list_says_no_earlier_list():
    lines = show(3, "", [("p", A), ("p", B), ("p", C)])
    assert lines[:3] == ["follow list", "3 follows", "no earlier list"], lines


def test_follow_list_drop_80_to_1_is_a_loud_warning():
    lines = show(3, "", [("p", key(7))], last_follows=blob(range(80)))
    assert lines[1:3] == ["80 -> 1 follows", "!! DROPS 79 !!"], lines
    has(lines, "-79 removed", " and 76 more")


def test_follow_list_drop_names_the_first_removed():
    lines = show(3, "", [("p", key(1))], last_follows=blob(range(80)))
    i = lines.index("-79 removed")
    assert lines[i + 1:i + 4] == [npub(key(0)), npub(key(2)), npub(key(3))], lines


def test_follow_list_small_change_names_added_and_removed_without_warning():
    old = [key(i) for i in range(60)]
    new = [("p", key(i)) for i in range(1, 60)] + [("p", A)]
    lines = show(3, "", new, last_follows=old)
    assert lines[1] == "60 -> 60 follows", lines
    has(lines, "+1 added", npub(A), "-1 removed", npub(key(0)))
    assert not [s for s in lines if "!!" in s], lines


def test_follow_list_halving_is_a_warning():
    lines = show(3, "", [("p", key(i)) for i in range(4)], last_follows=blob(range(8)))
    has(lines, "!! DROPS 4 !!")


def test_follow_list_unchanged_says_no_change():
    lines = show(3, "", [("p", B), ("p", A)], last_follows=[A, B])
    has(lines, "2 -> 2 follows", "no change")


def test_follow_list_to_empty_warns():
    lines = show(3, "", [], last_follows=blob(range(30)))
    has(lines, "30 -> 0 follows", "!! DROPS 30 !!")


def test_follow_list_counts_duplicate_and_bad_p_tags():
    lines = show(3, "", [("p", A), ("p", A), ("p", "zz"), ("p",)])
    has(lines, "1 follow", "3 bad p tags")


def test_follows_of_is_sorted_unique_32_byte_keys():
    tpl = {"kind": 3, "content": "", "tags": [["p", B], ["p", A], ["p", B], ["e", C], ["p", "x"], ["p", A.upper()]]}
    b = kinds_follows.follows_of(tpl)
    assert bytes(b) == b"\xaa" * 32 + b"\xbb" * 32, b


def test_follows_kept_in_blocks_are_read_merged_each_key_once():
    # more keys than a block (kinds_follows.BLOCK), repeats within and across blocks,
    # in reverse order: one sorted set, as one sorted list would be
    n = 2 * kinds_follows.BLOCK + 7
    keys = ["%064x" % (i * 7919 % 1000) for i in range(n)]
    tags = [["p", k] for k in reversed(keys)] + [["p", keys[3]], ["p", keys[n - 1].upper()]]
    want = sorted(set(keys))
    b = kinds_follows.follows_of({"kind": 3, "tags": tags})
    assert len(b) == 32 * len(want)
    for i in range(len(want)):
        assert b[i * 32:i * 32 + 32] == bytes.fromhex(want[i]), i
    b = None
    add, rem = kinds_follows.follow_diff(want[5:] + ["f" * 64], {"kind": 3, "tags": tags})
    assert add == want[:5] and rem == ["f" * 64], (add, rem)


def test_follows_of_a_non_template_is_empty():
    assert len(kinds_follows.follows_of(None)) == 0 and len(kinds_follows.follows_of({"tags": 5})) == 0


def test_follow_diff_returns_added_and_removed_hex():
    add, rem = kinds_follows.follow_diff([A, B], {"kind": 3, "tags": [["p", B], ["p", C]]})
    assert add == [C] and rem == [A], (add, rem)


def test_follow_diff_takes_a_stored_blob_and_none():
    old = kinds_follows.follows_of({"tags": [["p", A], ["p", B]]})
    assert kinds_follows.follow_diff(old, [B, C]) == ([C], [A])
    assert kinds_follows.follow_diff(None, [A]) == ([A], [])


def test_follow_diff_accepts_an_unsorted_blob():
    assert kinds_follows.follow_diff(b"\xbb" * 32 + b"\xaa" * 32, [A]) == ([], [B])


def test_follows_written_to_a_file_are_read_back_as_last_follows():
    path = "/tmp/fw_kinds_follows.bin"
    with open(path, "wb") as f:
        assert kinds_follows.follows_of({"tags": [["p", B], ["p", A], ["p", B]]}, f) == 2
    with open(path, "rb") as f:
        for _ in range(2):  # the file is read from its start every time
            lines = show(3, "", [("p", B), ("p", C)], last_follows=f)
            has(lines, "2 -> 2 follows", "+1 added", npub(C), "-1 removed", npub(A))
    os.remove(path)


def test_stored_follows_then_next_list_diffs_against_them():
    first = {"kind": 3, "content": "", "tags": [["p", key(i)] for i in range(40)]}
    stored = kinds_follows.follows_of(first)
    assert len(stored) == 40 * 32
    lines = show(3, "", [("p", key(i)) for i in range(2, 41)], last_follows=stored)
    has(lines, "40 -> 39 follows", "+1 added", "-2 removed")


# --- DMs

def test_nip04_dm_names_the_recipient_and_says_the_text_is_ciphertext():
    lines = show(4, "c2VjcmV0?iv=aXY=", [("p", A)])
    assert lines[:5] == ["DM (nip04)", "to:", npub(A), "text encrypted:", "can't show it"], lines


def test_dm_without_p_tag_says_no_recipient():
    has(show(4, "x?iv=y"), "no recipient!")


def test_chat_message_shows_recipients_and_text():
    lines = show(14, "hello", [("p", A), ("p", B), ("p", C), ("subject", "plans")])
    assert lines[:5] == ["chat message", "to:", npub(A), npub(B), "+1 more"], lines
    has(lines, "subject: plans", "hello")


def test_gift_wrap_names_the_recipient_and_says_sealed():
    lines = show(1059, "AgB...", [("p", B)])
    has(lines, npub(B), "sealed content")


# --- zap requests

def test_zap_request_shows_sats_recipient_and_relay_count():
    lines = show(9734, "great post", [("p", A), ("amount", "21000"), ("relays", "wss://a", "wss://b"), ("e", EV)])
    assert lines[:5] == ["zap request", "21 sats", "to:", npub(A), "on e0e0e0..0e0e0"], lines
    has(lines, "2 relays", "comment:", "great post")


def test_zap_request_keeps_millisat_fractions():
    has(show(9734, "", [("p", A), ("amount", "1500")]), "1.500 sats")


def test_zap_request_non_numeric_amount_is_invalid_amount():
    for a in ("abc", "-1000", "1e6", "", " 5", "0x10", "\u0661\u0662"):
        has(show(9734, "", [("p", A), ("amount", a)]), "invalid amount")


def test_zap_request_missing_amount_says_no_amount():
    has(show(9734, "", [("p", A), ("amount",)]), "no amount")


def test_zap_request_huge_amount_still_fits_the_screen():
    has(show(9734, "", [("amount", "9" * 40)]), "zap request")


# --- deletion, profile, article, relay list, auth

def test_deletion_counts_events_and_addresses_and_shows_the_reason():
    lines = show(5, "spam", [("e", EV), ("e", C), ("a", "30023:" + A + ":x"), ("k", "1")])
    assert lines[:4] == ["delete", "2 events", "1 address", "kinds 1"], lines
    has(lines, "reason: spam")


def test_profile_shows_the_fields_that_are_set():
    lines = show(0, '{"name":"alice","about":"hi there","lud16":"alice@getalby.com","x":1}')
    has(lines, "name: alice", "about: hi there", "lud16:", "alice@getalby.co", "+1 other fields")
    assert not [s for s in lines if s.startswith("picture")], lines


def test_profile_invalid_json_is_said_plainly():
    has(show(0, '{"name": "al'), "invalid JSON")
    has(show(0, '["name"]'), "not an object")


def test_profile_non_text_field_is_said():
    has(show(0, '{"name": 5}'), "name: (not text)")


def test_article_shows_title_summary_and_id():
    lines = show(30023, "body " * 20, [("d", "slug"), ("title", "My post"), ("summary", "short")])
    assert lines[:5] == ["article", "title: My post", "summary: short", "id: slug", "-- content --"], lines


def test_relay_list_counts_read_and_write_and_lists_urls():
    lines = show(10002, "", [("r", "wss://a.com"), ("r", "wss://b.com", "read"), ("r", "wss://c.com", "write"),
                             ("r", "wss://d.com", "bogus")])
    assert lines[:6] == ["relay list", "2 read 2 write", "rw wss://a.com", "r wss://b.com",
                         "w wss://c.com", "?? wss://d.com"], lines


def test_nip42_auth_shows_relay_and_challenge():
    lines = show(22242, "", [("relay", "wss://relay.example"), ("challenge", "c0ffee")])
    assert lines[:6] == ["relay login", "relay:", "wss://relay.exam", "ple", "challenge:", "c0ffee"], lines


def test_http_auth_shows_method_and_url():
    lines = show(27235, "", [("u", "https://api.example/x"), ("method", "POST"), ("payload", "ab")])
    has(lines, "method: POST", "url:", "https://api.exam")


def test_blossom_auth_shows_action_expiry_and_text():
    lines = show(24242, "Upload cat.png", [("t", "upload"), ("x", EV), ("expiration", str(NOW + 600))])
    has(lines, "action: upload", "expires in 10m", "-- content --", "Upload cat.png")


def test_blossom_auth_bad_expiration_is_shown_not_raised():
    has(show(24242, "", [("t", "get"), ("expiration", "soon")]), "expires: soon")


# --- the generic view

def test_unknown_kind_shows_number_tags_length_and_first_line():
    lines = show(31337, "first line\nsecond", [("d", "x"), ("t", "y")])
    assert lines[:4] == ["kind 31337 event", "2 tags", "17 chars", "first line"], lines
    has(lines, "-- content --", "first line\\nseco", "nd")


def test_known_name_without_summary_uses_the_generic_view_with_its_name():
    assert show(1984, "")[0] == "kind 1984 report"


def test_negative_and_huge_kinds_use_the_generic_view():
    for k in (-1, 2 ** 40, 65536):
        assert show(k, "x")[0].startswith("kind "), show(k, "x")


# --- escapes

def test_bidi_override_zero_width_and_control_in_content_are_escaped():
    lines = show(1, "pay \u202eevil\u202c\u200b\x07\x1b[2J")
    assert lines[1:4] == ["pay \\u202eevil\\u", "202c\\u200b\\x07\\x", "1b[2J"], lines


def test_newline_and_backslash_are_escaped_not_line_breaks():
    assert show(1, "a\nb\\c")[1] == "a\\nb\\\\c"


def test_non_latin_text_is_shown_as_code_points():
    assert show(1, "\u043f\u0440\u0438")[1] == "\\u043f\\u0440\\u04", show(1, "\u043f\u0440\u0438")


def test_bidi_in_tag_values_is_escaped_in_the_full_listing():
    lines = show(1, "x", [("t", "a\u202eb")])
    has(lines, "t a\\u202eb")


def test_bidi_in_profile_name_and_relay_url_is_escaped():
    has(show(0, '{"name":"\\u202eecila"}'), "name:", "\\u202eecila")
    has(show(10002, "", [("r", "wss://\u200bx")]), "rw wss://\\u200bx")


def test_invisible_reaction_is_escaped():
    assert show(7, "\u200b")[0] == "reaction: \\u200b"


# --- limits and time

def test_long_content_is_listed_to_its_last_character():
    # (was: cut at kinds.MAX lines with "..."; the prompt now scrolls the whole content)
    lines = show(1, "y" * 4999 + "z")
    assert lines[1:-2] == ["y" * 16] * 312 and lines[-2:] == ["yyyyyyyz", "-- 0 tags --"], lines[-3:]


def test_every_tag_is_listed_however_many():
    # (was: capped at kinds.MAX lines with "+N more tags")
    lines = show(1, "x", [("t", "t%d" % i) for i in range(120)])
    i = lines.index("-- 120 tags --")
    assert lines[i + 1:] == ["t t%d" % n for n in range(120)], lines[-3:]


def test_created_at_far_from_now_is_shown():
    tpl = {"kind": 1, "content": "x", "tags": [], "created_at": NOW - 3 * 86400}
    has(kinds.summary(tpl, ctx()), "dated 3d ago")
    tpl["created_at"] = NOW + 2 * 31536000
    has(kinds.summary(tpl, ctx()), "dated in 2y")
    tpl["created_at"] = NOW - 60
    assert not [s for s in kinds.summary(tpl, ctx()) if s.startswith("dated")]


# --- malformed templates

class Rng:
    def __init__(self, seed):
        self.x = seed

    def n(self, m):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % m


NAMES = ("p", "e", "a", "q", "k", "amount", "relays", "r", "relay", "challenge", "u", "method", "t",
         "x", "expiration", "title", "summary", "d", "subject", "payload", "server", "", "P")
VALS = ("", "0", "-5", "1e3", "21000", "abc", A, A[:63], A.upper(), EV, "read", "write", "reply", "root",
        "mention", "wss://r", "\u202e\u200b\x00", "9" * 30, "\U0001f600")
ODD = (None, 5, 1.5, [], {}, ["p"], True, b"x")


def garbage_tag(r):
    s = r.n(8)
    if s == 0:
        return ODD[r.n(len(ODD))]
    if s == 1:
        return []
    t = [NAMES[r.n(len(NAMES))]]
    for _ in range(r.n(6)):
        t.append(ODD[r.n(len(ODD))] if r.n(5) == 0 else VALS[r.n(len(VALS))])
    if s == 2:
        t[0] = ODD[r.n(len(ODD))]
    return t


KIND_LIST = (0, 1, 3, 4, 5, 6, 7, 13, 14, 16, 1059, 9734, 10002, 22242, 24242, 27235, 30023, 30024, 31337)
CONTENTS = ("", "+", "-", "{", '{"name":5,"about":null}', "[1]", "null", "\u202e", None, 7, "x" * 300)


def test_garbage_tags_give_a_summary_for_every_kind_never_an_exception():
    r = Rng(1)
    n = 0
    for i in range(400):
        k = KIND_LIST[i % len(KIND_LIST)]
        tags = [garbage_tag(r) for _ in range(r.n(7))]
        tpl = {"kind": k, "content": CONTENTS[r.n(len(CONTENTS))], "tags": tags, "created_at": r.n(2 * NOW)}
        last = (None, [A, B], blob(range(5)), b"\x01" * 33, [None, 5, "zz"])[r.n(5)]
        lines = kinds.summary(tpl, ctx(last_follows=last))
        fits(lines)
        assert lines[0] != "?? summary error", (tpl, lines)
        n += 1
    assert n == 400


def test_malformed_templates_give_a_summary():
    for tpl in (None, 5, "x", [], {}, {"kind": "1"}, {"kind": 1, "tags": "x", "content": None},
                {"kind": 3, "tags": None}, {"kind": 1.5}, {"kind": True, "content": "x"},
                {"kind": 7, "tags": [["e"], ["p"]], "content": "+"}, {"kind": 0, "content": 5},
                {"kind": 1, "created_at": "x", "content": "y"}, {"kind": 9734, "tags": [["amount", 5]]}):
        lines = kinds.summary(tpl, ctx(now="x"))
        fits(lines)
        assert lines[0] != "?? summary error", (tpl, lines)


def test_a_bug_in_a_kind_falls_back_to_the_generic_view():
    def boom(out, tpl, ctx):
        raise KeyError("x")
    old = kinds.KINDS[1]
    kinds.KINDS[1] = boom
    try:
        lines = kinds.summary({"kind": 1, "content": "hi", "tags": []}, ctx())
    finally:
        kinds.KINDS[1] = old
    assert lines[:2] == ["?? summary error", "kind 1 note"], lines


def test_follow_diff_of_garbage_never_raises():
    r = Rng(7)
    for _ in range(200):
        a = [garbage_tag(r) for _ in range(r.n(4))]
        b = [VALS[r.n(len(VALS))] for _ in range(r.n(4))]
        kinds_follows.follow_diff(a, b)
        kinds_follows.follow_diff({"tags": a}, b)
        kinds_follows.follows_of({"tags": a})


# --- screens.esc: nothing on a prompt is invisible or reorders the text

def _visible(s):
    for c in s:
        assert 0x20 <= ord(c) < 0x7F, repr(s)


def test_esc_shows_every_zero_width_bidi_bom_and_control_character_as_its_code():
    codes = (list(range(0x200B, 0x2010)) + list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A))
             + [0xFEFF, 0x7F] + [o for o in range(0x20) if chr(o) not in "\n\t\r"] + list(range(0x80, 0xA0)))
    for o in codes:
        e = screens.esc("a" + chr(o) + "b")
        _visible(e)
        want = ("\\x%02x" % o) if o < 0x100 else ("\\u%04x" % o)
        assert e == "a" + want + "b", (hex(o), e)


def test_esc_names_newline_tab_and_return():
    assert screens.esc("a\nb\tc\rd") == "a\\nb\\tc\\rd"


def test_esc_shows_letters_the_font_cannot_draw_as_code_points():
    assert screens.esc("\u00e9\u4e2d\U0001f600") == "\\xe9\\u4e2d\\U0001f600"


def test_esc_joins_a_json_surrogate_pair_into_one_code_point():
    import json
    assert screens.esc(json.loads('"\\ud83e\\udd19!"')) == "\\U0001f919!"


def test_esc_shows_a_lone_surrogate():
    import json
    assert screens.esc(json.loads('"\\ud83ex\\udd19"')) == "\\ud83ex\\udd19"


def test_esc_doubles_a_backslash_so_text_cannot_fake_an_escape():
    assert screens.esc("\\u202e") == "\\\\u202e"
