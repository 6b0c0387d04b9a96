"""The running bridge's control socket (bridge/control.py) against a stand-in courier, and
`--device auto` (bridge/link.find_device) against fake port lists."""
import asyncio
import json
import os
import stat
from types import SimpleNamespace

import pytest

from bridge import control
from bridge.link import LinkError, find_device

pytestmark = pytest.mark.timeout(30)
PK = "ab" * 32


class StandIn:
    """What control.answer reads from a Courier."""

    def __init__(self):
        self.hello = {"pubkey": PK, "fw": "0.1.0", "board": "sim", "relays": ["ws://127.0.0.1:7777"],
                      "secret": "s3cret", "features": ["auth"]}
        self.device_relays = ["ws://127.0.0.1:7777"]
        self.pool = None
        self.queue, self.inflight, self.publishes = [1, 2], {}, 3
        self.sent = []
        self.said = []

    def say(self, line):
        self.said.append(line)

    async def request(self, msg, timeout):
        self.sent.append(msg)
        if msg["t"] == "status":
            return {"t": "status", "clients": [{"pubkey": "cd" * 32, "name": "x"}], "queue": 1,
                    "heap": {"free": 60000, "largest": 40000}, "stack": {"peak": 5000, "limit": 10240}}
        if msg["t"] == "nostrconnect":
            return {"t": "done", "outcome": "rejected" if msg["uri"].endswith("reject")  else "ok"}
        if msg["t"] == "provision":
            return {"t": "done", "outcome": "ok", "pubkey": "ef" * 32}


def test_socket_protocol(tmp_path):
    path = control.sock_path(str(tmp_path / "st"))
    c = StandIn()

    async def body():
        server = await control.start(c, path)
        try:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            url = await control.ask(path, {"cmd": "url"})
            assert url == {"ok": True, "url": "bunker://%s?relay=ws%%3A%%2F%%2F127.0.0.1%%3A7777&secret=s3cret" % PK}
            st = await control.ask(path, {"cmd": "status"})
            assert st["ok"] and st["device"]["pubkey"] == PK and st["clients"][0]["name"] == "x"
            assert st["queue"] == 2 and st["device_queue"] == 1 and st["published"] == 3
            # the device's memory as it said it (issue 10, 6)
            assert st["memory"] == {"heap": {"free": 60000, "largest": 40000}, "stack": {"peak": 5000, "limit": 10240}}
            ok = await control.ask(path, {"cmd": "connect", "uri": "nostrconnect://" + "cd" * 32 + "?relay=ws://x"})
            assert ok == {"ok": True, "outcome": "ok"}
            assert c.sent[-1]["t"] == "nostrconnect" and isinstance(c.sent[-1]["now"], int)
            no = await control.ask(path, {"cmd": "connect", "uri": "nostrconnect://reject"})
            assert no == {"ok": False, "outcome": "rejected"}
            assert not (await control.ask(path, {"cmd": "connect", "uri": "bunker://x"}))["ok"]
            assert (await control.ask(path, {"cmd": "nope"}))["error"] == "unknown cmd"
            # not JSON: an error line back, and the server keeps serving
            r, w = await asyncio.open_unix_connection(path)
            w.write(b"{not json\n")
            assert json.loads(await r.readline())["ok"] is False
            w.close()
            # a second bridge on the same state is refused while this one answers
            with pytest.raises(RuntimeError, match="another bridge"):
                await control.start(c, path)
        finally:
            await control.stop(server, path)
        assert not os.path.exists(path)
        assert await control.ask(path, {"cmd": "url"}) is None     # nobody listening
        # a stale socket file from a bridge that died is replaced
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.close()
        server = await control.start(c, path)
        assert (await control.ask(path, {"cmd": "url"}))["ok"]
        await control.stop(server, path)
    asyncio.run(asyncio.wait_for(body(), 20))


def test_before_the_device_answers(tmp_path):
    c = StandIn()
    c.hello = None
    assert asyncio.run(control.answer(c, {"cmd": "url"})) == {"ok": False, "error": "device not connected yet"}


