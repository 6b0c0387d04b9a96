# The port's hashlib (sha256, sha1, md5) plus what embit needs on MicroPython: sha512 and
# pbkdf2_hmac. This file shadows the built-in module; to reach the built-in it empties
# sys.path for one import (built-ins are found without a path) and puts everything back.
#
# crypto.kdf, nip01 and secp256k1 `import hashlib` for sha256 and land here too, so
# crypto.sha512 (about 5 KB of heap) is loaded only when sha512 is first asked for.
import sys

_path = sys.path[:]
_self = sys.modules.pop("hashlib", None)
sys.path.clear()
try:
    import hashlib as _builtin
finally:
    sys.path.extend(_path)
    if _self is not None:
        sys.modules["hashlib"] = _self
del _path, _self

sha256 = _builtin.sha256
for _name in ("sha1", "md5"):
    if hasattr(_builtin, _name):
        globals()[_name] = getattr(_builtin, _name)


def _sha512_mod():
    import crypto.sha512 as m
    return m


def __getattr__(name):
    # module __getattr__ (PEP 562): `hashlib.sha512` imports crypto.sha512 on first use
    if name == "sha512":
        return _sha512_mod().sha512
    if name == "_lazy":
        return True
    raise AttributeError(name)


try:
    sys.modules[__name__]._lazy  # noqa: B018  does this port call module __getattr__?
except (AttributeError, KeyError):
    sha512 = _sha512_mod().sha512  # no: load it now


def new(name, data=b""):
    if name == "sha256":
        return sha256(data)
    if name == "sha512":
        return _sha512_mod().sha512(data)
    raise ValueError("unsupported hash type " + str(name))


def pbkdf2_hmac(hash_name, password, salt, iterations, dklen=None, progress=None):
    """PBKDF2 (RFC 8018) with HMAC-SHA256 or HMAC-SHA512.

    For SHA-512 each iteration is exactly two compressions from the HMAC inner/outer
    states computed once (a BIP-39 seed: 4096 compressions), with no allocation inside
    the loop. `progress(done, total)` is called every 256 iterations and at the end, so
    a device can draw a progress bar.
    """
    if isinstance(password, str):
        password = password.encode()
    if isinstance(salt, str):
        salt = salt.encode()
    if iterations < 1:
        raise ValueError("invalid iterations")
    if hash_name == "sha512":
        dk = _pbkdf2_sha512(password, salt, iterations, dklen or 64, progress)
    elif hash_name == "sha256":
        dk = _pbkdf2_sha256(password, salt, iterations, dklen or 32, progress)
    else:
        raise ValueError("unsupported hash type " + str(hash_name))
    if progress:
        progress(iterations, iterations)
    return dk


def _pads(key, block, h):
    if len(key) > block:
        key = h(key).digest()
    k = int.from_bytes(bytes(key) + bytes(block - len(key)), "big")
    i = int.from_bytes(b"\x36" * block, "big")
    o = int.from_bytes(b"\x5c" * block, "big")
    return (k ^ i).to_bytes(block, "big"), (k ^ o).to_bytes(block, "big")


def _pbkdf2_sha256(password, salt, iterations, dklen, progress):
    # the built-in sha256 has no copy(): each HMAC re-hashes its 64-byte pad (C code, cheap)
    xor = _sha512_mod()._xor_into
    ipad, opad = _pads(password, 64, sha256)
    out = bytearray()
    block = 1
    while len(out) < dklen:
        h = sha256(ipad)
        h.update(salt)
        h.update(block.to_bytes(4, "big"))
        o = sha256(opad)
        o.update(h.digest())
        u = o.digest()
        acc = bytearray(u)
        for i in range(1, iterations):
            h = sha256(ipad)
            h.update(u)
            o = sha256(opad)
            o.update(h.digest())
            u = o.digest()
            xor(acc, u, 32)
            if progress and i & 255 == 0:
                progress(i, iterations)
        out.extend(acc)
        block += 1
    return bytes(out[:dklen])


def _pbkdf2_sha512(password, salt, iterations, dklen, progress):
    m = _sha512_mod()
    sha512, compress, to_bytes, xor, K, W = m.sha512, m._compress, m._to_bytes, m._xor_into, m._KW, m._W
    ipad, opad = _pads(password, 128, sha512)
    istate = sha512(ipad)._st  # state after the key block: the HMAC precomputation
    ostate = sha512(opad)._st
    # every later message is one 64-byte U after the 128-byte pad: a single final block
    # of U, 0x80, zeros and the bit length 1536, built once; only U changes
    blk = bytearray(128)
    blk[64] = 0x80
    blk[126] = 1536 >> 8
    st = bytearray(64)
    out = bytearray()
    block = 1
    while len(out) < dklen:
        h = sha512(ipad)
        h.update(salt)
        h.update(block.to_bytes(4, "big"))
        o = sha512(opad)
        o.update(h.digest())
        u = o.digest()
        acc = bytearray(u)
        blk[0:64] = u
        for i in range(1, iterations):
            st[:] = istate
            compress(st, W, K, blk)
            to_bytes(st, blk)  # inner digest becomes the outer message, in place
            st[:] = ostate
            compress(st, W, K, blk)
            to_bytes(st, blk)  # U_i, also the next inner message
            xor(acc, blk, 64)
            if progress and i & 255 == 0:
                progress(i, iterations)
        out.extend(acc)
        block += 1
    return bytes(out[:dklen])
