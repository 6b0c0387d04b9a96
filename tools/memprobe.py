"""Memory probe: boot the real firmware in the simulator at a heap size with a stored key,
pair a client, run typical requests, then growing sign_events; prints what each got.

    .venv/bin/python tools/memprobe.py 128K 1000,2000,4000,8000,16000

Used to find how large a request fits at a given heap (see the issue notes on 128 KB).
ROUNDS=0 skips the typical requests; FOLLOWS=1 signs kind-3 follow lists of that many p
tags instead of notes.
"""
import os, sys, json, time, tempfile
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
from bridge import sim as S, link as L
import refclient as rc
heap = sys.argv[1] if len(sys.argv) > 1 else "128K"
sizes = [int(x) for x in (sys.argv[2].split(",") if len(sys.argv) > 2 else "2000,8000,12000,14000,16000,18000,20000".split(","))]
rounds = int(os.environ.get("ROUNDS", "1"))
follows = os.environ.get("FOLLOWS") == "1"  # sizes are p-tag counts of kind-3 follow lists
SK = bytes.fromhex("7f4c11a9742721d66e40e321ca50b682c27f7422190c14a187525e69e604836a")
PUB = rc.xonly(SK)
st = tempfile.mkdtemp(prefix="probe")
os.makedirs(st + "/flash")
open(st + "/flash/key.json", "w").write(json.dumps({"v": 1, "sk": SK.hex()}))
s = S.Sim(st, heap=heap)
c = rc.Client()
def call(lk, method, params, scheme="nip44", timeout=60):
    ev = c.request(PUB, method, params, scheme=scheme)
    try:
      rid = lk.request({"t": "event", "now": int(time.time()), "event": rc.strip(ev)})
    except L.TooLarge:
      return None, "NAK too large", []
    msgs = []
    while True:
        m = lk.recv(timeout)
        if m is None: return None, "timeout", msgs
        if m.get("rid") != rid: continue
        msgs.append(m)
        if m["t"] in ("done", "error"): break
    pub = [m for m in msgs if m["t"] == "publish"]
    res = None
    if pub:
        res, _ = c.open(pub[0]["event"], PUB)
    return res, msgs[-1].get("outcome") or msgs[-1].get("error"), msgs
def heap(lk):
    rid = lk.request({"t": "status"})
    h = lk.answer(rid, 10, types=("status", "error")).get("heap") or {}
    return "heap free %s largest %s" % (h.get("free"), h.get("largest"))
try:
    with L.DeviceLink(s.tty) as lk:
        print("hello", lk.hello(timeout=15)["pubkey"][:8], heap(lk))
        ev = c.request(PUB, "connect", [PUB.hex(), "", "sign_event,nip44_encrypt,nip44_decrypt,nip04_encrypt,nip04_decrypt", "{}"])
        rid = lk.request({"t": "event", "now": int(time.time()), "event": rc.strip(ev)})
        time.sleep(0.5); S.press(st, "approve")
        m = lk.answer(rid, 20); print("connect:", m.get("outcome"), heap(lk))
        for r in range(rounds):
            print("ping", call(lk, "ping", [])[1], "gpk", call(lk, "get_public_key", [])[1])
            tpl = json.dumps({"kind": 1, "content": "y" * 3000, "tags": [["t", "x"]], "created_at": int(time.time())})
            res, out, _ = call(lk, "sign_event", [tpl]); print("sign 3k", out, res and rc.verify_event(json.loads(res["result"])))
            ck = rc.nip44_conversation_key(c.sk, PUB)
            ct = rc.nip44_encrypt("z" * 3000, ck)
            res, out, _ = call(lk, "nip44_decrypt", [c.pubhex, ct]); print("nip44_dec 3k", out, res and res.get("result") == "z" * 3000)
            res, out, _ = call(lk, "nip44_encrypt", [c.pubhex, "q" * 3000]); print("nip44_enc 3k", out, res and rc.nip44_decrypt(res["result"], ck) == "q" * 3000)
            ct4 = rc.nip04_encrypt(c.sk, PUB, "w" * 3000)
            res, out, _ = call(lk, "nip04_decrypt", [c.pubhex, ct4]); print("nip04_dec 3k", out, res and res.get("result") == "w" * 3000)
            res, out, _ = call(lk, "nip04_encrypt", [c.pubhex, "v" * 3000]); print("nip04_enc 3k", out, res and rc.nip04_decrypt(c.sk, PUB, res["result"]) == "v" * 3000)
            res, out, _ = call(lk, "nip04_decrypt", [c.pubhex, ct4], scheme="nip04"); print("nip04 scheme", out, heap(lk))
        for n in sizes:
            if follows:  # a kind 3 of n p tags
                tags = [["p", os.urandom(32).hex()] for _ in range(n)]
                tpl = json.dumps({"kind": 3, "content": "", "tags": tags, "created_at": int(time.time())})
            else:
                tpl = json.dumps({"kind": 1, "content": "x" * n, "tags": [], "created_at": int(time.time())})
            res, out, msgs = call(lk, "sign_event", [tpl])
            ok = res and "result" in res and (json.loads(res["result"])["tags"] == tags if follows else
                                              len(json.loads(res["result"])["content"]) == n)
            print("follows" if follows else "sign_event", n, out, bool(ok),
                  [m.get("ms") for m in msgs if m["t"] == "done"], heap(lk))
        rid = lk.request({"t": "status"}); print("status", lk.answer(rid, 10, types=("status", "error"))["t"])
finally:
    s.stop()
    print(open(st + "/sim.log").read()[-1500:])
