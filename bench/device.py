"""Device benchmark (part of `make bench`): whole NIP-46 requests through the emulated
serial link. The simulator (firmware/main.py on the unix port, at the device's 128 KB
heap and with the chip's C stack: bridge/sim.py, boards/simstack.py, docs/stack.md) runs
behind a pty; an independent client (tests/refclient.py) builds the kind-24133 events;
the bridge's DeviceLink carries them. Ten clients are admitted, each with rules for
sign_event kinds 1 and 3 and the encrypt/decrypt methods, so no button wait is timed.

Reports:
- the device's own time per request (its `done` ms: verify the envelope, decrypt,
  operate, encrypt, sign the reply), ping and sign_event kind 1, from 1 client and from
  10 clients taking turns (issue 10, 5: the second should cost what the first does),
  at 128 KB and again at a heap with the room an RP2040 has for the key caches;
- the largest note (kind-1 content, characters) and follow list (kind-3 p tags, plain
  and with relay hint and petname) that are signed at this heap, and the largest
  plaintext nip44_encrypt / nip04_encrypt take, found by a ladder then bisection
  through the real link (a message the device refuses whole, or answers with an
  error such as "too large", does not fit);
- the peak C stack per method, as the device's `status` reports it (micropython.
  stack_use() at the link's writes, the deepest leaf; signer/admin.py), against the
  limit.

Prints one JSON line (bench/run.py reads the last line).
"""
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import refclient as rc  # noqa: E402
from bridge import link as L  # noqa: E402
from bridge import sim as S  # noqa: E402
from bridge.courier import BUSY_TRIES, BUSY_WAIT, stream_messages  # noqa: E402

SK = bytes.fromhex("3b0f0c4d2dfc2d0e2f2b8c0e7f31c1a7d5d8a1c9e6c4a2b0f1e3d5c7a9b1c3d5")
PUB = rc.xonly(SK)
N = 30          # requests per figure
CLIENTS = 10
# the bridge's pauses before it sends again what the device was too busy for, then None
AGAIN = [BUSY_WAIT * 2 ** n for n in range(BUSY_TRIES)] + [None]
RELAY_MAX = 65536  # bytes of event JSON relays commonly take (docs/fit.md)
PERMS = "sign_event:1,sign_event:3,nip44_encrypt,nip44_decrypt,nip04_encrypt,nip04_decrypt"
TEXT = "Lorem ipsum dolor sit amet, \"consectetur\" adipiscing elit,\nsed do eiusmod tempor. "
PEER = rc.xonly(bytes([7]) * 32).hex()


