# firmware/link.py on MicroPython: framing, resynchronisation, ACK/NAK, duplicates,
# assembly limits, and main.py's per-message dispatch (never raises, always answers).
import gc
import json
import binascii
import link
from link import BEGIN, MORE, ACK, NAK, RESET


def frame(typ, seq, payload=b""):
    body = bytes((typ, seq)) + len(payload).to_bytes(2, "big") + payload
    return b"\xa5\x5a" + body + binascii.crc32(body).to_bytes(4, "big")


def frames_of(data, seq=0):
    # a message as the host splits it: BEGIN (total + first 508 bytes), MOREs of 512
    out = [frame(BEGIN, seq, len(data).to_bytes(4, "big") + data[:508])]
    i = 508
    while i < len(data):
        seq = (seq + 1) & 0xFF
        out.append(frame(MORE, seq, data[i:i + 512]))
        i += 512
    return out


def parse(w):
    # one device write is one whole frame
    assert w[0:2] == b"\xa5\x5a", w
    ln = (w[4] << 8) | w[5]
    assert len(w) == 10 + ln, (len(w), ln)
    assert binascii.crc32(w[2:6 + ln]) == int.from_bytes(w[6 + ln:], "big")
    return w[2], w[3], w[6:6 + ln]


class Dev:
    """A device-side Link with its writes and messages captured."""

    def __init__(self, max_message=65536, static=4096):
        self.writes = []
        self.msgs = []
        self.l = link.Link(lambda b: self.writes.append(bytes(b)), lambda mv: self.msgs.append(bytes(mv)),
                           max_message, static)

    def feed(self, data, step=0):
        data = bytes(data)
        if step:
            for i in range(0, len(data), step):
                self.l.feed(data[i:i + step])
        else:
            self.l.feed(data)

    def replies(self):
        out = []
        for w in self.writes:
            t, _, p = parse(w)
            if t == ACK:
                out.append(("ACK", p[0]))
            elif t == NAK:
                out.append(("NAK", p[0], p[1]))
        self.writes = []
        return out


def test_single_frame_message_round_trip():
    d = Dev()
    d.feed(frame(BEGIN, 7, b"\x00\x00\x00\x02{}"))
    assert d.msgs == [b"{}"]
    assert d.replies() == [("ACK", 7)]


def test_multi_frame_message_every_byte_value():
    data = bytes(range(256)) * 9 + b"\xa5\x5a\xa5\x5a\xa5"
    d = Dev()
    fs = frames_of(data, seq=250)  # seq wraps through 255 -> 0
    for f in fs:
        d.feed(f)
    assert d.msgs == [data]
    r = d.replies()
    assert [x[0] for x in r] == ["ACK"] * len(fs)
    assert [x[1] for x in r] == [(250 + i) & 0xFF for i in range(len(fs))]


def test_every_seq_and_length_byte_by_byte():
    # headers and CRCs take all sorts of values, some containing magic bytes
    d = Dev()
    n = 0
    for seq in range(256):
        data = bytes(((seq * 7 + i) & 0xFF for i in range(seq % 37)))
        d.feed(frame(BEGIN, seq, len(data).to_bytes(4, "big") + data), step=1 + seq % 5)
        n += 1
        assert d.msgs == [data], seq
        assert d.replies() == [("ACK", seq)]
        d.msgs = []


def test_garbage_before_between_and_after_frames():
    d = Dev()
    g = b"\x00\xa5\xa5\x5a\x01\xa5junk\x5a\xa5"
    d.feed(g + frame(BEGIN, 1, b"\x00\x00\x00\x01A") + g + frame(BEGIN, 2, b"\x00\x00\x00\x01B") + g)
    d.l.expire()
    d.l.expire()
    assert d.msgs == [b"A", b"B"]


def test_garbage_inside_a_frame_drops_it_and_resend_works():
    d = Dev()
    f = frame(BEGIN, 5, b"\x00\x00\x00\x03abc")
    bad = f[:8] + b"\xa5\x5a\x00" + f[8:]
    d.feed(bad)
    d.l.expire()
    assert d.msgs == []
    d.replies()
    d.feed(f)  # the host resends
    assert d.msgs == [b"abc"]
    assert d.replies() == [("ACK", 5)]


def test_truncated_frame_then_good_frame():
    d = Dev()
    good = frame(BEGIN, 9, b"\x00\x00\x00\x02ok")
    cut = frame(BEGIN, 8, b"\x00\x00\x00\x40" + bytes(64))[:30]
    d.feed(cut + good)
    # the truncated header promised more bytes than came: on the line going quiet
    # (main.py calls expire) the good frame inside is found
    assert d.msgs == []
    d.l.expire()
    assert d.msgs == [b"ok"]
    assert ("ACK", 9) in d.replies()


