# Flash storage: small files under the board's storage directory.
#
# Every write is atomic: the new bytes go to "<name>.tmp", then os.rename replaces the
# old file in one step, so a power cut leaves either the old file or the new one, never
# half of either (littlefs and the unix port rename atomically; on FAT MicroPython
# unlinks then renames, so a cut there can lose the file but not corrupt it).
# A leftover .tmp from a cut is ignored on read and overwritten by the next write.
#
# The key lives in its own file, "key.json", versioned so that the PIN-encrypted form,
# a mnemonic and several identities (later issues) can be told apart from this plain
# v1 record: {"v": 1, "sk": "<64 hex>"}. Nothing here ever prints or returns the key
# except load_key to its caller on the device.
import os
import json
from binascii import hexlify, unhexlify

KEY_FILE = "key.json"


def _path(root, name):
    return root + "/" + name


def ensure_dir(root):
    # mkdir -p for the storage root (the unix simulator hands us a fresh directory)
    parts = root.split("/")
    cur = ""
    for i, p in enumerate(parts):
        cur = p if i == 0 else cur + "/" + p
        if not cur:
            continue
        try:
            os.stat(cur)
        except OSError:
            os.mkdir(cur)


def write_atomic(root, name, data):
    # data: bytes, or a list of str pieces written in turn (write_json)
    ensure_dir(root)
    path = _path(root, name)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        if type(data) is list:
            for p in data:
                f.write(p)
        else:
            f.write(data)
    os.rename(tmp, path)


def read(root, name):
    """The file's bytes, or None if it does not exist."""
    try:
        with open(_path(root, name), "rb") as f:
            return f.read()
    except OSError:
        return None


def read_json(root, name, default=None):
    """A JSON file's value; default if missing or unreadable (a corrupt file must not
    brick the device: the caller starts from defaults, the person re-pairs)."""
    data = read(root, name)
    if data is None:
        return default
    try:
        return json.loads(data)
    except ValueError:
        return default


def write_json(root, name, value):
    # a dict one entry at a time: ten clients' records are ~2.4 KB of JSON, and a heap
    # split by requests may have no block of that size while a pairing is saved (it
    # failed there with MemoryError, the client left waiting); small pieces fit holes
    if type(value) is not dict:
        return write_atomic(root, name, [json.dumps(value)])
    out = []
    for k in value:
        out.append("," if out else "{")
        out.append(json.dumps(k))
        out.append(":")
        out.append(json.dumps(value[k]))
    out.append("}" if out else "{}")
    write_atomic(root, name, out)


def remove(root, name):
    """Delete a file if it is there (a rename of nothing is no error either)."""
    try:
        os.remove(_path(root, name))
    except OSError:
        pass


def load_key(root):
    """The stored 32-byte secret key, or None if no key has been provisioned."""
    rec = read_json(root, KEY_FILE)
    if type(rec) is not dict or rec.get("v") != 1:
        return None
    try:
        sk = unhexlify(rec["sk"])
    except (KeyError, ValueError, TypeError):
        return None
    return sk if len(sk) == 32 else None


def save_key(root, sk):
    if len(sk) != 32:
        raise ValueError("invalid key: need 32 bytes")
    write_json(root, KEY_FILE, {"v": 1, "sk": hexlify(sk).decode()})
