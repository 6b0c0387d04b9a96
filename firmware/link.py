# Device side of the framed link (docs/protocol.md).
#
# Pure logic over bytes: the board reads whatever arrived and calls Link.feed; Link
# calls write(buf), which must write all of buf. No hardware, no unix port here.
#
# The heap is shared with crypto (128 KB in all), so:
# - one receive buffer of one frame and one transmit buffer of one frame, allocated
#   once; bytes are copied into them, never concatenated;
# - small messages land in one fixed buffer; a larger one gets one bytearray of its
#   declared length, or (chunked, over 4 KB) 1 KB pieces;
# - an outgoing message is serialised twice straight into frames (once to count its
#   length for BEGIN, once to send) instead of building its whole JSON text.
import json

try:
    from binascii import crc32
except ImportError:
    crc32 = None

try:
    from micropython import const
except ImportError:  # CPython (host-side tests load this file as the device)
    def const(x):
        return x

MAGIC = b"\xa5\x5a"
BEGIN = const(1)
MORE = const(2)
ACK = const(6)
NAK = const(0x15)
RESET = const(0x18)
MAX_FRAME = const(512)    # payload bytes per frame
_HDR = const(6)           # magic 2, type 1, seq 1, len 2
_OVER = const(10)         # header + CRC-32
NAK_BAD = const(1)        # bad frame: resend
NAK_BUSY = const(2)       # busy: retry later (not sent by this implementation)
NAK_TOO_LARGE = const(3)  # message refused: do not send the rest
NAK_RESTART = const(4)    # MORE with no message in progress: send the message again from BEGIN
# chunked: a message over 2 pieces comes in pieces of this size (50 KB of free heap, in
# holes, may hold no 22 KB block: a 16 KB note's request). 1 KB, not 2: after a pairing
# at 128 KB many holes are under 2 KB (tests/firmware/fw_link_pieces.py)
PIECE = const(1024)
ONE_BLOCK = const(4096)  # a message up to this is one block, decoded in place
# Strings longer than this are serialised slice by slice, so a large string (e.g. a
# 28 KB NIP-44 payload) is never copied whole.
_CHUNK = const(384)


def _crc32_soft(data, crc=0):
    # CRC-32 (IEEE, as binascii.crc32) for a port built without binascii.crc32.
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


if crc32 is None:
    crc32 = _crc32_soft

try:
    memoryview("")
    _utf8 = memoryview  # MicroPython: a str exposes its UTF-8 bytes without a copy
except TypeError:
    def _utf8(s):  # CPython
        return memoryview(s.encode())


def _seal(buf, ln):
    # fill in the CRC of a frame whose header and payload are in buf; its length
    c = crc32(memoryview(buf)[2:_HDR + ln])
    buf[_HDR + ln] = c >> 24
    buf[_HDR + ln + 1] = (c >> 16) & 0xFF
    buf[_HDR + ln + 2] = (c >> 8) & 0xFF
    buf[_HDR + ln + 3] = c & 0xFF
    return _OVER + ln


