# crypto.secp256k1 on MicroPython: the BIP-340 vectors, key validation edges, and
# schnorr_verify's promise never to raise.
import os
import gc
from binascii import unhexlify

from crypto import secp256k1 as ec


def _vectors():
    with open(os.getenv("VECTORS") + "/bip340-test-vectors.csv") as f:
        lines = f.read().splitlines()
    for line in lines[1:]:
        if line.strip():
            c = line.split(",")
            yield int(c[0]), [unhexlify(x) for x in c[1:6]], c[6] == "TRUE", c[7]


def test_bip340_vectors_count():
    assert len(list(_vectors())) == 19


def test_bip340_sign_vectors():
    n = 0
    for i, (sk, pub, aux, msg, sig), ok, comment in _vectors():
        if not sk:
            continue
        assert ec.pubkey(sk) == pub, i
        assert ec.schnorr_sign(msg, sk, aux) == sig, i
        n += 1
    assert n >= 5


def test_bip340_verify_vectors():
    for i, (sk, pub, aux, msg, sig), ok, comment in _vectors():
        assert ec.schnorr_verify(msg, pub, sig) is ok, (i, comment)


def test_verify_after_sign_roundtrip_and_tamper():
    sk = bytes(range(1, 33))
    pub = ec.pubkey(sk)
    for m in (b"", b"x", b"hello nostr" * 10):
        sig = ec.schnorr_sign(m, sk)
        assert ec.schnorr_verify(m, pub, sig)
        assert not ec.schnorr_verify(m + b"!", pub, sig)
        bad = bytearray(sig)
        bad[63] ^= 1
        assert not ec.schnorr_verify(m, pub, bytes(bad))
        bad = bytearray(sig)
        bad[0] ^= 1
        assert not ec.schnorr_verify(m, pub, bytes(bad))


def test_sign_uses_rng_when_no_aux():
    sk = bytes(range(1, 33))
    msg = b"rng"
    try:
        ec.set_rng(lambda n: b"\x07" * n)
        a = ec.schnorr_sign(msg, sk)
        assert a == ec.schnorr_sign(msg, sk, b"\x07" * 32)
    finally:
        ec.set_rng(os.urandom)
    assert ec.schnorr_sign(msg, sk) != a  # fresh randomness


def test_sign_rejects_bad_msg_and_aux():
    sk = bytes(range(1, 33))
    for msg, aux in (("text", bytes(32)), (None, bytes(32)), (b"m", bytes(31)),
                     (b"m", "a" * 32), (b"m", 5)):
        try:
            ec.schnorr_sign(msg, sk, aux)
            assert False, (msg, aux)
        except ValueError as e:
            assert str(e).startswith("invalid")
    # bytes-like inputs are fine
    sig = ec.schnorr_sign(bytearray(b"m"), bytearray(sk), bytearray(32))
    assert sig == ec.schnorr_sign(b"m", sk, bytes(32))
    assert ec.schnorr_verify(memoryview(b"m"), memoryview(ec.pubkey(sk)), memoryview(sig))


def test_seckey_edges():
    N = ec.N
    assert not ec.seckey_valid(bytes(32))
    assert not ec.seckey_valid(N.to_bytes(32, "big"))
    assert not ec.seckey_valid(b"\xff" * 32)
    assert ec.seckey_valid((N - 1).to_bytes(32, "big"))
    assert ec.seckey_valid((1).to_bytes(32, "big"))
    assert not ec.seckey_valid(b"\x01" * 31)
    assert not ec.seckey_valid(b"\x01" * 33)
    assert not ec.seckey_valid(None)
    assert not ec.seckey_valid("a" * 32)
    # N-1 is -1: its pubkey is G's x
    assert ec.pubkey((N - 1).to_bytes(32, "big")) == ec.G[0].to_bytes(32, "big")
    assert ec.pubkey((1).to_bytes(32, "big")) == ec.G[0].to_bytes(32, "big")
    for bad in (bytes(32), N.to_bytes(32, "big"), b"\x01" * 31, b"\x01" * 33):
        try:
            ec.pubkey(bad)
            assert False, "accepted a bad key"
        except ValueError as e:
            assert str(e).startswith("invalid secret key")
        try:
            ec.schnorr_sign(b"m", bad, bytes(32))
            assert False, "signed with a bad key"
        except ValueError as e:
            assert str(e).startswith("invalid")


