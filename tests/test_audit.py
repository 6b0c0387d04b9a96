"""The audit log (firmware/signer/audit.py): what the device answered for its admitted
clients, kept on flash in a ring of 50 fixed-width records, shown newest first in the
menu. Real firmware on the unix port at 128 KB through the signer harness; the file is
read back here by an independent parser of the documented layout (zlib's CRC32)."""
import json
import os
import time
import zlib

import pytest

import refclient as rc
from test_signer_harness import Device, answer, call, client, of, pair  # noqa: F401
from test_menu import HEAP, leave, note, open_menu

N = 50
REC = 80


@pytest.fixture
def dev(tmp_path):
    d = Device(tmp_path / "flash", heap=HEAP)
    yield d
    d.close()


def log_path(dev):
    return os.path.join(dev.storage, "audit.log")


def records(dev):
    """Valid records, newest first, as dicts (the layout documented in audit.py)."""
    try:
        with open(log_path(dev), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for i in range(0, len(data) - REC + 1, REC):
        r = data[i:i + REC]
        if r[-1:] != b"\n" or r[70:71] != b" " or r[71:79].decode("latin-1") != "%08x" % zlib.crc32(r[:70]):
            continue
        s = r.decode()
        out.append({"seq": int(s[0:8], 16), "time": int(s[9:17], 16), "client": s[18:26].strip(),
                    "method": s[27:40].strip(), "kind": s[41:46].strip(), "eid": s[47:55].strip(),
                    "outcome": s[56:70].strip()})
    out.sort(key=lambda r: -r["seq"])
    return out


def test_approved_rejected_and_rule_allowed_requests_are_logged_newest_first(dev, client):
    pair(dev, client, perms="sign_event:7")
    call(dev, client, "sign_event", [note()])
    dev.press("approve")
    dev.sleep(500)
    call(dev, client, "sign_event", [note()])
    dev.press("reject")
    call(dev, client, "sign_event", [note(kind=7)])
    got = [(r["method"], r["kind"], r["outcome"]) for r in records(dev)]
    assert got == [("sign_event", "7", "rule"), ("sign_event", "1", "rejected"),
                   ("sign_event", "1", "ok"), ("connect", "", "ok")]
    assert {r["client"] for r in records(dev)} == {client.pubhex[:8]}


def test_signed_event_id_prefix_and_time_are_logged(dev, client):
    pair(dev, client, perms="sign_event:1")
    now = int(time.time())
    ev = client.request(rc.xonly(bytes.fromhex("7f4c11a9742721d66e40e321ca50b682c27f7422190c14a187525e69e604836a")),
                        "sign_event", [note()])
    rid, msgs = dev.event(ev, now=now)
    resp, _ = answer(client, msgs, rid, ev)
    signed = json.loads(resp["result"])
    top = records(dev)[0]
    assert top["eid"] == signed["id"][:8]
    assert abs(top["time"] - now) <= 1


def test_refused_requests_carry_no_event_id(dev, client):
    pair(dev, client)
    call(dev, client, "sign_event", [note()])
    dev.press("reject")
    assert records(dev)[0]["eid"] == ""


def test_auto_rejected_request_is_logged_as_such(dev, client):
    pair(dev, client)
    open_menu(dev, "Auto-reject", "[ ] 5 delete")
    leave(dev)
    call(dev, client, "sign_event", [note(kind=5)])
    assert records(dev)[0]["outcome"] == "auto-rejected"


def test_log_is_bounded_at_fifty_records(dev, client):
    pair(dev, client, perms="sign_event:1")  # connect: seq 0
    for i in range(55):
        rid, ev, msgs = call(dev, client, "sign_event", [note("n%d" % i)])
        assert of(msgs, "publish", rid)
    assert os.path.getsize(log_path(dev)) == N * REC
    recs = records(dev)
    assert len(recs) == N
    assert [r["seq"] for r in recs] == list(range(55, 5, -1))


def test_log_holds_no_content_or_plaintext(dev, client):
    pair(dev, client, perms="sign_event:1,nip44_encrypt")
    call(dev, client, "sign_event", [json.dumps({"kind": 1, "content": "MARKER-note-text",
                                                 "tags": [["t", "MARKER-tag"]],
                                                 "created_at": int(time.time())})])
    call(dev, client, "nip44_encrypt", [rc.Client().pubhex, "MARKER-plaintext"])
    assert [r["method"] for r in records(dev)][:2] == ["nip44_encrypt", "sign_event"]
    with open(log_path(dev), "rb") as f:
        data = f.read()
    assert b"MARKER" not in data and b"note" not in data


def test_requests_from_unpaired_clients_are_not_logged(dev, client):
    pair(dev, client)
    before = records(dev)
    stranger = rc.Client()
    for _ in range(3):
        rid, ev, msgs = call(dev, stranger, "sign_event", [note()])
        assert answer(stranger, msgs, rid, ev)[0]["error"] == "unauthorized"
    assert records(dev) == before


def test_pings_are_not_logged(dev, client):
    pair(dev, client)
    before = records(dev)
    call(dev, client, "ping", [])
    call(dev, client, "get_public_key", [])
    assert records(dev) == before


def test_a_torn_record_is_skipped_and_the_log_goes_on(tmp_path, client):
    d = Device(tmp_path / "flash", heap=HEAP)
    try:
        pair(d, client, perms="sign_event:1")
        call(d, client, "sign_event", [note()])
        call(d, client, "sign_event", [note()])
    finally:
        d.close()
    path = log_path(d)
    # a power cut in the middle of writing record 2 (slot 2): its second half is stale
    with open(path, "r+b") as f:
        f.seek(2 * REC + 40)
        f.write(b"\x00" * 40)
    assert [r["seq"] for r in records(d)] == [1, 0]
    d = Device(tmp_path / "flash", heap=HEAP, key=None)
    try:
        open_menu(d, "Audit log")
        assert d.screen[0].startswith("LOG 1/2")
        leave(d)
        call(d, client, "sign_event", [note()])
        assert [r["seq"] for r in records(d)] == [2, 1, 0]
    finally:
        d.close()


def test_menu_shows_the_log_newest_first_and_scrolls(dev, client):
    pair(dev, client, perms="sign_event:7", name="Coracle")
    call(dev, client, "sign_event", [note()])
    dev.press("reject")
    call(dev, client, "sign_event", [note(kind=7)])
    open_menu(dev, "Audit log")
    s = dev.screen
    assert s[0].startswith("LOG 1/3") and s[0].endswith("v")
    assert s[1].endswith("Coracle") and s[2] == " sign 7 reaction" and s[3].startswith(" rule id:")
    assert s[5] == " sign 1 note" and s[6] == " rejected"
    dev.press("down")
    dev.press("down")
    s = dev.screen
    assert s[0].startswith("LOG 3/3") and s[2] == " connect" and s[3] == " ok"
    dev.press("reject")
    assert dev.screen[0].startswith("MENU")
