"""Host side of the link (bridge/link.py): framing against the same cases as the firmware's
tests/firmware/fw_link.py, random-garbage fuzz (also against firmware/link.py run under
CPython), and DeviceLink's stop-and-wait against a scripted fake device behind a real pty."""
import asyncio
import json
import os
import random
import select
import sys
import threading
import time
import tty

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bridge import link as L  # noqa: E402
from bridge.link import ACK, BEGIN, MORE, NAK, RESET, Assembler, FrameDecoder, encode_frame, split_message  # noqa: E402


def firmware_link():
    # firmware/link.py is plain Python too: load it as the device in CPython tests
    import importlib.util
    spec = importlib.util.spec_from_file_location("fw_link_cpython", os.path.join(ROOT, "firmware", "link.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def msg_frames(data, seq=0):
    out = []
    for i, (t, p) in enumerate(split_message(data)):
        out.append(encode_frame(t, (seq + i) & 0xFF, p))
    return out


def receive(chunks, max_message=1 << 24, expire=True):
    """Run a byte stream through the host decoder + assembler; the complete messages."""
    dec, asm, out = FrameDecoder(), Assembler(max_message), []
    for c in chunks:
        for t, s, p in dec.feed(c):
            m = asm.frame(t, p)
            if m is not None:
                out.append(m)
    while expire and dec.pending():
        for t, s, p in dec.expire():
            m = asm.frame(t, p)
            if m is not None:
                out.append(m)
    return out, dec, asm


# ---------------------------------------------------------------- framing, same cases as fw_link

def test_frame_layout_matches_protocol():
    f = encode_frame(BEGIN, 7, b"\x00\x00\x00\x02{}")
    assert f[:2] == b"\xa5\x5a" and f[2] == 1 and f[3] == 7 and f[4:6] == b"\x00\x06"
    import binascii
    assert f[-4:] == binascii.crc32(f[2:-4]).to_bytes(4, "big")
    assert len(f) == 10 + 6


def test_split_message_sizes():
    assert split_message(b"") == [(BEGIN, b"\x00\x00\x00\x00")]
    fs = split_message(bytes(508))
    assert len(fs) == 1 and len(fs[0][1]) == 512
    fs = split_message(bytes(509))
    assert [len(p) for _, p in fs] == [512, 1]
    fs = split_message(bytes(60000))
    assert all(len(p) == 512 for _, p in fs[:-1]) and sum(len(p) for _, p in fs) == 60004


def test_round_trip_every_byte_value_multi_frame():
    data = bytes(range(256)) * 9 + b"\xa5\x5a\xa5\x5a\xa5"
    out, dec, _ = receive(msg_frames(data, 250))
    assert out == [data] and dec.bad == 0


def test_every_seq_and_length_byte_by_byte():
    stream = b""
    want = []
    for seq in range(256):
        data = bytes(((seq * 7 + i) & 0xFF for i in range(seq % 37)))
        stream += encode_frame(BEGIN, seq, len(data).to_bytes(4, "big") + data)
        want.append(data)
    out, dec, _ = receive([stream[i:i + 1] for i in range(len(stream))])
    assert out == want and dec.bad == 0


def test_garbage_before_between_after():
    g = b"\x00\xa5\xa5\x5a\x01\xa5junk\x5a\xa5"
    a = encode_frame(BEGIN, 1, b"\x00\x00\x00\x01A")
    b = encode_frame(BEGIN, 2, b"\x00\x00\x00\x01B")
    out, _, _ = receive([g + a + g + b + g])
    assert out == [b"A", b"B"]


def test_garbage_inside_a_frame_drops_only_that_frame():
    f = encode_frame(BEGIN, 5, b"\x00\x00\x00\x03abc")
    g = encode_frame(BEGIN, 6, b"\x00\x00\x00\x03def")
    out, dec, _ = receive([f[:8] + b"\xa5\x5a\x00" + f[8:] + g])
    assert out == [b"def"] and dec.bad >= 1


def test_truncated_frame_then_good_frame():
    good = encode_frame(BEGIN, 9, b"\x00\x00\x00\x02ok")
    cut = encode_frame(BEGIN, 8, b"\x00\x00\x00\x40" + bytes(64))[:30]
    out, _, _ = receive([cut + good], expire=False)
    assert out == []  # still waiting for the cut frame's bytes
    out, _, _ = receive([cut + good], expire=True)  # the line went quiet
    assert out == [b"ok"]


def test_truncated_frame_then_enough_bytes():
    goods = [encode_frame(BEGIN, s, b"\x00\x00\x00\x01" + bytes((s,))) for s in range(10, 20)]
    cut = encode_frame(BEGIN, 8, b"\x00\x00\x00\x20" + bytes(32))[:12]
    out, _, _ = receive([cut + b"".join(goods)], expire=False)
    assert out == [bytes((s,)) for s in range(10, 20)]


def test_bad_crc_dropped():
    f = bytearray(encode_frame(BEGIN, 3, b"\x00\x00\x00\x02hi"))
    f[-1] ^= 1
    out, dec, _ = receive([bytes(f)])
    assert out == [] and dec.bad == 1


def test_oversize_len_rescanned_at_once():
    out, _, _ = receive([b"\xa5\x5a\x01\x04\xff\xff" + encode_frame(BEGIN, 5, b"\x00\x00\x00\x01x")], expire=False)
    assert out == [b"x"]


def test_implausible_headers_are_garbage():
    for h in (b"\xa5\x5a\x06\x01\x00\x02", b"\xa5\x5a\x15\x01\x00\x01", b"\xa5\x5a\x01\x01\x00\x02",
              b"\xa5\x5a\x02\x01\x00\x00", b"\xa5\x5a\x77\x01\x00\x00"):
        out, _, _ = receive([h + encode_frame(BEGIN, 40, b"\x00\x00\x00\x01z")], expire=False)
        assert out == [b"z"], h


def test_too_large_begin_dropped_with_its_rest():
    fs = msg_frames(bytes(1500), 20) + [encode_frame(BEGIN, 30, b"\x00\x00\x00\x01k")]
    out, _, asm = receive(fs, max_message=1000)
    assert out == [b"k"] and asm.dropped >= 3


def test_begin_mid_message_discards_half():
    a = msg_frames(b"A" * 1000, 1)
    out, _, asm = receive([a[0], encode_frame(BEGIN, 9, b"\x00\x00\x00\x01B"), a[1]])
    assert out == [b"B"] and asm.dropped == 2


def test_more_overflow_dropped():
    out, _, _ = receive([encode_frame(BEGIN, 1, b"\x00\x00\x00\x03ab"), encode_frame(MORE, 2, b"cd")])
    assert out == []


def test_ack_and_nak_frames_decode():
    dec = FrameDecoder()
    fr = dec.feed(encode_frame(ACK, 1, b"\x07") + encode_frame(NAK, 2, b"\x08\x03"))
    assert fr == [(ACK, 1, b"\x07"), (NAK, 2, b"\x08\x03")]


# ---------------------------------------------------------------- fuzz

def _fuzz_stream(rng, n=300):
    stream, want = [], []
    for i in range(n):
        g = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        if rng.random() < 0.3:  # garbage made of frame-like pieces
            g += b"\xa5\x5a" + bytes((rng.choice((1, 2, 6, 0x15, 0x18)), rng.randrange(256), 0,
                                      rng.randrange(256)))
        data = json.dumps({"t": "x", "i": i, "pad": "p" * rng.randrange(0, 1500)}).encode()
        stream.append(g)
        fs = msg_frames(data, rng.randrange(256))
        # garbage between the frames of one message too
        for f in fs:
            stream.append(f)
            if rng.random() < 0.2:
                stream.append(bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 40))))
        want.append(data)
    return b"".join(stream), want


