# NIP-04: AES-256-CBC keyed by the unhashed ECDH x-coordinate, PKCS#7 padding,
# content "base64(ciphertext)?iv=base64(iv)". Deprecated by NIP-44 but still spoken by
# older NIP-46 clients, so the device decrypts and answers in it.
import binascii
import os

from crypto import aes
from crypto.secp256k1 import ecdh_x
from crypto.nip44 import _b64_ok  # the same strict base64 check (viper)


def is_nip04(content):
    """NIP-04 shaped content: base64, "?iv=", a 16-byte base64 IV (24 chars)."""
    if not isinstance(content, str):
        return False
    i = content.find("?iv=")
    return i > 0 and len(content) - i - 4 == 24


def encrypt(sk, pub, text, iv=None):
    if iv is None:
        iv = os.urandom(16)
    data = text.encode() if isinstance(text, str) else bytes(text)
    pad = 16 - len(data) % 16
    ct = aes.cbc_encrypt(ecdh_x(sk, pub), iv, data + bytes((pad,)) * pad)
    return (binascii.b2a_base64(ct, newline=False) + b"?iv="
            + binascii.b2a_base64(iv, newline=False)).decode()


def decrypt(sk, pub, payload):
    if not isinstance(payload, str) or "?iv=" not in payload:
        raise ValueError("invalid NIP-04 payload: no ?iv=")
    ct_b64, iv_b64 = payload.split("?iv=", 1)
    # strict base64: a2b_base64 skips junk characters, and with no MAC in NIP-04 nothing
    # later would notice
    for part in (ct_b64, iv_b64):
        if len(part) % 4 or len(memoryview(part)) != len(part) or not _b64_ok(part, len(part)):
            raise ValueError("invalid NIP-04 payload: bad base64")
    try:
        ct = binascii.a2b_base64(ct_b64)
        iv = binascii.a2b_base64(iv_b64)
    except Exception:
        raise ValueError("invalid NIP-04 payload: bad base64")
    if len(iv) != 16 or not ct or len(ct) % 16:
        raise ValueError("invalid NIP-04 payload: bad lengths")
    data = aes.cbc_decrypt(ecdh_x(sk, pub), iv, ct)
    pad = data[-1]
    if not 1 <= pad <= 16 or data[-pad:] != bytes((pad,)) * pad:
        raise ValueError("invalid NIP-04 padding")
    try:
        return data[:-pad].decode()
    except UnicodeError:
        raise ValueError("invalid NIP-04 plaintext: not UTF-8")
