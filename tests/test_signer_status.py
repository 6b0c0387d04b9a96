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


def test_status_reads_the_free_heap_before_its_own_code_loads(tmp_path):
    # the driver reads gc.mem_free() (collected) just before handing status over; the
    # status must see the same heap, not what is left once signer/admin.py is loaded
    # for it and its probe ran. Only the status message itself lies in between.
    from test_signer_harness import Device
    d = Device(tmp_path / "flash")
    try:
        for _ in range(2):  # the first round interns admin's names for good
            before = d.mem()["free"]
            st = [m for m in d.send({"t": "status", "rid": d.next_rid()}) if m.get("t") == "status"][0]
        print("free before status %d, status says %d, largest %d" % (before, st["heap"]["free"], st["heap"]["largest"]))
        assert before - 384 <= st["heap"]["free"] <= before, (before, st["heap"])
        assert st["heap"]["free"] >= st["heap"]["largest"] > 16 * 1024
    finally:
        d.close()


def _status(lk):
    rid = lk.request({"t": "status"})
    return lk.answer(rid, 10, types=("status", "error"))


def test_status_reports_the_peak_c_stack_of_the_last_request(tmp_path):
    # micropython.stack_use() sampled at the link's writes (the deepest leaf measured,
    # docs/stack.md), reset when a request arrives; the status's own reply is not one
    import json
    import time
    import refclient as rc
    sys.path.insert(0, os.path.join(mpy.ROOT, "bench"))
    from device import PUB, SK, publish_of, wait_screen  # noqa: E402
    from test_signer_stack import LIMIT as limit  # boards/simstack.py's STACK - MARGIN
    state = os.path.join(str(tmp_path), "state")
    s = S.Sim(state, heap="128K")
    try:
        with L.DeviceLink(s.tty) as lk:
            lk.hello(timeout=20)
            rid = lk.request({"t": "provision", "key": SK.hex()})
            wait_screen(state, "IMPORT KEY?")
            S.press(state, "approve")
            lk.answer(rid, 20)
            c = rc.Client()
            ev = c.request(PUB, "connect", [PUB.hex(), "", "sign_event:3", "{}"])
            rid = lk.request({"t": "event", "event": rc.strip(ev)})
            wait_screen(state, "CONNECT?")
            S.press(state, "approve")
            publish_of(lk, rid)
            tags = [["p", "%064x" % (i + 1)] for i in range(60)]
            tpl = {"kind": 3, "content": "", "tags": tags, "created_at": int(time.time())}
            rid = lk.request({"t": "event", "event": rc.strip(c.request(PUB, "sign_event", [json.dumps(tpl)]))})
            publish_of(lk, rid)  # rule-allowed: signed and sent inside the request's handling
            lk.answer(rid, 10)
            deep = _status(lk)["stack"]
            assert _status(lk)["stack"] == deep  # a status is not a request
            # a junk event: only its `done` is written, from the loop's own depth
            rid = lk.request({"t": "event", "event": {"kind": 1}})
            lk.answer(rid, 10)
            shallow = _status(lk)["stack"]
    finally:
        s.stop()
    print("stack peak: sign_event kind 3 (60 p tags) %r, a dropped event %r, limit %d" % (deep, shallow, limit))
    assert deep["limit"] == limit
    assert 0 < shallow["peak"] < deep["peak"] <= limit * 3 // 4, (shallow, deep)
