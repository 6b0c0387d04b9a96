"""Host side of the device link (docs/protocol.md) over pyserial.

- the framing itself is in bridge/framing.py (re-exported here).
- `DeviceLink`: a thread reads the port continuously (device frames are not
  acknowledged, so the host must never stop reading); `send` is stop-and-wait with
  ACK timeout and resend, NAK handling (bad frame: resend, busy: back off and retry,
  too large: `TooLarge`, restart: send the message again from BEGIN).
- `AsyncDeviceLink`: the same for asyncio code (bridge/run.py): `await hello()`,
  `await send(msg)`, `await recv()` (cancel-safe), `await reopen()`.
- `open_link(device, state)`: "sim" (the simulator running for a state directory),
  "auto" or a serial port path.
"""
import asyncio
import collections
import json
import threading
import time

from .framing import (ACK, BEGIN, HDR, MAGIC, MAX_FRAME, MORE, NAK, NAK_BAD, NAK_BUSY,  # noqa: F401
                      NAK_NAMES, NAK_RESTART, NAK_TOO_LARGE, OVERHEAD, RESET, Assembler,
                      FrameDecoder, encode_frame, encode_message, split_message)

ACK_TIMEOUT = 1.0     # s without ACK before a frame is resent (protocol)
FRAME_IDLE = 0.3      # s of silence after which a partial frame is given up and rescanned
SEND_TIMEOUT = 30.0   # s a single frame may stay unacknowledged (device computing) before giving up


class LinkError(Exception):
    pass


class TooLarge(LinkError):
    """The device refused the message (NAK 3, or larger than its max_message)."""


class Busy(LinkError):
    """The device stayed busy (NAK 2) for longer than the send timeout."""


class LinkTimeout(LinkError):
    pass


class LinkClosed(LinkError):
    """The port is gone (device unplugged, simulator killed) or was closed."""


class _Restart(Exception):
    pass


# ---------------------------------------------------------------------------- the link

def _open_serial(path):
    import serial  # pyserial: imported here so the framing above needs nothing
    return serial.Serial(path, 115200, timeout=0.05, write_timeout=5)


