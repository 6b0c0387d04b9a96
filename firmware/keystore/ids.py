# Several identities (keys) on one device, one active; the key operations the app and
# its flows (ui/setup.py, ui/pin.py, ui/keys.py) share. Loaded for one operation and
# dropped after (app._lazy / _drop): nothing here stays resident while the signer idles.
#
# "ids.json" in the storage root: {"active": n, "ids": [n, ...]}; missing = one
# identity, 0. Identity 0's data lives in the root itself (where a one-key device
# always kept key.json and clients.json), identity n > 0 in root/id<n>. An identity's
# directory (app.id_root) holds what belongs to that key: its clients and their rules
# (clients.json) and its last follow list. The device's settings (relays, bunker
# secret: signer.json), the audit log and the PIN counter stay in the root.
#
# Keys: without a PIN each identity has key.json (plain, keystore/store.py) in its
# directory; with a PIN every key is in the one vault.json in the root
# (keystore/vault.py) and no key.json is left. The vault's presence is what "a PIN is
# set" means. A change writes the new form first, then removes the old one: a power
# cut in between leaves both, the vault wins (the device boots locked), and the next
# unlock finishes the job by removing the plain files.
#
# Every write is atomic. Adding an identity writes its key before ids.json names it,
# so a cut leaves at worst a directory nothing names, which the next add reuses.
from binascii import hexlify
from crypto import secp256k1
from keystore import store, vault

IDS = "ids.json"
MAX_IDS = 8
# what belongs to a key and must not outlive it (signer/clients.py, ui/kinds_follows.py)
_PER_KEY = ("clients.json", "follows.bin")


def once(mod, fn, *args):
    """mod.fn(*args) (mod "keystore.ids" or "keystore.nip06"), then every module
    imported since this one was, itself included, forgotten: a flow's key work leaves
    nothing resident."""
    import sys
    before = [n for n in sys.modules if n != __name__]
    try:
        __import__(mod)
        return getattr(sys.modules[mod], fn)(*args)
    finally:
        unload(before)


def unload(before):
    """Forget every module imported since `before` (names in sys.modules then): the
    flows call this module, the vault, PBKDF2's SHA-512 for one operation,
    and none of it may stay resident afterwards."""
    import sys
    for name in list(sys.modules):
        if name not in before:
            sys.modules.pop(name, None)
            parent, _, leaf = name.rpartition(".")
            if parent in sys.modules:
                try:
                    delattr(sys.modules[parent], leaf)
                except (AttributeError, KeyError):  # MicroPython: KeyError for a module
                    pass


def room(a):
    return len(load(a.root)["ids"]) < MAX_IDS


def dir_of(root, n):
    return root if n == 0 else "%s/id%d" % (root, n)


def load(root):
    rec = store.read_json(root, IDS)
    ids = []
    active = 0
    if type(rec) is dict and type(rec.get("ids")) is list:
        for n in rec["ids"]:
            if type(n) is int and 0 <= n < 1000 and n not in ids:
                ids.append(n)
        active = rec.get("active")
    if not ids:
        ids = [0]
    if active not in ids:
        active = ids[0]
    return {"active": active, "ids": ids}


def pub_of(sk):
    return hexlify(secp256k1.pubkey(sk)).decode()


def boot(a):
    """Set a.id_n / a.id_root to the active identity; -> (key, pub): (None, pub) when
    locked (pub "" if the vault doesn't say), (None, None) when there is no key yet."""
    rec = load(a.root)
    a.id_n = n = rec["active"]
    a.id_root = dir_of(a.root, n)
    if vault.exists(a.root):
        return None, vault.pubs(a.root).get(n, "")
    return store.load_key(a.id_root), None


def _keys(a):
    # {n: key} of every identity (the app is unlocked, or there is no PIN)
    if a.vsess is not None:
        return dict(vault.open_all(a.root, a.vsess) or ())
    out = {}
    for n in load(a.root)["ids"]:
        sk = a.sk if n == a.id_n else store.load_key(dir_of(a.root, n))
        if sk:
            out[n] = sk
    return out


def listing(a):
    """[(n, pub hex or None)] for the keys list (public keys only)."""
    rec = load(a.root)
    if vault.exists(a.root):
        p = vault.pubs(a.root)
        return [(n, p.get(n)) for n in rec["ids"]]
    out = []
    for n in rec["ids"]:
        sk = a.sk if n == a.id_n else store.load_key(dir_of(a.root, n))
        out.append((n, pub_of(sk) if sk else None))
        sk = None
    return out