class Link:
    """The device's end of the link.

    write(buf): writes every byte of buf (the board blocks or retries as needed).
    on_message(mv): called with a memoryview of each complete message (raw JSON) once
    its last frame is acknowledged; valid only during the call (the buffer is reused).
    Without on_message, copies go to `inbox`. `stats` counts frames for tests.

    Messages up to `static` bytes (0: none) go into one buffer allocated once (no
    allocation per message); a board with heap to spare sets it. Any other message
    gets its own buffer (or pieces) at its BEGIN; if the heap has no room the BEGIN is
    refused like an oversize one (NAK 3).
    """

    def __init__(self, write, on_message=None, max_message=65536, static=0, chunked=False,
                 max_frame=MAX_FRAME):
        self.write = write
        # the largest frame payload either way: the board's (boards/*.py max_frame; an
        # ESP32's UART receive buffer holds 260 bytes, so 250 there), said in the hello
        self.max_frame = max_frame
        self.chunked = chunked  # needs on_ready: take() gives the pieces (see _pieces)
        # a message in pieces is refused (NAK too large) when taking it whole would leave
        # less free heap than this: the host then sends it as a stream the app reads in
        # far less (signer/oversize.py); 0: never
        self.keep_free = 0
        self.total = 0
        self.on_message = on_message
        # on_ready(): called instead of on_message when set; take() hands over the message
        self.on_ready = None
        self.ready = None
        self.deferred = False  # see feed()
        self.max_message = max_message
        self.static = memoryview(bytearray(static))
        self.rx = bytearray(max_frame + _OVER)
        self.rxmv = memoryview(self.rx)
        self.n = 0            # bytes held in rx; rx[0:2] is MAGIC whenever n >= 2
        self.msg = None       # memoryview the message being received goes into
        self.got = 0
        # The last frame used and the answer it got, so a resend is answered the same
        # and not used twice (ints, not a tuple: nothing allocated per frame).
        self.last_seq = -1
        self.last_crc = 0
        self.last_type = 0
        self.last_reason = 0
        self.inbox = []
        self.tx = bytearray(max_frame + _OVER)
        self.txmv = memoryview(self.tx)
        self.tx[0:2] = MAGIC
        self.ack = bytearray(12)  # ACK/NAK frames: never clobbers a frame being built in tx
        self.ack[0:2] = MAGIC
        self.tx_seq = 0
        self._fill = 0
        self._count = 0
        self.stats = {"frames": 0, "bad": 0, "dup": 0, "messages": 0, "refused": 0}

    # ---------------------------------------------------------------- receive

    def pending(self):
        """Part of a frame is buffered (the caller calls expire() once the line is quiet)."""
        return self.n > 0

    def take(self):
        """The complete message (a memoryview, or a list: _pieces) during on_ready();
        the link forgets it."""
        m = self.ready
        self.ready = None
        return m

    def drop_rx(self):
        """Forget any partial frame and message (after an internal error)."""
        self.n = 0
        self.msg = None

    def feed(self, data, end=None, i=0):
        """Take bytes from the wire: `data` is bytes or a bytearray (searched for the magic).
        With `deferred` set, a complete message stops the feed: it returns where in
        data it stopped, the caller take()s the message and feeds the rest from there
        (its handling then starts at the caller's depth, not under the link's frames)."""
        if end is None:
            end = len(data)
        mv = memoryview(data)
        rx = self.rx
        while True:
            while self._step():
                if self.ready is not None and self.deferred:
                    return i
            if i >= end:
                return
            n = self.n
            if n == 0:  # hunting: skip garbage without copying it
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
            elif n == 1:
                rx[1] = data[i]
                self.n = 2
                i += 1
                if rx[1] != 0x5A:
                    self._shift(1)
            else:
                # Copy no further than the end of this header or frame, so the bytes
                # after a bad frame are still in rx to be rescanned.
                take = (_HDR if n < _HDR else _OVER + ((rx[4] << 8) | rx[5])) - n
                if take > end - i:
                    take = end - i
                self.rxmv[n:n + take] = mv[i:i + take]
                self.n = n + take
                i += take

    def expire(self):
        """The line went quiet with part of a frame buffered: it will never complete (a
        truncated frame, or a corrupted len). Drop its magic and rescan the rest."""
        if self.n:
            self.stats["bad"] += 1
            self._shift(1)
            while self._step():
                if self.ready is not None and self.deferred:
                    return

    def _shift(self, k):
        # Drop k bytes from the front of rx and realign on the next magic in the rest.
        rx = self.rx
        n = self.n
        j = rx.find(MAGIC, k, n) if k < n else -1
        if j < 0:
            self.n = 1 if n > k and rx[n - 1] == 0xA5 else 0
            rx[0] = 0xA5
        else:
            self.rxmv[0:n - j] = self.rxmv[j:n]
            self.n = n - j

    def _step(self):
        # Decide on the buffered frame if there is enough of it; True if rx changed.
        n = self.n
        if n < _HDR:
            return False
        rx = self.rx
        typ = rx[2]
        ln = (rx[4] << 8) | rx[5]
        # A header no host frame can have is garbage: rescan now rather than wait for
        # `ln` bytes that may never come.
        if ln > self.max_frame or not ((typ == BEGIN and ln >= 4) or (typ == MORE and ln)
                                  or (typ == RESET and not ln)):
            self.stats["bad"] += 1
            self._shift(1)
            return True
        if n < _OVER + ln:
            return False
        crc = crc32(self.rxmv[2:_HDR + ln])
        if crc != int.from_bytes(rx[_HDR + ln:_OVER + ln], "big"):
            self.stats["bad"] += 1
            # Ask for the resend now rather than after the host's ACK timeout. Harmless
            # if the seq is garbage too: the host ignores a NAK for a seq it is not
            # waiting on, and a resend it does not need is deduplicated.
            self._reply(NAK, rx[3], NAK_BAD)
            self._shift(1)
            return True
        self._frame(typ, rx[3], ln, crc)
        self._shift(_OVER + ln)
        return True

    def _frame(self, typ, seq, ln, crc):
        st = self.stats
        st["frames"] += 1
        if seq == self.last_seq and crc == self.last_crc:
            st["dup"] += 1  # a resend (our answer was lost or late): answer the same, use once
            self._reply(self.last_type, seq, self.last_reason)
            return
        reply = ACK
        reason = 0
        if typ == RESET:
            self.msg = None
        elif typ == BEGIN:
            self.msg = None  # a BEGIN mid-message discards the half message
            total = int.from_bytes(self.rx[6:10], "big")
            piece = ln - 4
            buf = None
            if piece <= total <= self.max_message:
                if total <= len(self.static):
                    buf = self.static[0:total]
                elif self.chunked and total > ONE_BLOCK:
                    buf = self._pieces(total)
                else:
                    buf = self._alloc(total)
            if buf is None:
                st["refused"] += 1
                reply, reason = NAK, NAK_TOO_LARGE
            else:
                self.total = total
                _store(buf, 0, self.rxmv[10:_HDR + ln])
                self.msg = buf
                self.got = piece
        else:  # MORE
            buf = self.msg
            got = self.got
            if buf is None or got + ln > self.total:
                # No message in progress (we reset, or refused its BEGIN): have the host
                # start over.
                self.msg = None
                reply, reason = NAK, NAK_RESTART
            else:
                _store(buf, got, self.rxmv[_HDR:_HDR + ln])
                self.got = got + ln
        self.last_seq = seq
        self.last_crc = crc
        self.last_type = reply
        self.last_reason = reason
        self._reply(reply, seq, reason)
        buf = None
        if self.msg is not None and self.got == self.total:
            st["messages"] += 1
            if self.deferred:
                # feed() returns; the caller take()s it with no frame of ours below it
                self.ready = self.msg
                self.msg = None
            elif self.on_ready is not None:
                # no frame of ours holds the buffer: the receiver take()s it and can
                # drop it as soon as it is parsed
                self.ready = self.msg
                self.msg = None
                self.on_ready()
                self.ready = None
            else:
                buf = self.msg
                self.msg = None  # ours dropped first: a large buffer is garbage after the call
                if self.on_message is None:
                    self.inbox.append(bytes(buf))
                else:
                    self.on_message(buf)

    def _pieces(self, total):
        # memoryviews of PIECE bytes, then (if there was room) a bytearray of 3/4 the
        # size: the reader decodes the base64 into it. Allocated first, it gets the
        # largest hole; the pieces take small ones.
        import gc
        for first in (True, False):
            hold = None
            if first:
                try:
                    hold = bytearray(total * 3 // 4 + 16)
                except MemoryError:
                    pass
            try:
                ps = [memoryview(bytearray(min(PIECE, total - i))) for i in range(0, total, PIECE)]
            except MemoryError:
                # no room for the pieces beside the block: the pieces alone, after a
                # collection (the block, if any, is only a convenience: the reader
                # decrypts without it when it must)
                hold = ps = None
                gc.collect()
                continue
            if hold is None and not first:
                try:
                    hold = bytearray(total * 3 // 4 + 16)
                except MemoryError:
                    pass
            if hold is not None:
                ps.append(hold)
            keep = getattr(self, "keep_free", 0)
            if keep and hold is not None and gc.mem_free() < keep:
                gc.collect()  # garbage counts as taken until it is collected
            if keep and (hold is None or gc.mem_free() < keep):
                ps = hold = None
                gc.collect()
                return None
            return ps
        return None

    def _alloc(self, total):
        for _ in range(2):
            try:
                return memoryview(bytearray(total))
            except MemoryError:
                import gc
                gc.collect()
        return None

    def _reply(self, typ, seq, reason):
        a = self.ack
        a[2] = typ
        a[3] = self.tx_seq
        self.tx_seq = (self.tx_seq + 1) & 0xFF
        a[4] = 0
        a[5] = 2 if typ == NAK else 1
        a[6] = seq
        a[7] = reason
        self.write(memoryview(a)[0:_seal(a, a[5])])

    # ---------------------------------------------------------------- send

    def send_message(self, obj):
        """Send obj (dict/list/str/int/float/bool/None) as one message of compact JSON."""
        self._count = 0
        _dump(obj, self._counter)
        total = self._count
        tx = self.tx
        tx[2] = BEGIN
        tx[6:10] = total.to_bytes(4, "big")
        self._fill = 4
        self._count = 0
        _dump(obj, self._put)
        if self._fill:
            self._flush()
        if self._count != total:  # obj changed between the passes; the host drops the message
            raise ValueError("message changed while sending")

    def _counter(self, b):
        self._count += len(b)

    def _put(self, b):
        b = memoryview(b)
        ln = len(b)
        self._count += ln
        off = 0
        mf = self.max_frame
        while off < ln:
            fill = self._fill
            take = mf - fill
            if take > ln - off:
                take = ln - off
            self.txmv[_HDR + fill:_HDR + fill + take] = b[off:off + take]
            self._fill = fill + take
            off += take
            if self._fill == mf:
                self._flush()

    def _flush(self):
        tx = self.tx
        ln = self._fill
        tx[3] = self.tx_seq
        self.tx_seq = (self.tx_seq + 1) & 0xFF
        tx[4] = ln >> 8
        tx[5] = ln & 0xFF
        self.write(self.txmv[0:_seal(tx, ln)])
        tx[2] = MORE
        self._fill = 0


def _store(buf, at, src):
    # buf[at:at + len(src)] = src; buf: a memoryview, or _pieces' list
    if type(buf) is not list:
        buf[at:at + len(src)] = src
        return
    i = 0
    n = len(src)
    while i < n:
        k = at // PIECE
        o = at - k * PIECE
        take = min(n - i, PIECE - o)
        buf[k][o:o + take] = src[i:i + take]
        at += take
        i += take


def _dump(o, put):
    # Compact JSON through put(bytes-like), in small pieces.
    if isinstance(o, str):
        if len(o) <= _CHUNK:
            put(_utf8(json.dumps(o)))
            return
        # A long string: cut its UTF-8 on character boundaries, escape each slice
        # with json.dumps and drop that slice's quotes.
        b = _utf8(o)
        n = len(b)
        put(b'"')
        i = 0
        while i < n:
            j = i + _CHUNK
            if j >= n:
                j = n
            else:
                while (b[j] & 0xC0) == 0x80:  # a continuation byte: back to a character start
                    j -= 1
            e = _utf8(json.dumps(str(b[i:j], "utf-8")))
            put(e[1:len(e) - 1])
            i = j
        put(b'"')
    elif isinstance(o, dict):
        c = b"{"
        for k in o:
            put(c)
            c = b","
            put(_utf8(json.dumps(k if isinstance(k, str) else str(k))))
            put(b":")
            v = o[k]
            # short strings and an event's content (made as it is sent) right here: the
            # depth under a message is its nesting of containers, nothing more
            if type(v) is str and len(v) <= _CHUNK:
                put(_utf8(json.dumps(v)))
            elif callable(v):
                put(b'"')
                for b in v():
                    put(b)
                put(b'"')
            else:
                _dump(v, put)
        put(b"}" if c == b"," else b"{}")
    elif callable(o):
        # a string made as it is sent (nip44.seal_stream): ASCII, nothing to escape;
        # pulled piece by piece, so nothing under this loop calls back into the link
        put(b'"')
        for b in o():
            put(b)
        put(b'"')
    elif isinstance(o, (list, tuple)):
        c = b"["
        for v in o:
            put(c)
            c = b","
            if type(v) is str and len(v) <= _CHUNK:
                put(_utf8(json.dumps(v)))
            else:
                _dump(v, put)
        put(b"]" if c == b"," else b"[]")
    elif o is None or isinstance(o, (bool, int, float)):
        put(_utf8(json.dumps(o)))
    elif isinstance(o, (bytes, bytearray, memoryview)):
        # a string kept as bytes (a response's base64 content: envelope.seal_response),
        # sent verbatim: only ever ASCII that needs no escaping
        put(b'"')
        put(o)
        put(b'"')
    else:
        raise TypeError("not JSON: %s" % type(o).__name__)
