"""firmware/lib/secp256k1.py (embit's `secp256k1` on MicroPython) against the real thing.

Reference: embit on CPython, whose embit.util.secp256k1 is ctypes over the
libsecp256k1 embit bundles, i.e. the same C library, data layouts and semantics as
specter's MicroPython C module. Every function embit calls must give the same bytes
(64-byte little-endian internal pubkeys and signatures included), and BIP-32
derivations through embit on MicroPython must equal embit on CPython.
"""
import random

import pytest
from embit import bip32, ec
from embit.util import secp256k1 as C

import mpy

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
S = "secp256k1"  # the module name embit imports; on MicroPython it is the shim

assert C.ec_pubkey_create.__module__.endswith("ctypes_secp256k1"), "need the libsecp256k1 reference"


@pytest.fixture(scope="module")
def fw_embit():
    # embit's own modules, compiled from source on the 64-bit unix port (bip32 + ec +
    # base58 + py_ripemd160 ...), do not fit next to the curve code in 128 KB; on the
    # device they are frozen into flash. The shim itself is tested at 128 KB (`fw`).
    with mpy.Firmware(heap="256K") as f:
        yield f


@pytest.fixture(scope="module")
def rng():
    return random.Random(0x5EC9)


def keys(rng, n):
    out = [(1).to_bytes(32, "big"), (N - 1).to_bytes(32, "big")]
    while len(out) < n:
        out.append(rng.randbytes(32))
    return out


def test_constants(fw):
    assert fw.call("embit_rpc", "constants") == [C.EC_COMPRESSED, C.EC_UNCOMPRESSED]
    pub = C.ec_pubkey_create(b"\x07" * 32)
    for flag in (C.EC_COMPRESSED, C.EC_UNCOMPRESSED):
        assert fw.call(S, "ec_pubkey_serialize", pub, flag) == C.ec_pubkey_serialize(pub, flag)
    with pytest.raises(mpy.FirmwareError):
        fw.call(S, "ec_pubkey_serialize", pub, 1)


def test_keys_and_encodings(fw, rng):
    for sk in keys(rng, 25):
        pub = C.ec_pubkey_create(sk)
        assert fw.call(S, "ec_pubkey_create", sk) == pub
        assert fw.call(S, "ec_seckey_verify", sk) is True
        for flag in (C.EC_COMPRESSED, C.EC_UNCOMPRESSED):
            sec = C.ec_pubkey_serialize(pub, flag)
            assert fw.call(S, "ec_pubkey_serialize", pub, flag) == sec
            assert fw.call(S, "ec_pubkey_parse", sec) == pub
        assert fw.call(S, "ec_pubkey_serialize", pub) == C.ec_pubkey_serialize(pub)
        assert fw.call(S, "xonly_pubkey_from_pubkey", pub) == list(C.xonly_pubkey_from_pubkey(pub))
        assert fw.call(S, "keypair_create", sk) == C.keypair_create(sk)
        assert fw.call(S, "ec_privkey_negate", sk) == C.ec_privkey_negate(sk)
        assert fw.call(S, "ec_pubkey_negate", pub) == C.ec_pubkey_negate(pub)


def test_invalid_keys_rejected(fw):
    for bad in (bytes(32), N.to_bytes(32, "big"), b"\xff" * 32):
        assert fw.call(S, "ec_seckey_verify", bad) is False
        assert C.ec_seckey_verify(bad) is False
        with pytest.raises(mpy.FirmwareError) as e:
            fw.call(S, "ec_pubkey_create", bad)
        assert e.value.type == "ValueError"
    for bad in (b"\x02" + b"\xff" * 32, b"\x05" + bytes(32), b"\x04" + bytes(64), b"\x02" * 32):
        with pytest.raises(mpy.FirmwareError):
            fw.call(S, "ec_pubkey_parse", bad)


def test_tweaks(fw, rng):
    ks = keys(rng, 20)
    for sk in ks:
        t = rng.randbytes(32)
        if int.from_bytes(t, "big") >= N:
            continue
        pub = C.ec_pubkey_create(sk)
        assert fw.call(S, "ec_privkey_add", sk, t) == C.ec_privkey_add(sk, t)
        assert fw.call(S, "ec_pubkey_add", pub, t) == C.ec_pubkey_add(pub, t)
        assert fw.call(S, "ec_pubkey_tweak_mul", pub, t) == _tweak_mul(pub, t)
    pubs = [C.ec_pubkey_create(sk) for sk in ks[:4]]
    assert fw.call(S, "ec_pubkey_combine", *pubs) == C.ec_pubkey_combine(*pubs)
    # tweak >= N fails in libsecp256k1; so must the shim
    with pytest.raises(mpy.FirmwareError):
        fw.call(S, "ec_privkey_add", ks[2], N.to_bytes(32, "big"))
    with pytest.raises(mpy.FirmwareError):
        fw.call(S, "ec_pubkey_add", C.ec_pubkey_create(ks[2]), b"\xff" * 32)
    # sk + (N - sk) = 0: no key
    sk = ks[2]
    neg = (N - int.from_bytes(sk, "big")).to_bytes(32, "big")
    with pytest.raises(mpy.FirmwareError):
        fw.call(S, "ec_privkey_add", sk, neg)


