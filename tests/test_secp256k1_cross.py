"""crypto.secp256k1 on MicroPython against libsecp256k1 (coincurve) on CPython.

One long-lived micropython process (the `fw` fixture) answers every call, so a few hundred
random keys and messages cost well under a minute.
"""
import os
import random

import coincurve
import pytest
from coincurve._libsecp256k1 import ffi, lib

from mpy import FirmwareError

M = "crypto.secp256k1"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
COUNT = int(os.environ.get("SECP_CROSS_COUNT", "200"))


def cc_sign(sk, msg, aux):
    """libsecp256k1's BIP-340 signature; sign_schnorr only takes 32-byte messages, so
    longer/shorter ones go through schnorrsig_sign_custom (aux is the nonce data)."""
    if len(msg) == 32:
        return coincurve.PrivateKey(sk).sign_schnorr(msg, aux)
    ctx = coincurve.PrivateKey(sk).context.ctx
    kp = ffi.new("secp256k1_keypair *")
    assert lib.secp256k1_keypair_create(ctx, kp, sk)
    ep = ffi.new("secp256k1_schnorrsig_extraparams *")
    ep.magic = [0xDA, 0x6F, 0xB3, 0x8C]
    ep.noncefp = ffi.NULL
    auxb = ffi.new("unsigned char[32]", aux)
    ep.ndata = auxb
    sig = ffi.new("unsigned char[64]")
    assert lib.secp256k1_schnorrsig_sign_custom(ctx, sig, msg, len(msg), kp, ep)
    return bytes(ffi.buffer(sig, 64))


def test_cc_sign_helper_matches_a_bip340_vector():
    sk = bytes.fromhex("03400340" * 8)
    sig = cc_sign(sk, bytes(range(1, 18)), bytes(32))
    assert sig.hex().startswith("5130f39a4059b43b")


def _cases(seed, count=COUNT):
    rnd = random.Random(seed)
    for i in range(count):
        d = rnd.randrange(1, N)
        # a few keys near the edges of the valid range
        if i == 0:
            d = 1
        elif i == 1:
            d = N - 1
        elif i == 2:
            d = N // 2
        sk = d.to_bytes(32, "big")
        msg = rnd.randbytes(rnd.choice((0, 1, 17, 32, 32, 32, 100, 300)))
        aux = rnd.randbytes(32)
        yield sk, msg, aux


def test_sign_pubkey_match_coincurve(fw):
    for sk, msg, aux in _cases(1):
        cc = coincurve.PrivateKey(sk)
        pub = fw.call(M, "pubkey", sk)
        assert pub == cc.public_key_xonly.format()
        ours = fw.call(M, "schnorr_sign", msg, sk, aux)
        theirs = cc_sign(sk, msg, aux)
        assert ours == theirs, sk.hex()
        assert coincurve.PublicKeyXOnly(pub).verify(ours, msg)


def test_sign_repeatedly_with_one_key(fw):
    # the device's case: one key (cached keypair), many messages; and verify with that
    # key once it is hot
    rnd = random.Random(5)
    sk = rnd.randbytes(32)
    pub = coincurve.PrivateKey(sk).public_key_xonly.format()
    for _ in range(60):
        msg = rnd.randbytes(32)
        aux = rnd.randbytes(32)
        sig = fw.call(M, "schnorr_sign", msg, sk, aux)
        assert sig == cc_sign(sk, msg, aux)
        assert fw.call(M, "schnorr_verify", msg, pub, sig) is True
        assert fw.call(M, "schnorr_verify", msg[::-1], pub, sig) is False