class DeviceLink:
    """One connection to the device over a serial port.

    port: a path, an open serial.Serial-like object (read/write/in_waiting/close), or
    a callable returning a path (re-evaluated by `reopen`, e.g. the simulator's tty).
    """

    def __init__(self, port, *, ack_timeout=ACK_TIMEOUT, send_timeout=SEND_TIMEOUT,
                 max_message=None):
        self._port = port
        self.ack_timeout = ack_timeout
        self.send_timeout = send_timeout
        self.max_message = max_message  # from the device's hello once known
        self.max_frame = MAX_FRAME      # likewise: the largest frame payload it can receive
        self.device_hello = None
        self.stats = collections.Counter()
        self._send_lock = threading.Lock()
        self._cv = threading.Condition()
        self._seq = 0
        self._rid = int(time.time() * 1000) % 0x3FFFFFFF  # rids of an earlier bridge won't collide
        self._open()

    # -- port and reader thread

    def _open(self):
        port = self._port
        if callable(port):
            port = port()
        if isinstance(port, str):
            self.port_name = port
            self.ser = _open_serial(port)
        else:
            self.port_name = getattr(port, "port", None) or repr(port)
            self.ser = port
        try:
            self.ser.reset_input_buffer()  # frames queued for an earlier host
        except Exception:
            pass
        self._replies = {}
        self._inbox = collections.deque()
        self._lost = None
        self._closed = False
        self.decoder = FrameDecoder()
        self.assembler = Assembler()
        self._reader = threading.Thread(target=self._read_loop, name="device-link-reader", daemon=True)
        self._reader.start()

    def close(self):
        self._closed = True
        try:
            self.ser.close()
        except Exception:
            pass
        if self._reader is not threading.current_thread():
            self._reader.join(timeout=2)
        with self._cv:
            if self._lost is None:
                self._lost = LinkClosed("closed")
            self._cv.notify_all()

    def reopen(self):
        self.close()
        self._open()

    @property
    def closed(self):
        return self._lost is not None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def _read_loop(self):
        ser = self.ser
        last = time.monotonic()
        try:
            while not self._closed:
                data = ser.read(ser.in_waiting or 1)
                now = time.monotonic()
                if data:
                    last = now
                    frames = self.decoder.feed(data)
                elif self.decoder.pending() and now - last >= FRAME_IDLE:
                    frames = self.decoder.expire()
                else:
                    continue
                for f in frames:
                    self._on_frame(*f)
        except Exception as e:  # pyserial raises SerialException/OSError when the device goes
            if not self._closed:
                with self._cv:
                    self._lost = LinkClosed("device link lost: %s" % e)
                    self._cv.notify_all()

    def _on_frame(self, typ, seq, payload):
        if typ in (ACK, NAK):
            with self._cv:
                self._replies[payload[0]] = (typ, payload[1] if typ == NAK else 0)
                self._cv.notify_all()
            return
        data = self.assembler.frame(typ, payload)
        if data is None:
            return
        try:
            msg = json.loads(data)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            self.stats["bad messages"] += 1
            return
        self.stats["received"] += 1
        with self._cv:
            self._inbox.append(msg)
            self._cv.notify_all()

    # -- sending

    def _write(self, frame):
        try:
            self.ser.write(frame)
        except Exception as e:
            raise LinkClosed("device link lost: %s" % e) from e

    def _check(self):
        if self._lost is not None:
            raise self._lost

    def send_frame(self, typ, payload=b""):
        """Send one frame and wait for its ACK (resending as the protocol says)."""
        self._check()
        seq = self._seq
        self._seq = (seq + 1) & 0xFF
        frame = encode_frame(typ, seq, payload)
        with self._cv:
            self._replies.pop(seq, None)
        deadline = time.monotonic() + self.send_timeout
        backoff = 0.01
        while True:
            self._write(frame)
            self.stats["frames sent"] += 1
            with self._cv:
                self._cv.wait_for(lambda: seq in self._replies or self._lost is not None,
                                  self.ack_timeout)
                self._check()
                reply = self._replies.pop(seq, None)
            if reply is not None and reply[0] == ACK:
                return
            if time.monotonic() > deadline:
                if reply is not None and reply[1] == NAK_BUSY:
                    raise Busy("device busy for %.0f s" % self.send_timeout)
                raise LinkTimeout("no ACK from the device for %.0f s" % self.send_timeout)
            if reply is None:
                self.stats["timeouts"] += 1
                continue
            reason = reply[1]
            self.stats["nak %s" % NAK_NAMES.get(reason, reason)] += 1
            if reason == NAK_TOO_LARGE:
                raise TooLarge("the device refused the message (too large)")
            if reason == NAK_RESTART:
                raise _Restart()
            if reason == NAK_BUSY:
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.5)
            # NAK_BAD or unknown reason: resend at once

    def send_bytes(self, data):
        """Send one message (already serialised)."""
        if self.max_message is not None and len(data) > self.max_message:
            raise TooLarge("message of %d bytes, the device takes at most %d" % (len(data), self.max_message))
        with self._send_lock:
            for attempt in range(4):
                try:
                    for typ, payload in split_message(data, self.max_frame):
                        self.send_frame(typ, payload)
                    self.stats["messages sent"] += 1
                    return
                except _Restart:
                    # The device lost the start of this message (it reset): once more from BEGIN.
                    continue
            raise LinkError("the device kept dropping the message")

    def send(self, msg):
        self.send_bytes(encode_message(msg))

    def reset(self):
        """RESET frame: the device drops any half-received message and forgets the last seq."""
        with self._send_lock:
            self.send_frame(RESET)

    def next_rid(self):
        self._rid = self._rid % 0x3FFFFFFF + 1
        return self._rid

    def request(self, msg):
        """Send a request with a fresh rid (and `now` where the protocol wants it); returns the rid."""
        msg = dict(msg)
        rid = msg["rid"] = self.next_rid()
        if msg.get("t") in ("event", "nostrconnect") and "now" not in msg:
            msg["now"] = int(time.time())
        self.send(msg)
        return rid

    # -- receiving

    def recv(self, timeout=None):
        """The next device message (dict), or None after `timeout` seconds."""
        return self.wait_for(lambda m: True, timeout)

    def wait_for(self, pred, timeout=None):
        """The first queued or arriving message with pred(msg) true, removed from the queue;
        other messages stay queued in order. None on timeout; LinkClosed if the link dies."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while True:
                for i, m in enumerate(self._inbox):
                    if pred(m):
                        del self._inbox[i]
                        return m
                self._check()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cv.wait(left)

    def messages(self, timeout=None):
        """Iterate over device messages; stops after `timeout` s without one (never, if None)."""
        while True:
            m = self.recv(timeout)
            if m is None:
                return
            yield m

    def answer(self, rid, timeout=None, types=("done", "error")):
        """The message that concludes request `rid` (`done`, or `error`)."""
        return self.wait_for(lambda m: m.get("rid") == rid and m.get("t") in types, timeout)

    def hello(self, timeout=10.0, retry=2.0):
        """Handshake: RESET, then `hello` (resent every `retry` s) until the device answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.reset()
                self.send({"t": "hello", "now": int(time.time())})
                h = self.wait_for(lambda m: m.get("t") == "hello",
                                  min(retry, max(0.0, deadline - time.monotonic())))
            except (LinkTimeout, Busy):
                h = None
                if time.monotonic() >= deadline:
                    raise
            if h is not None:
                self._adopt(h)
                return h
            if time.monotonic() >= deadline:
                raise LinkTimeout("no hello from the device in %.0f s" % timeout)

    def _adopt(self, h):
        self.device_hello = h
        lim = h.get("limits") or {}
        mm = lim.get("max_message")
        if isinstance(mm, int) and mm > 0:
            self.max_message = mm
        # a board with a small UART receive buffer (ESP32: 260 bytes) takes shorter frames
        mf = lim.get("max_frame")
        self.max_frame = mf if isinstance(mf, int) and 16 <= mf <= MAX_FRAME else MAX_FRAME


