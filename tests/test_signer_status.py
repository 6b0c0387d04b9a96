"""`status` reports the heap as it is, not as its own probing left it (issue 10: on the
RP2040 it said 7 KB free beside a 169 KB largest block). The real firmware in the
simulator, over its link."""
import os
import sys

import mpy

sys.path.insert(0, mpy.ROOT)
from bridge import link as L  # noqa: E402
from bridge import sim as S  # noqa: E402


def test_status_free_heap_is_at_least_its_largest_block(tmp_path):
    s = S.Sim(os.path.join(str(tmp_path), "state"), heap="128K")
    try:
        with L.DeviceLink(s.tty) as lk:
            lk.hello(timeout=20)
            rid = lk.request({"t": "status"})
            heap = lk.answer(rid, 10, types=("status", "error"))["heap"]
    finally:
        s.stop()
    assert heap["largest"] > 16 * 1024 and heap["free"] >= heap["largest"], heap
