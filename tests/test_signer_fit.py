"""Real accounts fit (issue 10, item 4): at 128K on the simulator (firmware in ROM, the
chip's C stack, the real main loop and link) with 10 clients admitted, the size ladder:
follow lists, notes up to the largest request a relay carries, nip44/nip04 of 32 KB;
one step beyond each is answered "too large" (a response, not silence).

Every result is checked against independent implementations (tests/refclient.py:
coincurve ids and signatures, NIP-44/NIP-04 from the spec).
"""
import json
import os
import time

import pytest

import refclient as rc
from test_signer_harness import SIGNER_PUB, SIGNER_SK, bsim

# The largest kind-24133 request a relay carries. Relays commonly cap an event at 64 KB
# (65,536 bytes of its JSON). A request event's JSON without its content (id, pubkey,
# created_at, kind 24133, one p tag, sig, keys and punctuation) is 418 bytes, so the
# content (NIP-44 base64) may be 65,118 characters: 48,838 payload bytes. The payload
# is 1 (version) + 32 (nonce) + 2 (length) + padded + 32 (MAC); padded lengths between
# 32 KB and 64 KB are multiples of 8,192 (NIP-44 pad: chunk = next_power / 8), so the
# largest that fits is 40,960: the largest request text (the JSON-RPC body) is 40,960
# bytes (54,704 characters of base64, an event of 55,122 bytes). One byte more pads to
# 49,152: 65,628 characters, an event of 66,046 bytes, beyond what a relay carries.
EVENT_CAP = 65536
EVENT_OVERHEAD = len(json.dumps({"id": "0" * 64, "pubkey": "0" * 64, "created_at": 1700000000,
                                 "kind": 24133, "tags": [["p", "0" * 64]], "content": "",
                                 "sig": "0" * 128}, separators=(",", ":")))


def _b64_len(text_len):
    return (1 + 32 + 2 + rc._padded_len(text_len) + 32 + 2) // 3 * 4


def largest_request():
    n = 65535
    while EVENT_OVERHEAD + _b64_len(n) > EVENT_CAP:
        n -= 1
    return n


MAX_REQUEST = 40960
RULES = ["sign_event:1", "nip44_encrypt", "nip44_decrypt", "nip04_encrypt", "nip04_decrypt"]


def test_the_largest_request_a_relay_carries_is_40960_bytes():
    assert EVENT_OVERHEAD == 418
    assert largest_request() == MAX_REQUEST
    assert EVENT_OVERHEAD + _b64_len(MAX_REQUEST) <= EVENT_CAP < EVENT_OVERHEAD + _b64_len(MAX_REQUEST + 1)


