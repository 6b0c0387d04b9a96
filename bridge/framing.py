"""The link's framing (docs/protocol.md), host side and pure: no I/O.

`encode_frame`, `split_message`, `encode_message`, `FrameDecoder` (frames out of a byte
stream, resynchronising on garbage), `Assembler` (messages out of BEGIN/MORE frames).
bridge/link.py runs them over a serial port.
"""
import binascii
import json

MAGIC = b"\xa5\x5a"
BEGIN, MORE, ACK, NAK, RESET = 0x01, 0x02, 0x06, 0x15, 0x18
MAX_FRAME = 512
HDR = 6
OVERHEAD = 10
NAK_BAD, NAK_BUSY, NAK_TOO_LARGE, NAK_RESTART = 1, 2, 3, 4
NAK_NAMES = {NAK_BAD: "bad frame", NAK_BUSY: "busy", NAK_TOO_LARGE: "too large", NAK_RESTART: "restart"}


def _plausible(typ, ln):
    # Lengths each frame type can have; anything else is garbage that happens to
    # follow a magic, and is rescanned at once instead of waited for.
    if ln > MAX_FRAME:
        return False
    if typ == BEGIN:
        return ln >= 4
    if typ == MORE:
        return ln >= 1
    if typ == ACK:
        return ln == 1
    if typ == NAK:
        return ln == 2
    if typ == RESET:
        return ln == 0
    return False


def encode_frame(typ, seq, payload=b""):
    if len(payload) > MAX_FRAME:
        raise ValueError("frame payload over %d bytes" % MAX_FRAME)
    body = bytes((typ, seq & 0xFF)) + len(payload).to_bytes(2, "big") + bytes(payload)
    return MAGIC + body + binascii.crc32(body).to_bytes(4, "big")


def split_message(data, max_frame=MAX_FRAME):
    """[(type, payload)] for one message: BEGIN (4-byte total + first piece), then MOREs,
    no payload over max_frame (the device's, from its hello: an ESP32 takes 250)."""
    data = bytes(data)
    first = max_frame - 4
    out = [(BEGIN, len(data).to_bytes(4, "big") + data[:first])]
    for i in range(first, len(data), max_frame):
        out.append((MORE, data[i:i + max_frame]))
    return out


class FrameDecoder:
    """Frames out of a byte stream, resynchronising on garbage.

    feed(bytes) -> [(type, seq, payload)]. A frame with an impossible header or a bad
    CRC is dropped and scanning resumes one byte after its magic; `bad` counts them.
    `expire()` gives up a partial frame when the line has gone quiet.
    """

    def __init__(self, types=(BEGIN, MORE, ACK, NAK)):
        self.types = frozenset(types)
        self.buf = bytearray()
        self.bad = 0
        self.frames = 0

    def pending(self):
        return bool(self.buf)

    def feed(self, data):
        self.buf += data
        return self._scan()

    def expire(self):
        if not self.buf:
            return []
        self.bad += 1
        del self.buf[:1]
        return self._scan()

    def _scan(self):
        out = []
        buf = self.buf
        while True:
            j = buf.find(MAGIC)
            if j < 0:
                # keep a trailing byte that may be the first half of a magic
                keep = 1 if buf[-1:] == b"\xa5" else 0
                del buf[:len(buf) - keep]
                return out
            if j:
                del buf[:j]
            if len(buf) < HDR:
                return out
            typ, seq, ln = buf[2], buf[3], (buf[4] << 8) | buf[5]
            if typ not in self.types or not _plausible(typ, ln):
                self.bad += 1
                del buf[:1]
                continue
            if len(buf) < OVERHEAD + ln:
                return out
            crc = int.from_bytes(buf[HDR + ln:OVERHEAD + ln], "big")
            if binascii.crc32(buf[2:HDR + ln]) != crc:
                self.bad += 1
                del buf[:1]
                continue
            out.append((typ, seq, bytes(buf[HDR:HDR + ln])))
            self.frames += 1
            del buf[:OVERHEAD + ln]


class Assembler:
    """Messages out of BEGIN/MORE frames (device -> host: no ACKs, no resends).

    frame(type, payload) -> the complete message bytes, or None. A BEGIN while a
    message is half-received discards the half message; a MORE with no message in
    progress, or one that overflows the declared total, is dropped.
    """

    def __init__(self, max_message=1 << 24):
        self.max_message = max_message
        self.msg = None
        self.total = 0
        self.dropped = 0

    def frame(self, typ, payload):
        if typ == BEGIN:
            if self.msg is not None:
                self.dropped += 1
            total = int.from_bytes(payload[:4], "big")
            piece = payload[4:]
            self.msg = None
            if total > self.max_message or len(piece) > total:
                self.dropped += 1
                return None
            self.msg = bytearray(piece)
            self.total = total
        elif typ == MORE:
            if self.msg is None:
                self.dropped += 1
                return None
            if len(self.msg) + len(payload) > self.total:
                self.msg = None
                self.dropped += 1
                return None
            self.msg += payload
        else:
            return None
        if len(self.msg) == self.total:
            out, self.msg = bytes(self.msg), None
            return out
        return None


def encode_message(msg):
    """Compact UTF-8 JSON, as the device expects."""
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()