def test_sock_path_default_is_per_user(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert control.sock_path() == str(tmp_path / ("nostr-signer-bridge-%d" % os.getuid()) / "bridge.sock")
    assert control.sock_path("rel") == os.path.abspath("rel/bridge.sock")


def _port(dev, vid, pid):
    return SimpleNamespace(device=dev, vid=vid, pid=pid)


def test_find_device_by_usb_ids():
    others = [_port("/dev/ttyS0", None, None), _port("/dev/ttyUSB9", 0x0403, 0x6001)]
    assert find_device(others + [_port("/dev/ttyACM0", 0x2E8A, 0x0005)]) == "/dev/ttyACM0"
    assert find_device([_port("/dev/ttyUSB0", 0x10C4, 0xEA60)]) == "/dev/ttyUSB0"
    assert find_device([_port("/dev/ttyUSB1", 0x1A86, 0x7523)]) == "/dev/ttyUSB1"
    assert find_device([_port("/dev/ttyACM1", 0x1A86, 0x55D4)]) == "/dev/ttyACM1"   # T-Display's CH9102
    with pytest.raises(LinkError, match="no signer found.*2e8a:0005"):
        find_device(others)
    with pytest.raises(LinkError, match="several.*ttyACM0.*ttyUSB0"):
        find_device([_port("/dev/ttyACM0", 0x2E8A, 0x0005), _port("/dev/ttyUSB0", 0x10C4, 0xEA60)])


def test_find_device_reads_pyserial(monkeypatch):
    from serial.tools import list_ports
    monkeypatch.setattr(list_ports, "comports", lambda: [_port("/dev/ttyACM3", 0x2E8A, 0x0005)])
    assert find_device() == "/dev/ttyACM3"


def test_commands_say_clearly_when_no_device(tmp_path, monkeypatch):
    """`url`/`status`/`connect` with --device auto and nothing on USB: exit 2 and why."""
    from serial.tools import list_ports
    from bridge.__main__ import main
    monkeypatch.setattr(list_ports, "comports", lambda: [])
    st = str(tmp_path / "st")     # no bridge runs there
    for argv in (["url"], ["status"], ["connect", "nostrconnect://" + "cd" * 32 + "?relay=ws%3A%2F%2Fx&secret=s"]):
        assert main(argv + ["--device", "auto", "--state", st]) == 2
    assert main(["connect", "bunker://x", "--state", st]) == 2


def test_provision_through_the_socket_checks_the_key_first():
    c = StandIn()
    nsec = "nsec1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqps52s3re"     # key 3
    rep = asyncio.run(control.answer(c, {"cmd": "provision", "key": nsec}))
    assert rep == {"ok": True, "outcome": "ok", "pubkey": "ef" * 32}
    assert c.sent[-1] == {"t": "provision", "key": "%064x" % 3}
    assert not any(nsec in ln or "%064x" % 3 in ln for ln in c.said)     # never in a log line
    c.sent.clear()
    for bad in ("nsec1" + "q" * 58, "00" * 32, None):
        rep = asyncio.run(control.answer(c, {"cmd": "provision", "key": bad}))
        assert rep["ok"] is False and rep["error"]
    assert c.sent == []          # the device was never asked


def test_announced_bridges_are_found_and_tidied(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    c = StandIn()
    path = control.sock_path(str(tmp_path / "st"))

    async def body():
        server = await control.start(c, path, announce_state=str(tmp_path / "st"))
        try:
            recs = control.running()
            assert [(r["sock"], r["state"], r["pid"]) for r in recs] == [(path, str(tmp_path / "st"), os.getpid())]
            d = os.path.dirname(server.record)
            assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
            assert stat.S_IMODE(os.stat(server.record).st_mode) == 0o600
        finally:
            await control.stop(server, path)
        assert control.running() == [] and not os.path.exists(server.record)
        # a record left by a bridge that died is removed on sight
        dead = os.path.join(d, "999999999.json")
        with open(dead, "w") as f:
            json.dump({"sock": path, "pid": 999999999, "state": None}, f)
        assert control.running() == [] and not os.path.exists(dead)
        # records in a directory others can write to are not believed
        server = await control.start(c, path, announce_state=None)
        os.chmod(d, 0o777)
        try:
            assert control.running() == []
        finally:
            os.chmod(d, 0o700)
            await control.stop(server, path)
    asyncio.run(asyncio.wait_for(body(), 20))
