"""`make flash`: the exact mpremote sequence, against a recorded fake mpremote (no board
here). A fresh board, a re-flash that must keep the keystore and remove stale firmware
files, a wipe, a board still running the signer (maintenance hint), and boards that
cannot run the bundle (wrong port, too old, other .mpy ABI or CPU)."""
import json
import os
import subprocess
import sys

import pytest

import mpy

sys.path.insert(0, os.path.join(mpy.ROOT, "tools"))
import flash  # noqa: E402

FAKE = os.path.join(mpy.ROOT, "tests", "fake_mpremote.py")
PORT = "/dev/ttyACM0"
# sys.implementation._mpy of MicroPython 1.23+ on an RP2040 / an ESP32: v6.3, CPU << 10
MPY_RP2 = 6 | 3 << 8 | 4 << 10
MPY_ESP32 = 6 | 3 << 8 | 10 << 10


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    return {b: flash.build_bundle(b, str(out), log=lambda *a: None) for b in ("pico", "tdisplay")}


@pytest.fixture
def device(tmp_path, monkeypatch):
    dev = tmp_path / "dev"
    (dev / "fs").mkdir(parents=True)
    board = {"platform": "rp2", "version": [1, 29, 0], "mpy": MPY_RP2, "port": PORT,
             "machine": "Raspberry Pi Pico with RP2040", "free": 1400 * 1024}
    (dev / "board.json").write_text(json.dumps(board))
    monkeypatch.setenv("FAKE_MPREMOTE_DEV", str(dev))
    monkeypatch.setenv("MPREMOTE", "%s %s" % (sys.executable, FAKE))
    return dev


def set_board(dev, **kw):
    b = json.loads((dev / "board.json").read_text())
    b.update(kw)
    (dev / "board.json").write_text(json.dumps(b))


def calls(dev):
    """The recorded mpremote invocations, the probe script abbreviated to PROBE."""
    out = []
    p = dev / "calls.jsonl"
    for line in (p.read_text().splitlines() if p.exists() else ()):
        c = json.loads(line)
        argv = c["argv"]
        if argv[2:3] == ["exec"]:
            assert "@@PROBE" in argv[3]
            argv = argv[:3] + ["PROBE"]
        out.append((argv, c["cwd"]))
    (dev / "calls.jsonl").unlink(missing_ok=True)
    return out


def device_files(dev):
    fs = dev / "fs"
    return sorted(str(p.relative_to(fs)) for p in fs.rglob("*") if p.is_file())


def bundle_files(tree):
    with open(os.path.join(tree, "bundle.json")) as f:
        return sorted(f for f in json.load(f)["files"])


TOP = ["app.mpy", "boards", "crypto", "fwmain.mpy", "keystore", "lib", "link.mpy", "main.py",
       "signer", "ui"]


def run(board, tree, wipe=False):
    log = []
    flash.flash(board, PORT, wipe=wipe, tree=tree, log=log.append)
    return log


def test_first_flash_sequence(device, bundles):
    tree = bundles["pico"]
    log = run("pico", tree)
    pre = ["connect", PORT]
    assert calls(device) == [
        (pre + ["exec", "PROBE"], os.getcwd()),
        (pre + ["cp", "-r"] + TOP + [":"], tree),
        (pre + ["reset"], tree),
    ]
    assert device_files(device) == bundle_files(tree)
    assert (device / "resets").read_text() == "reset\n"
    assert any("keystore none yet" in line for line in log), log


def test_reflash_keeps_the_keystore_and_removes_stale_firmware(device, bundles):
    tree = bundles["pico"]
    run("pico", tree)
    calls(device)
    fs = device / "fs"
    (fs / "data").mkdir()
    (fs / "data" / "key.bin").write_bytes(b"encrypted key")
    (fs / "data" / "clients.json").write_text("{}")
    (fs / "crypto" / "retired.mpy").write_bytes(b"M\x06")  # module dropped by this version
    (fs / "app.py").write_text("# stale source that would shadow app.mpy")
    (fs / "boot.py").write_text("# the person's own: not ours to touch")
    (fs / "lib" / "someone_elses.mpy").write_bytes(b"M\x06")
    log = run("pico", tree)
    pre = ["connect", PORT]
    assert calls(device) == [
        (pre + ["exec", "PROBE"], os.getcwd()),
        (pre + ["rm", ":/app.py", ":/crypto/retired.mpy"], tree),
        (pre + ["cp", "-r"] + TOP + [":"], tree),
        (pre + ["reset"], tree),
    ]
    assert (fs / "data" / "key.bin").read_bytes() == b"encrypted key"
    assert (fs / "boot.py").exists() and (fs / "lib" / "someone_elses.mpy").exists()
    assert not (fs / "app.py").exists() and not (fs / "crypto" / "retired.mpy").exists()
    assert any("keystore present, kept" in line for line in log), log