def _tweak_mul(pub, t):
    p = pub[:32] + pub[32:]  # a fresh bytes object: the C call writes into it
    C.ec_pubkey_tweak_mul(p, t)
    return p


def test_ecdsa(fw, rng):
    for sk in keys(rng, 20):
        msg = rng.randbytes(32)
        pub = C.ec_pubkey_create(sk)
        sig = C.ecdsa_sign(msg, sk)
        assert fw.call(S, "ecdsa_sign", msg, sk) == sig
        extra = rng.randbytes(32)
        assert fw.call(S, "ecdsa_sign", msg, sk, None, extra) == C.ecdsa_sign(msg, sk, None, extra)
        der = C.ecdsa_signature_serialize_der(sig)
        assert fw.call(S, "ecdsa_signature_serialize_der", sig) == der
        assert fw.call(S, "ecdsa_signature_parse_der", der) == sig
        compact = C.ecdsa_signature_serialize_compact(sig)
        assert fw.call(S, "ecdsa_signature_serialize_compact", sig) == compact
        assert fw.call(S, "ecdsa_signature_parse_compact", compact) == sig
        assert fw.call(S, "ecdsa_verify", sig, msg, pub) is True
        assert fw.call(S, "ecdsa_verify", sig, rng.randbytes(32), pub) is False
        # high-s: does not verify until normalised, as in libsecp256k1
        r, s = compact[:32], int.from_bytes(compact[32:], "big")
        high = C.ecdsa_signature_parse_compact(r + (N - s).to_bytes(32, "big"))
        assert fw.call(S, "ecdsa_verify", high, msg, pub) is C.ecdsa_verify(high, msg, pub) is False
        assert fw.call(S, "ecdsa_signature_normalize", high) == sig
        rec = C.ecdsa_sign_recoverable(msg, sk)
        assert fw.call(S, "ecdsa_sign_recoverable", msg, sk) == rec
        assert fw.call(S, "ecdsa_recover", rec, msg) == pub


def test_schnorr_and_ecdh(fw, rng):
    for sk in keys(rng, 20):
        msg = rng.randbytes(32)
        aux = rng.randbytes(32)
        pub = C.ec_pubkey_create(sk)
        xonly, _ = C.xonly_pubkey_from_pubkey(pub)
        # no aux: libsecp256k1 (as bundled) derives the nonce from the key alone
        sig = C.schnorrsig_sign(msg, sk)
        assert fw.call(S, "schnorrsig_sign", msg, sk) == sig
        assert fw.call(S, "schnorrsig_sign", msg, C.keypair_create(sk)) == sig
        assert fw.call(S, "schnorrsig_sign", msg, sk, None, aux) == C.schnorrsig_sign(msg, sk, None, aux)
        assert fw.call(S, "schnorrsig_verify", sig, msg, xonly) is True
        assert fw.call(S, "schnorrsig_verify", sig, rng.randbytes(32), xonly) is False
        other = C.ec_pubkey_create(rng.randbytes(32))
        assert fw.call(S, "ecdh", other, sk) == C.ecdh(other, sk)


def test_embit_ec_end_to_end(fw_embit, rng):
    for sk in keys(rng, 8)[2:]:
        msg = rng.randbytes(32)
        pk = ec.PrivateKey(sk)
        pub = pk.get_public_key()
        sig = pk.sign(msg)
        ssig = pk.schnorr_sign(msg)
        want = [pub.sec(), ec.PublicKey(pub._point, False).sec(), pub.xonly(), sig.serialize(),
                True, ssig.serialize(), True, pk.taproot_tweak(b"").secret, pub.taproot_tweak(b"").sec()]
        assert fw_embit.call("embit_rpc", "ec_ops", sk, msg) == want


def _paths(rng, n):
    out = ["m", "m/0", "m/44h/1237h/0h/0/0", "m/0h/1/2h/2/1000000000", "m/2147483647h/4294967295"]
    while len(out) < n:
        parts = ["%d%s" % (rng.randrange(2 ** 31), rng.choice(["", "h"])) for _ in range(rng.randint(1, 5))]
        out.append("m/" + "/".join(parts))
    return out


def test_bip32_private_derivation_matches_cpython(fw_embit, rng):
    for path in _paths(rng, 40):
        seed = rng.randbytes(rng.choice([16, 32, 64]))
        k = bip32.HDKey.from_seed(seed).derive(path)
        assert fw_embit.call("embit_rpc", "bip32_derive", seed, path) == [k.to_base58(), k.to_public().to_base58()], path


def test_bip32_public_derivation_matches_cpython(fw_embit, rng):
    for _ in range(15):
        xpub = bip32.HDKey.from_seed(rng.randbytes(32)).derive("m/84h/0h/0h").to_public()
        path = "m/%d/%d" % (rng.randrange(2), rng.randrange(2 ** 31))
        assert fw_embit.call("embit_rpc", "bip32_public_derive", xpub.to_base58(), path) == \
            xpub.derive(path).to_base58()
