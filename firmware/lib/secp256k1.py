# The `secp256k1` module embit imports on MicroPython (embit/misc.py: `import secp256k1`),
# normally specter's C binding to libsecp256k1. This file stands in for it, backed by
# crypto.secp256k1, with the same function names, argument order and data layouts, so
# embit runs unchanged on either; a build that has the C module simply shadows this.
#
# Layouts are libsecp256k1's opaque structs as the C binding copies them out:
#   pubkey (also x-only pubkey): 64 bytes, x then y, each 32 bytes LITTLE-endian
#   ecdsa signature: 64 bytes, r then s, each little-endian; recoverable: + 1 byte recid
#   keypair: 96 bytes, secret (big-endian, as given) + 64-byte pubkey
# Secrets, tweaks, messages and SEC/DER/compact encodings are big-endian as usual.
# Failures raise ValueError like the C module. Liquid (zkp) functions are not provided.
#
# Not constant time (plain Python ints, like crypto.secp256k1).
import hashlib
from crypto import secp256k1 as _ec
from crypto.kdf import hmac_sha256 as _hmac_sha256

_N = _ec.N
_P = _ec.P

# flag values as in libsecp256k1 (and embit's own pure-Python fallback)
CONTEXT_VERIFY = 0b0100000001
CONTEXT_SIGN = 0b1000000001
CONTEXT_NONE = 0b0000000001
EC_COMPRESSED = 0b0100000010
EC_UNCOMPRESSED = 0b0000000010


def context_randomize(seed, context=None):
    # blinding is a libsecp256k1 side-channel measure; nothing to randomise here
    pass


# ---- conversions ---------------------------------------------------------------------

def _len(b, n, what):
    if len(b) != n:
        raise ValueError("%s should be %d bytes long" % (what, n))


def _pt_out(p):
    if p is None:
        raise ValueError("Resulting point is infinity")
    return p[0].to_bytes(32, "little") + p[1].to_bytes(32, "little")


def _pt_in(pub):
    _len(pub, 64, "Public key")
    p = (int.from_bytes(bytes(pub[:32]), "little"), int.from_bytes(bytes(pub[32:]), "little"))
    if p[0] >= _P or p[1] >= _P or not _ec.on_curve(p):
        raise ValueError("Invalid public key")
    return p


def _scalar(b, what="Secret"):
    _len(b, 32, what)
    return int.from_bytes(bytes(b), "big")


def _secret(b):
    d = _scalar(b)
    if not 0 < d < _N:
        raise ValueError("Invalid private key")
    return d


def _tweak(b):
    t = _scalar(b, "Tweak")
    if t >= _N:
        raise ValueError("Tweak is out of range")
    return t


def _store(dst, src):
    # the C binding's *_tweak_* functions write into the caller's buffer
    if isinstance(dst, bytearray):
        dst[:] = src


# ---- keys ----------------------------------------------------------------------------

def ec_seckey_verify(secret, context=None):
    d = _scalar(secret)
    return 0 < d < _N


def ec_pubkey_create(secret, context=None):
    return _pt_out(_ec.base_mul(_secret(secret)))


def ec_pubkey_parse(sec, context=None):
    if len(sec) not in (33, 65):
        raise ValueError("Serialized pubkey should be 33 or 65 bytes long")
    if len(sec) == 33 and sec[0] not in (2, 3):
        raise ValueError("Compressed pubkey should start with 0x02 or 0x03")
    if len(sec) == 65 and sec[0] != 4:
        raise ValueError("Uncompressed pubkey should start with 0x04")
    try:
        return _pt_out(_ec.point_from_bytes(bytes(sec)))
    except ValueError:
        raise ValueError("Failed parsing public key")


def ec_pubkey_serialize(pubkey, flag=EC_COMPRESSED, context=None):
    if flag not in (EC_COMPRESSED, EC_UNCOMPRESSED):
        raise ValueError("Invalid flag")
    return _ec.point_to_bytes(_pt_in(pubkey), flag == EC_COMPRESSED)


def ec_privkey_negate(secret, context=None):
    # returns the negation (embit uses the result); a bytearray is also negated in place
    r = ((_N - _scalar(secret)) % _N).to_bytes(32, "big")
    _store(secret, r)
    return r