def test_pubkey_valid():
    assert ec.pubkey_valid(ec.G[0].to_bytes(32, "big"))
    assert not ec.pubkey_valid(bytes(32))           # x=0: 7 is not a square mod p
    assert not ec.pubkey_valid((5).to_bytes(32, "big"))  # 5^3+7=132 is not a square
    assert not ec.pubkey_valid(ec.P.to_bytes(32, "big"))  # >= p
    assert not ec.pubkey_valid(b"\xff" * 32)
    assert not ec.pubkey_valid(b"\x02" * 31)
    assert not ec.pubkey_valid(None)
    assert not ec.pubkey_valid("x" * 32)


def test_verify_never_raises():
    sk = bytes(range(1, 33))
    pub = ec.pubkey(sk)
    sig = ec.schnorr_sign(b"m", sk, bytes(32))
    cases = [
        (b"m", pub, sig[:63]), (b"m", pub, sig + b"\x00"), (b"m", pub, b""),
        (b"m", pub, None), (b"m", pub, 5), (b"m", pub, "x" * 64),
        (b"m", pub[:31], sig), (b"m", None, sig), (b"m", 7, sig), (b"m", "x" * 32, sig),
        (None, pub, sig), (5, pub, sig), ("m", pub, sig),
        (b"m", pub, b"\xff" * 64), (b"m", b"\xff" * 32, sig), (b"m", bytes(32), sig),
        (b"m", pub, bytes(64)), ([1], [2], [3]),
    ]
    for c in cases:
        assert ec.schnorr_verify(*c) is False, c
    assert ec.schnorr_verify(b"m", bytearray(pub), bytearray(sig)) is True


def test_ecdh_symmetric_and_errors():
    a = bytes(range(1, 33))
    b = bytes(range(2, 34))
    ab = ec.ecdh_x(a, ec.pubkey(b))
    assert ab == ec.ecdh_x(b, ec.pubkey(a))
    assert len(ab) == 32
    for pub in (bytes(32), b"\x01" * 31, None, ec.P.to_bytes(32, "big")):
        try:
            ec.ecdh_x(a, pub)
            assert False
        except ValueError as e:
            assert str(e) == "invalid public key"
    try:
        ec.ecdh_x(bytes(32), ec.pubkey(b))
        assert False
    except ValueError as e:
        assert str(e) == "invalid secret key"


def test_point_level():
    G, N, P = ec.G, ec.N, ec.P
    assert ec.base_mul(1) == G
    assert ec.base_mul(N) is None
    assert ec.base_mul(0) is None
    G2 = ec.point_add(G, G)
    assert G2 == ec.base_mul(2) == ec.point_mul(G, 2)
    assert ec.point_add(G, (G[0], P - G[1])) is None
    assert ec.point_add(None, G) == G and ec.point_add(G, None) == G
    assert ec.point_mul(None, 5) is None
    assert ec.point_add(G2, G) == ec.base_mul(3)
    assert ec.base_mul(N - 1) == (G[0], P - G[1])
    k = 0x1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF
    assert ec.point_mul(ec.point_mul(G, k), 5) == ec.base_mul(5 * k % N)
    p = ec.lift_x(G[0])
    assert p[0] == G[0] and p[1] % 2 == 0
    assert ec.lift_x(0) is None and ec.lift_x(P) is None


def test_sec_encodings():
    G, P = ec.G, ec.P
    c = ec.point_to_bytes(G)
    u = ec.point_to_bytes(G, False)
    assert c[0] == 2 and len(c) == 33 and len(u) == 65 and u[0] == 4
    assert ec.point_from_bytes(c) == G and ec.point_from_bytes(u) == G
    ng = (G[0], P - G[1])
    assert ec.point_from_bytes(ec.point_to_bytes(ng)) == ng
    bads = [b"", b"\x02" + bytes(32), b"\x05" + c[1:], c[:32], u[:64],
            b"\x04" + u[1:33] + (G[1] ^ 1).to_bytes(32, "big"), None]
    for b in bads:
        try:
            ec.point_from_bytes(b)
            assert False, b
        except ValueError as e:
            assert str(e).startswith("invalid")


# ---- crypto.ecmult internals against a slow textbook double-and-add -----------------------

