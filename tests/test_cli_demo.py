"""`make run` (python -m bridge demo) and the commands run beside it from another terminal:
found without --state, provisioning through its bridge, a refused import, a clean exit."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from bridge import control, sim as S
from test_cli_commands import PY, ROOT, bridge, env, firmware_pids, wait_for  # noqa: F401

pytestmark = pytest.mark.timeout(240)


class Demo:
    def __init__(self, env, state, *args):
        self.state = state
        self.lines = []
        self.p = subprocess.Popen([PY, "-m", "bridge", "demo", "--state", state, "--port", "0", *args],
                                  cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self):
        return "\n".join(self.lines)

    def wait_line(self, needle, timeout=60, after=0):
        return wait_for(lambda: next((ln for ln in self.lines[after:] if needle in ln), None), timeout,
                        "%r in the demo's output:\n%s" % (needle, self.text()[-3000:]))

    def screen(self):
        try:
            with open(os.path.join(self.state, "screen.txt")) as f:
                return f.read()
        except OSError:
            return ""

    def press_when(self, needle, button, timeout=30):
        wait_for(lambda: needle in self.screen().lower(), timeout, "%r on the screen: %s" % (needle, self.screen()))
        time.sleep(0.6)      # a prompt ignores presses in its first moments
        S.press(self.state, button)

    def stop(self, sig=signal.SIGINT):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError("the demo did not exit on signal %d:\n%s" % (sig, self.text()[-3000:]))


def provision_bg(env, key):
    """`python -m bridge provision` with the key piped in, left running (it waits for the device)."""
    prov = subprocess.Popen([PY, "-m", "bridge", "provision"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    prov.stdin.write(key)
    prov.stdin.close()
    prov.stdin = None
    return prov


def gone(env, state):
    assert S.running_tty(state) is None
    wait_for(lambda: firmware_pids(state) == [], 10, "the simulator to exit")
    d = os.path.join(env["XDG_RUNTIME_DIR"], "nostr-signer-bridge-%d" % os.getuid(), "running")
    assert not os.path.isdir(d) or os.listdir(d) == []


def test_refusing_the_import_keeps_the_demo_and_the_wait_counts_down(env, tmp_path):
    state = str(tmp_path / "demo")
    d = Demo(env, state, "--prompt-timeout", "30")
    try:
        d.wait_line("30 s left")
        d.press_when("import key?", "reject")
        d.wait_line("No key imported (rejected)")
        assert "create one on the device" in d.text().lower()
        time.sleep(1.5)
        assert d.p.poll() is None, d.text()[-2000:]
        assert "no key yet" in d.screen().lower()       # the device's own set-up screen
        # ... or a key imported from another terminal, through the demo's own link
        p = bridge(env, "url")
        assert p.returncode == 2 and "not connected yet" in p.stderr, p.stderr
        prov = provision_bg(env, "%064x\n" % 0xC0FFEE)
        d.press_when("import key?", "approve")
        out, err = prov.communicate(timeout=60)
        assert prov.returncode == 0 and out.startswith("npub1"), (out, err)
        url = wait_for(lambda: [ln for ln in d.lines if ln.startswith("bunker://")], 30, "the bunker URL")[0]
        p = bridge(env, "url")
        assert p.returncode == 0 and p.stdout.strip() == url
        assert "link lost" not in d.text()
    finally:
        rc = d.stop()
    assert rc == 0, d.text()[-2000:]
    gone(env, state)


def test_commands_beside_a_running_demo(env, tmp_path):
    state = str(tmp_path / "demo")
    d = Demo(env, state)
    try:
        d.press_when("import key?", "approve")
        url = wait_for(lambda: [ln for ln in d.lines if ln.startswith("bunker://")], 60, "the bunker URL")[0]
        pub = url[len("bunker://"):][:64]
        # a second `make run` beside it: one line, and the first one carries on
        p = bridge(env, "demo", "--state", state, "--port", "0", timeout=60)
        assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert "already running" in p.stderr and "Traceback" not in p.stderr
        # another terminal, no --state, no --device: the running demo answers
        p = bridge(env, "url")
        assert p.returncode == 0 and p.stdout.strip() == url, (p.stdout, p.stderr)
        p = bridge(env, "status", "--json")
        assert p.returncode == 0, p.stderr
        st = json.loads(p.stdout)
        assert st["device"]["pubkey"] == pub and "bridge" not in st
        # a bad key: refused here at once, the device never asked
        before = d.screen()
        t0 = time.monotonic()
        p = bridge(env, "provision", stdin="nsec1" + "q" * 58)
        assert p.returncode == 2 and "invalid" in p.stderr and time.monotonic() - t0 < 10
        time.sleep(0.5)
        assert d.screen() == before
        # a good key through the demo's bridge: the demo keeps its link
        sk = "%064x" % 0xC0FFEE
        n = len(d.lines)
        prov = provision_bg(env, sk + "\n")
        d.press_when("import key?", "approve")
        out, err = prov.communicate(timeout=60)
        assert prov.returncode == 0 and out.startswith("npub1"), (out, err)
        assert "through the running bridge" in err and sk not in out + err
        d.wait_line("provision: ok", after=n)
        new_url = wait_for(lambda: [ln for ln in d.lines[n:] if ln.startswith("bunker://")], 20,
                           "the new key's bunker URL")[-1]
        assert new_url[9:73] != pub
        p = bridge(env, "url")
        assert p.stdout.strip() == new_url.strip()
        # refused on the device: exit 1, and no prompt is left behind
        prov = provision_bg(env, "%064x\n" % 0xBEEF)
        d.press_when("import key?", "reject")
        out, err = prov.communicate(timeout=60)
        assert prov.returncode == 1 and "rejected" in err, (out, err)
        time.sleep(1)
        assert "import" not in d.screen().lower(), d.screen()
        assert "link lost" not in d.text() and sk not in d.text()
    finally:
        rc = d.stop(signal.SIGTERM)
    assert rc == 0, d.text()[-2000:]
    gone(env, state)
    assert control.sock_path(state) and not os.path.exists(control.sock_path(state))


def test_a_demo_on_another_port_proposes_its_relay_and_no_url_names_the_old_one(env, tmp_path):
    # issue 13 item 2: the device's flash remembered the first run's relay, which nobody
    # runs any more; the URL named it
    state = str(tmp_path / "demo")
    d = Demo(env, state)
    try:
        d.press_when("import", "approve")
        first = wait_for(lambda: [ln for ln in d.lines if ln.startswith("bunker://")], 60, "the bunker URL")[0]
    finally:
        assert d.stop() == 0, d.text()[-2000:]
    old = first.split("relay=")[1].split("&")[0]
    d = Demo(env, state)
    try:
        d.press_when("set relays?", "approve")
        url = wait_for(lambda: [ln for ln in d.lines if ln.startswith("bunker://")], 60, "the bunker URL")[0]
        new = d.wait_line("local relay: ").split("local relay: ")[1].split(" ")[0]
        enc = new.replace(":", "%3A").replace("/", "%2F")
        assert "relay=" + enc in url and old not in url, (old, url)
        assert not [ln for ln in d.lines if "bunker" in ln and old in ln], d.text()[-3000:]
        assert d.wait_line("listening on " + new)
    finally:
        assert d.stop() == 0, d.text()[-2000:]
    gone(env, state)


def test_the_u_key_prints_the_bunker_url_again(tmp_path):
    """Screen redraws push the bunker URL off the terminal: [u] prints it again (and the
    help line under each screen says so); before the bridge runs it says why there is none."""
    import asyncio
    import io

    from bridge import demo
    from bridge.courier import Courier
    from bridge.localrelay import LocalRelayServer
    from bridge.run import serve
    from fakedevice import FakeDevice, FakeLink
    from nostrev import run as arun, wait_until
    from test_run import FAST

    assert "[u] bunker URL again" in demo.HELP
    out = io.StringIO()
    console = demo.Console(str(tmp_path), out=out)
    console.on_key("u")
    assert "no bunker URL yet" in out.getvalue()

    async def body():
        async with LocalRelayServer() as relay:
            link = FakeLink(FakeDevice([relay.url]))
            c = Courier(link, out=console.say, qr=True, pool_options=FAST, handshake_timeout=1)
            console.courier = c
            task = asyncio.create_task(serve(link, stop=console.quit, courier=c))
            await wait_until(lambda: c.url_live.is_set(), what="the bunker URL")
            first = out.getvalue()
            (tmp_path / "screen.txt").write_text("a new screen\n")
            console.draw_if_changed()
            console.on_key("u")
            again = out.getvalue()[len(first):]
            console.on_key("q")
            assert await asyncio.wait_for(task, 15) == 0
            return first, again
    first, again = arun(body())
    url = [ln for ln in first.splitlines() if ln.startswith("bunker://")]
    assert len(url) == 1
    # after the redraw, the URL (alone on its line) and its QR come again
    assert again.index("a new screen") < again.index("\n" + url[0] + "\n")
    assert "\u2588" in again.split(url[0], 1)[1] or "\u2580" in again.split(url[0], 1)[1]
