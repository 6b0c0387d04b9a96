# Micro-benchmark of crypto.secp256k1 against embit's pure-Python util/key.py, both on the
# same micropython binary in the same run. Run from the repo root:
#   MICROPYPATH=firmware:.venv/mpylib/embit/util .venv/bin/micropython -X heapsize=128K \
#       bench/secp256k1_mpy.py [time [OP ...] | fit OP | profile]
# time: best-of-5 mean per op, in microseconds, plus the ratio to embit.
# fit OP KB: set up OP, leave only KB free, run it: exit 0 if it fit (bisect KB on it).
# profile: time the pieces of a verify and a sign.
import sys
import gc
import time

MSG = bytes(range(32))
SK = bytes.fromhex("b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef")
SK2 = bytes([99]) * 32
AUX = bytes(32)
KEYS = [bytes([i + 1]) * 32 for i in range(24)]


def _ec():
    from crypto import secp256k1 as ec
    return ec


def _cycle(f, items):
    st = [0]

    def run():
        st[0] = (st[0] + 1) % len(items)
        return f(items[st[0]])
    return run


# each op: a setup returning the callable to time
def sign():  # the device's own key: keypair cached
    ec = _ec()
    ec.pubkey(SK)
    return lambda: ec.schnorr_sign(MSG, SK, AUX)


def sign_cold():  # a different key every time: pays d*G as well
    ec = _ec()
    return _cycle(lambda k: ec.schnorr_sign(MSG, k, AUX), KEYS)


def _sigs(ec, keys):
    return [(ec.pubkey(k), ec.schnorr_sign(MSG, k, AUX)) for k in keys]


def verify():  # a known client: lifted key + tables cached
    ec = _ec()
    pub, sig = _sigs(ec, KEYS[:1])[0]
    return lambda: ec.schnorr_verify(MSG, pub, sig)


def verify_cold():  # more distinct keys than the cache holds: lift_x + tables every time
    ec = _ec()
    sigs = _sigs(ec, KEYS[8:8 + ec.NEW_KEYS + 3])  # keys no other op uses
    return _cycle(lambda ps: ec.schnorr_verify(MSG, ps[0], ps[1]), sigs)


def ecdh():
    ec = _ec()
    pub = ec.pubkey(SK2)
    return lambda: ec.ecdh_x(SK, pub)


def ecdh_cold():
    ec = _ec()
    pubs = [ec.pubkey(k) for k in KEYS[16:16 + ec.NEW_KEYS + 3]]  # keys no other op uses
    return _cycle(lambda p: ec.ecdh_x(SK, p), pubs)


def pubkey():  # a fresh key each time (a cached one would be free)
    ec = _ec()
    return _cycle(ec.pubkey, KEYS)


def imported():  # for fit: the heap the module itself needs
    _ec()
    return lambda: None


def _embit():
    try:
        import hmac  # noqa: F401  (key.py imports it at the top; Schnorr never uses it)
    except ImportError:
        class _Stub:
            pass
        sys.modules["hmac"] = _Stub()
    import key
    return key


def embit_sign():
    key = _embit()
    return lambda: key.sign_schnorr(SK, MSG, AUX)


def embit_verify():
    key = _embit()
    pub = key.compute_xonly_pubkey(SK)[0]
    sig = key.sign_schnorr(SK, MSG, AUX)
    return lambda: key.verify_schnorr(pub, sig, MSG)


def embit_ecdh():
    key = _embit()
    C = key.SECP256K1
    pt = C.lift_x(int.from_bytes(key.compute_xonly_pubkey(SK2)[0], "big"))
    d = int.from_bytes(SK, "big")
    return lambda: C.affine(C.mul([(pt, d)]))[0].to_bytes(32, "big")


def embit_pubkey():
    key = _embit()
    return _cycle(lambda k: key.compute_xonly_pubkey(k)[0], KEYS)


OPS = ["sign", "sign_cold", "verify", "verify_cold", "ecdh", "ecdh_cold", "pubkey",
       "embit_sign", "embit_verify", "embit_ecdh", "embit_pubkey"]
VS = {"sign": "embit_sign", "sign_cold": "embit_sign", "verify": "embit_verify",
      "verify_cold": "embit_verify", "ecdh": "embit_ecdh", "ecdh_cold": "embit_ecdh",
      "pubkey": "embit_pubkey"}


