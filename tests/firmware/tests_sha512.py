# RPC helper for tests/test_symmetric_cross.py: one call, one digest.
from crypto.sha512 import sha512


def digest(data):
    return sha512(data).digest()