def wait_screen(state, first, timeout=20):
    """Until the screen shows `first`, and a person has looked at it: a prompt ignores
    presses in its first moments (app.GUARD_MS, 400 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(state, "screen.txt")) as f:
                if f.read().startswith(first):
                    time.sleep(0.5)
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise RuntimeError("screen never showed " + first)


def publish_of(lk, rid):
    m = lk.wait_for(lambda m: m.get("rid") == rid and m.get("t") in ("publish", "error"), 30)
    if not m or m["t"] != "publish":
        raise RuntimeError("no answer: %r" % (m,))
    return m


class Device:
    def __init__(self, heap):
        self.state = tempfile.mkdtemp(prefix="bench-device-")
        self.heap = heap
        self.sim = S.Sim(self.state, heap=heap)
        self.lk = L.DeviceLink(self.sim.tty)
        self.stack = {}     # method -> peak C stack (bytes), from status
        self.limit = None

    def restart(self):
        """Unplugged and plugged in again: the firmware boots on the same flash."""
        self.lk.close()
        self.sim.stop()
        self.sim = S.Sim(self.state, heap=self.heap)
        self.lk = L.DeviceLink(self.sim.tty)
        self.lk.hello(timeout=30)

    def close(self):
        self.lk.close()
        self.sim.stop()

    def provision(self):
        lk = self.lk
        lk.hello(timeout=30)
        rid = lk.request({"t": "provision", "key": SK.hex()})
        wait_screen(self.state, "IMPORT KEY?")
        S.press(self.state, "approve")
        lk.answer(rid, 20)

    def connect(self, c):
        ev = c.request(PUB, "connect", [PUB.hex(), self.lk.device_hello.get("secret") or "", PERMS,
                                        json.dumps({"name": "bench"})])
        rid = self.lk.request({"t": "event", "event": rc.strip(ev)})
        wait_screen(self.state, "CONNECT?")
        S.press(self.state, "approve")
        publish_of(self.lk, rid)
        self.lk.answer(rid, 10)
        # until the prompt has gone: the next connect must not see this one's screen
        # and press inside its own prompt's guard (a press there is ignored)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(os.path.join(self.state, "screen.txt")) as f:
                if not f.read().startswith("CONNECT?"):
                    break
            time.sleep(0.02)

    def call(self, c, method, params, label=None, timeout=120):
        """One request -> (response dict, device ms); sent as a stream when the device
        refuses it whole. label: record the request's peak stack."""
        try:
            ev = rc.strip(c.request(PUB, method, params))
        except ValueError:  # the client's NIP-44 takes at most 65,535 bytes
            return {"error": "over NIP-44's 65,535 bytes: not sent"}, None
        if len(json.dumps(ev)) > RELAY_MAX:
            return {"error": "over a relay's 64 KB event: not sent"}, None
        streamed = False
        for wait in AGAIN:
            try:
                rid = self.lk.request({"t": "event", "event": ev})
            except L.TooLarge:
                # refused whole: sent as a stream, as the bridge does (courier.send_in_pieces)
                rid, streamed = self.stream(ev), True
            m = self.lk.wait_for(lambda m: m.get("rid") == rid and m.get("t") in ("publish", "done", "error"), timeout)
            if m and not streamed and (m.get("pieces") is True or (m["t"] == "error" and m.get("error") == "too large")):
                # taken whole but no room to read it: the bridge sends it once as a stream
                rid, streamed = self.stream(ev), True
                m = self.lk.wait_for(lambda m: m.get("rid") == rid and m.get("t") in ("publish", "done", "error"), timeout)
            if not m or m["t"] != "error" or m.get("error") != "busy" or wait is None:
                break
            time.sleep(wait)  # no room just then: sent again, as the bridge does (courier.again_later)
        if not m:
            raise RuntimeError("%s: no answer" % method)
        if m["t"] == "error":
            return {"error": "UNANSWERED: %s (link)" % m.get("error")}, None
        resp = None
        if m["t"] == "publish":
            resp = c.open(m["event"], PUB)[0]
            m = self.lk.answer(rid, 30)
        if resp is None:  # the device answered nothing: a bug (issue 10, 3), reported
            return {"error": "UNANSWERED: " + str(m.get("outcome"))}, m.get("ms")
        if label:
            st = self.status().get("stack") or {}
            self.limit = st.get("limit")
            if st.get("peak") is not None:
                self.stack[label] = max(st["peak"], self.stack.get(label, 0))
        return resp, m.get("ms")

    def stream(self, ev):
        """ev as "big" then "more" messages of the device's stream size -> rid."""
        chunk = (self.lk.device_hello.get("limits") or {}).get("stream") or 2048
        rid = self.lk.next_rid()
        msgs = stream_messages(rid, int(time.time()), ev, chunk)
        self.lk.send(msgs[0])
        for piece in msgs[1:]:
            for wait in AGAIN:  # a piece refused is sent again, as the bridge does
                try:
                    self.lk.send(piece)
                    break
                except (L.TooLarge, L.Busy):
                    if wait is None:
                        raise
                    time.sleep(wait)
        return rid

    def status(self):
        rid = self.lk.request({"t": "status"})
        return self.lk.answer(rid, 10, types=("status", "error")) or {}


