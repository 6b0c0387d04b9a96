# The simulator's flash (unix port only; bridge/rom.py builds the image and explains why).
#
# Run as `micropython -X heapsize=N -m simrom ENTRY ARGS...` with MICROPYPATH holding
# this module alone (then any test-only directories) and the environment bridge/rom.py
# prepares: SIMROM_IMAGE, the path of the ROMFS image, and ROMFILL_0, ROMFILL_1, ...,
# filler strings that the kernel laid out one after the other in this process's memory,
# outside MicroPython's heap. The image is copied over the filler, mounted at /rom like a
# board's ROMFS partition, and ENTRY (main, or a test driver) is imported from it and its
# main() called. Its code then runs in place: the heap holds data only, as on a board.
import gc
import os
import sys
import uctypes
import vfs


def _env_area():
    # fields 50 and 51 of /proc/PID/stat (proc(5)): where the environment strings lie
    with open("/proc/self/stat") as f:
        s = f.read()
    fields = s[s.rfind(")") + 2:].split()
    return int(fields[47]), int(fields[48])


def _region():
    """(address, size) of the filler: ROMFILL_0's value through the last ROMFILL_k's."""
    a, b = _env_area()
    mem = uctypes.bytearray_at(a, b - a)
    i = mem.find(b"ROMFILL_0=")
    if i < 0:
        raise OSError("simrom: no ROMFILL_0 in the environment (launch through bridge/rom.py)")
    start = i + 10
    end = mem.find(b"\0", start)
    k = 1
    while True:
        tag = b"ROMFILL_%d=" % k
        if mem[end + 1:end + 1 + len(tag)] != tag:
            break
        end = mem.find(b"\0", end + 1)
        k += 1
    base = (a + start + 15) & ~15
    return base, a + end - base


def mount():
    path = os.getenv("SIMROM_IMAGE")
    addr, room = _region()
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        if size > room:
            raise OSError("simrom: image of %d bytes, %d reserved" % (size, room))
        f.seek(0)
        rom = uctypes.bytearray_at(addr, size)
        f.readinto(rom)
    vfs.mount(vfs.VfsRom(rom), "/rom")
    # as a board: /rom and /rom/lib first, then whatever the launcher added (tests)
    sys.path[:0] = ["/rom", "/rom/lib"]
    gc.collect()


def run():
    entry = sys.argv[1]
    mount()
    sys.argv[:] = sys.argv[1:]
    # the bootstrap's own code is no longer needed once the entry runs
    sys.modules.pop("simrom", None)
    if os.getenv("SIGNER_STACK") == "0":  # the x64 main thread's stack
        m = __import__(entry)
        if hasattr(m, "main"):
            m.main()
        return
    from boards import simstack  # the chip's C stack (boards/simstack.py)
    simstack.start(entry)


run()
