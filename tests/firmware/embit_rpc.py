# Test-only helpers for tests/test_embit_shim.py: drive embit (PyPI release, unchanged)
# on MicroPython, where it imports firmware/lib/secp256k1.py as its `secp256k1`.


def bip32_derive(seed, path):
    from embit import bip32
    k = bip32.HDKey.from_seed(seed).derive(path)
    return [k.to_base58(), k.to_public().to_base58()]


def bip32_public_derive(xpub, path):
    from embit import bip32
    return bip32.HDKey.from_base58(xpub).derive(path).to_base58()


def ec_ops(secret, msg):
    # embit.ec end to end: keys, ECDSA (with its low-R grinding), Schnorr, taproot tweak
    from embit import ec
    pk = ec.PrivateKey(secret)
    pub = pk.get_public_key()
    sig = pk.sign(msg)
    ssig = pk.schnorr_sign(msg)
    return [pub.sec(), ec.PublicKey(pub._point, False).sec(), pub.xonly(), sig.serialize(),
            pub.verify(sig, msg), ssig.serialize(), pub.schnorr_verify(ssig, msg),
            pk.taproot_tweak(b"").secret, pub.taproot_tweak(b"").sec()]


def constants():
    import secp256k1
    return [secp256k1.EC_COMPRESSED, secp256k1.EC_UNCOMPRESSED]
