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


# ---- ROMFS=1: the firmware in the board's ROMFS partition ----------------------------

ROMFS_SIZE = 512 * 1024  # a partition the image fits in (it is ~200 KB)


def romfs_image(tree):
    return tree + ".romfs"


def run_romfs(board, tree, wipe=False):
    log = []
    flash.flash(board, PORT, wipe=wipe, tree=tree, log=log.append, romfs=True)
    return log


def test_romfs_image_is_the_bundle_without_stub_and_listing(bundles):
    files = flash.romfs_files(bundles["pico"])
    assert set(files) == set(bundle_files(bundles["pico"])) - {"main.py", "bundle.json"}
    assert "fwmain.mpy" in files and "lib/embit/bip32.mpy" in files
    path = flash.build_romfs(bundles["pico"], log=lambda *a: None)
    assert path == romfs_image(bundles["pico"])
    with open(path, "rb") as f:
        assert f.read(3) == b"\xd2\xcd\x31"


def test_the_pico_romfs_image_fits_the_256_kb_partition_the_chip_was_measured_with(bundles):
    # FIELD-NOTES.md, "The real RP2040 port": the stock RPI_PICO build with the bundle
    # packed into a 256 KB ROMFS partition (234 KB on 2026-12-04, with embit)
    size = os.path.getsize(flash.build_romfs(bundles["pico"], log=lambda *a: None))
    print("pico ROMFS image: %d bytes of 262144" % size)
    assert size <= 256 * 1024


def test_romfs_first_flash_sequence(device, bundles):
    tree = bundles["pico"]
    set_board(device, romfs=ROMFS_SIZE)
    log = run_romfs("pico", tree)
    pre = ["connect", PORT]
    assert calls(device) == [
        (pre + ["exec", "PROBE"], os.getcwd()),
        (pre + ["romfs", "deploy", romfs_image(tree)], tree),
        (pre + ["cp", romfs_image(tree) + ".main.py", ":main.py"], tree),
        (pre + ["reset"], tree),
    ]
    assert device_files(device) == ["main.py"]
    with open(romfs_image(tree), "rb") as f:
        assert (device / "romfs.img").read_bytes() == f.read()
    assert (device / "fs" / "main.py").read_text() == flash.ROM_STUB
    assert any("ROMFS partition: 512 KB" in line for line in log), log


def test_romfs_over_a_filesystem_install_removes_its_firmware_and_keeps_the_keystore(device, bundles):
    tree = bundles["pico"]
    run("pico", tree)  # an earlier `make flash` without ROMFS=1
    calls(device)
    fs = device / "fs"
    (fs / "data").mkdir()
    (fs / "data" / "key.bin").write_bytes(b"encrypted key")
    (fs / "ui" / "retired.mpy").write_bytes(b"M\x06")
    (fs / "app.py").write_text("# stale source: would shadow /rom/app.mpy")
    (fs / "boot.py").write_text("# the person's own: not ours to touch")
    (fs / "lib" / "someone_elses.mpy").write_bytes(b"M\x06")
    set_board(device, romfs=ROMFS_SIZE)
    log = run_romfs("pico", tree)
    pre = ["connect", PORT]
    ours = sorted(f for f in bundle_files(tree) if "/" not in f and f.endswith(".mpy"))
    libs = sorted(f for f in bundle_files(tree) if f.startswith("lib/") and f.count("/") == 1)
    gone = [":/" + f for f in ["app.py", "boards", "crypto", "keystore", "lib/embit", "signer",
                               "ui"] + ours + libs]
    assert calls(device) == [
        (pre + ["exec", "PROBE"], os.getcwd()),
        (pre + ["rm", "-r"] + sorted(gone), tree),
        (pre + ["romfs", "deploy", romfs_image(tree)], tree),
        (pre + ["cp", romfs_image(tree) + ".main.py", ":main.py"], tree),
        (pre + ["reset"], tree),
    ]
    assert device_files(device) == ["boot.py", "data/key.bin", "lib/someone_elses.mpy", "main.py"]
    assert (fs / "data" / "key.bin").read_bytes() == b"encrypted key"
    assert any("keystore present, kept" in line for line in log), log