def ec_pubkey_negate(pubkey, context=None):
    x, y = _pt_in(pubkey)
    r = _pt_out((x, (_P - y) % _P))
    _store(pubkey, r)
    return r


def ec_privkey_add(secret, tweak, context=None):
    # libsecp256k1 semantics: fails on an invalid secret, tweak >= N or a zero result
    r = (_secret(secret) + _tweak(tweak)) % _N
    if r == 0:
        raise ValueError("Failed to tweak the secret")
    return r.to_bytes(32, "big")


def ec_pubkey_add(pub, tweak, context=None):
    """pub + tweak*G (BIP-32 public derivation)."""
    p = _pt_in(pub)
    t = _tweak(tweak)
    q = _ec.point_add(p, _ec.base_mul(t)) if t else p
    if q is None:
        raise ValueError("Failed to tweak the public key")
    return _pt_out(q)


def ec_privkey_tweak_add(secret, tweak, context=None):
    r = ec_privkey_add(secret, tweak)
    _store(secret, r)
    return r


def ec_pubkey_tweak_add(pub, tweak, context=None):
    r = ec_pubkey_add(pub, tweak)
    _store(pub, r)
    return r


def ec_privkey_tweak_mul(secret, tweak, context=None):
    t = _tweak(tweak)
    if t == 0:
        raise ValueError("Failed to tweak the secret")
    r = (_secret(secret) * t % _N).to_bytes(32, "big")
    _store(secret, r)
    return r


def ec_pubkey_tweak_mul(pub, tweak, context=None):
    t = _tweak(tweak)
    if t == 0:
        raise ValueError("Failed to tweak the public key")
    r = _pt_out(_ec.point_mul(_pt_in(pub), t))
    _store(pub, r)
    return r


def ec_pubkey_combine(*args, context=None):
    acc = None
    for pub in args:
        acc = _ec.point_add(acc, _pt_in(pub))
    if acc is None:
        raise ValueError("Failed to combine pubkeys")
    return _pt_out(acc)


# ---- ECDSA (RFC 6979 nonces, low-s, exactly as libsecp256k1 signs) ----------------------

def _rfc6979(msg32, key32, data, attempt):
    # libsecp256k1's nonce_function_rfc6979: key || (msg mod n) || [extra data 32],
    # HMAC-DRBG per RFC 6979 3.2; the attempt-th output (0-based)
    seed = key32 + (int.from_bytes(msg32, "big") % _N).to_bytes(32, "big")
    if data is not None:
        _len(data, 32, "Extra data")
        seed += bytes(data)
    v = b"\x01" * 32
    k = bytes(32)
    k = _hmac_sha256(k, v + b"\x00" + seed)
    v = _hmac_sha256(k, v)
    k = _hmac_sha256(k, v + b"\x01" + seed)
    v = _hmac_sha256(k, v)
    for i in range(attempt + 1):
        if i:
            k = _hmac_sha256(k, v + b"\x00")
            v = _hmac_sha256(k, v)
        v = _hmac_sha256(k, v)
    return v


def _sign(msg, secret, nonce_function, extra_data):
    _len(msg, 32, "Message")
    d = _secret(secret)
    msg = bytes(msg)
    key = d.to_bytes(32, "big")
    z = int.from_bytes(msg, "big") % _N
    attempt = 0
    while True:
        if nonce_function is None:
            nonce = _rfc6979(msg, key, extra_data, attempt)
        else:
            # C binding's callback: (msg32, key32, algo16, data, attempt) -> 32 bytes
            nonce = nonce_function(msg, key, None, extra_data, attempt)
            if nonce is None:
                raise ValueError("Failed to sign")
        attempt += 1
        k = int.from_bytes(bytes(nonce[:32]), "big")
        if not 0 < k < _N:
            continue
        R = _ec.base_mul(k)
        r = R[0] % _N
        if r == 0:
            continue
        s = pow(k, _N - 2, _N) * (z + r * d) % _N
        if s == 0:
            continue
        recid = (R[1] & 1) | (2 if R[0] >= _N else 0)
        if s > _N // 2:
            s = _N - s
            recid ^= 1
        return r, s, recid