def _chunks(rng, data):
    i, out = 0, []
    while i < len(data):
        k = rng.choice((1, 7, 64, 511, 4096))
        out.append(data[i:i + k])
        i += k
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzz_host_decoder_every_good_message_exactly_once(seed):
    rng = random.Random(seed)
    data, want = _fuzz_stream(rng)
    out, dec, _ = receive(_chunks(rng, data))
    assert out == want
    assert dec.bad > 0


@pytest.mark.parametrize("seed", [4, 5])
def test_fuzz_firmware_link_every_good_message_exactly_once(seed):
    # the device's parser (firmware/link.py, here under CPython) on the same kind of stream;
    # seqs run on so that no good frame repeats the previous one's (seq, crc)
    fw = firmware_link()
    rng = random.Random(seed)
    got = []
    dev = fw.Link(lambda b: None, lambda mv: got.append(bytes(mv)), 65536, 4096)
    stream, want, seq = [], [], 0
    for i in range(300):
        stream.append(bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200))))
        data = json.dumps({"t": "x", "i": i, "pad": "p" * rng.randrange(0, 1500)}).encode()
        for f in msg_frames(data, seq):
            stream.append(f)
            seq = (seq + 1) & 0xFF
            if rng.random() < 0.2:
                stream.append(bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 40))))
        want.append(data)
    for c in _chunks(rng, b"".join(stream)):
        dev.feed(c)
    dev.expire()
    assert got == want


