"""`make flash ROMFS=1` (tools/flash.py --romfs): the bundle in the board's ROMFS partition.

MicroPython 1.25+ built with a ROMFS partition mounts it at /rom and runs the .mpy files
there in place, so their code stays out of the heap. tools/flash.py's docstring has the
sequence (steps for --romfs); this module builds the image and its main.py and plans the mpremote calls.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# main.py of a ROMFS flash. A port mounts the partition at /rom but puts only /rom/lib
# on sys.path, after the filesystem (MicroPython PR #16857; hardware/README.md), so the
# firmware at the image's root would not be found: /rom and /rom/lib go first, before
# the filesystem, and nothing left there can stand in for a firmware module.
ROM_STUB = ("# Written by tools/flash.py (ROMFS=1): starts the signer from the ROMFS partition\n"
            "# (/rom/fwmain.mpy); /rom and /rom/lib first, so the filesystem cannot shadow it.\n"
            "import sys\n"
            "for p in (\"/rom\", \"/rom/lib\"):\n"
            "    if p in sys.path:\n"
            "        sys.path.remove(p)\n"
            "sys.path[:0] = [\"/rom\", \"/rom/lib\"]\n"
            "import fwmain\n"
            "fwmain.main()\n")


def owned_dirs(files):
    """Every folder the bundle's files lie in, but lib/ (shared with libraries a person
    may have installed)."""
    owned = set()
    for f in files:
        d = f.rpartition("/")[0]
        while d:
            owned.add(d)
            d = d.rpartition("/")[0]
    owned.discard("lib")
    return owned


def romfs_files(tree):
    """{path in the image: host file}: the bundle as a board's /rom, without what stays on
    the filesystem (the source main.py stub, which the port runs at boot), bundle.json
    and the keystore directory."""
    with open(os.path.join(tree, "bundle.json")) as f:
        meta = json.load(f)
    store = meta["storage"].strip("/") + "/"
    return {rel: os.path.join(tree, *rel.split("/")) for rel in meta["files"]
            if rel not in ("main.py", "bundle.json") and not rel.startswith(store)}


def rom_stub(image):
    """The main.py that goes with a ROMFS image (ROM_STUB), written next to it."""
    return image + ".main.py"


def build_romfs(tree, log=print):
    """Pack the bundle at `tree` into a ROMFS image next to it (<out>/<board>.romfs) with
    the simulator's packer (bridge/rom.py), and its main.py (rom_stub); return the
    image's path."""
    sys.path.insert(0, ROOT)
    try:
        from bridge.rom import pack
    finally:
        sys.path.remove(ROOT)
    path = tree.rstrip(os.sep) + ".romfs"
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(pack(romfs_files(tree)))
    os.replace(tmp, path)
    with open(rom_stub(path), "w") as f:
        f.write(ROM_STUB)
    log("romfs image: %s (%d KB)" % (os.path.relpath(path, ROOT), os.path.getsize(path) // 1024))
    return path


def check_romfs(info, image_size):
    """Why the probed board cannot take the image (no ROMFS, or a partition too small),
    or None."""
    rom = info.get("romfs")
    hint = "flash a MicroPython build with a ROMFS partition, or flash without ROMFS=1"
    if rom is None:
        return "no ROMFS in this MicroPython (MicroPython %s has no vfs.rom_ioctl): %s" % (
            ".".join(map(str, info.get("version") or ())), hint)
    if rom <= 0:
        return "this MicroPython has ROMFS support but the board has no ROMFS partition: " + hint
    if image_size > rom:
        return ("the ROMFS image is %d KB, the board's ROMFS partition %d KB: flash without "
                "ROMFS=1, or a MicroPython build with a larger partition" % (
                    -(-image_size // 1024), rom // 1024))
    return None


def plan_romfs(info, bundle_files, wipe, storage, image):
    """The mpremote commands of a ROMFS flash after the probe (as plan()).

    On a board the current directory ('' on sys.path) is searched before /rom/lib, so a
    firmware module left on the filesystem would be imported instead of the ROM's.
    ROM_STUB puts /rom first, but whatever runs before it (or a person's import at the
    REPL) still sees the filesystem first: every file the bundle owns goes, with its
    directories (an empty `crypto/` would still be taken for the package), and any
    .py/.mpy twin of a ROM module. Only main.py stays on the filesystem, ROM_STUB: the
    port runs a source main.py at boot."""
    rom = set(f for f in bundle_files if f not in ("main.py", "bundle.json"))
    owned = owned_dirs(rom)
    top = set(d for d in owned if d.rpartition("/")[0] not in owned)

    def shadows(rel):
        stem, dot, ext = rel.rpartition(".")
        return rel in rom or (dot and ext in ("py", "mpy") and
                              (stem + ".py" in rom or stem + ".mpy" in rom))

    gone = set(":/" + d for d in top
               if "/" + d in info.get("dirs", ()) or
               any(p.lstrip("/").startswith(d + "/") for p in info.get("files", ())))
    for p in info.get("files", ()):
        rel = p.lstrip("/")
        if not any(rel.startswith(d + "/") for d in top) and shadows(rel):
            gone.add(":/" + rel)
    cmds = []
    if wipe and info.get("store"):
        cmds.append(["rm", "-r", ":" + storage])
    if gone:
        cmds.append(["rm", "-r"] + sorted(gone))
    cmds.append(["romfs", "deploy", image])
    cmds.append(["cp", rom_stub(image), ":main.py"])
    cmds.append(["reset"])
    return cmds
