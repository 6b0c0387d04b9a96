"""The simulator end to end: the real firmware (firmware/main.py, link.py, boards/sim.py) on
the MicroPython unix port at -X heapsize=128K, behind a real pty, driven with pyserial
through bridge/link.py; buttons through the control FIFO; the screen files.

Each test runs twice: with the test-only stand-in app (tests/firmware/standin/) at the
128 KB heap, which covers the link, the loop and the board on their own, and with the
real app (firmware/app.py), also at 128 KB by default (SIM_TEST_REAL_HEAP picks another).
SIM_TEST_APP=real|standin runs one kind only.

`pytest tests/test_sim.py --dev /dev/ttyACM0` runs the tests that only need the link
against a real device instead (kind "real" only); the ones that need the simulator's
insides (button FIFO, screen files, kill -9, its CLI) skip.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bridge import link as L  # noqa: E402
from bridge import sim as S  # noqa: E402
from bridge.link import BEGIN, encode_frame  # noqa: E402

STANDIN = os.path.join(ROOT, "tests", "firmware", "standin")
PY = sys.executable


def _kinds():
    forced = os.environ.get("SIM_TEST_APP")
    if forced:
        return [forced]
    real = subprocess.run(["git", "ls-files", "--error-unmatch", "firmware/app.py"], cwd=ROOT,
                          capture_output=True).returncode == 0
    return ["real", "standin"] if real else ["standin"]


REAL_HEAP = os.environ.get("SIM_TEST_REAL_HEAP", "128K")


def sim_args(kind):
    """`python -m bridge sim` arguments for this app."""
    return ["--heap", REAL_HEAP] if kind == "real" else ["--entry", "main_standin", "--extra-src", STANDIN]


def sim_kw(kind):
    return {"heap": REAL_HEAP} if kind == "real" else {"entry": "main_standin", "extra_src": [STANDIN]}


@pytest.mark.skipif("real" not in _kinds(), reason="firmware/app.py not committed")
def test_real_firmware_boots_at_128k(tmp_path):
    """The shipped firmware (real app, compiled as for a board) boots and answers at the
    heap the design promises."""
    s = S.Sim(str(tmp_path / "state"), heap="128K")
    try:
        with L.DeviceLink(s.tty) as lk:
            try:
                h = lk.hello(timeout=10)
                m = status(lk)
            except L.LinkError as e:
                s.wait(5)
                with open(os.path.join(s.state, "sim.log")) as f:
                    log = f.read()[-600:]
                pytest.fail("the firmware does not run in 128 KB: %s\nsim.log:\n%s" % (e, log))
        assert h["proto"] == 1 and m["t"] == "status"
    finally:
        s.stop()


def test_flash_and_screen_files_are_private_to_the_user(tmp_path):
    """The simulator's flash (the key, clients, secrets) and its screen mirror are written
    0600, their directories 0700, whatever umask the launching shell has (issue 11)."""
    import stat as st
    old = os.umask(0o022)  # a usual login shell's: group and others may read new files
    try:
        s = S.Sim(str(tmp_path / "state"), heap="128K")
    finally:
        os.umask(old)
    try:
        with L.DeviceLink(s.tty) as lk:
            lk.hello(timeout=10)
            rid = lk.request({"t": "provision", "key": SK})
            _wait(lambda: "IMPORT" in _screen(s.state), what="the import prompt")
            time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
            S.press(s.state, "approve")
            assert lk.answer(rid, 20)["outcome"] == "ok"
        flash = os.path.join(s.state, "flash")
        files = [os.path.join(flash, f) for f in os.listdir(flash)]
        files += [os.path.join(s.state, f) for f in ("screen.txt", "screen.png", "sim.log")]
        assert os.path.join(flash, "key.json") in files and os.path.join(flash, "signer.json") in files
        modes = {f: st.S_IMODE(os.stat(f).st_mode) for f in files}
        assert {f: m for f, m in modes.items() if m & 0o077 and not os.path.isdir(f)} == {}
        for d in [flash] + [f for f in files if os.path.isdir(f)]:
            assert st.S_IMODE(os.stat(d).st_mode) & 0o077 == 0, d
    finally:
        s.stop()


@pytest.fixture(params=_kinds())
def kind(request):
    return request.param


@pytest.fixture
def sim(tmp_path, kind, dev_port):
    if dev_port:
        pytest.skip("needs the simulator's insides (running against --dev %s)" % dev_port)
    s = S.Sim(str(tmp_path / "state"), **sim_kw(kind))
    yield s
    s.stop()


@pytest.fixture
def lk(request, kind, dev_port):
    if dev_port:
        if kind != "real":
            pytest.skip("the stand-in app runs only in the simulator")
        link = L.DeviceLink(dev_port)
    else:
        link = L.DeviceLink(request.getfixturevalue("sim").tty)
    link.hello(timeout=20)
    yield link
    link.close()


def status(lk, timeout=10, **extra):
    rid = lk.request(dict({"t": "status"}, **extra))
    m = lk.answer(rid, timeout, types=("status", "error"))
    assert m is not None, "no answer to status"
    return m


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_handshake(sim):
    with L.DeviceLink(sim.tty) as lk:
        t0 = time.monotonic()
        h = lk.hello(timeout=20)
        took = time.monotonic() - t0
        assert h["t"] == "hello" and h["proto"] == 1 and h["board"] == "sim"
        assert h["limits"]["max_frame"] == 512 and h["limits"]["max_message"] == 65536
        assert isinstance(h["limits"]["queue"], int)
        assert "fw" in h and "relays" in h and "pubkey" in h
        # a second handshake on the same connection works too
        assert lk.hello()["proto"] == 1
    print("handshake %.1f ms" % (took * 1000))


def test_small_message_latency(lk):
    status(lk)
    n = 200
    t0 = time.monotonic()
    for _ in range(n):
        assert status(lk)["t"] == "status"
    per = (time.monotonic() - t0) / n
    print("status round trip through the pty: %.2f ms" % (per * 1000))
    assert per < 0.05


def test_ctrl_c_and_other_control_bytes_are_data(lk, sim):
    # raw control bytes inside a JSON string, and frames whose seq/len bytes are 0x03
    ctl = bytes(range(1, 32)).replace(b"\n", b"").replace(b"\r", b"") + b"\x03" * 50
    for i in range(6):
        rid = lk.next_rid()
        body = b'{"t":"status","rid":%d,"x":"' % rid + ctl + b'"}'
        lk.send_bytes(body)
        m = lk.answer(rid, 10, types=("status", "error"))
        assert m is not None and m["t"] == "status", m
    # 300 more frames: seqs wrap through 0x03 several times
    for _ in range(300 // 2):
        assert status(lk, pad="\x03" * 600)["t"] == "status"
    assert sim.alive()


def test_60kb_message_arrives_with_flow_control(lk, sim, kind):
    # 60 KB of JSON the heap can both hold and parse: padding is whitespace
    rid = lk.next_rid()
    body = b'{"t":"status","rid":%d,' % rid + b" \n" * 30000 + b'"x":1}'
    assert len(body) > 60000
    lk.stats.clear()
    t0 = time.monotonic()
    try:
        lk.send_bytes(body)
    except L.TooLarge:
        # With the real app resident the heap may hold no 60 KB block: the device must
        # then refuse the BEGIN (and nothing else), and carry on.
        assert kind == "real", "the stand-in leaves room for 60 KB"
        assert lk.stats["frames sent"] == 1
        print("60 KB message refused by the device: no 60 KB block free next to the real app")
        assert status(lk)["t"] == "status"
        return
    m = lk.answer(rid, 20, types=("status", "error"))
    took = time.monotonic() - t0
    assert m["t"] == "status", m
    frames = lk.stats["frames sent"]
    assert frames == len(L.split_message(body))
    assert lk.stats["timeouts"] == 0 and lk.stats["nak bad frame"] == 0
    print("60 KB message: %.1f ms, %.0f KB/s, %d frames" % (took * 1000, len(body) / took / 1024, frames))
    # a 60 KB string is received too; parsing it does not fit next to it in the heap,
    # and then the device says so (for this request) and carries on
    rid = lk.request({"t": "status", "pad": "x" * 60000})
    m = lk.answer(rid, 20, types=("status", "error"))
    assert m["t"] == "status" or m["error"] == "too large", m
    assert status(lk)["t"] == "status"
    assert sim.alive()


def test_oversize_message_is_refused_too_large(lk):
    big = {"t": "status", "pad": "y" * 70000}
    with pytest.raises(L.TooLarge):  # refused by the host, from the hello's max_message
        lk.request(big)
    lk.max_message = None  # make the host send it: the device refuses the BEGIN
    lk.stats.clear()
    with pytest.raises(L.TooLarge):
        lk.request(big)
    assert lk.stats["frames sent"] == 1 and lk.stats["nak too large"] == 1
    assert status(lk)["t"] == "status"


def test_garbage_then_valid_request(lk, sim):
    rng = random.Random(7)
    ser = lk.ser
    for i in range(20):
        g = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 700)))
        if i % 3 == 0:
            g += b"\xa5\x5a\x01\x09\x01\xf0"  # a header promising 496 bytes that never come
        if i % 4 == 0:
            g += encode_frame(BEGIN, 77, b"\x00\x00\x10\x00" + bytes(100))[:50]  # truncated frame
        ser.write(g)
        assert status(lk)["t"] == "status"
    # and a frame with a bad CRC is NAKed and resent
    assert sim.alive()


def test_non_json_and_unknown_messages_get_errors(lk):
    rid = lk.next_rid()
    lk.send_bytes(b'{"t":"status","rid":%d,,,' % rid)
    assert lk.answer(rid, 10)["error"].startswith("invalid message")
    rid = lk.request({"t": "no-such-type"})
    assert lk.answer(rid, 10) == {"t": "error", "rid": rid, "error": "invalid message: unknown t"}
    assert status(lk)["t"] == "status"


def test_idle_firmware_does_not_spin(sim, lk):
    status(lk)
    c0 = cpu_seconds(sim.pid)
    time.sleep(2.0)
    used = cpu_seconds(sim.pid) - c0
    assert used < 0.2, "firmware used %.2f s of CPU in 2 s idle" % used


def test_device_to_host_large_message_every_char(lk, kind):
    if kind == "real":
        pytest.skip("echo is the stand-in's")
    data = "".join(chr(c) for c in range(1, 0x800)) * 2 + "end"
    rid = lk.request({"t": "echo", "data": data})
    m = lk.answer(rid, 10, types=("echo", "error"))
    assert m["data"] == data


def _kill(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


@pytest.fixture
def detached(tmp_path):
    """A simulator started the way other commands start one (`--device sim`): detached."""
    state = str(tmp_path / "dstate")
    yield state
    lp = S._read_pid(os.path.join(state, "launcher.pid"))
    if lp and S._alive(lp):
        _kill(lp)
        for _ in range(100):
            if not S._alive(lp):
                break
            time.sleep(0.05)


def test_detached_sim_is_reused(detached, kind):
    t1 = S.ensure(detached, sim_args(kind))
    pid = S._read_pid(os.path.join(detached, "sim.pid"))
    t2 = S.ensure(detached, sim_args(kind))
    assert t1 == t2 and S._read_pid(os.path.join(detached, "sim.pid")) == pid
    with pytest.raises(RuntimeError):  # a second launcher for the same state refuses
        S.Sim(detached, **sim_kw(kind))


def test_kill_9_and_restart_handshakes_again(detached, kind):
    lk = L.open_link("sim", detached, start_sim=True, sim_args=sim_args(kind))
    try:
        h1 = lk.hello(timeout=20)
        pid = S._read_pid(os.path.join(detached, "sim.pid"))
        os.kill(pid, signal.SIGKILL)  # the device loses power mid-session
        with pytest.raises(L.LinkClosed):
            lk.recv(5)
        # the launcher notices, cleans up and exits; reopening starts a new simulator
        t0 = time.monotonic()
        lk.reopen()
        h2 = lk.hello(timeout=20)
        print("restart + handshake: %.0f ms" % ((time.monotonic() - t0) * 1000))
        assert h2["proto"] == 1 and h2.get("pubkey") == h1.get("pubkey")
        pid2 = S._read_pid(os.path.join(detached, "sim.pid"))
        assert pid2 != pid and S._alive(pid2) and not S._alive(pid)
        assert status(lk)["t"] == "status"
    finally:
        lk.close()


def _screen(state):
    try:
        with open(os.path.join(state, "screen.txt")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _wait(pred, timeout=10, what="condition"):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def _press_cli(state, button, settle=0.5):
    # settle: a prompt ignores presses in its first moments (a double press must not
    # approve what the person has not seen yet)
    time.sleep(settle)
    return subprocess.run([PY, "-m", "bridge", "press", button, "--state", state], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


SK = "0000000000000000000000000000000000000000000000000000000000000003"


def _xonly(sk_hex):
    import coincurve
    return coincurve.PrivateKey(bytes.fromhex(sk_hex)).public_key.format()[1:].hex()


def test_screen_files_exist_update_and_png_decodes(sim, lk):
    from PIL import Image
    state = sim.state
    png = os.path.join(state, "screen.png")
    _wait(lambda: os.path.exists(png) and os.path.exists(os.path.join(state, "screen.txt")), what="screen files")
    before_txt = _screen(state)
    before_png = open(png, "rb").read()
    im = Image.open(png)
    im.load()
    assert im.size == (128, 64)
    # a request that puts up a prompt changes the screen
    rid = lk.request({"t": "provision", "key": SK})
    _wait(lambda: _screen(state) != before_txt, what="screen.txt to change")
    after_png = open(png, "rb").read()
    assert after_png != before_png
    im = Image.open(png)
    im.load()
    assert im.size == (128, 64)
    lit = sum(1 for p in im.convert("L").tobytes() if p > 128)
    assert 0 < lit < 128 * 64 // 2, lit  # text drawn, white on black
    assert not [f for f in os.listdir(state) if f.endswith(".tmp")]
    assert _press_cli(state, "reject").returncode == 0
    m = lk.answer(rid, 10)
    assert m["t"] == "done" and m["outcome"] == "rejected"


def test_press_reaches_firmware_only_through_fifo(sim, lk):
    rid = lk.request({"t": "provision", "key": SK})
    _wait(lambda: "approve" in _screen(sim.state).lower() or "import" in _screen(sim.state).lower(),
          what="the provision prompt")
    # the host tries to press over the link: as raw text, and as a message
    lk.ser.write(b"approve\nlong-approve\n")
    r2 = lk.request({"t": "press", "button": "approve"})
    assert lk.answer(r2, 10)["error"] == "invalid message: unknown t"
    assert lk.answer(rid, 1.0) is None  # nothing approved
    # the FIFO is the way in
    p = _press_cli(sim.state, "approve")
    assert p.returncode == 0, p.stderr
    m = lk.answer(rid, 30)
    assert m["t"] == "done" and m["outcome"] == "ok", m
    assert m["pubkey"] == _xonly(SK)
    assert SK not in json.dumps(m)


def test_press_cli_rejects_unknown_button_and_missing_sim(tmp_path):
    p = _press_cli(str(tmp_path), "sideways", 0)
    assert p.returncode != 0
    p = _press_cli(str(tmp_path), "approve", 0)
    assert p.returncode == 1 and "no simulator" in p.stderr


def test_provision_cli(detached, kind):
    S.ensure(detached, sim_args(kind))  # the CLI reuses this running simulator
    sk = "%064x" % 0xC0FFEE
    # the key on stdin, never on the command line
    proc = subprocess.Popen([PY, "-m", "bridge", "provision", "--device", "sim", "--state", detached],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdin.write(sk + "\n")
    proc.stdin.close()
    proc.stdin = None
    try:
        _wait(lambda: "import" in _screen(detached).lower() or "approve" in _screen(detached).lower(),
              timeout=20, what="the provision prompt")
        assert _press_cli(detached, "approve").returncode == 0
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    from embit import bech32
    _, hrp, data = bech32.bech32_decode(out.strip())  # an independent bech32
    assert hrp == "npub"
    assert bytes(bech32.convertbits(data, 5, 8, False)).hex() == _xonly(sk)
    assert sk not in out and sk not in err
    # rejected: non-zero exit, the outcome on stderr
    shown = _screen(detached)
    keyfile = os.path.join(os.path.dirname(detached), "key")
    with open(keyfile, "w") as f:
        f.write(sk + "\n")
    proc = subprocess.Popen([PY, "-m", "bridge", "provision", "--device", "sim", "--state", detached,
                             "--key-file", keyfile], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: _screen(detached) != shown, timeout=20, what="the provision prompt")
        assert _press_cli(detached, "reject").returncode == 0
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1 and "rejected" in err


def test_sim_command_foreground(tmp_path, kind):
    state = str(tmp_path / "fg")
    p = subprocess.Popen([PY, "-m", "bridge", "sim", "--state", state, *sim_args(kind)], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
    try:
        tty_path = p.stdout.readline().strip()
        assert tty_path.startswith("/dev/pts/")
        with open(os.path.join(state, "tty")) as f:
            assert f.read().strip() == tty_path
        assert os.path.exists(os.path.join(state, "sim.pid"))
        with L.DeviceLink(tty_path) as lk:
            assert lk.hello(timeout=20)["board"] == "sim"
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
    assert not os.path.exists(os.path.join(state, "tty"))
    assert not os.path.exists(os.path.join(state, "sim.pid"))


def test_an_error_under_a_button_reaches_the_screen_and_the_host(tmp_path, dev_port):
    # issue 13, 3: a menu's QR failed with MemoryError and only sim.log knew. The stand-in
    # app raises under a press (a provision of a key it cannot decode)
    if dev_port:
        pytest.skip("needs the simulator's insides")
    s = S.Sim(str(tmp_path / "state"), **sim_kw("standin"))
    try:
        with L.DeviceLink(s.tty) as lk:
            lk.hello(timeout=20)
            lk.request({"t": "provision", "rid": 5, "key": "nsec1notakey"})
            _wait(lambda: "Import key?" in _screen(s.state), what="the import prompt")
            _press_cli(s.state, "approve")
            m = lk.answer(None, 10, types=("error",))
            assert m is not None and m["error"].startswith("internal error in button: "), m
            _wait(lambda: _screen(s.state).startswith("ERROR"), what="the error on screen")
            assert status(lk)["t"] == "status"  # and the device goes on
    finally:
        s.stop()