def test_verify_coincurve_signatures_and_tampering(fw):
    rnd = random.Random(2)
    for sk, msg, aux in _cases(2):
        cc = coincurve.PrivateKey(sk)
        pub = cc.public_key_xonly.format()
        sig = cc_sign(sk, msg, aux)
        assert fw.call(M, "schnorr_verify", msg, pub, sig) is True
        bad = bytearray(sig)
        bad[rnd.randrange(64)] ^= 1 << rnd.randrange(8)
        bad = bytes(bad)
        assert fw.call(M, "schnorr_verify", msg, pub, bad) is False
        assert not coincurve.PublicKeyXOnly(pub).verify(bad, msg)
        badmsg = msg + b"\x00"
        assert fw.call(M, "schnorr_verify", badmsg, pub, sig) is False
        assert not coincurve.PublicKeyXOnly(pub).verify(sig, badmsg)


def test_ecdh_x_matches_coincurve(fw):
    rnd = random.Random(3)
    for sk, msg, aux in _cases(3):
        other = coincurve.PrivateKey(rnd.randbytes(32))
        pub32 = other.public_key_xonly.format()
        # x-only pub means the even-y point: lift it as 02||x
        shared = coincurve.PublicKey(b"\x02" + pub32).multiply(sk).format(compressed=True)[1:]
        assert fw.call(M, "ecdh_x", sk, pub32) == shared
        if rnd.random() < 0.25:  # again: the key's tables get upgraded, then are cached
            assert fw.call(M, "ecdh_x", sk, pub32) == shared
            assert fw.call(M, "ecdh_x", sk, pub32) == shared
        # the x is the same for the odd-y point too, so it equals ECDH with the full key
        assert shared == other.public_key.multiply(sk).format()[1:]


def test_point_level_matches_coincurve(fw):
    rnd = random.Random(4)
    for _ in range(50):
        a = rnd.randrange(1, N)
        b = rnd.randrange(1, N)
        pa = coincurve.PrivateKey(a.to_bytes(32, "big")).public_key
        pb = coincurve.PrivateKey(b.to_bytes(32, "big")).public_key
        ua = pa.format(compressed=False)
        ours_a = fw.call(M, "base_mul", a)
        assert ours_a == [int.from_bytes(ua[1:33], "big"), int.from_bytes(ua[33:], "big")]
        s = coincurve.PublicKey.combine_keys([pa, pb]).format(compressed=False)
        ours_s = fw.call(M, "point_add", ours_a, fw.call(M, "base_mul", b))
        assert ours_s == [int.from_bytes(s[1:33], "big"), int.from_bytes(s[33:], "big")]
        k = rnd.randrange(1, N)
        m = pa.multiply(k.to_bytes(32, "big")).format(compressed=False)
        assert fw.call(M, "point_mul", ours_a, k) == [int.from_bytes(m[1:33], "big"),
                                                      int.from_bytes(m[33:], "big")]
        # a*G + k*A: the two-term multiply ECDSA verification uses
        want = coincurve.PublicKey.combine_keys([pb, pa.multiply(k.to_bytes(32, "big"))])
        want = want.format(compressed=False)
        assert fw.call(M, "base_mul_add", b, ours_a, k) == [int.from_bytes(want[1:33], "big"),
                                                            int.from_bytes(want[33:], "big")]
        c = pa.format()
        assert fw.call(M, "point_to_bytes", ours_a) == c
        assert fw.call(M, "point_from_bytes", c) == ours_a
        assert fw.call(M, "point_from_bytes", ua) == ours_a


def test_invalid_inputs_raise_valueerror(fw):
    with pytest.raises(FirmwareError) as e:
        fw.call(M, "pubkey", bytes(32))
    assert e.value.type == "ValueError" and e.value.msg.startswith("invalid secret key")
    with pytest.raises(FirmwareError) as e:
        fw.call(M, "ecdh_x", b"\x01" * 32, bytes(32))
    assert e.value.type == "ValueError" and e.value.msg == "invalid public key"


# ---- the precomputed comb table (firmware/crypto/ecmult_table.py) ------------------------

# (module, blocks, teeth, spacing), as in firmware/crypto/ecmult.py: the small comb is the
# fallback where the big one would sit on the heap (not read in place from ROMFS/flash)
COMBS = (("ecmult_table", 1, 8, 32), ("ecmult_table4", 4, 8, 8))