def _ref_mul(pt, k):
    r = None
    for i in range(255, -1, -1):
        if r is not None:
            r = ec.point_add(r, r)
        if (k >> i) & 1:
            r = ec.point_add(r, pt)
    return r


_SCALARS = [1, 2, 3, 15, 16, 17, 0xFFFF, 1 << 127, (1 << 128) - 1, 1 << 128, 1 << 255,
            0x5363AD4CC05C30E0A5261C028812645A122E22EA20816678DF02967C1B23BD72,
            0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140,
            0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD036413F,
            0x1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF]


def test_ecmult_glv_and_wnaf():
    from crypto import ecmult as em
    N = em.N
    for k in _SCALARS:
        k1, k2 = em.glv_split(k % N)
        assert (k1 + k2 * em.LAMBDA - k) % N == 0
        assert abs(k1) < 1 << 128 and abs(k2) < 1 << 128
        v = 0
        for i, d in em.wnaf(abs(k1)):
            assert d & 1 and -16 < d < 16
            v += d << i
        assert v == abs(k1)
    # lambda * G == (beta * Gx, Gy)
    assert em.to_affine(*em.point_mul(em.tables(ec.G), em.LAMBDA)) == \
        (em.BETA * ec.G[0] % ec.P, ec.G[1])


def test_ecmult_matches_reference():
    from crypto import ecmult as em
    q = _ref_mul(ec.G, 0xC0FFEE)
    tq = em.tables(q)
    for k in _SCALARS:
        rg = _ref_mul(ec.G, k)
        rq = _ref_mul(q, k)
        assert ec.base_mul(k) == rg, k
        assert ec.point_mul(q, k) == rq, k
        assert em.to_affine(*em.mul_add(k, 3 * k + 1, tq)) == \
            ec.point_add(rg, _ref_mul(q, (3 * k + 1) % ec.N)), k
        assert ec.base_mul_add(k, q, 3 * k + 1) == \
            ec.point_add(rg, _ref_mul(q, (3 * k + 1) % ec.N)), k
    assert ec.base_mul_add(7, None, 5) == ec.base_mul(7)
    assert ec.base_mul_add(0, q, 1) == q
    # sums that pass through infinity or a doubling inside the loops
    assert em.to_affine(*em.mul_add(5, em.N - 5, em.tables(ec.G))) is None
    assert em.to_affine(*em.mul_add(5, 5, em.tables(ec.G))) == ec.base_mul(10)
    assert em.to_affine(*em.mul_add(0, 0, tq)) is None


def test_pub_cache_upgrade_and_eviction():
    from crypto import ecmult as em
    ec.clear_cache()
    keys = [bytes([i + 1]) * 32 for i in range(ec.HOT_KEYS + ec.NEW_KEYS + 2)]
    pubs = [ec.pubkey(k) for k in keys]
    sigs = [ec.schnorr_sign(b"c", k, bytes(32)) for k in keys]
    # two clients: 1st use -> new (1-base), 2nd -> hot (BASES), then cached
    for rnd in range(3):
        for p, s in zip(pubs[:2], sigs[:2]):
            assert ec.schnorr_verify(b"c", p, s)
            assert not ec.schnorr_verify(b"d", p, s)
    assert sorted(ec._hot) == sorted(pubs[:2]) and not ec._new
    assert all(len(t) == ec.HOT_BASES for t in ec._hot.values())
    # a stream of one-off keys passes through the new cache and leaves the clients hot
    for p, s in zip(pubs[2:], sigs[2:]):
        assert ec.schnorr_verify(b"c", p, s)
    assert sorted(ec._hot) == sorted(pubs[:2])
    assert len(ec._new) == ec.NEW_KEYS and all(len(t) == 1 for t in ec._new.values())
    # more hot keys than HOT_KEYS: least recently used goes
    for p, s in zip(pubs, sigs):
        assert ec.schnorr_verify(b"c", p, s)
        assert ec.schnorr_verify(b"c", p, s)
    assert len(ec._hot) == ec.HOT_KEYS and pubs[-1] in ec._hot and pubs[0] not in ec._hot
    # ECDH through the same caches, cold and warm, against the reference multiply
    for p in pubs[:2] * 3:
        want = _ref_mul(ec.lift_x(int.from_bytes(p, "big")), int.from_bytes(keys[0], "big"))
        assert ec.ecdh_x(keys[0], p) == want[0].to_bytes(32, "big")
    ec.clear_cache()
    assert not ec._hot and not ec._new