def test_wipe_erases_the_keystore(device, bundles):
    tree = bundles["pico"]
    (device / "fs" / "data").mkdir()
    (device / "fs" / "data" / "key.bin").write_bytes(b"k")
    log = run("pico", tree, wipe=True)
    pre = ["connect", PORT]
    assert calls(device) == [
        (pre + ["exec", "PROBE"], os.getcwd()),
        (pre + ["rm", "-r", ":/data"], tree),
        (pre + ["cp", "-r"] + TOP + [":"], tree),
        (pre + ["reset"], tree),
    ]
    assert not (device / "fs" / "data").exists()
    assert any("WIPING" in line for line in log)


def test_tdisplay_on_an_esp32(device, bundles):
    set_board(device, platform="esp32", mpy=MPY_ESP32, machine="Generic ESP32 module with ESP32")
    run("tdisplay", bundles["tdisplay"])
    assert [c[0][2] for c in calls(device)] == ["exec", "cp", "reset"]
    assert "boards/tdisplay.mpy" in device_files(device)


def test_a_running_signer_gets_the_maintenance_hint(device, bundles):
    set_board(device, locked=True)
    with pytest.raises(flash.FlashError, match="hold the LEFT button"):
        run("pico", bundles["pico"])
    assert [c[0][2] for c in calls(device)] == ["exec"]  # nothing else was tried
    assert device_files(device) == []


@pytest.mark.parametrize("board,change,message", [
    ("pico", {"platform": "esp32", "mpy": MPY_ESP32}, "not Raspberry Pi Pico"),
    ("tdisplay", {}, "not LilyGO T-Display"),
    ("pico", {"version": [1, 22, 2], "mpy": 6 | 2 << 8 | 4 << 10}, "too old"),
    ("pico", {"mpy": 6 | 2 << 8 | 4 << 10, "version": [1, 23, 0]}, r"\.mpy v6\.2 on the board"),
    ("pico", {"mpy": 6 | 3 << 8 | 5 << 10}, "native code is armv7m"),
])
def test_boards_that_cannot_run_the_bundle_are_refused(device, bundles, board, change, message):
    set_board(device, **change)
    with pytest.raises(flash.FlashError, match=message):
        run(board, bundles[board])
    assert [c[0][2] for c in calls(device)] == ["exec"]
    assert device_files(device) == []


def test_cli_reports_errors_without_a_traceback(device, bundles, capsys, monkeypatch):
    set_board(device, locked=True)
    monkeypatch.setattr(flash, "build_bundle", lambda *a, **k: bundles["pico"])
    assert flash.main(["flash", "--board", "pico", "--port", PORT]) == 1
    assert "MAINTENANCE" in capsys.readouterr().err


def test_make_targets_call_the_tool():
    def dry(*args):
        p = subprocess.run(["make", "-n", "-C", mpy.ROOT, *args], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return [line for line in p.stdout.splitlines() if "tools/flash.py" in line]

    (line,) = dry("flash", "BOARD=tdisplay", "PORT=/dev/ttyUSB0")
    assert "flash --board tdisplay --port /dev/ttyUSB0" in line and "--wipe" not in line
    (line,) = dry("flash", "BOARD=pico", "PORT=/dev/ttyACM1", "WIPE=1")
    assert "--board pico --port /dev/ttyACM1 --wipe" in line
    (line,) = dry("bundle", "BOARD=pico")
    assert "bundle --board pico" in line


def test_storage_dir_is_the_boards():
    assert flash.storage_dir() == "/data"
