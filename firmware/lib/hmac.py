# hmac for MicroPython, as CPython's: hmac.new(key, msg=None, digestmod=...) with "sha256"/
# "sha512" (names) or hash constructors, update/digest/hexdigest/copy, compare_digest.
# embit calls hmac.new(key, msg, digestmod="sha512") for BIP-32.
import hashlib


def _ctor(digestmod):
    if digestmod is None:
        raise TypeError("hmac: digestmod is required")
    if isinstance(digestmod, str):
        name = digestmod.lower()
        if name == "sha256":
            return hashlib.sha256
        if name == "sha512":
            return hashlib.sha512
        raise ValueError("unsupported hash type " + digestmod)
    return digestmod


class HMAC:
    def __init__(self, key, msg=None, digestmod=None):
        if key is None:  # copy(): fields are filled in by the caller
            return
        self._ctor = ctor = _ctor(digestmod)
        probe = ctor()
        bs = getattr(probe, "block_size", 64)
        # the port's sha256 has neither copy() nor a second digest(): for such hashes the
        # message is kept and hashed at digest() time; ours (sha512) stream and copy()
        self._copyable = hasattr(probe, "copy")
        self.digest_size = len(probe.digest())
        self.block_size = bs
        if len(key) > bs:
            key = ctor(key).digest()
        k = int.from_bytes(bytes(key) + bytes(bs - len(key)), "big")
        self._ipad = (k ^ int.from_bytes(b"\x36" * bs, "big")).to_bytes(bs, "big")
        self._opad = (k ^ int.from_bytes(b"\x5c" * bs, "big")).to_bytes(bs, "big")
        if self._copyable:
            self._inner = ctor(self._ipad)
        else:
            self._msg = bytearray()
        if msg is not None:
            self.update(msg)

    @property
    def name(self):
        return "hmac-" + getattr(self._ctor(), "name", "sha256")

    def update(self, msg):
        if self._copyable:
            self._inner.update(msg)
        else:
            self._msg.extend(msg)

    def copy(self):
        c = HMAC(None)
        c._ctor, c._copyable = self._ctor, self._copyable
        c.digest_size, c.block_size = self.digest_size, self.block_size
        c._ipad, c._opad = self._ipad, self._opad
        if self._copyable:
            c._inner = self._inner.copy()
        else:
            c._msg = bytearray(self._msg)
        return c

    def digest(self):
        # never finalises self: digest() may be called again and update() continue
        if self._copyable:
            inner = self._inner.copy().digest()
        else:
            h = self._ctor(self._ipad)
            h.update(self._msg)
            inner = h.digest()
        o = self._ctor(self._opad)
        o.update(inner)
        return o.digest()

    def hexdigest(self):
        return self.digest().hex()


def new(key, msg=None, digestmod=None):
    return HMAC(key, msg, digestmod)


def digest(key, msg, digest):
    return HMAC(key, msg, digest).digest()


def compare_digest(a, b):
    # no early exit: time depends on the lengths only, not on where the inputs differ
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= a[i] ^ b[i]
    return d == 0