def _batch(f, n):
    gc.collect()
    t0 = time.ticks_us()
    for _ in range(n):
        f()
    return time.ticks_diff(time.ticks_us(), t0) / n


def _best(names, rounds):
    fns = [(name, globals()[name]()) for name in names]
    res = {}
    for _ in range(rounds):  # interleaved rounds, best batch per op: the machine has slow spells
        for name, f in fns:
            f()
            dt = _batch(f, 2 if name.startswith("embit") else 10)
            if name not in res or dt < res[name]:
                res[name] = dt
    return res


def main_time(names, rounds=5):
    # embit's key.py, then ours, each with the heap to itself as far as possible: the GC's
    # cost grows with what else is live, and both together leave little room (see README).
    names = names or OPS
    res = _best([n for n in names if n.startswith("embit")], rounds)
    sys.modules.pop("key", None)
    res.update(_best([n for n in names if not n.startswith("embit")], rounds))
    for name in names:
        line = "%-14s %9.0f us" % (name, res[name])
        ref = VS.get(name)
        if ref in res:
            line += "   %.3fx embit" % (res[name] / res[ref])
        print(line)


def main_fit(name, free_kb):
    # Set OP up, fill the heap with 512-byte ballast until only free_kb KB are free, then
    # run OP three times: exit 0 if it fit. Bisect free_kb for the heap an op needs on top
    # of what is already live (module, tables, caches).
    f = globals()[name]()
    f()
    f()  # a known key is on its upgraded tables from the second use on
    ballast = []
    gc.collect()
    for size in (512, 128, 32):  # smaller pieces once the big holes are gone
        try:
            while gc.mem_free() > free_kb * 1024 + size:
                ballast.append(bytearray(size))
        except MemoryError:
            pass
    gc.collect()
    free = gc.mem_free()
    for _ in range(3):
        f()
    print("fit", name, free_kb, "ok; free before:", free)


def _t(label, f, n=10):
    best = None
    for _ in range(15):
        gc.collect()
        t0 = time.ticks_us()
        for _ in range(n):
            f()
        dt = time.ticks_diff(time.ticks_us(), t0) / n
        best = dt if best is None or dt < best else best
    print("%-28s %8.1f us" % (label, best))


def main_profile():
    ec = _ec()
    from crypto import ecmult as em
    pub = ec.pubkey(SK)
    sig = ec.schnorr_sign(MSG, SK, AUX)
    ec._pub_tables(pub)
    tb = ec._pub_tables(pub)  # second use: the 4-base tables
    s = int.from_bytes(sig[32:], "big")
    e = 0x1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF
    _t("verify (warm)", lambda: ec.schnorr_verify(MSG, pub, sig))
    _t("  mul_add s*G + e*P", lambda: em.mul_add(s, e, tb))
    _t("  lift_x (cold only)", lambda: ec.lift_x(int.from_bytes(pub, "big")))
    pt = ec.lift_x(int.from_bytes(pub, "big"))
    _t("  tables (cold only)", lambda: em.tables(pt))
    _t("  inv", lambda: em.inv(e))
    _t("  glv_split", lambda: em.glv_split(e))
    k1, k2 = em.glv_split(e)
    _t("  wnaf_sched x2", lambda: (em.wnaf_sched(k1, tb, [None] * 130),
                                   em.wnaf_sched(k2, tb, [None] * 130, True)))
    _t("  comb_sched", lambda: em.comb_sched(s, [None] * 40, em.comb()))
    sched = [None] * em._sched_len(tb)
    em.wnaf_sched(k1, tb, sched)
    em.wnaf_sched(k2, tb, sched, True)
    em.comb_sched(s, sched)
    print("    additions:", sum(len(a) for a in sched if a))
    _t("  run (dbl/add loop)", lambda: em.run(sched, em.COMB + tb))
    _t("  challenge hash", lambda: ec._thash(ec._TAG_CHAL, sig[:32], pub, MSG))
    _t("sign (warm)", lambda: ec.schnorr_sign(MSG, SK, AUX))
    _t("  base_mul", lambda: em.base_mul(e))
    sched = [None] * em.COMB_SPACING
    em.comb_sched(e, sched)
    _t("  comb run", lambda: em.run(sched, em.COMB))
    _t("  to_affine", lambda: em.to_affine(*em.G, 5))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "time"
    if mode == "fit":
        main_fit(sys.argv[2], int(sys.argv[3]))
    elif mode == "profile":
        main_profile()
    else:
        main_time(sys.argv[2:])
