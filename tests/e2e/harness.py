"""What the end-to-end tests share: a person who answers the simulator's prompts, key
provisioning, the bridge's serve() in the test's event loop, and the node client runner."""
import asyncio
import contextlib
import json
import os
import re
import threading
import time

from types import SimpleNamespace

import coincurve

from bridge import sim
from bridge.localrelay import LocalRelayServer
from bridge.courier import Courier
from bridge.link import DeviceLink, AsyncDeviceLink
from bridge.run import serve
from nostrev import keypair, wait_until

# The device's heap: the firmware runs in place from its ROMFS image (bridge/rom.py)
HEAP = os.environ.get("E2E_HEAP", "128K")
FAST = dict(backoff_min=0.05, backoff_max=0.4, open_timeout=2)


class Person:
    """Watches the simulator's screen and answers every prompt (an upper-case title ending in "?")."""

    def __init__(self, state, decide=lambda screen: "approve"):
        self.state = state
        self.decide = decide
        self.seen = []          # prompts answered
        self.screens = []       # every screen drawn (for failure messages)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._watch, daemon=True)
        self._t.start()

    def _watch(self):
        path = os.path.join(self.state, "screen.txt")
        last = pressed = None
        at = 0.0
        while not self._stop.is_set():
            if pressed is not None and time.monotonic() - at > 3:
                # the same prompt still up 3 s after a press: as a person would, press
                # again (a press inside a new prompt's guard, app.GUARD_MS, is ignored)
                at = time.monotonic()
                sim.press(self.state, self.decide(pressed))
            try:
                st = os.stat(path)
                stamp = (st.st_mtime_ns, st.st_size)
                text = open(path).read() if stamp != last else None
            except OSError:
                text = None
            if text is not None:
                last = stamp
                lines = text.splitlines()
                self.screens.append(lines)
                # titles: "CONNECT?", "IMPORT KEY?", "APPROVE? +1    v" (queue count, scroll mark)
                if not (lines and re.match(r"[A-Z][A-Z ]*\?", lines[0])):
                    pressed = None          # back to a non-prompt screen
                elif lines != pressed:
                    # once per prompt: a redraw of the same prompt is not a new question
                    pressed = lines
                    self.seen.append(lines)
                    time.sleep(0.5)  # a prompt ignores presses in its first moments (app.GUARD_MS)
                    sim.press(self.state, self.decide(lines))
                    at = time.monotonic()
            time.sleep(0.05)

    def stop(self):
        self._stop.set()
        self._t.join(2)


def provision(s, state, sk=None):
    """Import a key into the simulator (sk, or a fresh one), the person approving it."""
    if sk is None:
        sk, pub = keypair()
    else:
        pub = coincurve.PrivateKey(sk).public_key_xonly.format().hex()
    link = DeviceLink(s.tty)
    try:
        link.hello(timeout=30)
        rid = link.request({"t": "provision", "key": sk.hex()})
        person = Person(state)
        ans = link.answer(rid, 30)
        person.stop()
    finally:
        link.close()
    assert ans and ans.get("outcome") == "ok" and ans.get("pubkey") == pub, ans
    return pub


async def node_script(node, script, timeout=120):
    proc = await asyncio.create_subprocess_exec(
        node.node_bin(), node.CLIENT, "-", cwd=node.HERE, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(script).encode()), timeout)
    assert proc.returncode == 0, err.decode()[-3000:]
    return [json.loads(ln) for ln in out.decode().splitlines() if ln.startswith("{")]


class Bridge:
    """serve() on the simulator's link, in this event loop, with its output collected."""

    def __init__(self, holder, relays=()):
        self.lines = []
        self.stop = asyncio.Event()
        self.link = AsyncDeviceLink(lambda: DeviceLink(holder["sim"].tty))
        self.courier = Courier(self.link, relays, out=self.lines.append, qr=False, pool_options=FAST,
                               handshake_timeout=10)
        self.task = asyncio.create_task(serve(self.link, stop=self.stop, courier=self.courier))

    async def ready(self, only=None):
        """The bunker URL once subscribed everywhere (or on the relays in `only`)."""
        c = self.courier
        await wait_until(lambda: c.pool is not None and all(s["eose"] for s in c.pool.status()
                                                            if only is None or s["url"] in only),
                         timeout=30, what="bridge subscribed")
        return [ln.split("bunker URL: ", 1)[1] for ln in self.lines if "bunker URL: " in ln][-1]

    async def close(self):
        self.stop.set()
        rc = await asyncio.wait_for(self.task, 30)
        self.link.close()
        return rc


def run_body(body):
    asyncio.run(asyncio.wait_for(body(), 170))


@contextlib.asynccontextmanager
async def signer_on_relay(tmp_path, decide=lambda lines: "approve", heap=None):
    """A LocalRelay, the simulator (key provisioned) listening on it, the bridge in this
    event loop, and a person answering prompts with decide(screen lines)."""
    state = str(tmp_path / "state")
    async with LocalRelayServer() as relay:
        holder = {"sim": sim.Sim(state, args=["--relay", relay.url], heap=heap or HEAP)}
        person = None
        try:
            pub = provision(holder["sim"], state)
            bridge = Bridge(holder)
            url = await bridge.ready()
            person = Person(state, decide)
            yield SimpleNamespace(state=state, relay=relay, holder=holder, pub=pub,
                                  bridge=bridge, url=url, person=person)
        finally:
            if person:
                person.stop()
            holder["sim"].stop()