class AsyncDeviceLink:
    """DeviceLink for asyncio (the interface bridge/run.py's serve() uses).

    `opener()` returns a new DeviceLink (called at the first hello and on reopen).
    Blocking sends run in a worker thread; messages reach an asyncio.Queue from a
    pump thread, so `await recv()` can be cancelled without losing a message.
    """

    def __init__(self, opener):
        self._opener = opener
        self.link = None
        self._q = None
        self._loop = None
        self._stash = collections.deque()

    async def _ensure(self):
        if self.link is None or self.link.closed:
            self._loop = asyncio.get_running_loop()
            if self.link is not None:
                self.link.close()
            self._q = asyncio.Queue()
            self._stash.clear()
            self.link = await self._loop.run_in_executor(None, self._opener)
            threading.Thread(target=self._pump, args=(self.link, self._q), daemon=True,
                             name="device-link-pump").start()
        return self.link

    def _pump(self, link, q):
        while True:
            try:
                m = link.recv(0.5)
            except LinkError as e:
                self._loop.call_soon_threadsafe(q.put_nowait, e)
                return
            if m is not None:
                self._loop.call_soon_threadsafe(q.put_nowait, m)

    async def reopen(self):
        if self.link is not None:
            self.link.close()
        self.link = None
        await self._ensure()

    async def hello(self, retry=2.0):
        link = await self._ensure()
        loop = asyncio.get_running_loop()
        while True:
            await loop.run_in_executor(None, link.reset)
            await loop.run_in_executor(None, link.send, {"t": "hello", "now": int(time.time())})
            try:
                async with asyncio.timeout(retry):
                    while True:
                        m = await self._get()
                        if m.get("t") == "hello":
                            link._adopt(m)
                            return m
                        self._stash.append(m)  # not ours to drop: recv() returns it later
            except TimeoutError:
                continue

    async def _get(self):
        m = await self._q.get()
        if isinstance(m, Exception):
            self._q.put_nowait(m)  # stays lost for every later call
            raise m
        return m

    async def send(self, msg):
        link = await self._ensure()
        await asyncio.get_running_loop().run_in_executor(None, link.send, msg)

    async def recv(self):
        await self._ensure()
        if self._stash:
            return self._stash.popleft()
        return await self._get()

    def close(self):
        if self.link is not None:
            self.link.close()


# USB IDs of the boards the firmware runs on: MicroPython's own on the Pico (RP2040 USB
# CDC), and the USB-UART bridges of the usual ESP32 dev boards (the T-Display's CH9102;
# CP210x and CH340 on others). hardware/linux/60-nostr-signer.rules lists the same.
USB_IDS = {(0x2E8A, 0x0005): "Raspberry Pi Pico (MicroPython)",
           (0x1A86, 0x55D4): "CH9102 USB-UART (LilyGO T-Display, ESP32)",
           (0x10C4, 0xEA60): "CP210x USB-UART (ESP32)",
           (0x1A86, 0x7523): "CH340 USB-UART (ESP32)"}


def find_device(ports=None):
    """The serial port of the one signer plugged in (`--device auto`), by USB VID/PID.
    Raises LinkError saying what was found when there is none or more than one."""
    if ports is None:
        from serial.tools import list_ports
        ports = list_ports.comports()
    found = [p for p in ports if (getattr(p, "vid", None), getattr(p, "pid", None)) in USB_IDS]
    if not found:
        raise LinkError("no signer found on USB (looked for %s); plug it in or pass --device PATH" %
                        ", ".join("%04x:%04x" % k for k in USB_IDS))
    if len(found) > 1:
        raise LinkError("several possible signers: %s; pick one with --device PATH" %
                        ", ".join("%s (%s)" % (p.device, USB_IDS[(p.vid, p.pid)]) for p in found))
    return found[0].device


def open_link(device, state=None, start_sim=False, sim_args=(), probe=False, **kw):
    """A DeviceLink to `device`: "sim" (the simulator already running for `state`; only with
    start_sim is one started, detached, and it outlives the caller: `sim stop` ends it),
    "auto" (find_device) or a serial port path (refused at once if the path exists and is
    no serial port). probe: only check `device`, open nothing and return None."""
    if device == "auto":
        if probe:
            return None
        device = find_device()
    if device == "sim":
        if not state:
            raise LinkError("--device sim needs --state DIR")
        if probe:
            return None
        if start_sim:
            from . import sim
            return DeviceLink(lambda: sim.ensure(state, sim_args), **kw)
        return DeviceLink(lambda: sim_tty(state), **kw)
    from .checks import serial_port_problem
    why = serial_port_problem(device)
    if why:
        raise LinkError(why)
    return None if probe else DeviceLink(device, **kw)


def sim_tty(state):
    """The tty of the simulator running for `state`; LinkError saying how to start one."""
    from . import sim
    path = sim.running_tty(state)
    if path is None:
        raise LinkError("no simulator running for %s (start one: `make run`, or "
                        "`python -m bridge sim --state %s`)" % (state, state))
    return path
