# Benchmarks run ON MicroPython (unix port), driven by bench/run.py.
#   micropython bench_mpy.py time OP...    -> one JSON line: {op: microseconds per call}
#   micropython bench_mpy.py alloc OP...   -> one JSON line: {op: bytes allocated per call}
#   micropython bench_mpy.py once OPNAME   -> runs one operation once (exit 0 if it fits the heap)
# Each op is (setup, run): setup builds inputs outside the measured part.
import sys
import gc
import time
import json

MSG = bytes(range(32))
SK = bytes.fromhex("b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef")
AUX = bytes(32)


def our_sign():
    from crypto import secp256k1 as ec
    ec.pubkey(SK)
    return lambda: ec.schnorr_sign(MSG, SK, AUX)


def our_sign_fresh_key():
    # a different key each time: no cached keypair, the cost of the first signature with a key
    from crypto import secp256k1 as ec
    keys = [bytes([i + 1]) * 32 for i in range(40)]
    state = [0]

    def run():
        state[0] = (state[0] + 1) % len(keys)
        return ec.schnorr_sign(MSG, keys[state[0]], AUX)
    return run


def our_verify():
    from crypto import secp256k1 as ec
    pub = ec.pubkey(SK)
    sig = ec.schnorr_sign(MSG, SK, AUX)
    return lambda: ec.schnorr_verify(MSG, pub, sig)


def our_verify_fresh_key():
    # a different signer each time (40 keys round-robin, more than the key caches hold):
    # the cost of the first request from a client the device hasn't seen lately
    from crypto import secp256k1 as ec
    keys = [bytes([i + 1]) * 32 for i in range(40)]
    cases = [(ec.pubkey(k), ec.schnorr_sign(MSG, k, AUX)) for k in keys]
    ec.clear_cache()
    state = [0]

    def run():
        state[0] = (state[0] + 1) % len(cases)
        pub, sig = cases[state[0]]
        return ec.schnorr_verify(MSG, pub, sig)
    return run


def our_pubkey():
    from crypto import secp256k1 as ec
    keys = [bytes([i + 1]) * 32 for i in range(40)]
    state = [0]

    def run():
        state[0] = (state[0] + 1) % len(keys)
        return ec.pubkey(keys[state[0]])
    return run


def our_ecdh():
    from crypto import secp256k1 as ec
    pub = ec.pubkey(bytes([7]) * 32)
    return lambda: ec.ecdh_x(SK, pub)


def our_nip44_1k():
    from crypto import nip44
    key = bytes(range(32))
    text = "x" * 1024
    nonce = bytes(32)
    return lambda: nip44.decrypt(nip44.encrypt(text, key, nonce), key)


def our_nip01_id_16k():
    from crypto import nip01
    ev = {"pubkey": "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
          "created_at": 1700000000, "kind": 1,
          "tags": [["p", "a" * 64], ["e", "b" * 64, "wss://relay.example"]],
          "content": ("héllo \"world\"\n\u2028 " * 800)[:16384]}
    return lambda: nip01.event_id(ev)


def our_nip06_key():
    # mnemonic -> NIP-06 key: wordlist check, PBKDF2-HMAC-SHA512 x 2048, BIP-32 (embit)
    from keystore import nip06
    m = "leader monkey parrot ring guide accident before fence cannon height naive bean"
    return lambda: nip06.mnemonic_to_key(m)


def _embit_key():
    import key  # embit/util/key.py, the pure-Python fallback (on the path from bench/run.py)
    return key


def embit_sign():
    key = _embit_key()
    return lambda: key.sign_schnorr(SK, MSG, AUX)


def embit_verify():
    key = _embit_key()
    pub = key.compute_xonly_pubkey(SK)[0]
    sig = key.sign_schnorr(SK, MSG, AUX)
    return lambda: key.verify_schnorr(pub, sig, MSG)


def embit_pubkey():
    key = _embit_key()
    return lambda: key.compute_xonly_pubkey(SK)


def embit_ecdh():
    key = _embit_key()
    c = key.SECP256K1
    pub = c.affine(c.mul([(key.SECP256K1_G, 7)]))
    d = int.from_bytes(SK, "big")
    return lambda: c.affine(c.mul([(pub, d)]))[0]


OPS = {
    "sign": our_sign, "sign_fresh_key": our_sign_fresh_key, "verify": our_verify, "verify_fresh_key": our_verify_fresh_key,
    "pubkey": our_pubkey, "ecdh": our_ecdh, "nip44_1k": our_nip44_1k,
    "nip01_id_16k": our_nip01_id_16k, "nip06_key": our_nip06_key,
    "embit_sign": embit_sign, "embit_verify": embit_verify, "embit_pubkey": embit_pubkey,
    "embit_ecdh": embit_ecdh,
}


# done once per device set-up, not per request: timed cold, one call
ONE_SHOT = ("nip06_key",)


def measure(run, min_us=400000, min_n=5, one_shot=False):
    if one_shot:
        t0 = time.ticks_us()
        run()
        return time.ticks_diff(time.ticks_us(), t0)
    run()  # warm caches the way a device would after its first request
    n = 0
    t0 = time.ticks_us()
    while True:
        run()
        n += 1
        dt = time.ticks_diff(time.ticks_us(), t0)
        if n >= min_n and dt >= min_us:
            return dt / n


def allocated(run):
    # bytes allocated by one call with the collector off (garbage included): what the
    # collector has to clean up after each call. Run with a big heap (bench/run.py does).
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    try:
        run()
        return gc.mem_alloc() - a0
    finally:
        gc.enable()


def main():
    mode = sys.argv[1]
    names = sys.argv[2:] or list(OPS)
    if mode == "once":
        OPS[names[0]]()()
        return
    out = {}
    for name in names:
        try:
            run = OPS[name]()
            if mode == "time":
                out[name] = measure(run, one_shot=name in ONE_SHOT)
            else:
                out[name] = allocated(run)
        except Exception as e:
            out[name] = "%s: %s" % (type(e).__name__, e)
        gc.collect()
    print(json.dumps(out))


main()
