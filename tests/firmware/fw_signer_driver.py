# Test driver (MicroPython, never part of the firmware image): runs firmware/app.py's
# App on a fake board and talks JSON lines, so CPython tests can drive the signer
# exactly as main.py would, without the framed link.
#
#   micropython fw_signer_driver.py STORAGE_DIR [CONFIG_JSON]
#
# stdin: each command is its byte length on a line, then that many bytes of JSON (read
# into one buffer of the right size, as the link does with a framed message, instead
# of a readline that grows and fragments a 128 KB heap):
#   {"msg": {...}}            a host->device message, to App.handle
#   {"press": "approve"}      a button, to App.press
#   {"sleep": ms}             move the board's clock forward, then App.tick
#   {"hello": 1}              App.hello()
#   {"mem": 1}                heap after gc: {"mem": {"free", "alloc"}}
#   {"stack": 1}              peak stack use at the leaves, with tests/firmware/stackprobe
# stdout, one JSON object per line: {"out": msg} for each message the app sends,
# {"screen": [lines]} for each display.show, {"hello": ...}, {"exc": ...} if the app
# raised, and {"sync": n, "us": t} after each command (t: microseconds it took).
# This file holds no test_ functions, so the firmware test runner skips it.
import sys
import gc
import json
import time
import framebuf


def out(obj):
    # streamed in small pieces as firmware/link.py sends a message (a bytes-like value,
    # a response's base64 content, is a string), so a big published event needs no
    # second whole copy in the heap the device's own work is measured in
    from link import _dump
    _dump(obj, sys.stdout.buffer.write)
    sys.stdout.write("\n")


def out_msg(m):
    # {"out": m}, with m at the depth the link's send_message dumps it from
    from link import _dump
    w = sys.stdout.buffer.write
    w(b'{"out":')
    _dump(m, w)
    w(b"}\n")


class Display:
    width = 128
    height = 64

    def __init__(self):
        self.buf = bytearray(128 * 64 // 8)
        self.fb = framebuf.FrameBuffer(self.buf, 128, 64, framebuf.MONO_VLSB)
        self.lines = []

    def show(self, lines):
        self.lines = lines
        probe = sys.modules.get("_signer_test_preload")
        if probe is not None and hasattr(probe, "on_show"):
            probe.on_show()  # the prompt's rendering is done: how deep is it?
        out({"screen": lines})


class Board:
    name = "test"

    def __init__(self, storage, config):
        self.storage = storage
        self.config = {"prompt_timeout_s": 60, "max_age_s": 300, "max_future_s": 60}
        self.config.update(config)
        self.display = Display()
        self.offset = 0  # test-controlled clock skew, ms

    def rng(self, n):
        import os
        return os.urandom(n)

    def ticks_ms(self):
        return time.ticks_add(time.ticks_ms(), self.offset)

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)


def main():
    storage = sys.argv[1]
    config = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    board = Board(storage, config)
    try:
        import _signer_test_preload  # noqa: F401 (optional, from an extra test path)
    except ImportError:
        pass
    # the heap as main.py leaves it: collections every 4 KB while the firmware is
    # imported and the App starts (else the boot's garbage fills the heap before the
    # first collection and what boot keeps lands at its top, splitting the free block:
    # the largest was 16 KB here against 44 KB in the simulator), then none until needed
    gc.threshold(4096)
    import app
    from link import Link, ONE_BLOCK
    a = app.App(board, out_msg)
    gc.threshold(-1)
    gc.collect()
    n = 0
    while True:
        head = sys.stdin.buffer.readline()
        if not head:
            return
        is_msg = head[0] == 0x6D  # b"m": a host message, as main.dispatch takes one
        total = int(head[1:] if is_msg else head)
        if is_msg and total > ONE_BLOCK:
            # as the link takes a big message (link.Link._pieces): in PIECE-sized pieces
            # and, first, one block to decode it into if the heap has one; never as one
            # block of its own size, which a device never needs
            ps = Link._pieces(None, total)
            if ps is None:  # the link refuses it whole
                m = getattr(__import__("fw_signer_edge"), "refuse_whole")(total)
                if m is None:
                    return
                out(m)
                n += 1
                out({"sync": n, "us": 0})
                continue
            at = 0
            for p in ps:
                if type(p) is bytearray:
                    break
                while at < total and len(p):
                    k = sys.stdin.buffer.readinto(p)
                    if not k:
                        return
                    at += k
                    p = p[k:]
            try:
                cmd = {"msg": a.loads(ps)}
            except MemoryError:  # main.dispatch answers it
                m = ps[0]
                ps = p = None
                gc.collect()
                out_msg(getattr(__import__("fw_signer_edge"), "refuse_to_parse")(m))
                n += 1
                out({"sync": n, "us": 0})
                continue
            ps = p = None
        else:
            buf = bytearray(total)
            mv = memoryview(buf)
            got = 0
            while got < len(buf):
                k = sys.stdin.buffer.readinto(mv[got:])
                if not k:
                    return
                got += k
            mv = None
            if is_msg:
                # main.dispatch's way: a large message's event content stays in buf
                cmd = {"msg": a.loads(memoryview(buf)) if len(buf) > 1024 else json.loads(buf)}
            else:
                cmd = json.loads(buf)
        buf = None
        gc.collect()
        t0 = time.ticks_us()
        try:
            if "msg" in cmd:
                a.handle(cmd["msg"])
            elif "press" in cmd:
                a.press(cmd["press"])
            elif "sleep" in cmd:
                board.offset += cmd["sleep"]
            elif "hello" in cmd:
                out({"hello": a.hello()})
            elif "stack" in cmd:  # the stack probes' peaks (tests/firmware/stackprobe)
                out({"stack": sys.modules["_signer_test_preload"].report()})
            elif "mem" in cmd:
                # {"mem": {"free": n}}: the heap held down to n bytes first (None: let go)
                m = cmd["mem"]
                if type(m) is dict:
                    out({"mem": getattr(__import__("fw_signer_edge"), "hold_heap_to")(m["free"])})
                else:
                    out({"mem": {"free": gc.mem_free(), "alloc": gc.mem_alloc()}})
            a.tick()
        except Exception as e:
            cmd = None
            if "fw_signer_edge" in sys.modules:
                getattr(sys.modules["fw_signer_edge"], "release_heap")()  # room to say what was raised
            import io
            tb = io.StringIO()
            sys.print_exception(e, tb)
            out({"exc": type(e).__name__, "msg": str(e), "tb": tb.getvalue()})
        us = time.ticks_diff(time.ticks_us(), t0)
        cmd = None
        n += 1
        out({"sync": n, "us": us})


if __name__ == "__main__":
    main()
