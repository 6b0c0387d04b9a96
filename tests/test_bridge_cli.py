"""bridge.qr (bunker URL, QR text) and the `relay`/`run` subcommands' wiring."""
import os
import socket
import subprocess
import sys
import urllib.parse

import pytest

from bridge.qr import bunker_url, print_bunker, qr_text

pytestmark = pytest.mark.timeout(60)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bunker_url_encoding():
    pk = "ab" * 32
    url = bunker_url(pk.upper(), ["wss://relay.example.com/", "ws://127.0.0.1:7777"], secret="a b+c~/&=")
    assert url == ("bunker://" + pk + "?relay=wss%3A%2F%2Frelay.example.com%2F"
                   "&relay=ws%3A%2F%2F127.0.0.1%3A7777&secret=a%20b%2Bc%7E%2F%26%3D")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert q == {"relay": ["wss://relay.example.com/", "ws://127.0.0.1:7777"], "secret": ["a b+c~/&="]}
    assert bunker_url(pk, ["ws://x"]) == "bunker://" + pk + "?relay=ws%3A%2F%2Fx"
    for bad in (("ab" * 31, ["ws://x"]), ("zz" * 32, ["ws://x"]), (pk, [])):
        with pytest.raises(ValueError):
            bunker_url(*bad)


def test_a_url_without_secret_says_where_the_secret_is():
    # the device keeps its bunker secret from the host: the banner says the URL has none
    out = []
    url = print_bunker("ab" * 32, ["ws://x"], None, out=out.append, qr=False)
    assert out[:2] == ["bunker URL: " + url, url] and "secret" not in url
    assert len(out) == 3 and "NO SECRET!" in out[2] and "menu -> Pair" in out[2]
    out = []
    print_bunker("ab" * 32, ["ws://x"], "s", out=out.append, qr=False)
    assert len(out) == 2


def test_qr_text_is_square_half_blocks():
    rows = qr_text(bunker_url("ab" * 32, ["ws://127.0.0.1:7777"], "s")).splitlines()
    width = len(rows[0])
    assert width > 25 and all(len(r) == width for r in rows)
    assert abs(2 * len(rows) - width) <= 2          # two modules per text row
    assert set("".join(rows)) <= set(" \xa0\u2580\u2584\u2588")   # qrcode pads with NBSP


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_relay_subcommand_serves_until_interrupted():
    import asyncio
    import json
    import websockets
    port = _free_port()
    p = subprocess.Popen([sys.executable, "-m", "bridge", "relay", "--port", str(port)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = p.stdout.readline()
        assert "ws://127.0.0.1:%d" % port in line

        async def probe():
            async with websockets.connect("ws://127.0.0.1:%d" % port, proxy=None) as ws:
                await ws.send(json.dumps(["REQ", "x", {"kinds": [1]}]))
                return json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert asyncio.run(probe()) == ["EOSE", "x"]
    finally:
        p.send_signal(2)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        p.stdout.close()
    assert rc == 0


def test_run_subcommand_is_wired():
    out = subprocess.run([sys.executable, "-m", "bridge", "run", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30).stdout
    assert "--device" in out and "--relay" in out and "--connect" in out
