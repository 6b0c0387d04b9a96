# Runs ON the unix port, driven by bench/count.py.
#   micropython count_mpy.py count OP      -> JSON counts of one call (instrumented copy
#                                            of the crypto core first on MICROPYPATH)
#   micropython count_mpy.py time[q] OP... -> JSON µs per call of the shipped firmware
# Each op: a setup returning the callable; the callable is warmed up once first, as a
# device is after its first request (tables of a known key built, keypair cached).
import sys
import gc
import json
import time

SK = bytes.fromhex("b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef")
CLIENT = bytes.fromhex("3b0f0c4d2dfc2d0e2f2b8c0e7f31c1a7d5d8a1c9e6c4a2b0f1e3d5c7a9b1c3d5")
MSG = bytes(range(32))
AUX = bytes(32)


def _ec():
    from crypto import secp256k1 as ec, ecmult
    import os
    if os.getenv("NATIVE_FIELD") == "1" and ecmult.run.__name__ == "run":
        # the RP2040's loop (boards/pico.native_field) on the machine code's model; the
        # counters price what it runs by the machine code's cycles (bench/counters.py)
        from crypto import ecmult_fe
        import fe_model
        if ecmult_fe._fe is None:
            ecmult_fe.install(fe_model.run)
    # the chip reads the big comb in place (ROMFS or frozen): here the firmware is loaded
    # from a filesystem, where ecmult picks the small one
    if ecmult.comb()[1] != 4:
        from crypto.ecmult_table4 import COMB
        ecmult._comb = ecmult._layout(COMB, 4, 8)
    # and its heap, once up with ROMFS (~175 KB free): the key caches sized for it (ten
    # hot keys with 8-base tables)
    ec.size_caches(175 * 1024)
    return ec


def _cycle(f, items):
    st = [0]

    def run():
        st[0] = (st[0] + 1) % len(items)
        return f(items[st[0]])
    return run


def op_sign():
    ec = _ec()
    ec.pubkey(SK)
    return lambda: ec.schnorr_sign(MSG, SK, AUX)


def op_verify():  # a known client: its key's tables cached (second use on)
    ec = _ec()
    pub = ec.pubkey(CLIENT)
    sig = ec.schnorr_sign(MSG, CLIENT, AUX)
    ec.schnorr_verify(MSG, pub, sig)
    return lambda: ec.schnorr_verify(MSG, pub, sig)


def _fresh_keys(ec, n=40):  # more than any cache holds (size_caches: 10 keys, 32 ECDH x)
    return [bytes([i + 1]) * 32 for i in range(n)]


def op_verify_fresh_key():  # more keys than the caches hold: lift_x + tables each time
    ec = _ec()
    cases = [(ec.pubkey(k), ec.schnorr_sign(MSG, k, AUX)) for k in _fresh_keys(ec)]
    ec.clear_cache()
    return _cycle(lambda c: ec.schnorr_verify(MSG, c[0], c[1]), cases)


def op_ecdh():  # a known peer (its tables hot), the x not kept: two secret keys in turn
    ec = _ec()
    pub = ec.pubkey(CLIENT)
    # tables made on its second use, hot from its third (its first took none: _fresh_x)
    for sk in (SK, CLIENT, SK):
        ec.ecdh_x(sk, pub)
    assert pub in ec._hot
    return _cycle(lambda sk: ec.ecdh_x(sk, pub), [SK, CLIENT])


def op_ecdh_again():  # the same peer again (methods.py's nip04/nip44 for a peer)
    ec = _ec()
    pub = ec.pubkey(CLIENT)
    ec.ecdh_x(SK, pub)
    return lambda: ec.ecdh_x(SK, pub)


def op_ecdh_fresh_key():  # a new peer each time (NIP-17 gift wraps: an ephemeral key each)
    ec = _ec()
    pubs = [ec.pubkey(k) for k in _fresh_keys(ec)]
    ec.clear_cache()
    ec.pubkey(SK)
    return _cycle(lambda p: ec.ecdh_x(SK, p), pubs)


def op_native_check():  # the RP2040's known answer at boot (crypto/ecmult_fe.install)
    _ec()
    from crypto import ecmult_fe
    return ecmult_fe._works


def op_inv():  # one field inversion (sign, verify and ECDH each end with one)
    from crypto import ecmult
    xs = [int.from_bytes(bytes([i + 7]) * 32, "big") * 0x1000003D1 % ecmult.P for i in range(8)]
    return _cycle(ecmult.inv, xs)


def op_nip44_1k():
    from crypto import nip44
    key = bytes(range(32))
    text = "x" * 1024
    nonce = bytes(32)
    return lambda: nip44.decrypt(nip44.encrypt(text, key, nonce), key)


