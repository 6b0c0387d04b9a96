"""The simulator's flash (bridge/rom.py, firmware/boards/simrom.py): the firmware runs in
place from a ROMFS image outside the heap, as on a board with frozen/ROMFS firmware."""
import os
import subprocess
import sys

import mpy

sys.path.insert(0, mpy.ROOT)
from bridge import rom, sim  # noqa: E402

PROBE_DIR = os.path.join(mpy.ROOT, "tests", "firmware", "rom")


def run_probe(use_rom, heap="128K"):
    env = mpy.mpy_env()
    if use_rom:
        env = rom.env(env, path=(PROBE_DIR,))
        cmd = rom.cmd(mpy.micropython_bin(), heap, "rom_probe")
    else:
        env["MICROPYPATH"] = ":".join((PROBE_DIR, sim.mpy_path()))
        cmd = [mpy.micropython_bin(), "-X", "heapsize=" + heap, "-m", "rom_probe"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=mpy.ROOT)
    assert p.returncode == 0, p.stderr
    path, first, size = p.stdout.strip().split("\n")[-1].split("|")
    return path, first, int(size)


def test_image_holds_every_firmware_module_and_no_bootstrap():
    from mpremote.romfs import VfsRomWriter  # noqa: F401 (the writer the image is made with)
    rom.build()
    with open(rom.IMAGE + ".files") as f:
        listed = set(f.read().split("\n"))
    for mod in ("app.mpy", "main.mpy", "link.mpy", "crypto/secp256k1.mpy", "signer/envelope.mpy",
                "boards/sim.mpy", "lib/hashlib.mpy", "lib/embit/bip32.mpy"):
        assert mod in listed, mod
    assert "boards/simrom.mpy" not in listed
    with open(rom.IMAGE, "rb") as f:
        assert f.read(3) == VfsRomWriter.ROMFS_HEADER


def test_firmware_imported_from_rom_runs_from_rom():
    path, first, _ = run_probe(True)
    assert path.startswith("/rom/") and first == "/rom"


def test_code_in_rom_leaves_the_heap_to_data():
    _, _, in_rom = run_probe(True)
    _, _, from_fs = run_probe(False, heap="256K")
    print("app+link import: %d bytes of heap from ROM, %d from the filesystem" % (in_rom, from_fs))
    assert in_rom < from_fs * 0.6


def test_environment_without_filler_is_refused_clearly():
    env = mpy.mpy_env()
    rom.build()
    env["MICROPYPATH"] = rom.BOOT_DIR
    env["SIMROM_IMAGE"] = rom.IMAGE
    p = subprocess.run(rom.cmd(mpy.micropython_bin(), "128K", "main"), env=env, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0 and "ROMFILL_0" in p.stderr


def test_filler_smaller_than_the_image_is_refused_clearly():
    env = rom.env(mpy.mpy_env())
    for k in [k for k in env if k.startswith(rom.FILL)][1:]:
        del env[k]
    env[rom.FILL + "0"] = "x" * 1000
    p = subprocess.run(rom.cmd(mpy.micropython_bin(), "128K", "main"), env=env, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0 and "reserved" in p.stderr