def test_truncated_frame_then_enough_bytes_recovers_without_expire():
    d = Dev()
    goods = [frame(BEGIN, s, b"\x00\x00\x00\x01" + bytes((s,))) for s in range(10, 20)]
    d.feed(frame(BEGIN, 8, b"\x00\x00\x00\x20" + bytes(32))[:12] + b"".join(goods))
    assert d.msgs == [bytes((s,)) for s in range(10, 20)]


def test_bad_crc_is_nakked_and_not_used():
    d = Dev()
    f = bytearray(frame(BEGIN, 3, b"\x00\x00\x00\x02hi"))
    f[-1] ^= 1
    d.feed(f)
    assert d.msgs == []
    assert d.replies() == [("NAK", 3, link.NAK_BAD)]
    assert d.l.stats["bad"] == 1


def test_oversize_len_header_is_rescanned_at_once():
    d = Dev()
    hdr = b"\xa5\x5a\x01\x04\xff\xff"  # len 65535 > 512: not a frame
    d.feed(hdr + frame(BEGIN, 5, b"\x00\x00\x00\x01x"))
    assert d.msgs == [b"x"]  # no waiting for 65535 bytes
    hdr = b"\xa5\x5a\x02\x04\x02\x01"  # len 513
    d.feed(hdr + frame(BEGIN, 6, b"\x00\x00\x00\x01y"))
    assert d.msgs == [b"x", b"y"]


def test_implausible_headers_are_garbage():
    d = Dev()
    for h in (b"\xa5\x5a\x06\x01\x00\x01", b"\xa5\x5a\x18\x01\x00\x05", b"\xa5\x5a\x01\x01\x00\x02",
              b"\xa5\x5a\x02\x01\x00\x00", b"\xa5\x5a\x77\x01\x00\x00"):
        d.feed(h + frame(BEGIN, 40, b"\x00\x00\x00\x01z"))
        d.feed(frame(RESET, 41))
    assert d.msgs == [b"z"] * 5


def test_too_large_begin_is_refused_and_rest_ignored():
    d = Dev(max_message=1000)
    data = bytes(1500)
    fs = frames_of(data, seq=20)
    for f in fs:
        d.feed(f)
    r = d.replies()
    assert r[0] == ("NAK", 20, link.NAK_TOO_LARGE)
    assert all(x[0] == "NAK" and x[2] == link.NAK_RESTART for x in r[1:]), r
    assert d.msgs == []
    assert d.l.stats["refused"] == 1
    # the link is fine afterwards
    d.feed(frame(BEGIN, 30, b"\x00\x00\x00\x01k"))
    assert d.msgs == [b"k"]


def test_begin_first_piece_longer_than_total_is_refused():
    d = Dev()
    d.feed(frame(BEGIN, 1, b"\x00\x00\x00\x01abc"))
    assert d.replies() == [("NAK", 1, link.NAK_TOO_LARGE)]
    assert d.msgs == []


def test_more_overflowing_total_restarts():
    d = Dev()
    d.feed(frame(BEGIN, 1, b"\x00\x00\x00\x03ab"))
    d.feed(frame(MORE, 2, b"cd"))
    assert d.replies() == [("ACK", 1), ("NAK", 2, link.NAK_RESTART)]
    assert d.msgs == []


def test_duplicate_seq_acked_again_used_once():
    d = Dev()
    fs = frames_of(bytes(range(200)) * 4, seq=100)
    for f in fs:
        d.feed(f)
        d.feed(f)  # our ACK was "lost": the host resent it
    assert d.msgs == [bytes(range(200)) * 4]
    r = d.replies()
    assert len(r) == 2 * len(fs) and all(x[0] == "ACK" for x in r)
    assert d.l.stats["dup"] == len(fs)
    # a duplicate of the last frame after completion does not deliver it again
    d.feed(fs[-1])
    assert len(d.msgs) == 1


def test_same_seq_different_frame_is_not_a_duplicate():
    d = Dev()
    d.feed(frame(BEGIN, 0, b"\x00\x00\x00\x01a"))
    d.feed(frame(BEGIN, 0, b"\x00\x00\x00\x01b"))  # a new host that did not RESET
    assert d.msgs == [b"a", b"b"]


