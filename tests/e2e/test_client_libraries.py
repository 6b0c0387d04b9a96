"""Every NIP-46 client library we claim to work with, against the real device: nostr-tools,
@nostrify/nostrify, @nostr-dev-kit/ndk, applesauce-signers and @welshman/signer (node,
libs_client.mjs, pinned in package.json); rust-nostr is test_rust_nostr.py.

One LocalRelay, one simulator (128K) and one bridge for the whole module, run in a
background event loop; each test is one node process. A person approves every prompt
except a signature whose note says REJECT, which they refuse on the simulator's buttons:
the library must surface that refusal as its own error with the device's reason (before the
device's error responses carried "result", nostrify failed with a ZodError instead).
"""
import asyncio
import threading
import time
from types import SimpleNamespace

import coincurve
import pytest

import node
from bridge import sim
from bridge.localrelay import LocalRelayServer
from harness import HEAP, Bridge, Person, provision
from nostrev import keypair

pytestmark = pytest.mark.timeout(180)

LIBS = ("nostr-tools", "nostrify", "ndk", "applesauce", "welshman")
# nostrify's NConnectSigner has no client-initiated (nostrconnect://) flow
NOSTRCONNECT_LIBS = ("nostr-tools", "ndk", "applesauce", "welshman")
REJECT = "REJECT this note"


def decide(lines):
    return "reject" if any("REJECT" in ln for ln in lines) else "approve"


@pytest.fixture(scope="module")
def device(tmp_path_factory, node_client):
    """A relay, the simulator with a key, the bridge subscribed, a person at the buttons."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coro, timeout=60):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    state = str(tmp_path_factory.mktemp("libs") / "state")
    relay = LocalRelayServer()
    call(relay.__aenter__())
    holder = {"sim": sim.Sim(state, args=["--relay", relay.url], heap=HEAP)}
    person = bridge = None
    try:
        pub = provision(holder["sim"], state)

        async def start():
            b = Bridge(holder)
            await b.ready()
            return b
        bridge = call(start())
        person = Person(state, decide)
        yield SimpleNamespace(loop=loop, call=call, relay=relay, pub=pub, bridge=bridge, person=person)
    finally:
        if person:
            person.stop()
        if bridge:
            assert call(bridge.close()) == 0
        holder["sim"].stop()
        call(relay.__aexit__(None, None, None))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def bunker_url(d):
    # the URL the bridge printed last (it carries no secret: the device keeps it)
    return [ln.split("bunker URL: ", 1)[1] for ln in d.bridge.lines if "bunker URL: " in ln][-1]


def run(script, timeout=150):
    script.setdefault("timeout", 40000)
    script.setdefault("totalTimeout", (timeout - 10) * 1000)
    out = node.run_client(script, timeout=timeout, client=node.LIBS_CLIENT)
    assert out and out[-1].get("op") == "end", out
    return out


def by_op(out):
    return {r["op"] + (str(r["i"]) if "i" in r else ""): r for r in out}


def verified(ev, pub):
    ok = coincurve.PublicKeyXOnly(bytes.fromhex(ev["pubkey"])).verify(bytes.fromhex(ev["sig"]), bytes.fromhex(ev["id"]))
    return ok and ev["pubkey"] == pub


def round_trip_calls(pub, note):
    _, third = keypair()
    tmpl = {"kind": 1, "content": note, "tags": [["t", "e2e"]], "created_at": int(time.time())}
    return third, [
        {"op": "getPublicKey"},
        {"op": "signEvent", "args": [tmpl]},
        {"op": "nip44Encrypt", "args": [third, "nip44 for a third party ✓"]},
        {"op": "nip44Decrypt", "args": [third, "$2"]},
        {"op": "nip04Encrypt", "args": [third, "nip04 for a third party ✓"]},
        {"op": "nip04Decrypt", "args": [third, "$4"]},
    ]


def check_round_trips(out, pub, note):
    r = by_op(out)
    assert r["login"]["ok"], out
    assert r["getPublicKey0"]["result"] == pub, out
    ev = r["signEvent1"]["result"]
    assert r["signEvent1"]["ok"] and verified(ev, pub) and ev["content"] == note, out
    assert r["nip44Encrypt2"]["ok"] and "third party" not in r["nip44Encrypt2"]["result"], out
    assert r["nip44Decrypt3"]["result"] == "nip44 for a third party ✓", out
    assert r["nip04Encrypt4"]["ok"] and "?iv=" in r["nip04Encrypt4"]["result"], out
    assert r["nip04Decrypt5"]["result"] == "nip04 for a third party ✓", out
    assert out[-1] == {"op": "end", "failed": 0}, out


@pytest.mark.parametrize("lib", LIBS)
def test_bunker_login_sign_and_encrypt_round_trips(device, lib):
    note = "signed through %s at %d" % (lib, time.time())
    _, calls = round_trip_calls(device.pub, note)
    out = run({"lib": lib, "bunker": bunker_url(device), "calls": calls})
    check_round_trips(out, device.pub, note)
    log = "\n".join(device.bridge.lines)
    assert note not in log and "third party" not in log     # the courier never sees plaintext


@pytest.mark.parametrize("lib", LIBS)
def test_a_rejection_on_the_device_is_the_librarys_error(device, lib):
    tmpl = {"kind": 1, "content": REJECT + " from " + lib, "tags": [], "created_at": int(time.time())}
    seen = len(device.person.seen)
    out = run({"lib": lib, "bunker": bunker_url(device), "calls": [
        {"op": "getPublicKey"}, {"op": "signEvent", "args": [tmpl]}]})
    r = by_op(out)
    assert r["login"]["ok"] and r["getPublicKey0"]["result"] == device.pub, out
    sig = r["signEvent1"]
    # the device's reason, as the library's own error: not a timeout, not a parse error
    assert not sig["ok"] and not sig["timeout"], out
    assert sig["error"] == "rejected" and sig["errorType"] != "ZodError", out
    # and it was the person's refusal on the device's screen
    assert any(decide(p) == "reject" for p in device.person.seen[seen:]), device.person.seen[seen:]


@pytest.mark.parametrize("lib", NOSTRCONNECT_LIBS)
def test_nostrconnect_pairing_then_sign_and_encrypt(device, lib):
    note = "nostrconnect via %s at %d" % (lib, time.time())
    _, calls = round_trip_calls(device.pub, note)
    proc = node.ClientProcess({"lib": lib, "timeout": 40000, "totalTimeout": 140000, "loginTimeout": 60000,
                               "nostrconnect": {"relays": [device.relay.url], "secret": "pair-" + lib,
                                                "name": "e2e " + lib},
                               "calls": calls}, client=node.LIBS_CLIENT)
    try:
        uri = proc.until("uri", 30)["uri"]
        assert uri.startswith("nostrconnect://"), uri
        time.sleep(1.0)     # the client subscribes on its relay first (the answer is ephemeral)
        device.call(device.bridge.courier.nostrconnect(uri))
        out = proc.rest(140)
    finally:
        proc.close()
    check_round_trips(out, device.pub, note)
