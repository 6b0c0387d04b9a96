# hmac for MicroPython, as CPython's: hmac.new(key, msg, digestmod) with sha256 or sha512
# (names or constructors), update/digest/hexdigest/copy, and compare_digest.
import hashlib


def _ctor(digestmod):
    if isinstance(digestmod, str):
        return {"sha256": hashlib.sha256, "sha512": hashlib.sha512}[digestmod.lower()]
    if digestmod is None:
        raise TypeError("hmac: digestmod is required")
    return digestmod


class HMAC:
    def __init__(self, key, msg=None, digestmod=None, _copy=None):
        if _copy:
            self._ctor, self._bs, self._inner, self._outer = _copy
            return
        self._ctor = _ctor(digestmod)
        probe = self._ctor()
        self._bs = getattr(probe, "block_size", 64)
        if len(key) > self._bs:
            key = self._ctor(key).digest()
        key = bytes(key) + bytes(self._bs - len(key))
        self._inner = self._ctor(bytes(b ^ 0x36 for b in key))
        self._outer = self._ctor(bytes(b ^ 0x5C for b in key))
        if msg is not None:
            self.update(msg)

    def update(self, msg):
        self._inner.update(msg)

    def copy(self):
        if not hasattr(self._inner, "copy"):
            raise NotImplementedError("the port's hash objects can't be copied")
        return HMAC(None, _copy=(self._ctor, self._bs, self._inner.copy(), self._outer.copy()))

    def digest(self):
        # the built-in sha256 can't be copied and finishes on digest(): work on the originals
        # only where a copy is impossible, and then refuse further use
        if hasattr(self._inner, "copy"):
            o = self._outer.copy()
            o.update(self._inner.copy().digest())
            return o.digest()
        o = self._outer
        o.update(self._inner.digest())
        return o.digest()

    def hexdigest(self):
        return self.digest().hex()


def new(key, msg=None, digestmod=None):
    return HMAC(key, msg, digestmod)


def compare_digest(a, b):
    if len(a) != len(b):
        return False
    d = 0
    for x, y in zip(a, b):
        d |= x ^ y
    return d == 0
