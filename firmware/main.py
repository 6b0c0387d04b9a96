# Start-up and the main loop: board <-> link <-> app.
#
# One thread, one loop: wait in select.poll on the link and the board's controls
# (never a busy spin), feed link bytes to the framing layer, hand complete
# messages to the app, hand button presses to the app, and call app.tick() every
# iteration so prompts can time out. Nothing that arrives over the link may stop
# this loop: every message is handled inside its own try and answered `error`.
import gc
import json
import select
import sys

# Start-up loads most of the code: objects that live for good are made between the
# loader's short-lived ones and leave the heap in small holes unless garbage is
# collected often while it runs (x64 128K heap, firmware in ROM: largest free block
# after start 43 KB -> 61 KB). From here, before the imports below; main() puts the
# port's default back (collect only when an allocation fails) once up.
if hasattr(gc, "threshold"):
    gc.threshold(4096)

import boards  # noqa: E402
import link as linklib  # noqa: E402

try:
    import micropython
except ImportError:  # CPython (tests that import this module's helpers)
    micropython = None

PROTO = 1
# Host -> device message types the app handles (docs/protocol.md); `hello` is answered here.
# An App may list more in its own `types` attribute.
APP_TYPES = ("event", "nostrconnect", "provision", "status")
# A partial frame that sees no new byte for this long is given up and rescanned
# (well under the host's 1 s ACK timeout, so the host's resend finds us in sync).
FRAME_IDLE_MS = 300


def log_exc(where, e):
    print("main:", where, file=sys.stderr)
    try:
        sys.print_exception(e, sys.stderr)
    except AttributeError:  # CPython
        import traceback
        traceback.print_exception(e)


def report(board, lk, where, e):
    """An error outside any request (a button's screen, the clock): logged, said to the
    host (its console shows it) and shown on the device's own screen until the next
    one is drawn: never only in a log file."""
    log_exc(where, e)
    what = "internal error in %s: %s" % (where, type(e).__name__)
    send_error(lk, None, what)
    try:
        d = board.display
        d.fb.fill(0)
        lines = ["ERROR", where, type(e).__name__[:16], str(e)[:16], "", "see host log"]
        for i in range(len(lines)):
            d.fb.text(lines[i], 0, i * 8, 1)
        d.show(lines)
    except Exception as e2:
        log_exc("showing an error", e2)


def send_error(lk, rid, text):
    try:
        lk.send_message({"t": "error", "rid": rid, "error": text})
    except Exception as e:
        log_exc("sending error", e)


def scan_rid(raw):
    # The rid of a message we could not parse (no memory for it, or not JSON), so the
    # host can still match our error to its request: `"rid"` then `:` is a key (in a
    # JSON string the quotes would be escaped). Hosts put it near the start; only the
    # first and last 256 bytes are looked at, so a large message is never copied.
    n = len(raw)
    for part in (raw[0:256], raw[max(0, n - 256):n]):
        b = bytes(part)
        i = b.find(b'"rid"')
        while i >= 0:
            j = i + 5
            while j < len(b) and b[j] in b" \t\r\n":
                j += 1
            if j < len(b) and b[j] == 0x3A:  # ':'
                j += 1
                while j < len(b) and b[j] in b" \t\r\n":
                    j += 1
                k = j
                while k < len(b) and 0x30 <= b[k] <= 0x39 and k - j < 18:
                    k += 1
                return int(b[j:k]) if k > j else None
            i = b.find(b'"rid"', i + 1)
    return None


def _scan(raw):
    # scan_rid of a message or of its pieces (the rid is near one end)
    if type(raw) is not list:
        return scan_rid(raw)
    r = scan_rid(raw[0])
    return r if r is not None else scan_rid(raw[-2] if type(raw[-1]) is bytearray else raw[-1])


def hello_message(a, board, lk):
    h = a.hello() or {}
    h["t"] = "hello"
    h["proto"] = PROTO
    if "board" not in h:
        h["board"] = board.name
    lim = h.get("limits") or {}
    # The link's own limits are the link's to state; the queue length is the app's.
    lim["max_frame"] = lk.max_frame
    lim["max_message"] = lk.max_message
    if "queue" not in lim:
        lim["queue"] = 1
    h["limits"] = lim
    return h