def _sig_out(r, s):
    return r.to_bytes(32, "little") + s.to_bytes(32, "little")


def _sig_in(sig):
    _len(sig, 64, "Signature")
    return int.from_bytes(bytes(sig[:32]), "little"), int.from_bytes(bytes(sig[32:64]), "little")


def ecdsa_sign(msg, secret, nonce_function=None, extra_data=None, context=None):
    r, s, _ = _sign(msg, secret, nonce_function, extra_data)
    return _sig_out(r, s)


def ecdsa_verify(sig, msg, pub, context=None):
    # like libsecp256k1, a high-s signature does not verify (normalize it first)
    r, s = _sig_in(sig)
    _len(msg, 32, "Message")
    p = _pt_in(pub)
    if not (0 < r < _N and 0 < s <= _N // 2):
        return False
    z = int.from_bytes(bytes(msg), "big") % _N
    w = pow(s, _N - 2, _N)
    R = _ec.point_add(_ec.base_mul(z * w % _N), _ec.point_mul(p, r * w % _N))
    return R is not None and R[0] % _N == r


def ecdsa_signature_normalize(sig, context=None):
    r, s = _sig_in(sig)
    if s > _N // 2:
        s = _N - s
    return _sig_out(r, s)


def ecdsa_signature_parse_compact(compact_sig, context=None):
    _len(compact_sig, 64, "Compact signature")
    r = int.from_bytes(bytes(compact_sig[:32]), "big")
    s = int.from_bytes(bytes(compact_sig[32:]), "big")
    if r >= _N or s >= _N:
        raise ValueError("Failed parsing compact signature")
    return _sig_out(r, s)


def ecdsa_signature_serialize_compact(sig, context=None):
    r, s = _sig_in(sig)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _der_int(b, i):
    # strict DER INTEGER at b[i:] -> (value, next index); no negatives, minimal length
    if i + 2 > len(b) or b[i] != 0x02:
        raise ValueError("Failed parsing der signature")
    n = b[i + 1]
    i += 2
    if n == 0 or n > 33 or i + n > len(b) or b[i] & 0x80:
        raise ValueError("Failed parsing der signature")
    if n > 1 and b[i] == 0 and not b[i + 1] & 0x80:
        raise ValueError("Failed parsing der signature")
    v = int.from_bytes(bytes(b[i:i + n]), "big")
    # an out-of-range value parses as 0 (never verifies), as libsecp256k1 does
    return (v if v < _N else 0), i + n


def ecdsa_signature_parse_der(der, context=None):
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2:
        raise ValueError("Failed parsing der signature")
    r, i = _der_int(der, 2)
    s, i = _der_int(der, i)
    if i != len(der):
        raise ValueError("Failed parsing der signature")
    return _sig_out(r, s)


def _der_enc(v):
    b = v.to_bytes(33, "big")
    i = 0
    while i < 32 and b[i] == 0 and not b[i + 1] & 0x80:
        i += 1
    return b"\x02" + bytes((33 - i,)) + b[i:]


def ecdsa_signature_serialize_der(sig, context=None):
    r, s = _sig_in(sig)
    body = _der_enc(r) + _der_enc(s)
    return b"\x30" + bytes((len(body),)) + body


def ecdsa_sign_recoverable(msg, secret, context=None):
    r, s, recid = _sign(msg, secret, None, None)
    return _sig_out(r, s) + bytes((recid,))


def ecdsa_recoverable_signature_serialize_compact(sig, context=None):
    _len(sig, 65, "Recoverable signature")
    return ecdsa_signature_serialize_compact(sig[:64]), sig[64]


def ecdsa_recoverable_signature_parse_compact(compact_sig, recid, context=None):
    if not 0 <= recid <= 3:
        raise ValueError("Failed parsing compact signature")
    return ecdsa_signature_parse_compact(compact_sig) + bytes((recid,))


def ecdsa_recoverable_signature_convert(sigin, context=None):
    _len(sigin, 65, "Recoverable signature")
    return bytes(sigin[:64])


def ecdsa_recover(sig, msghash, context=None):
    _len(sig, 65, "Recoverable signature")
    _len(msghash, 32, "Message")
    r, s = _sig_in(sig[:64])
    recid = sig[64]
    if not (0 < r < _N and 0 < s < _N and 0 <= recid <= 3):
        raise ValueError("Failed to recover public key")
    x = r + _N if recid & 2 else r
    R = _ec.lift_x(x)
    if R is None:
        raise ValueError("Failed to recover public key")
    if (R[1] & 1) != (recid & 1):
        R = (R[0], _P - R[1])
    z = int.from_bytes(bytes(msghash), "big") % _N
    ri = pow(r, _N - 2, _N)
    # Q = r^-1 (s R - z G)
    Q = _ec.point_add(_ec.point_mul(R, s * ri % _N), _ec.base_mul((_N - z) * ri % _N))
    if Q is None:
        raise ValueError("Failed to recover public key")
    return _pt_out(Q)


# ---- ECDH ------------------------------------------------------------------------------

def ecdh(pubkey, scalar, hashfn=None, data=None, context=None):
    """Shared secret of scalar*pubkey. Default hash (libsecp256k1's):
    sha256(0x02|parity(y) || x); hashfn(x32, y32, data) -> 32 bytes replaces it."""
    p = _pt_in(pubkey)
    q = _ec.point_mul(p, _secret(scalar))
    x = q[0].to_bytes(32, "big")
    if hashfn is None:
        return hashlib.sha256(bytes((2 | (q[1] & 1),)) + x).digest()
    res = hashfn(x, q[1].to_bytes(32, "big"), data)
    if res is None or len(res) != 32:
        raise ValueError("Failed to compute the shared secret")
    return bytes(res)


# ---- BIP-340 (x-only keys, keypairs, Schnorr) ---------------------------------------------

def xonly_pubkey_from_pubkey(pubkey, context=None):
    """-> (x-only pubkey in the 64-byte layout: the point with even y, parity bool)."""
    x, y = _pt_in(pubkey)
    parity = bool(y & 1)
    return _pt_out((x, _P - y if parity else y)), parity


def keypair_create(secret, context=None):
    return bytes(secret) + ec_pubkey_create(secret)


def _tagged(tag, data):
    t = hashlib.sha256(tag).digest()
    return hashlib.sha256(t + t + data).digest()


def schnorrsig_sign(msg, keypair, nonce_function=None, extra_data=None, context=None):
    """BIP-340 signature; extra_data is the 32-byte aux randomness.

    extra_data None: the libsecp256k1 that embit 0.8 bundles (and specter's binding)
    then derives the nonce from the unmasked key, k = H_nonce(d || P || m), not from
    aux = 0; we do the same so that embit gets the very bytes the C module would give.
    Both are valid BIP-340 signatures; only the (deterministic) nonce differs.
    """
    if len(keypair) == 32:
        keypair = keypair_create(keypair)
    _len(keypair, 96, "Keypair")
    if nonce_function is not None:
        raise ValueError("Custom nonce functions are not supported")
    sk = bytes(keypair[:32])
    msg = bytes(msg)
    if extra_data is not None:
        return _ec.schnorr_sign(msg, sk, bytes(extra_data))
    d = _secret(sk)
    px, py = _ec.base_mul(d)
    if py & 1:
        d = _N - d
    pb = px.to_bytes(32, "big")
    k = int.from_bytes(_tagged(b"BIP0340/nonce", d.to_bytes(32, "big") + pb + msg), "big") % _N
    if k == 0:
        raise ValueError("Failed to sign")
    rx, ry = _ec.base_mul(k)
    if ry & 1:
        k = _N - k
    rb = rx.to_bytes(32, "big")
    e = int.from_bytes(_tagged(b"BIP0340/challenge", rb + pb + msg), "big") % _N
    return rb + ((k + e * d) % _N).to_bytes(32, "big")


def schnorrsig_verify(sig, msg, pubkey, context=None):
    _len(sig, 64, "Signature")
    x, _ = _pt_in(pubkey)
    return bool(_ec.schnorr_verify(bytes(msg), x.to_bytes(32, "big"), bytes(sig)))
