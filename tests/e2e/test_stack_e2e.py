"""Answers written deep in the call chain, through the real link, on the chip's C stack
(firmware/boards/simstack.py) and its 128 KB heap: on the RP2040 a kind-3 sign_event
with 9 or more p tags failed with "maximum recursion depth exceeded" in the response
writer, 23 Python frames from main.dispatch (issue 10)."""
import json
import time

import pytest

from harness import run_body, signer_on_relay
from wsclient import WsClient

pytestmark = pytest.mark.timeout(170)


def follows(n):
    return [["p", "%064x" % (i + 1)] for i in range(n)]


def test_follow_lists_of_8_9_40_and_100_p_tags_are_signed_at_128k(tmp_path):
    # 100: its template was copied without its content into one block of the tags' size,
    # which the fragmented 128 KB heap did not have ("too large" with 43 KB free)
    async def body():
        async with signer_on_relay(tmp_path, heap="128K") as s:
            async with WsClient([s.relay.url], bytes.fromhex(s.pub)) as c:
                assert (await c.call("connect", [s.pub]))["result"] == "ack"
                for n in (8, 9, 40, 100):
                    tpl = {"kind": 3, "content": "", "tags": follows(n), "created_at": int(time.time())}
                    r = await c.call("sign_event", [json.dumps(tpl)])
                    assert "error" not in r, (n, r, "\n".join(s.bridge.lines[-12:]))
                    assert json.loads(r["result"])["tags"] == tpl["tags"]
            assert await s.bridge.close() == 0
    run_body(body)
