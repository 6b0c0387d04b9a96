"""An independent NIP-46 client for tests, on CPython.

It shares no code with the firmware: secp256k1 comes from libsecp256k1 (coincurve),
ChaCha20/AES/HMAC from `cryptography`, JSON from the standard library. So a test that
passes with it shows the firmware speaks NIP-46, not merely that it agrees with itself.

    c = Client()                       # a fresh client keypair
    ev = c.request(signer_pub, "ping", [], now=..., scheme="nip44")
    resp = c.open(resp_event, signer_pub)   # verifies id + signature, decrypts, parses
"""
import base64
import hashlib
import hmac
import json
import os
import time

import coincurve
from cryptography.hazmat.primitives import padding as sympad
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


# ---- keys and NIP-01 ---------------------------------------------------------------

def xonly(sk):
    return coincurve.PrivateKey(sk).public_key_xonly.format()


def ecdh_x(sk, pub32):
    pt = coincurve.PublicKey(b"\x02" + pub32).multiply(sk)
    return pt.format(compressed=True)[1:]


def serialize(ev):
    # JSON.stringify of [0, pubkey, created_at, kind, tags, content]: Python's json with
    # ensure_ascii=False escapes exactly the same characters
    return json.dumps([0, ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"]],
                      separators=(",", ":"), ensure_ascii=False).encode()


def event_id(ev):
    return hashlib.sha256(serialize(ev)).hexdigest()


def sign_event(template, sk):
    ev = dict(template)
    ev["pubkey"] = xonly(sk).hex()
    ev["id"] = event_id(ev)
    ev["sig"] = coincurve.PrivateKey(sk).sign_schnorr(bytes.fromhex(ev["id"]), os.urandom(32)).hex()
    return ev


def verify_event(ev):
    if set(ev) != {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"}:
        return False
    if event_id(ev) != ev["id"]:
        return False
    pub = coincurve.PublicKeyXOnly(bytes.fromhex(ev["pubkey"]))
    return pub.verify(bytes.fromhex(ev["sig"]), bytes.fromhex(ev["id"]))


# ---- NIP-44 v2 ---------------------------------------------------------------------

def _hkdf_expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def nip44_conversation_key(sk, pub32):
    return hmac.new(b"nip44-v2", ecdh_x(sk, pub32), hashlib.sha256).digest()


def _padded_len(n):
    if n <= 32:
        return 32
    p = 1 << (n - 1).bit_length()
    chunk = 32 if p <= 256 else p // 8
    return chunk * ((n - 1) // chunk + 1)


def _chacha(key, nonce12, data):
    c = Cipher(algorithms.ChaCha20(key, b"\x00\x00\x00\x00" + nonce12), mode=None).encryptor()
    return c.update(data) + c.finalize()


def nip44_encrypt(text, ck, nonce=None):
    nonce = nonce or os.urandom(32)
    keys = _hkdf_expand(ck, nonce, 76)
    pt = text.encode()
    if not 1 <= len(pt) <= 65535:
        raise ValueError("bad plaintext length")
    padded = len(pt).to_bytes(2, "big") + pt + b"\x00" * (_padded_len(len(pt)) - len(pt))
    ct = _chacha(keys[:32], keys[32:44], padded)
    mac = hmac.new(keys[44:], nonce + ct, hashlib.sha256).digest()
    return base64.b64encode(b"\x02" + nonce + ct + mac).decode()


def nip44_decrypt(payload, ck):
    raw = base64.b64decode(payload)
    if raw[0] != 2:
        raise ValueError("unknown version")
    nonce, ct, mac = raw[1:33], raw[33:-32], raw[-32:]
    keys = _hkdf_expand(ck, nonce, 76)
    if not hmac.compare_digest(mac, hmac.new(keys[44:], nonce + ct, hashlib.sha256).digest()):
        raise ValueError("bad mac")
    padded = _chacha(keys[:32], keys[32:44], ct)
    n = int.from_bytes(padded[:2], "big")
    if n == 0 or len(padded) != 2 + _padded_len(n):
        raise ValueError("bad padding")
    return padded[2:2 + n].decode()


# ---- NIP-04 ------------------------------------------------------------------------

def nip04_encrypt(sk, pub32, text, iv=None):
    iv = iv or os.urandom(16)
    p = sympad.PKCS7(128).padder()
    data = p.update(text.encode()) + p.finalize()
    e = Cipher(algorithms.AES(ecdh_x(sk, pub32)), modes.CBC(iv)).encryptor()
    ct = e.update(data) + e.finalize()
    return base64.b64encode(ct).decode() + "?iv=" + base64.b64encode(iv).decode()


def nip04_decrypt(sk, pub32, payload):
    ct64, iv64 = payload.split("?iv=")
    d = Cipher(algorithms.AES(ecdh_x(sk, pub32)), modes.CBC(base64.b64decode(iv64))).decryptor()
    data = d.update(base64.b64decode(ct64)) + d.finalize()
    u = sympad.PKCS7(128).unpadder()
    return (u.update(data) + u.finalize()).decode()


# ---- bech32 (BIP-173), for npub/nsec ------------------------------------------------

_B32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values):
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def bech32_encode(hrp, data):
    acc, bits, five = 0, 0, []
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    hv = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = _polymod(hv + five + [0] * 6) ^ 1
    five += [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_B32[d] for d in five)


# ---- the client --------------------------------------------------------------------

class Client:
    """One NIP-46 client keypair talking to one signer."""

    def __init__(self, sk=None):
        self.sk = sk or os.urandom(32)
        self.pub = xonly(self.sk)
        self.pubhex = self.pub.hex()
        self.n = 0

    def encrypt(self, signer_pub, text, scheme="nip44"):
        if scheme == "nip04":
            return nip04_encrypt(self.sk, signer_pub, text)
        return nip44_encrypt(text, nip44_conversation_key(self.sk, signer_pub))

    def decrypt(self, signer_pub, payload):
        if "?iv=" in payload:
            return nip04_decrypt(self.sk, signer_pub, payload), "nip04"
        return nip44_decrypt(payload, nip44_conversation_key(self.sk, signer_pub)), "nip44"

    def request(self, signer_pub, method, params, now=None, scheme="nip44", req_id=None,
                p=None, created_at=None, body=None):
        """A signed kind-24133 request event. p: the hex pubkey to p-tag (default the
        signer's); body replaces the JSON-RPC text when given."""
        self.n += 1
        req_id = req_id if req_id is not None else "r%d-%s" % (self.n, os.urandom(3).hex())
        if body is None:
            body = json.dumps({"id": req_id, "method": method, "params": params})
        now = int(time.time()) if now is None else now
        tpl = {
            "kind": 24133,
            "created_at": now if created_at is None else created_at,
            "tags": [["p", p if p is not None else signer_pub.hex()]],
            "content": self.encrypt(signer_pub, body, scheme),
        }
        ev = sign_event(tpl, self.sk)
        ev["_req_id"] = req_id  # test-side bookkeeping; stripped by strip()
        return ev

    def open(self, ev, signer_pub):
        """Check a response event from the signer and return (response dict, scheme)."""
        assert verify_event(ev), "response event does not verify"
        assert ev["kind"] == 24133
        assert ev["pubkey"] == signer_pub.hex()
        assert ["p", self.pubhex] in ev["tags"]
        text, scheme = self.decrypt(signer_pub, ev["content"])
        return json.loads(text), scheme


def strip(ev):
    """The event as it travels on a relay (without test bookkeeping)."""
    return {k: v for k, v in ev.items() if not k.startswith("_")}
