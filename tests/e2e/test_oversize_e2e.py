"""Every request gets an answer, end to end (issue 10, 3): a request bigger than the device
can hold (a 30,000-character note: ~42 KB of NIP-44 at 128 KB of heap) is refused whole
by the device, sent again in pieces by the bridge, and answered "too large" under its own
id: the client hears at once instead of waiting forever."""
import asyncio
import json
import time

import pytest

from harness import run_body, signer_on_relay
from wsclient import WsClient

pytestmark = pytest.mark.timeout(170)


def test_a_request_too_big_for_the_device_is_answered_too_large(tmp_path):
    async def body():
        async with signer_on_relay(tmp_path, heap="128K") as s:
            async with WsClient([s.relay.url], bytes.fromhex(s.pub)) as c:
                assert (await c.call("connect", [s.pub]))["result"] == "ack"
                tpl = {"kind": 1, "content": "y" * 30000, "tags": [], "created_at": int(time.time())}
                try:
                    r = await c.call("sign_event", [json.dumps(tpl)], timeout=60)
                except asyncio.TimeoutError:
                    raise AssertionError("no answer; the bridge said: %r" % s.bridge.lines[-12:])
                assert (r.get("result"), r.get("error")) == ("error", "too large"), (r, s.bridge.lines[-6:])
                # and the device goes on answering
                assert (await c.call("ping", []))["result"] == "pong"
            assert any("sent in pieces" in ln for ln in s.bridge.lines), s.bridge.lines[-8:]
            assert await s.bridge.close() == 0
    run_body(body)
