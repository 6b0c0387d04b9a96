# The port's hashlib (sha256, sha1, md5) plus what embit needs on MicroPython: sha512 and
# pbkdf2_hmac. This file shadows the built-in module; to reach the built-in it empties
# sys.path for one import (built-ins are found without a path) and puts everything back.
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

from crypto.sha512 import sha512, _compress, _KW  # noqa: E402

sha256 = _builtin.sha256
for _name in ("sha1", "md5"):
    if hasattr(_builtin, _name):
        globals()[_name] = getattr(_builtin, _name)


def new(name, data=b""):
    return {"sha256": sha256, "sha512": sha512}[name](data)


def pbkdf2_hmac(hash_name, password, salt, iterations, dklen=None, progress=None):
    """PBKDF2 (RFC 8018) with HMAC-SHA256 or HMAC-SHA512.

    For SHA-512 each iteration is exactly two compressions from the precomputed HMAC
    inner/outer states (BIP-39 seeds: 4096 compressions). `progress(done, total)` is
    called now and then so a device can draw a progress bar.
    """
    if isinstance(password, str):
        password = password.encode()
    if isinstance(salt, str):
        salt = salt.encode()
    if hash_name == "sha512":
        return _pbkdf2_sha512(password, salt, iterations, dklen or 64, progress)
    if hash_name == "sha256":
        import hmac
        return _pbkdf2_generic(lambda m: hmac.new(password, m, sha256).digest(), 32,
                               salt, iterations, dklen or 32, progress)
    raise ValueError("unsupported hash " + str(hash_name))


def _pbkdf2_generic(prf, hlen, salt, iterations, dklen, progress):
    out = b""
    block = 1
    while len(out) < dklen:
        u = prf(salt + block.to_bytes(4, "big"))
        acc = bytearray(u)
        for i in range(1, iterations):
            u = prf(u)
            for j in range(hlen):
                acc[j] ^= u[j]
            if progress and i & 255 == 0:
                progress(i, iterations)
        out += acc
        block += 1
    return out[:dklen]


def _state(key, pad):
    h = sha512(bytes(b ^ pad for b in key))
    return h._st


def _to_words(digest_state, blk):
    # state words (native 32-bit, hi/lo) -> big-endian digest bytes into blk[0:64]
    for i in range(16):
        blk[4 * i:4 * i + 4] = bytes((digest_state[4 * i + 3], digest_state[4 * i + 2],
                                      digest_state[4 * i + 1], digest_state[4 * i]))


def _pbkdf2_sha512(password, salt, iterations, dklen, progress):
    if len(password) > 128:
        password = sha512(password).digest()
    key = password + bytes(128 - len(password))
    istate = _state(key, 0x36)
    ostate = _state(key, 0x5C)
    # a one-block message of 64 bytes after a 128-byte key block: 192 bytes = 1536 bits
    blk = bytearray(128)
    blk[64] = 0x80
    blk[126:128] = (1536).to_bytes(2, "big")
    w = bytearray(640)
    st = bytearray(64)
    out = b""
    block = 1
    while len(out) < dklen:
        first = sha512(bytes(b ^ 0x36 for b in key))
        first.update(salt)
        first.update(block.to_bytes(4, "big"))
        o = sha512(bytes(b ^ 0x5C for b in key))
        o.update(first.digest())
        u = o.digest()
        acc = bytearray(u)
        blk[0:64] = u
        for i in range(1, iterations):
            st[:] = istate
            _compress(st, w, _KW, blk)
            _to_words(st, blk)
            st[:] = ostate
            _compress(st, w, _KW, blk)
            _to_words(st, blk)
            for j in range(64):
                acc[j] ^= blk[j]
            if progress and i & 255 == 0:
                progress(i, iterations)
        out += acc
        block += 1
    if progress:
        progress(iterations, iterations)
    return bytes(out[:dklen])
