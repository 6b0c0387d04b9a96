"""Daily use of the bridge (issue 13, "what a user also expects"): `run`'s config file
(values used, flags override), `--log-file` (the console's lines, never a plaintext or a
key), and the service files in hardware/ (udev rule, systemd user unit, launchd plist)."""
import argparse
import asyncio
import configparser
import json
import os
import plistlib
import re
import subprocess
import sys

import pytest

from bridge import control, run as R
from bridge.courier import Courier
from bridge.link import USB_IDS
from bridge.localrelay import LocalRelayServer
from bridge.run import serve
from fakedevice import FakeDevice, FakeLink
from nostrev import run as arun, wait_until
from test_run import FAST, Client

pytestmark = pytest.mark.timeout(60)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def parse(*argv):
    p = argparse.ArgumentParser()
    R.add_parser(p.add_subparsers(dest="command"))
    return p.parse_args(["run", *argv])


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


CONF = '''# the device and its relays
device = "/dev/ttyACM7"
relays = ["wss://relay.nsec.app", "wss://nos.lol"]
log_file = "~/signer.log"
qr = false
publish_timeout = 4
'''


# ---- the config file ----------------------------------------------------------------

def test_config_values_are_used_and_flags_override(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = write(tmp_path / "bridge.toml", CONF)
    a = R.apply_config(parse("--config", cfg))
    assert (a.device, a.relay, a.qr, a.publish_timeout) == (
        "/dev/ttyACM7", ["wss://relay.nsec.app", "wss://nos.lol"], False, 4)
    assert a.log_file == str(tmp_path / "signer.log")        # ~ expanded
    a = R.apply_config(parse("--config", cfg, "--device", "/dev/ttyUSB0", "--relay", "wss://r.example",
                             "--qr", "--log-file", "/tmp/x.log", "--publish-timeout", "2"))
    assert (a.device, a.relay, a.qr, a.publish_timeout, a.log_file) == (
        "/dev/ttyUSB0", ["wss://r.example"], True, 2.0, "/tmp/x.log")
    # no file: the defaults
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    a = R.apply_config(parse())
    assert (a.device, a.relay, a.qr, a.publish_timeout, a.log_file) == ("auto", [], True, 10.0, None)


def test_the_default_config_file_is_read_from_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    write(tmp_path / "cfg" / "nostr-signer" / "bridge.toml", 'device = "sim"\n')
    assert R.default_config_path() == str(tmp_path / "cfg" / "nostr-signer" / "bridge.toml")
    assert R.apply_config(parse()).device == "sim"


@pytest.mark.parametrize("text, says", [
    ('devise = "auto"\n', "unknown key 'devise'"),
    ('relays = "wss://nos.lol"\n', "relays must be a list of strings"),
    ('relays = [1]\n', "relays must be a list of strings"),
    ('qr = "no"\n', "qr must be true or false"),
    ('publish_timeout = true\n', "publish_timeout must be a number"),
    ('device = \n', "not valid TOML"),
])
def test_a_bad_config_file_is_refused_with_the_reason(tmp_path, text, says):
    cfg = write(tmp_path / "bridge.toml", text)
    with pytest.raises(ValueError, match=re.escape(says)) as e:
        R.apply_config(parse("--config", cfg))
    assert cfg in str(e.value)
    with pytest.raises(ValueError, match="no such file"):
        R.apply_config(parse("--config", str(tmp_path / "missing.toml")))


def test_run_takes_its_device_and_log_file_from_the_config_and_flags_win(tmp_path):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "none"))
    log = tmp_path / "logs" / "bridge.log"
    cfg = write(tmp_path / "bridge.toml", 'device = "/tmp"\nlog_file = "%s"\n' % log)

    def bridge(*args):
        return subprocess.run([PY, "-m", "bridge", "run", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=30)
    p = bridge("--config", cfg)
    assert p.returncode == 2 and "/tmp is a directory, not a serial port" in p.stderr, p.stderr
    assert "/tmp is a directory" in log.read_text() and oct(log.stat().st_mode & 0o777) == "0o600"
    log2 = tmp_path / "other.log"
    p = bridge("--config", cfg, "--device", "/etc/passwd", "--log-file", str(log2))
    assert p.returncode == 2 and "/etc/passwd is a regular file" in p.stderr, p.stderr
    assert "/etc/passwd" in log2.read_text() and "/etc/passwd" not in log.read_text()
    p = bridge("--config", write(tmp_path / "bad.toml", "colour = 1\n"))
    assert p.returncode == 2 and "unknown key 'colour'" in p.stderr and "Traceback" not in p.stderr


# ---- the log file -------------------------------------------------------------------

def test_the_log_file_gets_the_console_lines_and_never_a_plaintext_or_key(tmp_path, capsys):
    from nostr_sdk import Keys
    log = tmp_path / "bridge.log"
    new_key = Keys.generate()
    nsec, key_hex = new_key.secret_key().to_bech32(), new_key.secret_key().to_hex()

    async def body():
        async with LocalRelayServer() as relay:
            device = FakeDevice([relay.url])
            link = FakeLink(device)
            output = R.Output(str(log))
            stop = asyncio.Event()
            c = Courier(link, out=output.out, qr=True, pool_options=FAST, handshake_timeout=1)
            task = asyncio.create_task(serve(link, stop=stop, courier=c))
            await wait_until(lambda: c.url_live.is_set(), what="the bunker URL")
            client = Client([relay.url], device.pubkey)
            await client.start()
            assert (await client.call("ping"))["result"] == "pong"
            tmpl = {"kind": 1, "content": "secret words", "tags": [], "created_at": 1714078911}
            await client.call("sign_event", [json.dumps(tmpl)])
            await client.call("nip44_encrypt", [device.pubkey, "more secret words"])
            rep = await control.answer(c, {"cmd": "provision", "key": nsec})
            assert rep["ok"], rep
            await wait_until(lambda: "provision: ok" in log.read_text(), what="the provision line")
            stop.set()
            assert await asyncio.wait_for(task, 15) == 0
            await client.pool.close()
            output.close()
            return device
    device = arun(body())
    text = log.read_text()
    console = capsys.readouterr().out
    assert "bunker://" in text and "sign_event kind=1" in text and "ping" in text
    assert "\u2588" in console or "\u2580" in console        # the QR: on the console only
    assert "\u2588" not in text and "\u2580" not in text and "\u2584" not in text
    # every line the console got, but the QR, is in the file, in order
    qr_free = [ln for ln in console.splitlines() if not set(ln) <= set(" \xa0\u2580\u2584\u2588")]
    assert text.splitlines()[1:] == qr_free
    for secret in ("secret words", "pong", nsec, key_hex, device.sk.hex()):
        assert secret not in text and secret not in console


def test_a_qr_shaped_client_name_is_still_logged():
    # only the QR drawing itself is left out of the file, never a line someone else wrote
    assert R._is_qr_drawing("\u2588\u2580 \n" * 12)
    assert not R._is_qr_drawing("12:00:00 abcd1234 connect \u2588\u2588\u2588 ok")
    assert not R._is_qr_drawing("\u2588\u2588\u2588\u2588")


# ---- service files ------------------------------------------------------------------

def test_udev_rules_cover_the_boards_usb_ids_and_start_the_user_unit():
    rules = open(os.path.join(ROOT, "hardware", "linux", "60-nostr-signer.rules")).read()
    ids = set()
    for ln in rules.splitlines():
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        keys = dict(re.findall(r'(\w+(?:\{\w+\})?)\+?=="?([^",]*)"?', ln))
        assert keys.get("SUBSYSTEM") == "tty", ln
        ids.add((int(keys["ATTRS{idVendor}"], 16), int(keys["ATTRS{idProduct}"], 16)))
        assert 'TAG+="uaccess"' in ln and 'ENV{ID_MM_DEVICE_IGNORE}="1"' in ln
        assert 'ENV{SYSTEMD_USER_WANTS}+="nostr-signer-bridge.service"' in ln and 'TAG+="systemd"' in ln
    assert ids == set(USB_IDS) and (0x2E8A, 0x0005) in ids and (0x1A86, 0x55D4) in ids


def _unit_command():
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str
    unit.read(os.path.join(ROOT, "hardware", "linux", "nostr-signer-bridge.service"))
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    assert unit["Install"]["WantedBy"] == "default.target"
    return unit["Service"]["ExecStart"].split()


def _plist_command():
    with open(os.path.join(ROOT, "hardware", "macos", "org.nostr-signer.bridge.plist"), "rb") as f:
        pl = plistlib.load(f)
    assert pl["Label"] == "org.nostr-signer.bridge" and pl["RunAtLoad"] is True
    args = pl["ProgramArguments"]
    assert args[:2] == ["/bin/sh", "-c"]
    return args[2].split("exec ", 1)[1].split()


def test_the_systemd_unit_and_the_launchd_plist_run_the_same_command():
    unit, plist = _unit_command(), _plist_command()
    assert os.path.basename(unit[0]) == plist[0] == "nostr-signer-bridge"
    assert unit[1] == plist[1] == "run"
    for cmd in (unit, plist):
        assert "--log-file" in cmd and "--no-qr" in cmd and "--device" not in cmd   # auto, or the config's
    # what they run parses: the same options `run` has
    a = parse(*["/tmp/x.log" if o.startswith("%h") else o for o in unit[2:]])
    assert a.qr is False and a.log_file == "/tmp/x.log"


def test_a_log_file_that_fails_is_said_once_and_the_console_goes_on(tmp_path, capsys):
    o = R.Output(str(tmp_path / "bridge.log"))
    o.log.close()  # as a removed or full file would fail the next write
    o.out("first line after the failure")
    o.out("second line")
    cap = capsys.readouterr()
    assert cap.out.splitlines() == ["first line after the failure", "second line"]
    assert cap.err.count("log file:") == 1 and "console only" in cap.err
    o.close()