def test_romfs_wipe_erases_the_keystore_first(device, bundles):
    set_board(device, romfs=ROMFS_SIZE)
    (device / "fs" / "data").mkdir()
    (device / "fs" / "data" / "key.bin").write_bytes(b"k")
    run_romfs("pico", bundles["pico"], wipe=True)
    assert [c[0][2:4] for c in calls(device)] == [
        ["exec", "PROBE"], ["rm", "-r"], ["romfs", "deploy"], ["cp", romfs_image(bundles["pico"]) + ".main.py"], ["reset"]]
    assert not (device / "fs" / "data").exists()


def test_romfs_removes_an_empty_package_directory(device, bundles):
    # an empty /crypto on the filesystem is found before /rom/crypto and taken for the package
    (device / "fs" / "crypto").mkdir()
    set_board(device, romfs=ROMFS_SIZE)
    run_romfs("pico", bundles["pico"])
    assert calls(device)[1][0][2:] == ["rm", "-r", ":/crypto"]
    assert not (device / "fs" / "crypto").exists()


@pytest.mark.parametrize("romfs,message", [
    (None, "no ROMFS in this MicroPython"),
    (0, "no ROMFS partition"),
])
def test_romfs_refused_on_a_board_without_it(device, bundles, romfs, message):
    if romfs is not None:
        set_board(device, romfs=romfs)
    with pytest.raises(flash.FlashError, match=message) as e:
        run_romfs("pico", bundles["pico"])
    assert "flash a MicroPython build with a ROMFS partition, or flash without ROMFS=1" in str(e.value)
    assert [c[0][2] for c in calls(device)] == ["exec"]
    assert device_files(device) == [] and not (device / "romfs.img").exists()


def test_romfs_refused_when_the_image_is_bigger_than_the_partition(device, bundles):
    set_board(device, romfs=64 * 1024)
    (device / "fs" / "app.mpy").write_bytes(b"M\x06")  # an install that must stay usable
    with pytest.raises(flash.FlashError, match=r"ROMFS image is \d+ KB, the board's ROMFS partition 64 KB"):
        run_romfs("pico", bundles["pico"])
    assert [c[0][2] for c in calls(device)] == ["exec"]
    assert device_files(device) == ["app.mpy"]