def comb_table(blocks, teeth, spacing):
    """The signed comb for G that crypto.ecmult reads: per block b and 7-bit pattern m,
    sum_{t<7} (+-1 by bit t of m) 2^(base+S*t) G + 2^(base+S*(T-1)) G, base = b*T*S."""
    out = bytearray()
    T, S = teeth, spacing
    for b in range(blocks):
        base = b * T * S
        for m in range(1 << (T - 1)):
            v = 1 << (base + S * (T - 1))
            for t in range(T - 1):
                v += (1 if (m >> t) & 1 else -1) << (base + S * t)
            u = coincurve.PrivateKey((v % N).to_bytes(32, "big")).public_key.format(False)
            out += u[1:]
    return bytes(out)


def comb_table_source(t, blocks, teeth, spacing):
    lines = [
        "# Generated by tests/test_secp256k1_cross.py (comb_table): do not edit.",
        "# Signed comb for G, read by crypto.ecmult: %d block(s) x %d entries x 64 bytes (x || y,"
        % (blocks, 1 << (teeth - 1)),
        "# big-endian); entry (b, m) = sum_{t<%d} (+-1 by bit t of m) 2^(%db+%dt) G + 2^(%db+%d) G."
        % (teeth - 1, teeth * spacing, spacing, teeth * spacing, spacing * (teeth - 1)),
        "# One bytes object (adjacent literals, joined by the compiler): read in place from",
        "# ROMFS/flash, it is one small header on the heap.",
        "COMB = (",
    ]
    for c in range(0, len(t), 1024):
        lines.append("    " + repr(t[c:c + 1024]))
    lines.append(")")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name,blocks,teeth,spacing", COMBS)
def test_comb_table_is_generated(name, blocks, teeth, spacing):
    """Regenerate with: SECP_REGEN=1 .venv/bin/python -m pytest tests/test_secp256k1_cross.py -k comb"""
    import mpy
    path = os.path.join(mpy.FIRMWARE, "crypto", name + ".py")
    src = comb_table_source(comb_table(blocks, teeth, spacing), blocks, teeth, spacing)
    if os.environ.get("SECP_REGEN"):
        with open(path, "w") as f:
            f.write(src)
    with open(path) as f:
        assert f.read() == src


def test_ecdh_and_pubkey_valid_with_a_new_key_take_only_xs_on_the_curve(fw):
    # a new peer's ECDH runs with no square root (secp256k1._fresh_x: on an isomorphic
    # curve); an x whose x^3 + 7 is not a square lies on the twist, where the multiply
    # would leak the secret key modulo the twist's small factors: it must be refused
    rnd = random.Random(5)
    sk = rnd.randbytes(32)
    on = off = 0
    for i in range(60):
        x = rnd.randbytes(32) if i else (P_FIELD - 1).to_bytes(32, "big")
        try:
            want = coincurve.PublicKey(b"\x02" + x).multiply(sk).format()[1:]
        except ValueError:
            want = None
        assert fw.call(M, "pubkey_valid", x) is (want is not None)  # Jacobi symbol, no root
        if want is None:
            off += 1
            with pytest.raises(FirmwareError) as e:
                fw.call(M, "ecdh_x", sk, x)
            assert e.value.msg == "invalid public key"
        else:
            on += 1
            assert fw.call(M, "ecdh_x", sk, x) == want
    assert on > 10 and off > 10
    for x in (P_FIELD.to_bytes(32, "big"), b"\xff" * 32):  # not below p: not a coordinate
        with pytest.raises(FirmwareError) as e:
            fw.call(M, "ecdh_x", sk, x)
        assert e.value.msg == "invalid public key"
        assert fw.call(M, "pubkey_valid", x) is False


P_FIELD = 2**256 - 2**32 - 977
