"""A stand-in device and link for testing bridge/run.py before the real firmware link exists.

FakeDevice answers NIP-46 requests the way docs/protocol.md says the firmware will: it
decrypts (NIP-44), "approves" at once, signs the response and emits `publish` then `done`.
FakeLink is the interface `serve` expects (hello/send/recv) with unplug/plug to simulate a
USB disconnect, and reset() to simulate a device reboot that forgets queued work.
"""
import asyncio
import json
import time
import urllib.parse
import uuid

from nostrev import conversation_key, keypair, make_event, nip44_decrypt, nip44_encrypt, pubkey_of


class Unplugged(OSError):
    pass


class FakeDevice:
    def __init__(self, relays, sk=None, hold=False):
        self.sk = sk or keypair()[0]
        self.pubkey = pubkey_of(self.sk)
        self.relays = list(relays)
        self.hold = hold            # True: take requests but don't answer (waiting for a button)
        self.held = []              # (rid, event) taken while holding
        self.seen = []              # every event message received: (rid, event id)
        self.outbox = None          # asyncio.Queue of device -> host messages (set by FakeLink)
        self.features = []
        self.secret = "pair-secret"
        self.connects = 0
        self.relays_answer = "ok"   # what the person answers on SET RELAYS? ("ok", "rejected")

    def hello(self):
        return {"t": "hello", "proto": 1, "fw": "fake-0", "board": "test", "pubkey": self.pubkey,
                "relays": self.relays, "features": self.features, "secret": self.secret,
                "limits": {"max_frame": 512, "max_message": 65536, "queue": 4}}

    def take(self, msg):
        if msg.get("t") == "event":
            self.seen.append((msg["rid"], msg["event"]["id"]))
            if self.hold:
                self.held.append((msg["rid"], msg["event"]))
            else:
                self.answer(msg["rid"], msg["event"])
        elif msg.get("t") == "nostrconnect":
            # the person approved on the device: send the connect response to the client's relays
            u = urllib.parse.urlparse(msg["uri"])
            q = urllib.parse.parse_qs(u.query)
            client, relays, secret = u.netloc, q.get("relay", []), q["secret"][0]
            reply = {"id": uuid.uuid4().hex, "result": secret}
            ck = conversation_key(self.sk, client)
            resp = make_event(self.sk, 24133, nip44_encrypt(ck, json.dumps(reply)), [["p", client]])
            self.emit({"t": "publish", "rid": msg["rid"], "event": resp, "relays": relays})
            self.emit({"t": "done", "rid": msg["rid"], "client": client, "method": "connect",
                       "kind": None, "outcome": "ok", "ms": 1})
        elif msg.get("t") == "status":
            self.emit({"t": "status", "rid": msg["rid"], "pubkey": self.pubkey, "relays": self.relays,
                       "secret": self.secret, "clients": [], "queue": len(self.held)})
        elif msg.get("t") == "relays":
            # the device's own relay list, as firmware/signer/pairing.py: kept once approved
            done = {"t": "done", "rid": msg["rid"], "client": None, "method": "relays", "kind": None,
                    "outcome": self.relays_answer, "ms": 1}
            if self.relays_answer == "ok":
                self.relays = list(msg["relays"])
                done["relays"] = self.relays
            self.emit(done)
        elif msg.get("t") == "provision":
            # the person confirmed IMPORT KEY? on the device
            self.sk = bytes.fromhex(msg["key"])
            self.pubkey = pubkey_of(self.sk)
            self.emit({"t": "done", "rid": msg["rid"], "client": None, "method": "provision",
                       "kind": None, "outcome": "ok", "pubkey": self.pubkey, "ms": 1})
        elif msg.get("t") == "auth":
            ev = make_event(self.sk, 22242, "", [["relay", msg["relay"]], ["challenge", msg["challenge"]]])
            self.emit({"t": "auth", "rid": msg["rid"], "event": ev})

    def release(self):
        held, self.held = self.held, []
        for rid, ev in held:
            self.answer(rid, ev)

    def response_event(self, ev):
        """Decrypt, run the method, encrypt and sign the reply; (event, done fields)."""
        ck = conversation_key(self.sk, ev["pubkey"])
        req = json.loads(nip44_decrypt(ck, ev["content"]))
        method, params = req.get("method"), req.get("params") or []
        reply = {"id": req.get("id")}
        kind = None
        if method == "ping":
            reply["result"] = "pong"
        elif method == "connect":
            reply["result"] = "ack"
            self.connects += 1
            self.secret = "pair-secret-%d" % self.connects    # single use: rotated
        elif method == "get_public_key":
            reply["result"] = self.pubkey
        elif method == "sign_event":
            tmpl = json.loads(params[0])
            kind = tmpl.get("kind")
            signed = make_event(self.sk, kind, tmpl.get("content", ""), tmpl.get("tags", []),
                                tmpl.get("created_at"))
            reply["result"] = json.dumps(signed)
        elif method == "switch_relays":
            reply["result"] = json.dumps(self.relays)
        else:
            reply["result"] = "error"          # the device's error shape (docs/protocol.md)
            reply["error"] = "unknown method"
        resp = make_event(self.sk, 24133, nip44_encrypt(ck, json.dumps(reply)), [["p", ev["pubkey"]]])
        return resp, {"client": ev["pubkey"], "method": method, "kind": kind,
                      "outcome": "ok" if "error" not in reply else "invalid method"}

    def answer(self, rid, ev):
        t0 = time.monotonic()
        resp, done = self.response_event(ev)
        self.emit({"t": "publish", "rid": rid, "event": resp, "relays": []})
        self.emit(dict(done, t="done", rid=rid, ms=int((time.monotonic() - t0) * 1000)))

    def emit(self, msg):
        self.outbox.put_nowait(msg)


class FakeLink:
    """hello/send/recv over in-memory queues, with a pluggable cable."""

    def __init__(self, device):
        self.device = device
        self.present = True
        self.sent = []
        self.hellos = 0
        self._new_outbox()

    def _new_outbox(self):
        self.outbox = asyncio.Queue()
        self.device.outbox = self.outbox

    async def hello(self):
        if not self.present:
            raise Unplugged("no device")
        self.hellos += 1
        return self.device.hello()

    def send(self, msg):
        if not self.present:
            raise Unplugged("no device")
        self.sent.append(msg)
        self.device.take(msg)

    async def recv(self):
        msg = await self.outbox.get()
        if isinstance(msg, Exception):
            raise msg
        return msg

    def unplug(self):
        self.present = False
        self.outbox.put_nowait(Unplugged("device unplugged"))

    def plug(self):
        self._new_outbox()
        self.present = True
