"""A recorded fake of `mpremote`, for tests/test_flash.py (there is no board here).

    FAKE_MPREMOTE_DEV=DIR python tests/fake_mpremote.py connect PORT <command> ...

DIR/fs/ is the board's filesystem, DIR/board.json what the board reports (platform,
version, mpy, machine, free; "locked": true plays a board running the signer, which
ignores Ctrl-C so mpremote cannot enter the raw REPL; "romfs": the size in bytes of a
ROMFS partition, 0 for a build with vfs.rom_ioctl but no partition, absent for a
MicroPython without ROMFS). A deployed ROMFS image is kept as DIR/romfs.img. Every call is appended to
DIR/calls.jsonl as {"argv": [...], "cwd": ...}. Supported, with mpremote 1.29's
semantics for what tools/flash.py uses: `exec` of the flash tool's probe script,
`rm [-r] :path...`, `cp -r src... :`, `cp src :dst`, `romfs deploy IMAGE` (a prebuilt
.img/.romfs file: checked for the ROMFS header and the partition's size, as mpremote
does), `reset`.
"""
import json
import os
import shutil
import sys


def fail(msg, rc=1):
    print("mpremote: " + msg, file=sys.stderr)
    sys.exit(rc)


def romfs(dev, board, args):
    """`romfs deploy IMAGE` with mpremote 1.29's checks, in its order."""
    if args[:1] != ["deploy"] or len(args) != 2:
        fail("fake: only romfs deploy IMAGE is supported")
    path = args[1]
    if not (os.path.isfile(path) and path.endswith((".img", ".romfs"))):
        fail("fake: %s is not a prebuilt image (mpremote would build one from a directory)" % path)
    with open(path, "rb") as f:
        image = f.read()
    print("Image size is %d bytes" % len(image))
    if board.get("romfs") is None:
        fail("ROMFS is not enabled on this device")
    if not board["romfs"]:
        fail("ROMFS0 partition not found on device")
    if not image.startswith(b"\xd2\xcd\x31"):
        print("Invalid ROMFS image")
        sys.exit(1)
    if len(image) > board["romfs"]:
        print("ROMFS image is too big for the target partition")
        sys.exit(1)
    with open(os.path.join(dev, "romfs.img"), "wb") as f:
        f.write(image)
    print("ROMFS image deployed")


def main(argv):
    dev = os.environ["FAKE_MPREMOTE_DEV"]
    fs = os.path.join(dev, "fs")
    with open(os.path.join(dev, "calls.jsonl"), "a") as f:
        f.write(json.dumps({"argv": argv, "cwd": os.getcwd()}) + "\n")
    with open(os.path.join(dev, "board.json")) as f:
        board = json.load(f)
    if argv[:1] != ["connect"] or len(argv) < 3:
        fail("usage: connect PORT COMMAND")
    if argv[1] != board.get("port", argv[1]) or not os.path.exists(fs):
        fail("failed to access %s (it may be in use by another program)" % argv[1])
    cmd, args = argv[2], argv[3:]
    if board.get("locked"):
        fail("could not enter raw repl")
    if cmd == "exec":
        code = args[0]
        if "@@PROBE" not in code:
            fail("fake: unknown exec script")
        store = "/" + code.split("if p != '/", 1)[1].split("'", 1)[0]
        files, subdirs = [], []
        for root, dirs, names in os.walk(fs):
            rel = "/" + os.path.relpath(root, fs).replace(os.sep, "/")
            rel = "" if rel == "/." else rel
            dirs[:] = [d for d in dirs if rel + "/" + d != store]
            files += [rel + "/" + n for n in names]
            subdirs += [rel + "/" + d for d in dirs]
        info = {"platform": board["platform"], "version": board["version"], "mpy": board["mpy"],
                "machine": board.get("machine", ""), "files": sorted(files),
                "dirs": sorted(subdirs), "romfs": board.get("romfs"),
                "store": os.path.isdir(fs + store), "free": board.get("free", 1 << 20)}
        print("@@PROBE", json.dumps(info))
    elif cmd == "rm":
        rec = args[:1] == ["-r"]
        for p in args[1:] if rec else args:
            path = os.path.join(fs, p.lstrip(":").lstrip("/"))
            if rec and os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.isfile(path):
                os.remove(path)
            else:
                fail("rm: %s: No such file or directory." % p)
    elif cmd == "cp" and args[:1] != ["-r"]:
        if len(args) != 2 or not args[1].startswith(":") or not os.path.isfile(args[0]):
            fail("fake: only cp FILE :DST is supported without -r")
        shutil.copyfile(args[0], os.path.join(fs, args[1][1:].lstrip("/")))
    elif cmd == "romfs":
        romfs(dev, board, args)
    elif cmd == "cp":
        if args[-1] != ":":
            fail("fake: only cp -r SRC... : is supported")
        for src in args[1:-1]:
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(fs, os.path.basename(src.rstrip("/"))), dirs_exist_ok=True)
            elif os.path.isfile(src):
                shutil.copyfile(src, os.path.join(fs, os.path.basename(src)))
            else:
                fail("cp: %s: No such file or directory." % src)
    elif cmd == "reset":
        with open(os.path.join(dev, "resets"), "a") as f:
            f.write("reset\n")
    else:
        fail("fake: unsupported command " + cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
