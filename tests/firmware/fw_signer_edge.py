# The signer driver's heap-edge helpers (fw_signer_driver.py), imported only when a test
# uses them: every name a script holds is interned for good, and the driver's own names
# share the qstr pools with the firmware's (a pool that has to grow wants one block of
# 14 KB at 128 KB on x64: docs/heap.md). Scenarios that never use these pay nothing:
# the driver names them only in strings over 10 characters, which are not interned
# until used (getattr), and this module's names only once it is imported.
import gc
import sys

HOG = []


def hold_heap_to(free):
    """Hold small blocks until the free heap is down to `free` bytes (None: let go):
    what room the firmware finds beside a request, made to order."""
    HOG.clear()
    gc.collect()
    while free is not None and gc.mem_free() > free:
        try:
            HOG.append(bytearray(240))
        except MemoryError:
            break  # as low as it goes (the list itself needs room to grow)
    m = {"free": gc.mem_free(), "alloc": gc.mem_alloc()}
    if free is None:  # let go: room to list what is loaded
        m["modules"] = sorted(sys.modules)
    return m


def release_heap():
    HOG.clear()
    gc.collect()


def refuse_whole(total):
    """The link's NAK 3 for a message with no room for its pieces: the rest of it is
    read (never kept) -> what the driver prints, or None at the end of input."""
    skip = bytearray(64)
    while total > 0:
        k = sys.stdin.buffer.readinto(memoryview(skip)[0:min(64, total)])
        if not k:
            return None
        total -= k
    return {"nak": "too large"}


def refuse_to_parse(first):
    """main.dispatch's answer to a message it had no room to parse: "too large" under
    the rid read from its first bytes."""
    head = bytes(first[0:64])
    i = head.find(b'"rid": ') + 7
    j = i
    while 0x30 <= head[j] <= 0x39:
        j += 1
    return {"t": "error", "rid": int(head[i:j]), "error": "too large"}
