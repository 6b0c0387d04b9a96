"""Memory and speed of the signer on the unix port: what it costs at rest, what fits in
the 128 KB heap we promise, how long requests take on the device.

The 128 KB checks are expected failures for now (xfail, reason printed by -ra): on the
x64 unix port the firmware's code and tables alone take most of that heap. They turn
into passes (XPASS) as soon as it fits; the measurements print with -s.
"""
import json
import os
import statistics
import subprocess
import time

import pytest

import mpy
import refclient as rc
from test_signer_harness import SIGNER_PUB, SIGNER_SK, Device, answer, bsim, call, client, done, pair  # noqa: F401

COMPILED = None


def mpy_path():
    # relative to bsim.BUILD: each module keeps its path as __file__, and an absolute one
    # grows the figure with the checkout's path (40,896 B in /work/main, 40,992 in CI's
    # clone); a board's paths are short ("/rom/signer/requests.mpy")
    global COMPILED
    if COMPILED is None:
        COMPILED = ":".join(os.path.relpath(d, bsim.BUILD) for d in bsim.mpy_path(compiled=True).split(":"))
    return COMPILED


def run_mpy(code, heap="1M"):
    env = mpy.mpy_env()
    env["MICROPYPATH"] = mpy_path()
    p = subprocess.run([mpy.micropython_bin(), "-X", "heapsize=" + heap, "-c", code],
                       capture_output=True, text=True, env=env, cwd=bsim.BUILD, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


RESIDENT = """
import gc, micropython
import hashlib, json, binascii, os, time
import crypto.secp256k1, crypto.nip01, crypto.bech32, crypto.nip44
gc.collect(); a = gc.mem_alloc()
micropython.qstr_info()
import app
gc.collect(); print(gc.mem_alloc() - a)
micropython.qstr_info()
"""

# bytes a name takes in a pool of interned names on x64: an 8-byte pointer, a 2-byte
# hash, a 1-byte length (its characters are counted where they lie)
QSTR_ENTRY = 11


def _pools(line):
    # "qstr pool: n_pool=5, n_qstr=619, n_str_data_bytes=5239, n_total_bytes=12375"
    f = dict(kv.split("=") for kv in line.split(": ", 1)[1].split(", "))
    return int(f["n_qstr"]), int(f["n_total_bytes"]) - int(f["n_str_data_bytes"])


def resident():
    """-> (bytes, names): what importing app keeps, over the crypto it uses, with the
    interned names' pools counted by their entries, not by the blocks they are allocated
    in: pools double, and one name more made a new pool (7,148 bytes) at 625 names
    where 619 fitted. A board allocates that pool at boot anyway (the modules app._PRELOAD
    interns), so a figure that jumps with it measures where the boundary fell."""
    lines = run_mpy(RESIDENT).splitlines()
    (q0, p0), size, (q1, p1) = _pools(lines[0]), int(lines[1]), _pools(lines[2])
    return size - (p1 - p0) + QSTR_ENTRY * (q1 - q0), q1 - q0


def test_signer_code_resident_size_stays_under_45k():
    # signer/, ui/, keystore/store and app.py as loaded by the simulator (.mpy), over the
    # crypto they use; x64 objects are about twice their size on a 32-bit board. (Counted
    # so, e67895b took 43,865 bytes; by the pools' blocks it took 40,576.)
    size, names = resident()
    print("signer+ui+store resident: %d bytes, %d names" % (size, names))
    assert size < 45 * 1024


def test_pairing_code_is_dropped_after_use(tmp_path):
    d = Device(tmp_path / "flash", key=None)
    try:
        # the first round warms the key caches and interns the module's names for good
        d.send({"t": "provision", "rid": d.next_rid(), "key": "01" * 32})
        d.press("reject")
        base = d.mem()["alloc"]
        d.send({"t": "provision", "rid": d.next_rid(), "key": "01" * 32})
        during = d.mem()["alloc"]
        d.press("reject")
        after = d.mem()["alloc"]
        print("heap before/during/after a provisioning prompt: %d / %d / %d" % (base, during, after))
        assert during - base > 1024 and after - base < 512
    finally:
        d.close()


def test_nip04_and_too_large_code_is_dropped_once_a_request_is_answered(tmp_path, client):
    # code loaded for one request and kept after it sits mid-heap for good: make bench's
    # ladders left crypto.nip04, crypto.aes and signer.oversize loaded, among the
    # islands that cut the largest free block to 3 KB
    from test_signer_oversize import note_request, whole
    d = Device(tmp_path / "flash")
    try:
        pair(d, client)
        rid, ev, msgs = call(d, client, "ping", [], scheme="nip04")
        assert answer(client, msgs, rid, ev)[0]["result"] == "pong"
        # a 30,000-character note taken whole has no room to be read at 128K: it is
        # asked for in pieces (signer/oversize.py, loaded for it)
        rid, msgs = whole(d, note_request(client, 30000))
        left = d.hog(None)["modules"]
        assert done(msgs, rid).get("pieces") is True, msgs
        kept = {"crypto.nip04", "crypto.aes", "signer.oversize"} & set(left)
        assert not kept, kept
    finally:
        d.close()


def timings(dev, c, n=10):
    out = {}
    pings, signs = [], []
    for _ in range(n):
        rid, ev, msgs = call(dev, c, "ping", [])
        pings.append(done(msgs, rid)["ms"])
    for i in range(n):
        tpl = json.dumps({"kind": 1, "content": "note %d" % i, "tags": [["t", "x"]], "created_at": int(time.time())})
        rid, ev, msgs = call(dev, c, "sign_event", [tpl])
        signs.append(done(msgs, rid)["ms"])
    out["ping"] = statistics.median(pings)
    out["sign_event"] = statistics.median(signs)
    return out


def test_device_time_for_ping_and_sign_event(tmp_path, client):
    d = Device(tmp_path / "flash")
    try:
        pair(d, client, perms="sign_event:1")
        t = timings(d, client)
        print("device time (median of 10, unix port): ping %s ms, whole sign_event %s ms" % (t["ping"], t["sign_event"]))
        # verify + decrypt + encrypt + sign the response (+ sign the event): generous bounds
        assert t["ping"] < 100 and t["sign_event"] < 150
    finally:
        d.close()


def sign_through_the_link(tmp_path, heap, size, tpl=None):
    """Boot the simulator (firmware in ROM, the real main loop and link) with a stored
    key at `heap`, pair a client with a sign_event:1 rule, ask it to sign a kind-1 note
    of `size` characters (or `tpl`, approved on the device's prompt unless a kind 1);
    -> (signed event or None, outcome, device ms)."""
    import bridge.link as L
    state = tmp_path / "state"
    (state / "flash").mkdir(parents=True)
    (state / "flash" / "key.json").write_text(json.dumps({"v": 1, "sk": SIGNER_SK.hex()}))
    s = bsim.Sim(str(state), heap=heap)
    c = rc.Client()
    try:
        with L.DeviceLink(s.tty) as lk:
            lk.hello(timeout=15)
            ev = c.request(SIGNER_PUB, "connect", [SIGNER_PUB.hex(), "", "sign_event:1"])
            rid = lk.request({"t": "event", "now": int(time.time()), "event": rc.strip(ev)})
            deadline = time.time() + 15
            while "CONNECT" not in (state / "screen.txt").read_text() and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
            bsim.press(str(state), "approve")
            assert lk.answer(rid, 20)["outcome"] == "ok"
            if tpl is None:
                tpl = {"kind": 1, "content": "x" * size, "tags": [], "created_at": int(time.time())}
            ev = c.request(SIGNER_PUB, "sign_event", [json.dumps(tpl)])
            msg = {"t": "event", "now": int(time.time()), "event": rc.strip(ev)}
            try:
                rid = lk.request(msg)
            except L.TooLarge:
                # refused whole (link.py keep_free): sent as a stream, as the bridge does
                # (courier.send_in_pieces)
                from bridge.courier import stream_messages
                rid = lk.next_rid()
                for m in stream_messages(rid, msg["now"], msg["event"], 2048):
                    lk.send(m)
            if tpl["kind"] != 1:  # no rule for it: approved on the prompt
                deadline = time.time() + 30
                while "APPROVE" not in (state / "screen.txt").read_text() and time.time() < deadline:
                    time.sleep(0.05)
                time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
                bsim.press(str(state), "approve")
            pub = None
            while True:
                m = lk.recv(60)
                assert m is not None, "no answer"
                if m.get("rid") != rid:
                    continue
                if m["t"] == "publish":
                    pub = m["event"]
                if m["t"] in ("done", "error"):
                    break
            res = c.open(pub, SIGNER_PUB)[0] if pub else None
            signed = json.loads(res["result"]) if res and "error" not in res else None
            return signed, m.get("outcome") or m.get("error"), m.get("ms")
    finally:
        s.stop()


def test_4kb_sign_event_is_signed_through_the_link_at_128k(tmp_path):
    signed, outcome, ms = sign_through_the_link(tmp_path, "128K", 4000)
    assert outcome == "ok" and rc.verify_event(signed) and len(signed["content"]) == 4000
    print("4 KB sign_event at 128K: %s ms on the device" % ms)


def test_16kb_sign_event_is_signed_through_the_link_at_128k(tmp_path):
    # DESIGN: "including a 16 KB sign_event" within 128 KB. The request arrives in 2 KB
    # pieces (link.py) and is decoded into one block of ~17 KB set aside first; its text,
    # params[0] and content are read where they lie there (crypto/jsonspan.py) and the
    # response is encrypted as it is sent (nip44.seal_stream): one 17 KB block at most
    signed, outcome, ms = sign_through_the_link(tmp_path, "128K", 16000)
    assert outcome == "ok" and rc.verify_event(signed) and len(signed["content"]) == 16000
    print("16 KB sign_event at 128K: %s ms on the device" % ms)


def test_follow_list_of_80_is_approved_and_signed_through_the_link_at_128k(tmp_path):
    # a kind 3 goes through the prompt (its summary compares follow sets). Its tags are
    # still parsed into objects (~190 bytes each on x64): 80 always fit, 100 in most
    # runs (main before the big-events work: 60, 80 in some runs); a few hundred need
    # the tags kept as text
    tags = [["p", os.urandom(32).hex()] for _ in range(80)]
    tpl = {"kind": 3, "content": "", "tags": tags, "created_at": int(time.time())}
    signed, outcome, ms = sign_through_the_link(tmp_path, "128K", 0, tpl)
    assert outcome == "ok" and rc.verify_event(signed) and signed["tags"] == tags
    print("80-follow kind 3 at 128K: %s ms on the device" % ms)


TOO_BIG = "firmware code and tables take most of a 128 KB x64 unix-port heap (see report)"


def test_ping_and_small_sign_event_at_128k(tmp_path, client):
    d = Device(tmp_path / "flash", heap="128K")
    try:
        pair(d, client, perms="sign_event:1")
        assert answer(client, call(d, client, "ping", [])[2], d.rid)[0]["result"] == "pong"
        tpl = json.dumps({"kind": 1, "content": "hi", "tags": [], "created_at": int(time.time())})
        rid, ev, msgs = call(d, client, "sign_event", [tpl])
        assert rc.verify_event(json.loads(answer(client, msgs, rid, ev)[0]["result"]))
    finally:
        d.close()


def test_simulator_with_the_real_app_boots_at_128k(tmp_path):
    import bridge.link as L
    s = bsim.Sim(str(tmp_path / "state"), heap="128K")
    try:
        with L.DeviceLink(s.tty) as lk:
            assert lk.hello(timeout=15)["proto"] == 1
    finally:
        s.stop()
