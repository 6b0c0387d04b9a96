# TEST-ONLY stand-in for firmware/app.py, used by tests/test_sim.py only while the real
# app has not landed (firmware/ comes first on the path, so the real one wins when it
# exists). It answers hello/status, echoes `echo`, and runs a provision prompt through
# the buttons, so the link, the loop and the board can be tested end to end.
import os


class App:
    types = ("event", "nostrconnect", "provision", "status", "echo")

    def __init__(self, board, send):
        self.board = board
        self.send = send
        self.pending = None
        self.pubkey = None
        self.presses = []
        self.handled = 0
        self._draw(["stand-in app", "ready"])

    def _draw(self, lines):
        d = self.board.display
        d.fb.fill(0)
        for i, ln in enumerate(lines):
            d.fb.text(ln, 0, i * 10, 1)
        d.show(lines)

    def hello(self):
        return {"fw": "standin-0", "pubkey": self.pubkey, "relays": [], "limits": {"queue": 1}}

    def handle(self, msg):
        self.handled += 1
        t = msg["t"]
        rid = msg.get("rid")
        if t == "status":
            self.send({"t": "status", "rid": rid, "pubkey": self.pubkey, "relays": [], "clients": [],
                       "queue": 1 if self.pending else 0, "presses": self.presses,
                       "handled": self.handled, "size": len(msg.get("pad", ""))})
        elif t == "echo":
            self.send({"t": "echo", "rid": rid, "data": msg.get("data")})
        elif t == "provision":
            if self.pending is not None:
                self.send({"t": "error", "rid": rid, "error": "busy"})
                return
            self.pending = msg
            self._draw(["Import key?", "approve / reject"])
        else:
            self.send({"t": "done", "rid": rid, "outcome": "invalid request", "client": None,
                       "method": None, "kind": None, "ms": 0})

    def press(self, button):
        self.presses.append(button)
        msg = self.pending
        if msg is None:
            return
        if button == "approve":
            from crypto import nip19, secp256k1
            key = msg["key"]
            sk = nip19.decode(key)[1] if key.startswith("nsec1") else bytes.fromhex(key)
            self.pubkey = secp256k1.pubkey(sk).hex()
            outcome = "ok"
        elif button == "reject":
            outcome = "rejected"
        else:
            return
        self.pending = None
        self._draw(["key imported" if outcome == "ok" else "rejected"])
        d = {"t": "done", "rid": msg["rid"], "outcome": outcome, "client": None, "method": "provision",
             "kind": None, "ms": 0}
        if outcome == "ok":
            d["pubkey"] = self.pubkey
        self.send(d)

    def tick(self):
        pass
