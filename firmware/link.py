# Device side of the framed link (docs/protocol.md).
#
# Pure logic over bytes: the board reads whatever bytes arrived and calls
# `Link.feed`, and gives `Link` a `write(buf)` that writes all of `buf`.
# Nothing here knows about hardware, the unix port or JSON semantics beyond
# serialising outgoing messages.
#
# Memory matters more than speed here (the firmware shares a 128 KB heap with
# crypto), so:
# - one receive buffer of one frame (522 bytes) and one transmit buffer of one
#   frame are allocated once; bytes are copied into them, never concatenated;
# - an incoming message gets exactly one bytearray of its declared length;
# - an outgoing message is serialised twice straight into frames (once to count
#   its length for BEGIN, once to send) instead of building the whole JSON text.
import json

try:
    from binascii import crc32
except ImportError:  # a port built without binascii.crc32: our own table
    crc32 = None

try:
    from micropython import const
except ImportError:  # CPython, for tools that reuse this module
    def const(x):
        return x

MAGIC = b"\xa5\x5a"
BEGIN = const(0x01)
MORE = const(0x02)
ACK = const(0x06)
NAK = const(0x15)
RESET = const(0x18)

MAX_FRAME = const(512)   # payload bytes per frame
HDR = const(6)           # magic 2, type 1, seq 1, len 2
OVERHEAD = const(10)     # header + CRC-32

NAK_BAD = const(1)       # bad frame: resend
NAK_BUSY = const(2)      # busy: retry later
NAK_TOO_LARGE = const(3)  # message refused: do not send the rest
NAK_RESTART = const(4)   # MORE without a message in progress: send the message again from BEGIN

# Strings longer than this are serialised in slices so that no second copy of a
# large string (e.g. a 28 KB NIP-44 payload) is ever made.
_STR_CHUNK = const(384)

_table = None


def _crc32_soft(data, crc=0):
    # Fallback CRC-32 (IEEE, reflected, as binascii.crc32), table built on first use.
    global _table
    if _table is None:
        _table = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
            _table.append(c)
    t = _table
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


if crc32 is None:
    crc32 = _crc32_soft

try:
    memoryview("")
    _STR_BUF = True   # MicroPython: a str exposes its UTF-8 bytes without a copy
except TypeError:
    _STR_BUF = False  # CPython


def _utf8(s):
    return memoryview(s) if _STR_BUF else memoryview(s.encode())


