# What a hardware board costs in heap, measured on its own (fresh process, 128K). On the
# x64 unix port objects are about twice a board's size, so these bounds are generous for
# an RP2040 or ESP32; they are here to catch a board module that starts to hoard (a frame
# buffer, a table, an import it didn't need), since the whole firmware must fit 128 KB.
import sys
import gc

import fw_boards  # noqa: F401  (fake machine first on the path)
import machine
import hashlib  # noqa: F401  (the app loads lib/hashlib anyway: not the board's cost)

machine.record = False


def _measure(name):
    gc.collect()
    before = gc.mem_alloc()
    mod = __import__("boards." + name, None, None, ("Board",))
    b = mod.Board(fw_boards.ARGV)
    gc.collect()
    return b, gc.mem_alloc() - before


def test_pico_board_resident_size():
    b, used = _measure("pico")
    print("pico board: %d bytes" % used)
    assert used < 14 * 1024, used


def test_tdisplay_board_adds_little():
    b, used = _measure("tdisplay")  # common.py is already loaded by now
    print("tdisplay board: %d bytes" % used)
    assert used < 12 * 1024, used


def test_buttons_poll_allocates_nothing_when_idle():
    b, used = _measure("pico")
    b.buttons()
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(200):
        b.buttons()
    assert gc.mem_alloc() - before < 256, gc.mem_alloc() - before