def op_request():
    # The crypto of a rule-allowed sign_event request from a known client, in the order the
    # device does it (signer/requests.py): the envelope's id and signature, NIP-44 decrypt,
    # the event signed, the reply encrypted and signed. (JSON and the signer's own
    # bookkeeping are not in here: bench/count.py adds them as a measured constant.)
    from crypto import nip01, nip44
    ec = _ec()
    sk_hex_pub = ec.pubkey(SK)
    cpub = ec.pubkey(CLIENT)
    conv = nip44.conversation_key(SK, cpub)
    now = 1700000000
    tmpl = {"kind": 1, "content": "bench note 1 " + "x" * 200, "tags": [["t", "bench"]],
            "created_at": now}
    req = json.dumps({"id": "0123456789abcdef", "method": "sign_event", "params": [json.dumps(tmpl)]})
    env = nip01.sign({"kind": 24133, "created_at": now, "tags": [["p", sk_hex_pub.hex()]],
                      "content": nip44.encrypt(req, conv, bytes(32))}, CLIENT, AUX)

    def run():
        assert nip01.verify(env)
        rpc = json.loads(nip44.decrypt(env["content"], conv))
        ev = nip01.sign(json.loads(rpc["params"][0]), SK, AUX)
        text = json.dumps({"id": rpc["id"], "result": json.dumps(ev)})
        reply = {"kind": 24133, "created_at": now, "tags": [["p", cpub.hex()]],
                 "pubkey": sk_hex_pub.hex(), "content": nip44.encrypt(text, conv, bytes(32))}
        return nip01.sign_own(reply, SK, AUX)
    run()
    return run


def op_request_device():
    # The same request through the signer's own code, as signer/requests.py on_event and
    # app._reply run it for a rule-allowed sign_event from an admitted client: envelope
    # checks (shape, p tag, age, id, signature, replay ring), decryption, strict UTF-8,
    # JSON-RPC parse, the request id's replay key (its ring written to flash: commit),
    # the template's checks, the rule, signing, the response sealed and signed, and the
    # link's two passes over the publish message into 250-byte frames with their CRC.
    # Not in it: the main loop, the link's receive side, the `done` log line, the screen.
    ec = _ec()  # first: at 128K the 32 KB comb needs the heap's one big block
    from crypto import nip01, nip44
    from signer import envelope, rpc, methods, replay, clients as cl
    import link as linklib
    pub = ec.pubkey(SK).hex()
    client = ec.pubkey(CLIENT).hex()
    conv = nip44.conversation_key(CLIENT, ec.pubkey(SK))
    now = 1700000000
    import os
    root = "build/count_seen"  # the replay ring's file: a new ring each run
    for f in (os.mkdir, lambda r: os.remove(r + "/seen.bin")):
        try:
            f(root)
        except OSError:
            pass
    seen = replay.Seen(root)
    clients = {client: {"name": "bench", "rules": ["sign_event:1"], "last_used": 0}}
    tmpl = json.dumps({"kind": 1, "content": "bench note 1 " + "x" * 200, "tags": [["t", "bench"]],
                       "created_at": now})
    # each run takes a new request (the replay ring refuses one seen): 1 + 1 + 3 x 10,
    # as the host's frames (a Link writes them the same way both ways)
    wires = []
    frames = []
    host = linklib.Link(lambda b: frames.append(bytes(b)), None, 65536, 0, False, 250)
    for i in range(33):
        req = json.dumps({"id": "%016x" % i, "method": "sign_event", "params": [tmpl]})
        env = nip01.sign({"kind": 24133, "created_at": now, "tags": [["p", pub]],
                          "content": nip44.encrypt(req, conv, bytes(32))}, CLIENT, AUX)
        host.send_message({"t": "event", "rid": i, "event": env})
        wires.append(b"".join(frames))
        frames.clear()
    lk = linklib.Link(len, None, 65536, 0, False, 250)  # the port takes every byte
    lk.deferred = True

    def run():
        w = wires.pop()
        lk.feed(w, len(w))
        ev = json.loads(lk.take())["event"]
        fresh = envelope.check(ev, pub, now, 300, 60, seen, clients)
        assert fresh is True
        seen.sync(ev["created_at"], now)
        text, scheme = envelope.open_(SK, ev)
        mv = memoryview(text)
        assert nip01.utf8_strict(mv, len(mv))
        mv = None
        c = ev["pubkey"]
        rid, method, params = rpc.parse(text, None)
        assert seen.add(replay.key((c + rid).encode())) is True
        seen.commit(method)
        rec = clients[c]
        rec["last_used"] = now
        op = methods.prepare(method, params, SK, pub, now)
        assert cl.allows(rec, method, op.get("kind"), op.get("peer"), now)
        result = methods.run(method, op, SK)
        reply = envelope.seal_response(SK, pub, c, rid, result, None, scheme, now)
        lk.send_message({"t": "publish", "rid": 1, "event": reply, "relays": []})
    run()
    return run


def main():
    mode = sys.argv[1]
    names = sys.argv[2:]
    out = {}
    if mode == "count":
        import counters
        run = globals()["op_" + names[0]]()
        run()
        counters.reset()
        run()
        out = dict(counters.C)
    else:
        quick = mode == "timeq"
        for name in names:
            run = globals()["op_" + name]()
            run()
            best = None
            for _ in range(1 if quick else 3):
                gc.collect()
                n = 3 if quick else 10
                t0 = time.ticks_us()
                for _ in range(n):
                    run()
                dt = time.ticks_diff(time.ticks_us(), t0) / n
                best = dt if best is None or dt < best else best
            out[name] = best
            gc.collect()
    print(json.dumps(out))


main()