def test_duplicate_of_refused_begin_is_refused_again():
    d = Dev(max_message=10)
    f = frame(BEGIN, 4, b"\x00\x00\x00\x20" + bytes(10))
    d.feed(f)
    d.feed(f)
    assert d.replies() == [("NAK", 4, link.NAK_TOO_LARGE)] * 2


def test_begin_mid_message_discards_half_message():
    d = Dev()
    a = frames_of(b"A" * 1000, seq=1)
    d.feed(a[0])
    d.feed(frame(BEGIN, 9, b"\x00\x00\x00\x01B"))
    d.feed(a[1])  # rest of A: no message in progress any more
    assert d.msgs == [b"B"]
    assert d.replies()[-1] == ("NAK", 2, link.NAK_RESTART)


def test_reset_drops_half_message():
    d = Dev()
    a = frames_of(b"A" * 1000, seq=1)
    d.feed(a[0])
    d.feed(frame(RESET, 50))
    d.feed(a[1])
    assert d.msgs == []
    assert d.replies() == [("ACK", 1), ("ACK", 50), ("NAK", 2, link.NAK_RESTART)]
    for f in a:  # the host starts over
        d.feed(f)
    assert d.msgs == [b"A" * 1000]


def test_static_buffer_is_reused_and_large_messages_get_their_own():
    d = Dev(static=64)
    for i in range(5):
        d.feed(frame(BEGIN, i, b"\x00\x00\x00\x04" + bytes((i,)) * 4))
    assert d.msgs == [bytes((i,)) * 4 for i in range(5)]
    big = bytes(range(256)) * 3
    for f in frames_of(big, seq=10):
        d.feed(f)
    assert d.msgs[-1] == big


def test_without_static_buffer():
    d = Dev(static=0)
    d.feed(frame(BEGIN, 1, b"\x00\x00\x00\x02hi"))
    d.feed(frame(BEGIN, 2, b"\x00\x00\x00\x00"))
    big = bytes(range(256)) * 3
    for f in frames_of(big, seq=3):
        d.feed(f)
    assert d.msgs == [b"hi", b"", big]


def test_no_block_for_message_is_refused_not_busy():
    d = Dev(max_message=1 << 30, static=16)
    d.feed(frame(BEGIN, 1, (1 << 29).to_bytes(4, "big") + b"x"))  # 512 MB: no heap has that
    assert d.replies() == [("NAK", 1, link.NAK_TOO_LARGE)]


def decode_device_frames(writes):
    # what the host does with the device's frames
    msg = None
    out = []
    for w in writes:
        t, _, p = parse(w)
        if t == BEGIN:
            total = int.from_bytes(p[:4], "big")
            msg = bytearray(p[4:])
        elif t == MORE:
            msg += p
        if msg is not None and len(msg) == total:
            out.append(bytes(msg))
            msg = None
    return out


def test_send_message_splits_and_round_trips_json():
    d = Dev()
    s = "".join(chr(c) for c in range(1, 0x800, 3)) + "\"\\\n\x00\u2028" + "\U0001F600" * 300
    obj = {"t": "publish", "rid": 12, "event": {"content": s, "tags": [["p", "ab" * 32]], "kind": 24133},
           "relays": [], "ok": True, "no": None, "f": 1.5, "neg": -3}
    d.l.send_message(obj)
    out = decode_device_frames(d.writes)
    assert len(out) == 1
    assert json.loads(out[0]) == obj
    # every frame but the last is full, and the seqs count up
    seqs = [parse(w)[1] for w in d.writes]
    assert seqs == list(range(len(seqs)))
    assert all(len(w) == 522 for w in d.writes[:-1])


def test_send_message_into_another_link():
    a = Dev()
    b = Dev()
    obj = {"t": "echo", "data": "x" * 3000 + "é" * 700}
    a.l.send_message(obj)
    # the device's data frames are valid host->device frames too
    for w in a.writes:
        b.feed(w)
    assert [json.loads(m) for m in b.msgs] == [obj]


def test_send_message_every_code_point_below_256():
    d = Dev()
    s = "".join(chr(c) for c in range(256)) * 4
    d.l.send_message({"s": s})
    out = decode_device_frames(d.writes)
    assert json.loads(out[0]) == {"s": s}