def note(n):
    return (TEXT * (n // len(TEXT) + 1))[:n]


def tpl(kind, content="", tags=()):
    return [json.dumps({"kind": kind, "content": content, "tags": list(tags), "created_at": int(time.time())})]


def follows(n, hint=False):
    return [["p", "%064x" % (i + 1), "wss://relay.example.com", "friend %d" % i] if hint else ["p", "%064x" % (i + 1)]
            for i in range(n)]


def signs(d, c, params, label):
    return answered(d.call(c, "sign_event", params, label)[0])


def answered(resp):
    """True for a result; False for an error; the error itself when the device sent
    nothing (largest() records it: a request dropped unanswered is a bug to see)."""
    e = resp.get("error")
    return e if e and e.startswith("UNANSWERED") else not e


def largest(fits, start, step):
    """The largest n for which fits(n), by a doubling ladder from start, then bisection
    to within step. -> (n or 0, [(n, fits)...] tried)."""
    tried = []

    def t(n):
        ok = fits(n)
        tried.append((n, ok))
        return ok is True
    lo, hi = 0, start
    while t(hi):
        lo, hi = hi, hi * 2
        if hi > 1 << 20:
            return lo, tried
    while hi - lo > step:
        mid = (lo + hi) // 2
        if t(mid):
            lo = mid
        else:
            hi = mid
    return lo, tried


def per_request(d, clients, n):
    """Device ms p50 of ping and sign_event kind 1, the clients taking turns."""
    out = {}
    for name, method, params in (("ping", "ping", lambda i: []),
                                 ("sign_event", "sign_event", lambda i: tpl(1, "bench note %d " % i + "x" * 200))):
        for i in range(2 * len(clients)):  # warm: every client's keys once
            d.call(clients[i % len(clients)], method, params(i))
        ms = []
        for i in range(n):
            resp, t = d.call(clients[i % len(clients)], method, params(i), label=name)
            if resp.get("error"):
                raise RuntimeError("%s refused: %s" % (method, resp["error"]))
            ms.append(t)
        out[name] = {"device_ms_p50": statistics.median(ms), "device_ms_max": max(ms)}
    return out


def ladders(d, c):
    """What fits now: the largest note, follow lists, encrypt plaintexts."""
    fit = {"heap_before": d.status().get("heap")}
    n, tried = largest(lambda n: signs(d, c, tpl(1, note(n)), "sign_event kind 1 (note ladder)"), 4000, 512)
    fit["note_chars"] = {"largest": n, "tried": tried}
    n, tried = largest(lambda n: signs(d, c, tpl(3, "", follows(n)), "sign_event kind 3 (follow-list ladder)"), 100, 10)
    fit["follow_list_p_tags"] = {"largest": n, "tried": tried}
    n, tried = largest(lambda n: signs(d, c, tpl(3, "", follows(n, True)), "sign_event kind 3 (follow-list ladder)"),
                       100, 10)
    fit["follow_list_p_tags_with_hint_and_petname"] = {"largest": n, "tried": tried}
    for enc in ("nip44_encrypt", "nip04_encrypt"):
        n, tried = largest(lambda n: answered(d.call(c, enc, [PEER, note(n)], enc + " (ladder)")[0]), 1000, 256)
        fit[enc + "_chars"] = {"largest": n, "tried": tried}
    return fit


def set_up(heap):
    """A device with our key and CLIENTS clients admitted -> (Device, clients)."""
    d = Device(heap)
    try:
        d.provision()
        clients = [rc.Client() for _ in range(CLIENTS)]
        for c in clients:
            d.connect(c)
    except BaseException:
        d.close()
        raise
    return d, clients


def one_vs_ten(d, clients):
    """Device ms of 1 client, then of the 10 taking turns, and their ratio."""
    out = {"one_client": per_request(d, clients[:1], N), "ten_clients_alternating": per_request(d, clients, N)}
    out["ten_vs_one"] = {k: round(out["ten_clients_alternating"][k]["device_ms_p50"]
                                  / out["one_client"][k]["device_ms_p50"], 2) for k in out["one_client"]}
    return out


def run_at(heap):
    d, clients = set_up(heap)
    try:
        c = clients[0]
        out = {"heap": heap, "clients_admitted": CLIENTS, "requests_each": N,
               "just_set_up": d.status().get("heap")}
        # measured on a device set up and then plugged in again, as it is each day: the
        # set-up's own leftovers (key import, ten pairings) leave the heap in holes
        d.restart()
        # what fits with the ten admitted: after the boot, and again once they have all
        # been served a while (the heap as a day's use leaves it: caches full, pieces
        # scattered)
        out["largest_that_fits"] = {"after_boot": ladders(d, c)}
        out.update(one_vs_ten(d, clients))
        # the other methods once each, for their stack
        d.call(c, "get_public_key", [], label="get_public_key")
        d.call(c, "connect", [PUB.hex()], label="connect (again)")
        for enc, dec in (("nip44_encrypt", "nip44_decrypt"), ("nip04_encrypt", "nip04_decrypt")):
            ct = d.call(c, enc, [PEER, note(1000)], label=enc)[0]["result"]
            if d.call(c, dec, [PEER, ct], label=dec)[0].get("result") != note(1000):
                raise RuntimeError("%s of 1,000 characters failed" % enc)
        out["largest_that_fits"]["after_use"] = ladders(d, c)
        # requests of the ladders the device answered nothing to: [when, what, size, outcome]
        out["unanswered"] = [[w, k, n, ok] for w, f in out["largest_that_fits"].items() for k, v in f.items()
                             if isinstance(v, dict) and "tried" in v for n, ok in v["tried"] if isinstance(ok, str)]
        out["stack_peak_bytes"] = dict(sorted(d.stack.items()))
        out["stack_limit_bytes"] = d.limit
        st = d.status()
        out["status_after"] = {"heap": st.get("heap"), "stack": st.get("stack")}
        return out
    finally:
        d.close()


# A heap with the room an RP2040 with ROMFS has once up (~175 KB free there; size_caches
# then keeps ten clients' keys hot): 128 KB of x64 leaves ~55 KB free, 256K ~180 KB
CHIP_ROOM_HEAP = "256K"


def flat_at(heap):
    """1 client vs 10 taking turns, at a heap with the chip's room for the key caches
    (issue 10, 5: there ten should cost what one costs)."""
    d, clients = set_up(heap)
    try:
        out = {"heap": heap}
        out.update(one_vs_ten(d, clients))
        return out
    finally:
        d.close()


def main():
    heaps = [os.environ.get("DEVICE_BENCH_HEAP", S.HEAP), "192K", "256K"]
    errors = {}
    for heap in heaps:
        try:
            res = run_at(heap)
            if errors:
                res["failed_at"] = errors
            try:
                res["at_chip_room"] = flat_at(CHIP_ROOM_HEAP)
            except Exception as e:
                res["at_chip_room"] = {"heap": CHIP_ROOM_HEAP, "error": "%s: %s" % (type(e).__name__, e)}
            print(json.dumps(res))
            return 0
        except Exception as e:  # report the heap it failed at, then try a larger one
            errors[heap] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps({"error": errors}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