class Fit:
    """A simulator at `heap` with a stored key and 10 admitted clients (c among them,
    with rules for kind 1 and the encrypt/decrypt methods; a kind 3 goes to the prompt)."""

    def __init__(self, tmp_path, heap="128K"):
        import bridge.link as L
        self.state = tmp_path / "state"
        fl = self.state / "flash"
        fl.mkdir(parents=True)
        (fl / "key.json").write_text(json.dumps({"v": 1, "sk": SIGNER_SK.hex()}))
        self.c = rc.Client()
        now = int(time.time())
        clients = {}
        for i in range(int(os.environ.get("FIT_OTHERS", "9"))):
            clients[os.urandom(32).hex()] = {"name": "client %d" % i, "url": "https://c%d.example" % i,
                                             "image": "", "rules": list(RULES),
                                             "relays": ["wss://relay%d.example" % i], "last_used": now}
        clients[self.c.pubhex] = {"name": "tester", "url": "", "image": "", "rules": list(RULES),
                                  "relays": ["wss://relay.example"], "last_used": now}
        (fl / "clients.json").write_text(json.dumps(clients))
        self.sim = bsim.Sim(str(self.state), heap=heap)
        self.lk = L.DeviceLink(self.sim.tty)
        self.lk.__enter__()
        self.lk.hello(timeout=15)

    def close(self):
        try:
            self.lk.__exit__(None, None, None)
        finally:
            self.sim.stop()

    def screen(self):
        return (self.state / "screen.txt").read_text()

    def ask(self, method, params, prompt=False, scheme="nip44"):
        """-> (response dict or None, outcome, device ms, ev sent)."""
        import bridge.link as L
        ev = self.c.request(SIGNER_PUB, method, params, scheme=scheme)
        msg = {"t": "event", "now": int(time.time()), "event": rc.strip(ev)}
        try:
            rid = self.lk.request(msg)
        except L.TooLarge:
            rid = self._in_pieces(msg)
        if prompt:
            deadline = time.time() + 30
            while "APPROVE" not in self.screen() and time.time() < deadline:
                time.sleep(0.05)
            self.screen_seen = self.screen()
            time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
            bsim.press(str(self.state), "approve")
        pub = None
        while True:
            m = self.lk.recv(60)
            assert m is not None, "no answer"
            if m.get("rid") != rid:
                continue
            if m["t"] == "publish":
                pub = m["event"]
            if m["t"] in ("done", "error"):
                break
        res = self.c.open(pub, SIGNER_PUB)[0] if pub else None
        return res, m.get("outcome") or m.get("error"), m.get("ms"), ev

    def _in_pieces(self, msg):
        # what the bridge does with a request the device refused whole (courier.send_in_pieces)
        from bridge.courier import stream_messages
        rid = self.lk.next_rid()
        for m in stream_messages(rid, msg["now"], msg["event"], 2048):
            self.lk.send(m)
        return rid

    def mem(self):
        rid = self.lk.request({"t": "status"})
        return self.lk.wait_for(lambda m: m.get("rid") == rid and m.get("t") in ("status", "error"), 10)


# ---- a big template's tags kept as text (crypto/jsontags.py) -----------------------

from test_signer_harness import Device, answer, call, pair  # noqa: E402

ODD = ["quote \" back \\ slash", "nl\nand\ttab", "caf\u00e9 \u00fc", "emoji \U0001F600 x",
       "ctl \u0001\u001f", "del \u007f", "ls \u2028 ps \u2029", "[not, a tag]", "]", ""]


