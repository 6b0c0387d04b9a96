"""`python -m bridge ...` as a person types it (issue 13, items 5-8): subprocesses, each with
its own runtime dir (XDG_RUNTIME_DIR), so a bridge running elsewhere on the machine is not
found and none of ours is left behind."""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from bridge import control, sim as S, simstop

pytestmark = pytest.mark.timeout(120)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


@pytest.fixture
def env(tmp_path):
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    e = dict(os.environ, XDG_RUNTIME_DIR=str(xdg))
    e.pop("PYTEST_CURRENT_TEST", None)
    return e


def bridge(env, *args, stdin=None, timeout=30):
    try:
        return subprocess.run([PY, "-m", "bridge", *args], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("bridge %s still running after %d s: %s %s" % (
            " ".join(args), timeout, e.stdout, e.stderr)) from None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def firmware_pids(state):
    """micropython processes running for `state` (whoever started them)."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            if simstop.is_firmware(int(pid)) and os.fsencode(os.path.abspath(state)) in simstop.cmdline(int(pid)):
                out.append(int(pid))
    return out


def wait_for(pred, timeout=30, what="condition"):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


# ---- a --device that is no serial port fails at once -----------------------------------

@pytest.mark.parametrize("path", ["/tmp", "/etc/passwd"])
def test_device_path_that_is_no_serial_port_fails_at_once(env, tmp_path, path):
    t0 = time.monotonic()
    p = bridge(env, "run", "--device", path, "--no-qr", timeout=20)
    assert p.returncode == 2 and "not a serial port" in p.stderr, (p.stdout, p.stderr)
    assert time.monotonic() - t0 < 15
    for cmd in ("url", "status"):
        p = bridge(env, cmd, "--device", path, "--state", str(tmp_path / "none"))
        assert p.returncode == 2 and "not a serial port" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


# ---- nothing starts a simulator that outlives its command ------------------------------

def test_status_with_a_state_that_does_not_exist_creates_nothing(env, tmp_path):
    nowhere = str(tmp_path / "nonexistent")
    for cmd in ("status", "url"):
        p = bridge(env, cmd, "--device", "sim", "--state", nowhere)
        assert p.returncode == 2 and "no simulator running" in p.stderr, p.stderr
    assert not os.path.exists(nowhere)
    assert firmware_pids(nowhere) == []


def test_url_with_no_simulator_running_starts_none(env, tmp_path):
    state = tmp_path / "st"
    state.mkdir()
    p = bridge(env, "url", "--device", "sim", "--state", str(state))
    assert p.returncode == 2 and "no simulator running" in p.stderr and "python -m bridge sim" in p.stderr
    time.sleep(0.5)
    assert firmware_pids(str(state)) == [] and not (state / "launcher.pid").exists()


def test_run_device_sim_stops_the_simulator_it_started(env, tmp_path):
    state = str(tmp_path / "run")
    # a fresh simulator has no key: run says so and exits; its simulator goes with it
    p = bridge(env, "run", "--device", "sim", "--state", state, "--no-qr", timeout=90)
    assert p.returncode == 2 and "provision it first" in p.stdout, (p.stdout, p.stderr)
    assert "stopped when this bridge exits" in p.stdout
    assert S.running_tty(state) is None
    assert firmware_pids(state) == []
    assert control.running() == [] and not os.listdir(os.path.join(env["XDG_RUNTIME_DIR"],
                                                                   "nostr-signer-bridge-%d" % os.getuid(), "running"))


def test_run_device_sim_stops_its_simulator_on_ctrl_c_and_on_a_bad_relay(env, tmp_path):
    from bridge.link import DeviceLink
    state = str(tmp_path / "keyed")
    with S.Sim(state) as s:          # give the simulator a key first, approved on its "screen"
        with DeviceLink(s.tty) as lk:
            lk.hello(timeout=30)
            rid = lk.request({"t": "provision", "key": "%064x" % 7})
            wait_for(lambda: "import" in open(os.path.join(state, "screen.txt")).read().lower(), 30, "prompt")
            time.sleep(0.6)
            S.press(state, "approve")
            assert lk.answer(rid, 30)["outcome"] == "ok"
    p = bridge(env, "run", "--device", "sim", "--state", state, "--relay", "http://nope", timeout=90)
    assert p.returncode == 2 and "not a websocket relay URL" in p.stderr, (p.stdout, p.stderr)
    assert S.running_tty(state) is None and firmware_pids(state) == []
    r = subprocess.Popen([PY, "-m", "bridge", "run", "--device", "sim", "--state", state, "--no-qr"], cwd=ROOT,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in r.stdout:
            lines.append(line)
            # the bridge is talking to the device (its relay, 127.0.0.1:7777, runs nowhere
            # here, so no bunker URL is printed: issue 13 item 7)
            if "device: fw" in line:
                break
        assert S.running_tty(state) and firmware_pids(state), lines
        r.send_signal(signal.SIGINT)
        assert r.wait(20) == 0
    finally:
        if r.poll() is None:
            r.kill()
            r.wait()
        r.stdout.close()
    assert S.running_tty(state) is None
    wait_for(lambda: firmware_pids(state) == [], 10, "the simulator to exit")


def test_a_leftover_simulator_gets_a_hint_and_sim_stop_ends_it(env, tmp_path):
    state = str(tmp_path / "left")
    S.ensure(state)          # detached, as `--device sim` commands used to leave them
    try:
        p = bridge(env, "demo", "--state", state, "--port", str(free_port()), timeout=60)
        assert p.returncode == 1, (p.stdout, p.stderr)
        err = p.stderr.strip().splitlines()
        assert len(err) == 1 and "already running" in err[0] and "python -m bridge sim stop --state" in err[0], err
        p = bridge(env, "sim", "stop", "--state", state)
        assert p.returncode == 0 and "stopped" in p.stdout, p.stderr
        assert S.running_tty(state) is None
        wait_for(lambda: firmware_pids(state) == [], 10, "the firmware to exit")
        p = bridge(env, "sim", "stop", "--state", state)
        assert p.returncode == 0 and "no simulator running" in p.stdout
    finally:
        lp = S._read_pid(os.path.join(state, "launcher.pid"))
        if lp and S._alive(lp):
            os.kill(lp, signal.SIGTERM)


# ---- provision: the key never on argv, checked before the device ------------------------

def test_provision_refuses_a_key_on_the_command_line(env, tmp_path):
    p = bridge(env, "provision", "--device", "sim", "--state", str(tmp_path), "--key", "01" * 32)
    assert p.returncode == 2 and "never taken on the command line" in p.stderr
    assert "01" * 32 not in p.stderr + p.stdout


@pytest.mark.parametrize("how", ["stdin", "file"])
def test_provision_bad_key_fails_before_the_device_is_asked(env, tmp_path, how):
    bad = "nsec1" + "q" * 58
    args = ["provision", "--device", "/dev/ttyACM-nothing-here"]
    if how == "file":
        f = tmp_path / "key"
        f.write_text(bad + "\n")
        p = bridge(env, *args, "--key-file", str(f), timeout=10)
    else:
        p = bridge(env, *args, stdin=bad + "\n", timeout=10)
    assert p.returncode == 2 and "invalid nsec" in p.stderr and "nothing was sent" in p.stderr, p.stderr
    assert "confirm" not in p.stderr and bad not in p.stderr + p.stdout


# ---- connect: why a URI is invalid -----------------------------------------------------

def test_connect_says_why_the_uri_is_invalid(env, tmp_path):
    pk = "cd" * 32
    for uri, why in (("nostrconnect://%s?secret=s" % pk, "no relay="),
                     ("nostrconnect://%s?relay=wss%%3A%%2F%%2Fr.example" % pk, "no secret="),
                     ("nostrconnect://nope?relay=wss://r&secret=s", "64 hex digits")):
        p = bridge(env, "connect", uri, "--device", "sim", "--state", str(tmp_path / "x"))
        assert p.returncode == 2 and "invalid uri: " in p.stderr and why in p.stderr, p.stderr
        p = bridge(env, "run", "--device", "sim", "--state", str(tmp_path / "x"), "--connect", uri)
        assert p.returncode == 2 and "invalid uri: " in p.stderr and why in p.stderr, p.stderr
    assert not os.path.exists(tmp_path / "x")


# ---- a second `make run` ---------------------------------------------------------------

def test_demo_on_a_port_in_use_says_so_in_one_line(env, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        p = bridge(env, "demo", "--state", str(tmp_path / "d"), "--port", str(port), timeout=60)
    finally:
        s.close()
    err = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(err) == 1, p.stderr
    assert "port %d is in use" % port in err[0] and "make run PORT=" in err[0]


class StandIn:
    hello = {"pubkey": "ab" * 32, "relays": ["ws://127.0.0.1:1"], "secret": "s"}
    device_relays = ["ws://127.0.0.1:1"]

    def say(self, line):
        pass


def serve_control(path, announce=False):
    """A control socket answering in a thread (what a running bridge has); -> stop()."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box = {}

    async def main():
        box["server"] = await control.start(StandIn(), path, announce_state=announce)
        box["done"] = asyncio.Event()
        ready.set()
        await box["done"].wait()
        await control.stop(box["server"], path)
    t = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    t.start()
    assert ready.wait(10)

    def stop():
        loop.call_soon_threadsafe(box["done"].set)
        t.join(10)
    return stop


def test_a_second_demo_on_the_same_state_says_so_in_one_line(env, tmp_path):
    state = tmp_path / "d"
    state.mkdir()
    stop = serve_control(str(state / "bridge.sock"))
    try:
        p = bridge(env, "demo", "--state", str(state), "--port", str(free_port()), timeout=60)
    finally:
        stop()
    err = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(err) == 1 and "already running" in err[0], p.stderr
    assert not (state / "sim.pid").exists()


def test_commands_find_an_announced_bridge_without_state(env, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])
    state = tmp_path / "elsewhere"
    state.mkdir()
    stop = serve_control(str(state / "bridge.sock"), announce=str(state))
    try:
        p = bridge(env, "url")
        assert p.returncode == 0 and p.stdout.startswith("bunker://" + "ab" * 32), p.stderr
    finally:
        stop()
    p = bridge(env, "url", "--device", "/etc/passwd")
    assert p.returncode == 2 and "no bridge is running" in p.stderr


def test_make_run_port_sets_the_local_relay_port():
    def dry(*args):
        return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
    assert "bridge demo" in dry("run") and "--port 7777" in dry("run")
    assert "--port 7778" in dry("run", "PORT=7778")
    # PORT is also flash's serial port: that use is unchanged
    assert "--port /dev/ttyACM0" in dry("flash") and "--port /dev/ttyUSB1" in dry("flash", "PORT=/dev/ttyUSB1")
    assert "--port /dev" not in dry("run", "PORT=/dev/ttyUSB1")