class Link:
    """One end of the link, device role.

    write(buf): writes every byte of buf (the board's job to block or retry).
    on_message(mv): called with a memoryview of each complete message (raw JSON)
    as soon as its last frame is acknowledged; the view is only valid during the
    call (its buffer is reused). Without on_message, copies go to `inbox`.
    Counters in `stats` are for tests and the status screen.

    Messages up to `static` bytes (almost every NIP-46 request) are received into
    one buffer allocated here, once: no allocation per message, and no big block
    that must be found later in a heap that crypto work has fragmented. Larger ones
    get a buffer of their own when their BEGIN arrives; if the heap has no block
    that large, the BEGIN is refused like an oversize one (NAK 3).
    """

    def __init__(self, write, on_message=None, max_message=65536, static=2048):
        self.write = write
        self.on_message = on_message
        self.max_message = max_message
        self.static = memoryview(bytearray(static))
        self.rx = bytearray(MAX_FRAME + OVERHEAD)
        self.rxmv = memoryview(self.rx)
        self.n = 0              # bytes held in rx; rx[0:2] is MAGIC whenever n >= 2
        self.msg = None         # memoryview the message being received goes into
        self.got = 0
        self.last_seq = -1      # the last frame used, to answer a resend without using it twice
        self.last_crc = 0
        self.last_type = 0      # and the answer it got (kept as two ints: a tuple
        self.last_reason = 0    # allocated per frame would litter the heap)
        self.inbox = []
        self.tx = bytearray(MAX_FRAME + OVERHEAD)
        self.txmv = memoryview(self.tx)
        self.tx[0] = 0xA5
        self.tx[1] = 0x5A
        self.ack = bytearray(12)  # ACK/NAK frames, separate so a reply never clobbers tx
        self.ackmv = memoryview(self.ack)
        self.ack[0] = 0xA5
        self.ack[1] = 0x5A
        self.tx_seq = 0
        self._fill = 0
        self._count = 0
        self.stats = {"frames": 0, "bad": 0, "dup": 0, "messages": 0, "refused": 0}

    # ---------------------------------------------------------------- receive

    def pending(self):
        """True while part of a frame is buffered (the caller expires it when the line goes quiet)."""
        return self.n > 0

    def feed(self, data, end=None):
        """Take bytes from the wire. `data` is bytes or bytearray (searched for the magic)."""
        if end is None:
            end = len(data)
        mv = memoryview(data)
        rx = self.rx
        i = 0
        while True:
            while self._step():
                pass
            if i >= end:
                return
            n = self.n
            if n == 0:
                # Hunting: skip garbage without copying it.
                j = data.find(MAGIC, i, end)
                if j < 0:
                    if data[end - 1] == 0xA5:  # maybe the first half of a magic
                        rx[0] = 0xA5
                        self.n = 1
                    return
                rx[0] = 0xA5
                rx[1] = 0x5A
                self.n = 2
                i = j + 2
                continue
            if n == 1:
                rx[1] = data[i]
                self.n = 2
                i += 1
                if rx[1] != 0x5A:
                    self._shift(1)
                continue
            # Copy only up to the end of the current header or frame, so that the
            # bytes after a bad frame are still in rx to be rescanned.
            need = HDR if n < HDR else OVERHEAD + ((rx[4] << 8) | rx[5])
            take = need - n
            if take > end - i:
                take = end - i
            self.rxmv[n:n + take] = mv[i:i + take]
            self.n = n + take
            i += take

    def drop_rx(self):
        """Forget any partial frame and message (after an internal error)."""
        self.n = 0
        self.msg = None

    def expire(self):
        """The line went quiet with a partial frame buffered: it will never complete
        (a truncated frame, or a header corrupted into a larger len). Drop its magic
        and rescan what came after it."""
        if self.n:
            self.stats["bad"] += 1
            self._shift(1)
            while self._step():
                pass

    def _shift(self, k):
        # Drop k bytes from the front of rx and realign on the next magic in what is left.
        rx = self.rx
        n = self.n
        j = rx.find(MAGIC, k, n) if k < n else -1
        if j < 0:
            self.n = 1 if (n > k and rx[n - 1] == 0xA5) else 0
            if self.n:
                rx[0] = 0xA5
            return
        m = n - j
        self.rxmv[0:m] = self.rxmv[j:n]
        self.n = m

    def _step(self):
        # Decide on the buffered frame if possible. True when rx changed.
        n = self.n
        if n < HDR:
            return False
        rx = self.rx
        typ = rx[2]
        ln = (rx[4] << 8) | rx[5]
        # A header that cannot be a host frame is garbage: rescan now rather than
        # wait for `ln` bytes that may never come.
        if ln > MAX_FRAME or not (
                (typ == BEGIN and ln >= 4) or (typ == MORE and ln >= 1) or (typ == RESET and ln == 0)):
            self.stats["bad"] += 1
            self._shift(1)
            return True
        total = OVERHEAD + ln
        if n < total:
            return False
        crc = crc32(self.rxmv[2:HDR + ln])
        got = (rx[HDR + ln] << 24) | (rx[HDR + ln + 1] << 16) | (rx[HDR + ln + 2] << 8) | rx[HDR + ln + 3]
        if crc != got:
            self.stats["bad"] += 1
            # Ask for the resend now instead of waiting for the host's ACK timeout.
            # Harmless if the header was garbage too: the host ignores a NAK for a
            # seq it is not waiting on, and a resend is deduplicated.
            self._reply(NAK, rx[3], NAK_BAD)
            self._shift(1)
            return True
        self._frame(typ, rx[3], ln, crc)
        self._shift(total)
        return True

    def _frame(self, typ, seq, ln, crc):
        self.stats["frames"] += 1
        if seq == self.last_seq and crc == self.last_crc:
            # A resend (our ACK was lost or late): answer the same, use it once.
            self.stats["dup"] += 1
            self._reply(self.last_type, seq, self.last_reason)
            return
        rx = self.rx
        reply = ACK
        reason = 0
        if typ == RESET:
            self.msg = None
        elif typ == BEGIN:
            self.msg = None  # a BEGIN mid-message discards the half message
            total = (rx[6] << 24) | (rx[7] << 16) | (rx[8] << 8) | rx[9]
            piece = ln - 4
            if total > self.max_message or piece > total:
                self.stats["refused"] += 1
                reply, reason = NAK, NAK_TOO_LARGE
            else:
                buf = self.static[0:total] if total <= len(self.static) else self._alloc(total)
                if buf is None:
                    self.stats["refused"] += 1
                    reply, reason = NAK, NAK_TOO_LARGE
                else:
                    buf[0:piece] = self.rxmv[10:HDR + ln]
                    self.msg = buf
                    self.got = piece
        else:  # MORE
            buf = self.msg
            got = self.got
            if buf is None or got + ln > len(buf):
                # No message in progress (we reset, or lost its BEGIN): have the
                # host start the message over.
                self.msg = None
                reply, reason = NAK, NAK_RESTART
            else:
                buf[got:got + ln] = self.rxmv[HDR:HDR + ln]
                self.got = got + ln
        self.last_seq = seq
        self.last_crc = crc
        self.last_type = reply
        self.last_reason = reason
        self._reply(reply, seq, reason)
        buf = self.msg
        if buf is not None and self.got == len(buf):
            # Drop our reference first: after on_message the buffer of a large
            # message is garbage at once.
            self.msg = None
            self.stats["messages"] += 1
            if self.on_message is not None:
                self.on_message(buf)
            else:
                self.inbox.append(bytes(buf))

    def _alloc(self, total):
        try:
            return memoryview(bytearray(total))
        except MemoryError:
            import gc
            gc.collect()
            try:
                return memoryview(bytearray(total))
            except MemoryError:
                return None

    def _reply(self, typ, seq, reason):
        a = self.ack
        a[2] = typ
        a[3] = self.tx_seq
        self.tx_seq = (self.tx_seq + 1) & 0xFF
        a[4] = 0
        a[6] = seq
        if typ == NAK:
            a[5] = 2
            a[7] = reason
            ln = 2
        else:
            a[5] = 1
            ln = 1
        c = crc32(self.ackmv[2:HDR + ln])
        a[HDR + ln] = (c >> 24) & 0xFF
        a[HDR + ln + 1] = (c >> 16) & 0xFF
        a[HDR + ln + 2] = (c >> 8) & 0xFF
        a[HDR + ln + 3] = c & 0xFF
        self.write(self.ackmv[0:OVERHEAD + ln])

    # ---------------------------------------------------------------- send

    def send_message(self, obj):
        """Serialise obj (dict/list/str/int/float/bool/None) as compact JSON and send it."""
        self._count = 0
        _dump(obj, self._counter)
        total = self._count
        if total > 0xFFFFFFFF:
            raise ValueError("message too large")
        tx = self.tx
        tx[2] = BEGIN
        tx[6] = (total >> 24) & 0xFF
        tx[7] = (total >> 16) & 0xFF
        tx[8] = (total >> 8) & 0xFF
        tx[9] = total & 0xFF
        self._fill = 4
        self._count = 0
        _dump(obj, self._put)
        if self._fill:
            self._flush()
        if self._count != total:  # obj changed between the passes: the host drops the short message
            raise ValueError("message changed while sending")

    def send_bytes(self, data):
        """Send an already serialised message (bytes-like)."""
        self.tx[2] = BEGIN
        total = len(data)
        self.tx[6:10] = total.to_bytes(4, "big")
        self._fill = 4
        self._count = 0
        self._put(data)
        if self._fill:
            self._flush()

    def _counter(self, b):
        self._count += len(b)

    def _put(self, b):
        if not isinstance(b, memoryview):
            b = memoryview(b)
        ln = len(b)
        self._count += ln
        off = 0
        txmv = self.txmv
        while off < ln:
            fill = self._fill
            take = MAX_FRAME - fill
            if take > ln - off:
                take = ln - off
            txmv[HDR + fill:HDR + fill + take] = b[off:off + take]
            self._fill = fill + take
            off += take
            if self._fill == MAX_FRAME:
                self._flush()

    def _flush(self):
        tx = self.tx
        ln = self._fill
        tx[3] = self.tx_seq
        self.tx_seq = (self.tx_seq + 1) & 0xFF
        tx[4] = ln >> 8
        tx[5] = ln & 0xFF
        c = crc32(self.txmv[2:HDR + ln])
        tx[HDR + ln] = (c >> 24) & 0xFF
        tx[HDR + ln + 1] = (c >> 16) & 0xFF
        tx[HDR + ln + 2] = (c >> 8) & 0xFF
        tx[HDR + ln + 3] = c & 0xFF
        self.write(self.txmv[0:OVERHEAD + ln])
        tx[2] = MORE
        self._fill = 0


