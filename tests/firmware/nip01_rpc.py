# Test-only helpers for tests/test_nip01_cross.py, called through tests/mpy.py's
# Firmware (rpc.py puts this folder on the path). They return only ASCII values:
# MicroPython's json.dumps would send CESU-8 bytes for a content holding surrogates,
# which CPython could not decode.
from crypto import nip01


def sign_id_sig(template, sk, aux):
    ev = nip01.sign(template, sk, aux)
    return [ev["id"], ev["sig"], ev["pubkey"], nip01.verify(ev)]


def serialize_hex(ev):
    from binascii import hexlify
    return hexlify(nip01.serialize(ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"])).decode()