def _odd_tags(n):
    tags = []
    for i in range(n):
        h = os.urandom(32).hex()
        t = ["p", h.upper() if i % 7 == 3 else h]
        if i % 3 == 1:
            t += ["wss://relay%d.example.com" % i, ODD[i % len(ODD)]]
        if i % 11 == 5:
            t = ["t", ODD[(i // 11) % len(ODD)]]
        if i % 13 == 6:
            t = ["x"]
        tags.append(t)
    return tags


@pytest.mark.parametrize("style", ["ascii", "utf8", "spaced"])
def test_big_tags_are_signed_as_json_loads_reads_them(tmp_path, style):
    # hundreds of tags with escapes, \\u escapes of emoji (surrogate pairs), raw UTF-8
    # and whitespace between tokens: signed with the id coincurve computes from the
    # same template (refclient), and given back equal
    d = Device(tmp_path / "flash", heap="512K")  # what is checked here is the text, not the fit
    c = rc.Client()
    try:
        pair(d, c, perms="sign_event:1")
        tags = _odd_tags(150)
        tpl = {"kind": 1, "content": "x" * (3000 if style == "utf8" else 5), "tags": tags,
               "created_at": int(time.time())}
        text = json.dumps(tpl, ensure_ascii=(style != "utf8"),
                          indent=(1 if style == "spaced" else None))
        assert len(text) > 10000
        rid, ev, msgs = call(d, c, "sign_event", [text])
        res = answer(c, msgs, rid, ev)[0]
        assert "error" not in res, res
        signed = json.loads(res["result"])
        assert rc.verify_event(signed)
        assert signed["tags"] == tags and signed["content"] == tpl["content"]
        assert signed["id"] == rc.event_id(dict(signed))
    finally:
        d.close()


@pytest.mark.parametrize("bad,error", [
    ('[["p","%s"],["e",5]]', "invalid event: tag 1 item 1 is not a string"),
    ('[["p","%s"],"e"]', "invalid event: tag 1 is not a list"),
    ('[["p","%s"],["e",["x"]]]', "invalid event: tag 1 item 1 is not a string"),
    ('[["p","%s"],["e","\\x"]]', None),  # MicroPython's json.loads takes an unknown escape
    # MicroPython's json.loads is lax here (a missing comma, a trailing one): the big
    # tags fall back to it, so the two agree whatever it does
    ('[["p","%s"] ["e"]]', None),
    ('[["p","%s"],["e"],]', None),
    ('[["p","%s"],["e"]', "invalid params: event is not JSON"),
])
def test_big_tags_of_the_wrong_shape_are_refused_as_small_ones_are(tmp_path, bad, error):
    d = Device(tmp_path / "flash", heap="512K")  # what is checked here is the text, not the fit
    c = rc.Client()
    try:
        pair(d, c, perms="sign_event:1")
        pad = ",".join('["t","%s"]' % ("y" * 40) for _ in range(60))
        got = []
        for tags in (bad, bad[:-1] + "," + pad + "]"):
            tags = tags % ("a" * 64)
            text = '{"kind":1,"content":"hi","created_at":%d,"tags":%s}' % (int(time.time()), tags)
            rid, ev, msgs = call(d, c, "sign_event", [text])
            got.append(answer(c, msgs, rid, ev)[0].get("error"))
        if error is not None:
            assert got[0] in (error, "invalid params: event is not JSON")
        assert got[1] == got[0]  # big (Tags) as small (json.loads)
    finally:
        d.close()


# ---- the ladder at 128K with 10 clients admitted -----------------------------------
#
# Measured 2026-12-02 (this branch): at rest 44 KB free, largest block 29.8 KB (one
# client admitted: 53.7 KB / 39.9 KB). A request the link cannot take whole with 20 KB
# to spare comes as a stream (link.py keep_free, signer/oversize.py) and costs one
# block the size of its text; a big template's tags stay in it as text
# (crypto/jsontags.py). What fits reliably, and what is still short of issue 10's goals:

# Set at about 3/4 of the edge measured on a fresh boot: at the edge itself the heap's
# state varies from run to run (the GC is conservative: random bytes can keep garbage
# alive; the replay ring's flush and the collections fall at different points), and
# 16,000 / 100 / 60 / 2,000 failed about one run in five.
FITS = {"follows": 80, "hinted": 48, "note": 12000, "nip44": 7000, "nip04": 7000}
GOALS = {"follows": 500, "hinted": 300, "note": MAX_REQUEST - 200, "crypt": 32 * 1024}


def _follows(n, hints):
    return [["p", os.urandom(32).hex()] + (["wss://relay%d.example.com" % i, "friend %d" % i] if hints else [])
            for i in range(n)]


def _kind3(f, tags):
    tpl = {"kind": 3, "content": "", "tags": tags, "created_at": int(time.time())}
    return f.ask("sign_event", [json.dumps(tpl)], prompt=True)


def _signed(res, out):
    assert out == "ok" and res is not None and "error" not in res, (out, res)
    ev = json.loads(res["result"])
    assert rc.verify_event(ev)  # coincurve: the id from the same fields, and the signature
    return ev


def test_a_note_fits_at_128k_with_10_clients(tmp_path):
    f = Fit(tmp_path)
    try:
        note = ("lorem ipsum dolor sit amet, " * 1000)[:FITS["note"] - 20] + ' "quoted"\n\U0001F600 end.'
        tpl = {"kind": 1, "content": note, "tags": [["t", "long"]], "created_at": int(time.time())}
        ev = _signed(*f.ask("sign_event", [json.dumps(tpl)])[:2])
        assert ev["content"] == note
        assert len(f.mem()["clients"]) == 10
    finally:
        f.close()


@pytest.mark.parametrize("scheme", ["nip44", "nip04"])
def test_encrypt_and_decrypt_fit_at_128k_with_10_clients(tmp_path, scheme):
    f = Fit(tmp_path)
    try:
        peer = rc.Client()
        text = ("plain text \u00e9 " * 1000)[:FITS[scheme]]
        res, out, ms, _ = f.ask(scheme + "_encrypt", [peer.pubhex, text])
        assert out == "ok", out
        assert peer.decrypt(SIGNER_PUB, res["result"]) == (text, scheme)
        res, out, ms, _ = f.ask(scheme + "_decrypt", [peer.pubhex, peer.encrypt(SIGNER_PUB, text, scheme)])
        assert out == "ok" and res["result"] == text, out
    finally:
        f.close()


def test_a_big_request_leaves_the_largest_block_at_rest_whole(tmp_path):
    # what a request leaves for good is copied down once nothing of it is alive: copied
    # while its buffers still held the bottom of the heap, the copies went into the big
    # block (after a streamed 8,000-character nip44_encrypt: 22 KB left of 35)
    f = Fit(tmp_path)
    try:
        peer = rc.Client()
        f.ask("ping", [])  # the client's keys and conversation key, as after any first request
        before = f.mem()["heap"]
        text = ("plain text \u00e9 " * 1000)[:8000]
        res, out, ms, _ = f.ask("nip44_encrypt", [peer.pubhex, text])
        assert out == "ok" and peer.decrypt(SIGNER_PUB, res["result"]) == (text, "nip44")
        after = f.mem()["heap"]
        print("largest block at rest before/after: %d / %d" % (before["largest"], after["largest"]))
        assert after["largest"] >= before["largest"] - 2048, (before, after)
    finally:
        f.close()


def test_follow_lists_fit_through_the_prompt_at_128k_with_10_clients(tmp_path):
    f = Fit(tmp_path)
    try:
        # a follow list with no earlier one, then a changed one: the prompt's diff
        tags = _follows(FITS["follows"], False)
        ev = _signed(*_kind3(f, tags)[:2])
        assert ev["tags"] == tags
        assert "no earlier list" in f.screen_seen
        tags2 = tags[7:] + _follows(3, False)
        res, out, ms, _ = _kind3(f, tags2)
        assert "%d -> %d" % (len(tags), len(tags2)) in f.screen_seen  # against the list signed before
        assert "+3 added" in f.screen_seen
        assert _signed(res, out)["tags"] == tags2
        tags = _follows(FITS["hinted"], True)
        assert _signed(*_kind3(f, tags)[:2])["tags"] == tags
        assert len(f.mem()["clients"]) == 10
    finally:
        f.close()


def test_beyond_the_limits_every_request_is_answered_too_large(tmp_path):
    # a response, not silence: each is refused "too large" under its own id
    f = Fit(tmp_path)
    try:
        peer = rc.Client()
        big_note = {"kind": 1, "content": "x" * (MAX_REQUEST + 100), "tags": [],
                    "created_at": int(time.time())}
        # between what fits and the goal: its block fits, but would leave no room for the
        # rest of the stream (before oversize.ROOM: the next "more" failed, unanswered)
        mid_note = {"kind": 1, "content": "x" * 28000, "tags": [], "created_at": int(time.time())}
        asks = [("sign_event", [json.dumps(mid_note)], False),
                ("sign_event", [json.dumps(big_note)], False),
                ("sign_event", [json.dumps({"kind": 3, "content": "", "tags": _follows(GOALS["follows"] + 1, False),
                                            "created_at": int(time.time())})], False),
                ("sign_event", [json.dumps({"kind": 3, "content": "", "tags": _follows(GOALS["hinted"] + 1, True),
                                            "created_at": int(time.time())})], False),
                ("nip44_encrypt", [peer.pubhex, "y" * (GOALS["crypt"] + 1)], False),
                ("nip04_encrypt", [peer.pubhex, "y" * (GOALS["crypt"] + 1)], False)]
        for method, params, prompt in asks:
            res, out, ms, ev = f.ask(method, params, prompt)
            assert res is not None, (method, out)
            assert res["id"] == ev["_req_id"] and res["error"] == "too large", (method, res)
    finally:
        f.close()


def _goal_follows(f):
    # an account's follow list grows: the 500 are compared with the list signed before
    # them, and the 300 with hints with the 500 (a drop: the loud warning)
    first = _follows(10, False)
    assert _signed(*_kind3(f, first)[:2])["tags"] == first
    tags = first + _follows(GOALS["follows"] - 10, False)
    assert _signed(*_kind3(f, tags)[:2])["tags"] == tags
    assert "10 -> 500" in f.screen_seen and "+490 added" in f.screen_seen
    tags = _follows(GOALS["hinted"], True)
    assert _signed(*_kind3(f, tags)[:2])["tags"] == tags
    assert "500 -> 300" in f.screen_seen and "DROPS" in f.screen_seen


def _goal_note(f):
    tpl = {"kind": 1, "content": "x" * GOALS["note"], "tags": [], "created_at": int(time.time())}
    assert _signed(*f.ask("sign_event", [json.dumps(tpl)])[:2])["content"] == tpl["content"]


def _goal_crypt(f):
    peer = rc.Client()
    text = ("plain text, " * 3000)[:GOALS["crypt"]]
    # a decrypt's request carries the ciphertext (4/3 of the text and more): 28,000
    # characters is about the largest a relay carries (NIP-44 pads it to 28,672: a
    # request of ~38.5 KB; 32 KB would be 49,152, beyond MAX_REQUEST)
    short = text[:28000]
    for scheme in ("nip44", "nip04"):
        res, out, ms, _ = f.ask(scheme + "_encrypt", [peer.pubhex, text])
        assert out == "ok" and peer.decrypt(SIGNER_PUB, res["result"]) == (text, scheme), (scheme, out)
        ev = f.c.request(SIGNER_PUB, scheme + "_decrypt", [peer.pubhex, peer.encrypt(SIGNER_PUB, short, scheme)])
        assert EVENT_OVERHEAD + len(ev["content"]) <= EVENT_CAP
        res, out, ms, _ = f.ask(scheme + "_decrypt", [peer.pubhex, peer.encrypt(SIGNER_PUB, short, scheme)])
        assert out == "ok" and res["result"] == short, (scheme, out)


GOAL_PARTS = {"follows": _goal_follows, "note": _goal_note, "crypt": _goal_crypt}


@pytest.mark.xfail(strict=True, reason="issue 10 item 4 goals not reached at 128K with 10 "
                   "clients: 47 KB free at rest, largest block 34 KB; a 500-follow request "
                   "is 38 KB of text, a 32 KB encrypt 40,960 bytes (see docs/fit.md)")
@pytest.mark.parametrize("part", sorted(GOAL_PARTS))
def test_the_goals_of_issue_10_item_4(tmp_path, part):
    f = Fit(tmp_path)
    try:
        GOAL_PARTS[part](f)
    finally:
        f.close()


# 144 KB free after boot with the ten clients: still less than the 175 KB an RP2040 has
# after start-up with ROMFS (docs/fit.md, "The simulator's heap and the chip's"). At 192K
# (111 KB free) the goals pass too, but the 500 follows through the prompt are at the
# edge there: one run of a full make test in two failed.
GOAL_HEAP = "224K"


@pytest.mark.parametrize("part", sorted(GOAL_PARTS))
def test_the_goals_of_issue_10_item_4_are_met_at_224k_after_boot(tmp_path, part):
    # each part on a device just booted: after a day's use the heap is in holes
    f = Fit(tmp_path, heap=GOAL_HEAP)
    try:
        GOAL_PARTS[part](f)
        assert len(f.mem()["clients"]) == 10
    finally:
        f.close()