def dispatch(a, lk, board, raw):
    """Parse one message (raw: a memoryview of its JSON, valid during the call) and give
    it to the app. Never raises."""
    rid = None
    if raw is None:
        raw = lk.take()
    try:
        # a big message may come as a list of pieces (link.PIECE): an App that reads
        # those (App.loads) gets them as they are, anything else gets them joined
        big = type(raw) is list or len(raw) > 1024
        try:
            # an App may parse large messages its own way (App.loads)
            parse = getattr(a, "loads", None) if big else None
            if type(raw) is list and not parse:
                if type(raw[-1]) is bytearray:
                    raw.pop()  # the spare block (link.Link._pieces)
                raw = memoryview(bytearray(b"".join(raw)))
            msg = parse(raw) if parse else json.loads(raw)
        except MemoryError:
            rid = _scan(raw)
            raw = None
            gc.collect()
            send_error(lk, rid, "too large")
            return
        except ValueError:
            send_error(lk, _scan(raw), "invalid message: not JSON")
            return
        raw = None  # a large message's buffer is garbage from here: free before the app allocates
        if big:
            gc.collect()  # and the app's allocations start from the bottom of the heap again
        if not isinstance(msg, dict):
            send_error(lk, None, "invalid message: not an object")
            return
        rid = msg.get("rid")
        if rid is not None and type(rid) is not int:
            rid = None
            send_error(lk, None, "invalid message: rid must be an integer")
            return
        t = msg.get("t")
        if t == "hello":
            lk.send_message(hello_message(a, board, lk))
        elif t in getattr(a, "types", APP_TYPES):
            if t in ("event", "big", "nostrconnect"):  # a request: the C stack's peak is its
                board.link.peak = 0  # own from here (boards' link write; status reports it)
            a.handle(msg)
        else:
            send_error(lk, rid, "invalid message: unknown t")
    except MemoryError:
        msg = None
        gc.collect()
        send_error(lk, rid, "busy")
    except Exception as e:
        log_exc("handling a message", e)
        send_error(lk, rid, "internal error: %s" % type(e).__name__)


def loop(board, lk, a, max_iterations=-1):
    buf = bytearray(linklib.MAX_FRAME)
    p = select.poll()
    for obj in board.pollables():
        p.register(obj, select.POLLIN)
    wait = p.ipoll if hasattr(p, "ipoll") else p.poll  # ipoll: no list allocated per wake-up
    idle = board.idle_ms
    last_rx = board.ticks_ms()
    while max_iterations != 0:
        max_iterations -= 1
        timeout = idle
        if lk.pending() and FRAME_IDLE_MS < timeout:
            timeout = FRAME_IDLE_MS
        wait(timeout)
        # Check every source whatever woke us: each check is non-blocking and cheap.
        n = board.link.read(buf)
        now = board.ticks_ms()
        try:
            # a message is handled here, at the loop's own depth, not under the link's
            # frames: every request starts with the same stack below it
            if n:
                last_rx = now
                i = 0
                while True:
                    i = lk.feed(buf, n, i)
                    if lk.ready is None:
                        break
                    dispatch(a, lk, board, None)
            elif lk.pending() and board.ticks_diff(now, last_rx) >= FRAME_IDLE_MS:
                lk.expire()
                if lk.ready is not None:
                    dispatch(a, lk, board, None)
        except Exception as e:  # a bug here must not stop the device: drop what was buffered
            log_exc("link", e)
            lk.drop_rx()
        try:
            for b in board.buttons():
                a.press(b)
        except Exception as e:
            report(board, lk, "button", e)
        try:
            a.tick()
        except Exception as e:
            report(board, lk, "tick", e)


def run(board, make_app):
    # rx_static: bytes kept for receiving small messages without allocating (Board doc)
    # chunked: big messages in pieces, read in place by the app (link.PIECE)
    # max_frame: the board's largest frame (an ESP32's UART buffer takes 250 + 10 bytes)
    lk = linklib.Link(board.link.write, None, board.max_message, getattr(board, "rx_static", 0),
                      getattr(make_app, "pieces", False), getattr(board, "max_frame", linklib.MAX_FRAME))
    a = make_app(board, lk.send_message)
    lk.keep_free = getattr(make_app, "keep_free", 0)
    # deferred + take(): the loop dispatches a complete message itself (loop()), and
    # only dispatch's own local holds a large message's buffer, so it is garbage as
    # soon as it is parsed
    lk.deferred = True
    th = getattr(gc, "threshold", None)
    if th:
        th(-1)
    gc.collect()
    loop(board, lk, a)


def main(argv=None, make_app=None):
    """Start the device. `make_app` defaults to the real app (firmware/app.py)."""
    th = getattr(gc, "threshold", None)
    if th:
        th(4096)  # as at import (top of this file), while the board and app start
    try:
        if micropython is not None and hasattr(micropython, "kbd_intr"):
            # 0x03 on the link is data, not Ctrl-C.
            micropython.kbd_intr(-1)
        board = boards.current(argv)
        if make_app is None:
            import app
            make_app = app.App
        run(board, make_app)
    except SystemExit:
        raise
    except BaseException as e:
        # An uncaught traceback would go to stdout, i.e. onto the link: log it instead.
        log_exc("fatal", e)
        sys.exit(1)


if __name__ == "__main__":
    main()
