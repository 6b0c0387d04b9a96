"""`make bundle`: the precompiled tree a board gets, for both CPUs, as a folder and a zip.

Every firmware module is there as .mpy (main.py as fwmain.mpy behind a source stub),
with the part of embit that NIP-06 needs; native code carries the board's CPU; the zip
holds exactly the folder's bytes; bundle.json's hashes match. Built for x64, the same
tree runs NIP-06 on the unix port at 128 KB, importing no embit module it lacks.
"""
import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pytest

import mpy

sys.path.insert(0, os.path.join(mpy.ROOT, "tools"))
import flash  # noqa: E402

ARCH_CODE = {"armv6m": 4, "xtensawin": 10, "x64": 2}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles")
    return str(out), {b: flash.build_bundle(b, str(out), log=lambda *a: None) for b in flash.BOARDS}


def tree_files(tree):
    out = {}
    for root, dirs, names in os.walk(tree):
        for n in names:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, tree).replace(os.sep, "/")] = f.read()
    return out


@pytest.mark.parametrize("board", sorted(flash.BOARDS))
def test_bundle_has_every_module_compiled_for_the_board(built, board):
    out, trees = built
    files = tree_files(trees[board])
    want = set()
    arch = flash.BOARDS[board]["arch"]
    for rel, dev in flash.sources():
        if flash.builds_for(rel, arch):
            want.add(dev[:-3] + ".mpy")
    # the Thumb machine code is the RP2040's alone
    assert ("crypto/fe_thumb.mpy" in want) == (arch == "armv6m")
    want |= {"lib/embit/" + f[:-3] + ".mpy" for f in flash.EMBIT_FILES}
    want |= {"main.py", "bundle.json"}
    assert set(files) == want
    assert "fwmain.mpy" in files and "boards/pico.mpy" in files and "boards/tdisplay.mpy" in files
    assert not any(f.startswith("lib/embit/wordlists/bip39") for f in files)  # ours replaces it
    # the only source file is the boot stub, and it starts the compiled main
    assert [f for f in files if f.endswith(".py")] == ["main.py"]
    assert b"import fwmain\nfwmain.main()" in files["main.py"]
    arch = flash.BOARDS[board]["arch"]
    native = 0
    for name, data in files.items():
        if name.endswith(".mpy"):
            assert data[:2] == b"M\x06", name
            if data[2]:  # native/viper code: built for this CPU, ABI v6.3
                native += 1
                assert data[2] >> 2 == ARCH_CODE[arch] and data[2] & 3 == 3, name
    assert native >= 3  # crypto and the ST7789 expander use viper


@pytest.mark.parametrize("board", sorted(flash.BOARDS))
def test_zip_matches_folder_and_manifest(built, board):
    out, trees = built
    files = tree_files(trees[board])
    with zipfile.ZipFile(os.path.join(out, "nostr-signer-%s.zip" % board)) as z:
        assert z.testzip() is None
        zipped = {n: z.read(n) for n in z.namelist()}
    assert zipped == files
    meta = json.loads(files["bundle.json"])
    assert meta["board"] == board and meta["arch"] == flash.BOARDS[board]["arch"]
    assert meta["mpy"] == [6, 3] and meta["storage"] == "/data"
    from bridge.sim import MPY_FLAGS
    assert meta["mpy_cross"] == MPY_FLAGS  # the bytecode the simulator and tests run
    assert set(meta["files"]) == set(files) - {"bundle.json"}
    for name, digest in meta["files"].items():
        assert hashlib.sha256(files[name]).hexdigest() == digest, name


@pytest.mark.parametrize("board", sorted(flash.BOARDS))
def test_bundle_fits_the_flash(built, board):
    # Pico: 1.4 MB filesystem, ESP32 4 MB boards about 2 MB: leave nearly all of it free
    assert flash.tree_size(built[1][board]) < 400 * 1024


NIP06 = r"""
import sys, json, gc
from keystore import nip06
v = json.load(open(%(vectors)r))["vectors"][0]
sk = nip06.mnemonic_to_key(v["mnemonic"], v.get("passphrase", ""))
assert sk.hex() == v["private_key_hex"], sk.hex()
loaded = sorted(m for m in sys.modules if m.startswith("embit"))
print("EMBIT", json.dumps(loaded))
print("OK")
"""

# every module the firmware has imports from the bundle alone (64-bit objects are
# bigger than a board's: this is about completeness, not memory)
IMPORTS = r"""
import fwmain, app, link
from boards import common, pins, ssd1306, st7789, sim
print("OK")
"""


def test_x64_bundle_runs_nip06_and_needs_no_other_embit_module(tmp_path):
    tree = flash.build_bundle("pico", str(tmp_path), arch="x64", log=lambda *a: None)
    script = tmp_path / "t.py"
    script.write_text(NIP06 % {"vectors": os.path.join(mpy.VECTORS, "nip06-vectors.json")})
    env = dict(os.environ, MICROPYPATH=tree + ":" + tree + "/lib")
    p = subprocess.run([mpy.micropython_bin(), "-X", "heapsize=128K", str(script)],
                       capture_output=True, text=True, env=env, timeout=300, cwd=str(tmp_path))
    assert p.returncode == 0 and "OK" in p.stdout, p.stdout + p.stderr
    loaded = json.loads(p.stdout.split("EMBIT ", 1)[1].splitlines()[0])
    shipped = {"embit." + f[:-3].replace("/", ".").replace(".__init__", "") for f in flash.EMBIT_FILES}
    shipped.add("embit")
    # bip39 and the wordlist are dropped again after use; whatever was imported is shipped
    assert set(loaded) - {"embit.wordlists.bip39"} <= shipped, set(loaded) - shipped
    script.write_text(IMPORTS)
    p = subprocess.run([mpy.micropython_bin(), "-X", "heapsize=512K", str(script)],
                       capture_output=True, text=True, env=env, timeout=300, cwd=str(tmp_path))
    assert p.returncode == 0 and "OK" in p.stdout, p.stdout + p.stderr
