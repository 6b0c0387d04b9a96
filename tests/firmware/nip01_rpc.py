# Test-only helpers for tests/test_nip01_cross.py, called through tests/mpy.py's
# Firmware. Events travel as JSON text and are parsed here with MicroPython's json, as
# the signer parses a NIP-46 request: pure-ASCII text (astral characters as escaped
# surrogate pairs, as ensure_ascii clients send them) or raw UTF-8 bytes. So the test
# does not depend on how the rpc transport encodes strings. Answers are ASCII only.
import json
from binascii import hexlify
from crypto import nip01


def event_id_json(text):
    return nip01.event_id(json.loads(text))


def event_id_utf8(raw):
    return nip01.event_id(json.loads(raw.decode()))


def serialize_json(text):
    e = json.loads(text)
    return hexlify(nip01.serialize(e["pubkey"], e["created_at"], e["kind"], e["tags"], e["content"])).decode()


def sign_json(text, sk, aux):
    ev = nip01.sign(json.loads(text), sk, aux)
    return [ev["id"], ev["sig"], ev["pubkey"], nip01.verify(ev)]