def test_send_message_needs_no_copy_of_a_large_string():
    d = Dev()
    gc.collect()
    s = "Q" * 20000
    obj = {"t": "publish", "rid": 1, "event": {"content": s, "u": "é\n" * 500}}
    n = [0]

    def count(b):
        n[0] += len(b)
    d.l.write = count
    # Fragment the heap: no free block anywhere near the string's size is left, only
    # 2 KB holes, as on a device that has been running for a while.
    gc.collect()
    ballast = [None] * 200
    i = 0
    try:
        while i < 200:
            ballast[i] = bytearray(2048)
            i += 1
    except MemoryError:
        pass
    for k in range(0, i, 2):
        ballast[k] = None
    gc.collect()
    try:
        try:
            bytearray(20000)
            big = True
        except MemoryError:
            big = False
        assert not big, "heap not fragmented"
        d.l.send_message(obj)
    finally:
        ballast = None
        gc.collect()
    assert n[0] > 21000


def test_software_crc_matches_binascii():
    for data in (b"", b"a", b"123456789", bytes(range(256)) * 3):
        assert link._crc32_soft(data) == binascii.crc32(data)
    assert link._crc32_soft(b"123456789") == 0xCBF43926


# ---- main.py's dispatch: whatever arrives, the device answers and keeps going

class FakeApp:
    def __init__(self):
        self.got = []

    def hello(self):
        return {"fw": "t", "pubkey": None, "relays": [], "limits": {"queue": 3}}

    def handle(self, msg):
        if msg.get("boom"):
            raise KeyError("boom")
        if msg.get("oom"):
            raise MemoryError()
        self.got.append(msg)


class FakeBoard:
    name = "fake"


def dispatched(raw, app=None):
    import main
    d = Dev()
    a = app or FakeApp()
    main.dispatch(a, d.l, FakeBoard(), memoryview(raw))
    return a, [json.loads(m) for m in decode_device_frames(d.writes)]


def test_dispatch_hello_adds_link_limits():
    _, out = dispatched(b'{"t":"hello","now":1700000000}')
    h = out[0]
    assert h["t"] == "hello" and h["proto"] == 1 and h["board"] == "fake" and h["fw"] == "t"
    assert h["limits"] == {"max_frame": 512, "max_message": 65536, "queue": 3}


def test_dispatch_passes_requests_to_app():
    a, out = dispatched(b'{"t":"status","rid":4}')
    assert a.got == [{"t": "status", "rid": 4}] and out == []


def test_dispatch_answers_errors_and_never_raises():
    cases = [
        (b'{"t":"status","rid":4', 4, "invalid message: not JSON"),
        (b'\xff\xfe{"rid":77,', 77, "invalid message: not JSON"),
        (b'[1,2]', None, "invalid message: not an object"),
        (b'{"t":"status","rid":"x"}', None, "invalid message: rid must be an integer"),
        (b'{"t":"status","rid":true}', None, "invalid message: rid must be an integer"),
        (b'{"t":"press","button":"approve","rid":5}', 5, "invalid message: unknown t"),
        (b'{"rid":6}', 6, "invalid message: unknown t"),
        (b'{"t":"status","rid":7,"boom":1}', 7, "internal error: KeyError"),
        (b'{"t":"status","rid":8,"oom":1}', 8, "busy"),
        (b'', None, "invalid message: not JSON"),
    ]
    for raw, rid, err in cases:
        _, out = dispatched(raw)
        assert out == [{"t": "error", "rid": rid, "error": err}], (raw, out)


def test_dispatch_message_too_big_to_parse_is_answered_too_large():
    import main
    d = Dev()
    gc.collect()
    n = gc.mem_free() * 2 // 3
    raw = None
    while raw is None:  # the largest text the heap holds; its parsed copy cannot fit next to it
        try:
            raw = bytearray(n)
        except MemoryError:
            n -= 2048
    head = b'{"t":"status","rid":99,"pad":"'
    mv = memoryview(raw)
    mv[0:len(head)] = head
    xs = b"x" * 1024
    i = len(head)
    while i < n - 2:
        k = min(1024, n - 2 - i)
        mv[i:i + k] = xs[0:k]
        i += k
    mv[n - 2:n] = b'"}'
    main.dispatch(FakeApp(), d.l, FakeBoard(), mv)
    raw = mv = None
    assert [json.loads(m) for m in decode_device_frames(d.writes)] == [
        {"t": "error", "rid": 99, "error": "too large"}]


def test_scan_rid():
    import main
    assert main.scan_rid(memoryview(b'{"t":"x", "rid" : 123,')) == 123
    assert main.scan_rid(memoryview(b'{"t":"x","c":"\\"rid\\":5"')) is None
    assert main.scan_rid(memoryview(b'x' * 1000 + b'"rid":42}')) == 42
    assert main.scan_rid(memoryview(b'{"t":"rid","rid":7')) == 7
    assert main.scan_rid(memoryview(b'{"rid":"x"')) is None