def test_heap_per_op_fits():
    gc.collect()
    before = gc.mem_alloc()
    sk = bytes(range(1, 33))
    pub = ec.pubkey(sk)
    sig = ec.schnorr_sign(b"heap", sk, bytes(32))
    assert ec.schnorr_verify(b"heap", pub, sig)
    ec.ecdh_x(sk, pub)
    gc.collect()
    assert gc.mem_alloc() - before < 8 * 1024


def test_shared_x_of_recent_peers_is_kept_for_the_key():
    # methods.py's nip04/nip44 for a peer ask for the same ECDH request after request:
    # the shared x is kept (RAM only, bounded, tied to the secret key, wiped by clear_cache)
    from crypto import ecmult as em
    ec.clear_cache()
    a, b = bytes([7]) * 32, bytes([8]) * 32
    peers = [ec.pubkey(bytes([i + 20]) * 32) for i in range(8 + 2)]

    def ref(sk, p):
        return _ref_mul(ec.lift_x(int.from_bytes(p, "big")), int.from_bytes(sk, "big"))[0].to_bytes(32, "big")
    want = ref(a, peers[0])
    assert ec.ecdh_x(a, peers[0]) == want
    calls = [0]
    real = em.point_mul

    def counting(*args):
        calls[0] += 1
        return real(*args)
    em.point_mul = counting
    try:
        assert ec.ecdh_x(a, peers[0]) == want
        assert ec.ecdh_x(bytearray(a), memoryview(peers[0])) == want
        assert calls[0] == 0
        # another secret key: computed, and right
        assert ec.ecdh_x(b, peers[0]) == ref(b, peers[0])
        assert calls[0] == 1
        # bounded, least recently used goes
        for p in peers:
            ec.ecdh_x(b, p)
        assert len(ec._ecdh[1]) == 8
        n = calls[0]
        ec.ecdh_x(b, peers[-1])
        assert calls[0] == n
        ec.ecdh_x(b, peers[0])
        assert calls[0] == n + 1
        # bad inputs are still refused
        for sk, pub in ((bytes(32), peers[-1]), (b, bytes(32)), (b, peers[-1][:31])):
            try:
                ec.ecdh_x(sk, pub)
                assert False, (sk, pub)
            except ValueError:
                pass
    finally:
        em.point_mul = real
    ec.clear_cache()
    assert not ec._ecdh[1] and ec._ecdh[0] is None


def test_key_caches_are_sized_from_the_heap():
    # a 128 KB simulator (~55 KB free once up) as before; an RP2040 with ROMFS (~175 KB)
    # ten clients hot
    try:
        assert ec.size_caches(55 * 1024) == 2 and (ec.NEW_KEYS, ec.ECDH_PEERS) == (2, 8)
        assert ec.HOT_BASES == 4
        assert ec.size_caches(175 * 1024) == 10 and (ec.NEW_KEYS, ec.ECDH_PEERS) == (10, 32)
        assert ec.HOT_BASES == 8  # a verify's loop 17 doublings, not 33
        # a filesystem install (~122 KB free): ten hot keys before bigger tables
        assert ec.size_caches(122 * 1024) == 10 and ec.HOT_BASES == 4
        assert ec.size_caches(0) == 2 and ec.HOT_BASES == 4
    finally:
        ec.size_caches(0)


def test_a_displaced_hot_key_keeps_its_1_base_table():
    ec.clear_cache()
    keys = [bytes([i + 40]) * 32 for i in range(ec.HOT_KEYS + 1)]
    pubs = [ec.pubkey(k) for k in keys]
    sigs = [ec.schnorr_sign(b"u", k, bytes(32)) for k in keys]
    for p, s in zip(pubs, sigs):
        assert ec.schnorr_verify(b"u", p, s) and ec.schnorr_verify(b"u", p, s)
    assert pubs[0] not in ec._hot and len(ec._new[pubs[0]]) == 1
    assert ec.schnorr_verify(b"u", pubs[0], sigs[0]) and not ec.schnorr_verify(b"v", pubs[0], sigs[0])
    ec.clear_cache()