def test_chunked_firmware_link_hands_over_a_big_message_in_pieces_with_a_spare_block():
    # a chunked link (main.py, for an App with pieces=True) receives a big message into
    # PIECE-byte pieces and sets aside a block of 3/4 its size, handed over last
    fw = firmware_link()
    got = []
    dev = fw.Link(lambda b: None, None, 65536, 0, True)
    dev.on_ready = lambda: got.append(dev.take())
    n = fw.ONE_BLOCK + 77
    data = bytes(random.Random(3).getrandbits(8) for _ in range(n))
    for f in msg_frames(data):
        dev.feed(f)
    (ps,) = got
    assert type(ps[-1]) is bytearray and len(ps[-1]) >= len(data) * 3 // 4
    assert [len(p) for p in ps[:-1]] == [fw.PIECE] * (n // fw.PIECE) + [n % fw.PIECE]
    assert b"".join(bytes(p) for p in ps[:-1]) == data


def test_chunked_firmware_link_takes_a_small_message_whole():
    fw = firmware_link()
    got = []
    dev = fw.Link(lambda b: None, None, 65536, 0, True)
    dev.on_ready = lambda: got.append(dev.take())
    data = b"x" * fw.ONE_BLOCK
    for f in msg_frames(data):
        dev.feed(f)
    assert type(got[0]) is memoryview and bytes(got[0]) == data


def test_firmware_send_message_decodes_on_host():
    fw = firmware_link()
    w = []
    dev = fw.Link(lambda b: w.append(bytes(b)), None)
    obj = {"t": "publish", "rid": 3, "event": {"content": "é\x00\"" * 2000, "tags": [["p", "ab"]]}, "relays": []}
    dev.send_message(obj)
    out, dec, _ = receive([bytes(x) for x in w])
    assert [json.loads(m) for m in out] == [obj] and dec.bad == 0


# ---------------------------------------------------------------- DeviceLink vs a scripted device

class FakeDevice(threading.Thread):
    """The device end of a pty: ACKs (or NAKs, or ignores) host frames per `script`,
    assembles messages with resend de-duplication, answers hello/status/echo."""

    def __init__(self, script=None):
        super().__init__(daemon=True)
        self.master, slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave  # keep the pty up while the host reopens
        self.script = script or (lambda n, t, s, p: "ack")
        self.dec = FrameDecoder(types=(BEGIN, MORE, RESET))
        self.asm = Assembler()
        self.frames = []      # every frame received (type, seq, payload)
        self.messages = []    # every message assembled
        self.last = None
        self.max_frame = 512  # what its hello announces (an ESP32 board: 250)
        self.before_hello = []  # sent just before each hello answer
        self.seq = 0
        self.stop = False
        self.start()

    def send_msg(self, obj):
        for t, p in split_message(L.encode_message(obj)):
            os.write(self.master, encode_frame(t, self.seq, p))
            self.seq = (self.seq + 1) & 0xFF

    def _reply(self, t, seq, reason=None):
        p = bytes((seq,)) if t == ACK else bytes((seq, reason))
        os.write(self.master, encode_frame(t, self.seq, p))
        self.seq = (self.seq + 1) & 0xFF

    def run(self):
        while not self.stop:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            for t, s, p in self.dec.feed(data):
                self.frames.append((t, s, p))
                act = self.script(len(self.frames) - 1, t, s, p)
                if act == "drop":
                    continue
                if isinstance(act, tuple):
                    self._reply(NAK, s, act[1])
                    continue
                self._reply(ACK, s)
                if (s, p) == self.last:
                    continue  # a resend: used once
                self.last = (s, p)
                if t == RESET:
                    self.asm.msg = None
                    continue
                m = self.asm.frame(t, p)
                if m is not None:
                    msg = json.loads(m)
                    self.messages.append(msg)
                    self.answer(msg)

    def answer(self, msg):
        if msg.get("t") == "hello":
            for m in self.before_hello:
                self.send_msg(m)
            self.send_msg({"t": "hello", "proto": 1, "fw": "fake", "board": "fake", "pubkey": None,
                           "relays": [], "limits": {"max_frame": self.max_frame, "max_message": 4000,
                                                    "queue": 1}})
        elif msg.get("t") == "status":
            self.send_msg({"t": "status", "rid": msg.get("rid"), "queue": 0})
        elif msg.get("t") == "echo":
            self.send_msg({"t": "echo", "rid": msg.get("rid"), "data": msg.get("data")})

    def close(self):
        self.stop = True
        self.join(2)
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def device(request):
    devs = []

    def make(script=None):
        d = FakeDevice(script)
        devs.append(d)
        return d
    yield make
    for d in devs:
        d.close()


def test_hello_and_request_round_trip(device):
    d = device()
    with L.DeviceLink(d.path) as lk:
        h = lk.hello(timeout=5)
        assert h["fw"] == "fake" and lk.max_message == 4000
        assert d.frames[0][0] == RESET  # hello starts with a RESET
        rid = lk.request({"t": "status"})
        m = lk.answer(rid, 5, types=("status",))
        assert m == {"t": "status", "rid": rid, "queue": 0}


def test_lost_ack_is_resent_and_used_once(device):
    drops = {2, 3}  # the ACKs of the 3rd frame (and of its first resend) get lost
    d = device(lambda n, t, s, p: "drop" if n in drops else "ack")
    with L.DeviceLink(d.path, ack_timeout=0.1) as lk:
        lk.send({"t": "echo", "rid": 1, "data": "x" * 1500})
        m = lk.answer(1, 5, types=("echo",))
        assert m["data"] == "x" * 1500
        assert lk.stats["timeouts"] == 2
    assert len(d.messages) == 1


def test_nak_bad_frame_resends_at_once(device):
    d = device(lambda n, t, s, p: ("nak", L.NAK_BAD) if n == 1 else "ack")
    with L.DeviceLink(d.path, ack_timeout=5) as lk:
        t0 = time.monotonic()
        lk.send({"t": "echo", "rid": 2, "data": "y" * 600})
        assert time.monotonic() - t0 < 1  # not the ACK timeout
        assert lk.answer(2, 5, types=("echo",))["data"] == "y" * 600
        assert lk.stats["nak bad frame"] == 1


def test_nak_busy_backs_off_and_retries(device):
    d = device(lambda n, t, s, p: ("nak", L.NAK_BUSY) if n < 4 else "ack")
    with L.DeviceLink(d.path) as lk:
        lk.send({"t": "status", "rid": 3})
        assert lk.answer(3, 5, types=("status",))["rid"] == 3
        assert lk.stats["nak busy"] == 4


def test_nak_busy_forever_raises_busy(device):
    d = device(lambda n, t, s, p: ("nak", L.NAK_BUSY))
    with L.DeviceLink(d.path, send_timeout=0.5) as lk:
        with pytest.raises(L.Busy):
            lk.send({"t": "status", "rid": 3})


def test_nak_too_large_raises_and_sends_no_more(device):
    d = device(lambda n, t, s, p: ("nak", L.NAK_TOO_LARGE) if t == BEGIN else "ack")
    with L.DeviceLink(d.path) as lk:
        with pytest.raises(L.TooLarge):
            lk.send({"t": "echo", "rid": 4, "data": "z" * 3000})
        time.sleep(0.1)
    assert [f[0] for f in d.frames] == [BEGIN]


def test_too_large_for_known_max_message_is_not_sent(device):
    d = device()
    with L.DeviceLink(d.path) as lk:
        lk.hello()
        n = len(d.frames)
        with pytest.raises(L.TooLarge):
            lk.send({"t": "echo", "rid": 4, "data": "z" * 5000})
        assert len(d.frames) == n


def test_host_sends_no_frame_longer_than_the_hello_announces(device):
    # an ESP32's UART receive buffer holds 260 bytes: its hello says max_frame 250, and
    # the host must cut every message into frames that fit
    d = device()
    d.max_frame = 250
    with L.DeviceLink(d.path) as lk:
        lk.hello()
        assert lk.max_frame == 250
        n = len(d.frames)
        rid = lk.request({"t": "echo", "data": "q" * 1800})
        m = lk.answer(rid, 5, types=("echo",))
        assert m["data"] == "q" * 1800
        sent = d.frames[n:]
        assert len(sent) > 7 and max(len(p) for t, s, p in sent) <= 250


def test_esp32_sized_firmware_link_both_ways():
    # firmware/link.py built with max_frame 250 takes a message the host cut to 250-byte
    # frames, treats a longer frame as garbage (it could not have fit the UART buffer),
    # and sends its own messages in frames of at most 250 bytes
    fw = firmware_link()
    w = []
    got = []
    dev = fw.Link(lambda b: w.append(bytes(b)), got.append, 65536, 0, False, max_frame=250)
    assert dev.max_frame == 250
    data = json.dumps({"t": "event", "x": "y" * 3000}).encode()
    frames = [encode_frame(t, i, p) for i, (t, p) in enumerate(split_message(data, 250))]
    assert max(len(f) for f in frames) <= 260
    for f in frames:
        dev.feed(f)
    assert [bytes(m) for m in got] == [data]
    assert all(len(f) <= 260 for f in w)  # its ACKs
    dev.feed(encode_frame(BEGIN, 99, (600).to_bytes(4, "big") + b"z" * 300))
    assert dev.stats["bad"] == 1 and len(got) == 1
    w.clear()
    dev.send_message({"t": "publish", "data": "p" * 2000})
    assert len(w) > 8 and all(len(f) <= 260 for f in w)
    out, dec, asm = receive(w)
    assert json.loads(out[0])["data"] == "p" * 2000


def test_nak_restart_sends_the_message_again(device):
    state = {"done": False}

    def script(n, t, s, p):
        if t == MORE and not state["done"]:
            state["done"] = True
            return ("nak", L.NAK_RESTART)
        return "ack"
    d = device(script)
    with L.DeviceLink(d.path) as lk:
        lk.send({"t": "echo", "rid": 5, "data": "w" * 2000})
        assert lk.answer(5, 5, types=("echo",))["data"] == "w" * 2000
    assert [f[0] for f in d.frames].count(BEGIN) == 2


def test_no_ack_at_all_times_out(device):
    d = device(lambda n, t, s, p: "drop")
    with L.DeviceLink(d.path, ack_timeout=0.05, send_timeout=0.3) as lk:
        with pytest.raises(L.LinkTimeout):
            lk.send({"t": "status", "rid": 1})
    assert len(d.frames) >= 4  # resent each ack_timeout


def test_garbage_from_device_is_skipped(device):
    d = device()
    with L.DeviceLink(d.path) as lk:
        lk.hello()
        os.write(d.master, b"Traceback (most recent call last):\n\xa5\x5a\x01garbage")
        rid = lk.request({"t": "status"})
        assert lk.answer(rid, 5, types=("status",))["rid"] == rid


def test_wait_for_keeps_other_messages_in_order(device):
    d = device()
    with L.DeviceLink(d.path) as lk:
        for i in range(3):
            d.send_msg({"t": "done", "rid": 100 + i})
        assert lk.wait_for(lambda m: m["rid"] == 102, 5)["rid"] == 102
        assert [lk.recv(1)["rid"], lk.recv(1)["rid"]] == [100, 101]
        assert lk.recv(0.05) is None


def test_device_gone_raises_link_closed(device):
    d = device()
    lk = L.DeviceLink(d.path)
    try:
        lk.hello()
        d.close()  # both pty ends of the device closed: the port hangs up
        with pytest.raises(L.LinkClosed):
            lk.recv(3)
            lk.send({"t": "status", "rid": 1})
    finally:
        lk.close()


def test_async_link_hello_send_recv_and_cancel(device):
    d = device()

    async def main():
        alk = L.AsyncDeviceLink(lambda: L.DeviceLink(d.path))
        try:
            d.before_hello = [{"t": "done", "rid": 7}]  # arrives before the hello: kept for recv
            h = await alk.hello()
            assert h["fw"] == "fake"
            await alk.send({"t": "status", "rid": 8})
            got = [await asyncio.wait_for(alk.recv(), 5), await asyncio.wait_for(alk.recv(), 5)]
            assert [m["rid"] for m in got] == [7, 8]
            # a cancelled recv loses nothing
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(alk.recv(), 0.1)
            await alk.send({"t": "status", "rid": 9})
            assert (await asyncio.wait_for(alk.recv(), 5))["rid"] == 9
        finally:
            alk.close()
    asyncio.run(main())