def _activate(a, rec, n, sk, changed=False):
    # rec is what ids.json says (load()): written only when it changes
    if changed or rec["active"] != n:
        rec["active"] = n
        store.write_json(a.root, IDS, rec)
    a._set_identity(n, dir_of(a.root, n), sk)


def adopt(a, sk, add=None):
    """A new key: from the set-up flow, or `provision`ed by the host and approved
    on the device (signer/pairing.py, add=None: a new identity if the set-up flow
    was opened from Keys to add one, else in place of the active one, and the
    set-up flow, done, closes). -> True if it replaced a key. Here rather than in
    app.py: only those two rare paths need it, and app.py's code stays resident."""
    f = a.flow
    setup = f is not None and f[0].__name__ == "ui.setup"
    provisioned = add is None
    if provisioned:
        add = setup and bool(f[1] and f[1].get("add"))
    replacing = a.sk is not None and not add
    store_key(a, sk, add)
    if provisioned and setup:
        a.close_flow()
    return replacing


def store_key(a, sk, new_id=False):
    """Keep sk as the active identity's key (replacing it: its clients go too), or
    as a new identity (new_id), made active. Under the PIN when one is set."""
    rec = load(a.root)
    if new_id:
        if len(rec["ids"]) >= MAX_IDS:
            raise ValueError("invalid: too many keys")
        n = max(rec["ids"]) + 1
    else:
        n = rec["active"]
    d = dir_of(a.root, n)
    store.ensure_dir(d)
    # sessions granted to another key are not this one's: gone first, so a cut can
    # only leave the old key without them, never the new key with them
    for f in _PER_KEY:
        store.remove(d, f)
    if n == a.id_n:
        a.clients.clear()
    if a.vsess is not None:
        keys = _keys(a)
        keys[n] = sk
        _seal(a, keys)
    else:
        store.save_key(d, sk)
    if new_id:
        rec["ids"].append(n)
    _activate(a, rec, n, sk, new_id)


def _seal(a, keys, sess=None):
    vault.seal(a.root, [(n, keys[n], pub_of(keys[n])) for n in sorted(keys)], sess or a.vsess,
               a.board.rng)


def switch(a, n):
    rec = load(a.root)
    if n not in rec["ids"]:
        raise ValueError("invalid identity")
    sk = _keys(a).get(n)
    if sk is None:
        raise ValueError("invalid identity: no key")
    _activate(a, rec, n, sk)


# ---- the PIN --------------------------------------------------------------------------

def pin_set(a):
    return vault.exists(a.root)


def iterations(a):
    # about pin_ms (1 s) per derivation on this board
    return vault.calibrate(int(a.cfg.get("pin_ms", 1000)), a.board.ticks_ms, a.board.ticks_diff)


def _finish(a, keys):
    # the vault holds these keys: a plain copy left by a cut mid-change goes now
    for n in keys:
        store.remove(dir_of(a.root, n), store.KEY_FILE)


def unlock(a, pin, progress=None):
    """Open the vault (a counted guess: vault.WrongPin / vault.Wiped propagate) and
    make the active identity's key the app's."""
    try:
        keys, sess = vault.unlock_session(a.root, pin, progress)
    except vault.Wiped:
        forget_all(a)
        raise
    a.vsess = sess
    keys = dict(keys)
    _finish(a, keys)
    rec = load(a.root)
    n = rec["active"] if rec["active"] in keys else sorted(keys)[0]
    _activate(a, rec, n, keys[n])


def check(a, pin, progress=None):
    """Is pin the PIN? A counted guess like unlock (asked before a change or removal)."""
    try:
        vault.unlock_session(a.root, pin, progress)
    except vault.Wiped:
        forget_all(a)
        raise


def set_pin(a, pin, progress=None):
    """Put every key under pin (a new PIN, or a changed one): one write of the vault."""
    keys = _keys(a)
    sess = vault.session(pin, iterations(a), a.board.rng, progress)
    _seal(a, keys, sess)
    vault.reset_count(a.root)
    a.vsess = sess
    _finish(a, keys)


def remove_pin(a):
    """Every key back to key.json in its directory, then the vault goes."""
    keys = _keys(a)
    for n in keys:
        store.save_key(dir_of(a.root, n), keys[n])
    vault.wipe(a.root)
    a.vsess = None


def forget_all(a):
    """After the wipe: no key is left, so nothing of the identities is kept (their
    clients were sessions of keys that no longer exist). Back to a first boot."""
    for n in load(a.root)["ids"]:
        d = dir_of(a.root, n)
        for f in _PER_KEY + (store.KEY_FILE,):
            store.remove(d, f)
    store.remove(a.root, IDS)
    a.vsess = None
    a._set_identity(0, a.root, None)