def test_fake_board_refuses_an_image_too_big_as_mpremote_does(device, bundles):
    # the tool checks first; this checks the fake's own check, which the tests rely on
    set_board(device, romfs=1024)
    p = subprocess.run([sys.executable, FAKE, "connect", PORT, "romfs", "deploy",
                        flash.build_romfs(bundles["pico"], log=lambda *a: None)],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "too big" in p.stdout
    assert not (device / "romfs.img").exists()


def test_cli_and_make_pass_romfs(device, bundles, monkeypatch):
    seen = {}
    monkeypatch.setattr(flash, "flash", lambda *a, **k: seen.update(k))
    assert flash.main(["flash", "--board", "pico", "--port", PORT, "--romfs"]) == 0
    assert seen["romfs"] is True
    p = subprocess.run(["make", "-n", "-C", mpy.ROOT, "flash", "BOARD=pico", "PORT=/dev/ttyACM0",
                        "ROMFS=1"], capture_output=True, text=True)
    (line,) = [x for x in p.stdout.splitlines() if "tools/flash.py" in x]
    assert "--port /dev/ttyACM0 --romfs" in line


def test_x64_romfs_image_mounts_and_the_stub_imports_the_firmware_from_rom(tmp_path):
    """The image `make flash ROMFS=1` deploys, built for x64, mounted with vfs.VfsRom on the
    unix port by the simulator's bootstrap (firmware/boards/simrom.py). With sys.path as a
    board has it (the port appends only /rom/lib) and stale firmware sources in the
    current directory, ROM_STUB (without its fwmain.main() call) imports fwmain from /rom,
    and the app and link then come from /rom too; the stub itself is not in the image."""
    if mpy.ROOT not in sys.path:
        sys.path.insert(0, mpy.ROOT)
    from bridge import rom
    tree = flash.build_bundle("pico", str(tmp_path / "bundle"), arch="x64", log=lambda *a: None)
    image = flash.build_romfs(tree, log=lambda *a: None)
    cwd = tmp_path / "fs"
    cwd.mkdir()
    for decoy in ("fwmain.py", "app.py", "link.py"):
        (cwd / decoy).write_text("raise SystemExit('stale %s imported')\n" % decoy)
    (tmp_path / "drv").mkdir()
    (tmp_path / "drv" / "romfs_drv.py").write_text(
        "import os, sys\n"
        "sys.path[:] = ['', '.frozen', '/lib', '/rom/lib']\n"
        "with open(%r) as f:\n"
        "    exec(f.read().replace('fwmain.main()', ''))\n"
        "import app, link\n"  # what fwmain.main() imports, on the path the stub set
        "try:\n"
        "    os.stat('/rom/main.py')\n"
        "    stub = 'in-rom'\n"
        "except OSError:\n"
        "    stub = 'absent'\n"
        "m = sys.modules\n"
        "print('@@', m['fwmain'].__file__, m['app'].__file__, m['link'].__file__, stub, sys.path[:2])\n"
        % flash.rom_stub(image))
    rom.build()  # the bootstrap (simrom.mpy) the launch needs
    env = rom.env(mpy.mpy_env(), image=image, path=(str(tmp_path / "drv"),))
    p = subprocess.run(rom.cmd(mpy.micropython_bin(), "128K", "romfs_drv"), env=env,
                       capture_output=True, text=True, timeout=60, cwd=str(cwd))
    assert p.returncode == 0, p.stderr + p.stdout
    (line,) = [x for x in p.stdout.splitlines() if x.startswith("@@")]
    assert line.split(None, 5)[1:] == ["/rom/fwmain.mpy", "/rom/app.mpy", "/rom/link.mpy", "absent",
                                       "['/rom', '/rom/lib']"]


def test_probe_runs_on_micropython_and_lists_the_filesystem_not_rom(tmp_path):
    """The probe script itself, on the unix port with a directory as its filesystem and a
    ROMFS image mounted at /rom (as a board with ROMFS has): files and directories
    (an empty one too) without the keystore and without /rom; this MicroPython has no
    vfs.rom_ioctl, so romfs is None."""
    from mpremote.romfs import VfsRomWriter
    fs = tmp_path / "fs"
    for d in ("crypto", "data", "emptydir"):
        (fs / d).mkdir(parents=True)
    (fs / "app.mpy").write_bytes(b"M")
    (fs / "crypto" / "a.mpy").write_bytes(b"M")
    (fs / "data" / "key.bin").write_bytes(b"k")
    w = VfsRomWriter()
    w.mkfile("link.mpy", b"M")
    (tmp_path / "img").write_bytes(w.finalise())
    setup = ("import vfs\n"
             "img = open(%r, 'rb').read()\n"
             "vfs.umount('/')\n"
             "vfs.mount(vfs.VfsPosix(%r), '/')\n"
             "vfs.mount(vfs.VfsRom(img), '/rom')\n") % (str(tmp_path / "img"), str(fs))
    p = subprocess.run([mpy.micropython_bin(), "-c", setup + flash.PROBE % {"store": "/data"}],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    (line,) = [x for x in p.stdout.splitlines() if x.startswith("@@PROBE ")]
    info = json.loads(line[8:])
    assert sorted(info["files"]) == ["/app.mpy", "/crypto/a.mpy"]
    assert sorted(info["dirs"]) == ["/crypto", "/emptydir"]
    assert info["store"] is True and info["romfs"] is None
