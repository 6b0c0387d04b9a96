"""Node side of the end-to-end tests: install pinned nostr-tools, run bunker_client.mjs.

CI starts from a clean clone, so `ensure_node_modules()` runs `npm ci` (exact versions from
package-lock.json) the first time; node_modules is git-ignored.
"""
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "bunker_client.mjs")
LIBS_CLIENT = os.path.join(HERE, "libs_client.mjs")
NEEDED = ("nostr-tools", "ws", "@nostrify/nostrify", "@nostr-dev-kit/ndk", "applesauce-signers",
          "applesauce-relay", "@welshman/signer", "@welshman/net")
NODE_MIN = 20


def node_bin():
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("end-to-end tests need node >= %d on PATH" % NODE_MIN)
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    major = int(out.strip().lstrip("v").split(".")[0])
    if major < NODE_MIN:
        raise RuntimeError("node %s is too old: need >= %d" % (out.strip(), NODE_MIN))
    return node


def _installed():
    return all(os.path.exists(os.path.join(HERE, "node_modules", p, "package.json")) for p in NEEDED)


def ensure_node_modules(timeout=600):
    """`npm ci` in tests/e2e unless the pinned packages are already there (safe in parallel)."""
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("end-to-end tests need npm on PATH to install nostr-tools")
    # Two pytest processes at once must not both run npm ci in the same directory.
    with open(os.path.join(HERE, "package-lock.json")) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _installed():
                return
            p = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                               capture_output=True, text=True, timeout=timeout)
            if p.returncode != 0 or not _installed():
                raise RuntimeError("npm ci failed (rc %d):\n%s\n%s" % (p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_client(script, timeout=60, client=CLIENT):
    """Run a whole script; returns the list of JSON lines it printed (and stderr on failure)."""
    ensure_node_modules()
    p = subprocess.run([node_bin(), client, "-"], input=json.dumps(script), capture_output=True,
                       text=True, timeout=timeout, cwd=HERE)
    lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0:
        raise RuntimeError("bunker_client exited %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return lines


class ClientProcess:
    """bunker_client.mjs running in the background, read line by line.

    For flows where the test must act between client steps (nostrconnect: read the URI the
    client prints, hand it to the device, then wait for the client's results).
    """

    def __init__(self, script, client=CLIENT):
        ensure_node_modules()
        self.proc = subprocess.Popen([node_bin(), client, "-"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE)
        self.proc.stdin.write(json.dumps(script))
        self.proc.stdin.close()
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, False), daemon=True).start()

    def _pump(self, stream, out):
        for ln in stream:
            if not out:
                self.stderr.append(ln)
            elif ln.startswith("{"):
                self.lines.put(json.loads(ln))
        if out:
            self.lines.put(None)

    def next(self, timeout=30):
        """The next JSON line, or None when the client has exited."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no output from bunker_client within %s s; stderr:\n%s" % (timeout, "".join(self.stderr[-50:])))

    def until(self, op, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            ln = self.next(max(0.1, deadline - time.monotonic()))
            if ln is None:
                raise RuntimeError("bunker_client exited before %r; stderr:\n%s" % (op, "".join(self.stderr[-50:])))
            if ln.get("op") == op:
                return ln

    def rest(self, timeout=60):
        """All remaining lines until exit."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            ln = self.next(max(0.1, deadline - time.monotonic()))
            if ln is None:
                self.proc.wait(10)
                return out
            out.append(ln)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