def _dump(o, put):
    # Compact JSON, written piece by piece through put(bytes-like). Only small
    # pieces are ever allocated; see _dump_str for long strings.
    if isinstance(o, str):
        _dump_str(o, put)
    elif isinstance(o, dict):
        put(b"{")
        first = True
        for k in o:
            if not first:
                put(b",")
            first = False
            _dump_str(k if isinstance(k, str) else str(k), put)
            put(b":")
            _dump(o[k], put)
        put(b"}")
    elif isinstance(o, (list, tuple)):
        put(b"[")
        first = True
        for v in o:
            if not first:
                put(b",")
            first = False
            _dump(v, put)
        put(b"]")
    elif o is None or o is True or o is False or isinstance(o, (int, float)):
        put(_utf8(json.dumps(o)))
    else:
        raise TypeError("not JSON: %s" % type(o).__name__)


def _dump_str(s, put):
    if len(s) <= _STR_CHUNK:
        put(_utf8(json.dumps(s)))
        return
    # Escape a long string slice by slice: cut its UTF-8 bytes on character
    # boundaries, escape each slice with json.dumps and drop that slice's quotes.
    b = _utf8(s)
    n = len(b)
    put(b'"')
    i = 0
    while i < n:
        j = i + _STR_CHUNK
        if j >= n:
            j = n
        else:
            while (b[j] & 0xC0) == 0x80:  # continuation byte: back up to a character start
                j -= 1
        e = _utf8(json.dumps(str(b[i:j], "utf-8")))
        put(e[1:len(e) - 1])
        i = j
    put(b'"')
