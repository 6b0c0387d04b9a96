# Follow lists (kind 3): the approval summary ("+added / -removed" against the last
# list this device signed, and a loud warning on a big drop: a phishing client's
# 500 -> 1) and the remembered follow set on flash.
#
# The remembered set is FILE under the identity's storage root: the sorted unique
# 32-byte pubkeys, concatenated (500 follows = 16 KB), read back 32 bytes at a time.
# The new set is a list of 32-byte bytes, not of 64-character strings. It is written before the event is
# signed (to FILE.tmp, streamed from the template) and renamed over FILE once the
# signature is made: the same write-temp-then-rename as keystore/store.write_atomic,
# so a power cut leaves the old set or the new one, never half.
#
# follows_of(tpl, f=None): the sorted unique 32-byte pubkeys of the p tags: a
#   bytearray, or written to the binary file f (returns the count).
# follow_diff(old, new) -> (added, removed): lists of hex; old/new may each be a
#   template, a follows_of() blob or a list of hex pubkeys.
# Imported only for a kind-3 prompt or signature, then dropped.
import os
from binascii import hexlify, unhexlify

FILE = "follows.bin"
SHOW = 3  # follows named as added/removed


def _hex64(s):
    if type(s) is not str or len(s) != 64:
        return False
    for c in s:
        if c not in "0123456789abcdef":
            return False
    return True


def summary(out, tpl, ctx):
    from ui import kinds as K
    new = _keys(tpl)  # 32-byte keys, sorted, not 500 hex strs
    n = len(new)
    out.append("follow list")
    old = ctx.get("last_follows")
    if old is None:
        out.append(K._count(n, "follow"))
        out.append("no earlier list")
    else:
        na, nr, add, rem, m = _diff(_blob(old), new, SHOW)
        s = "%d -> %d follows" % (m, n)
        out.append(s if len(s) <= K.W else ("%d -> %d" % (m, n))[:K.W])
        if nr and (nr >= 10 or nr * 5 >= m):  # a fifth or 10+ gone at once: loud
            s = "!! DROPS %d !!" % nr
            out.append(s if len(s) <= K.W else ("!!DROPS %d" % nr)[:K.W])
        if not na and not nr:
            out.append("no change")
        for c, lst, w in ((na, add, "+%d added"), (nr, rem, "-%d removed")):
            if c:
                out.append(w % c)
                for h in lst:
                    out.append(K._key(ctx, h))
                if c > len(lst):
                    out.append(" and %d more" % (c - len(lst)))
    new = None
    bad = -n
    for t in K._tags(tpl):
        if type(t) is list and t and type(t[0]) is str and t[0] == "p":
            bad += 1
    if bad:
        out.append("%d bad p tags" % bad)
    return False


# --- the store

def last(root):
    """The remembered follow set as an open binary file (close it), or None."""
    try:
        return open(root + "/" + FILE, "rb")
    except OSError:
        return None


def begin(root, tpl):
    """Write tpl's follow set to FILE.tmp (before signing: no template held after)."""
    from keystore import store
    store.ensure_dir(root)
    with open(root + "/" + FILE + ".tmp", "wb") as f:
        follows_of(tpl, f)


def commit(root, ok):
    """The event was signed (ok) or not: make FILE.tmp the remembered set, or drop it."""
    p = root + "/" + FILE
    if ok:
        os.rename(p + ".tmp", p)
        return
    try:
        os.remove(p + ".tmp")
    except OSError:
        pass


def forget(root):
    # the new set could not be written: no stale set to compare the next one against
    for p in (FILE, FILE + ".tmp"):
        try:
            os.remove(root + "/" + p)
        except OSError:
            pass


# --- follow sets: sorted 32-byte keys, the new one a list of bytes (_keys: from a
# template whose tags may be crypto.jsontags.Tags, read one tag at a time), the stored
# one a blob or a file; merged in one pass.

def _keys(tpl):
    # the template's p-tag pubkeys (64 hex, any case), sorted and unique: a list of
    # 32-byte bytes (each a small block: a fragmented heap at the prompt has no big one)
    tags = tpl.get("tags") if type(tpl) is dict else None
    if type(tags) is not list and not getattr(tags, "TAGS", False):
        return []
    return _sorted_set(tags, True, unhexlify)


def _pkey(x, d):
    # a tag (d) or list item -> its lowercase hex pubkey, or None
    if d:
        if type(x) is not list or len(x) < 2 or type(x[0]) is not str or x[0] != "p":
            return None
        x = x[1]
    if type(x) is str and len(x) == 64:
        if not _hex64(x):
            x = x.lower()
        if _hex64(x):
            return x
    return None


def _hexlist(x):
    d = type(x) is dict
    if d:
        x = x.get("tags")
        if type(x) is not list:
            x = ()
    return _sorted_set(x, d, None)


def _sorted_set(items, d, conv):
    # the pubkeys of items (tags if d, else hex strs), conv(hex) each, sorted and
    # unique, in one list of the right size: no regrowth on a fragmented heap
    n = 0
    for t in items:
        if _pkey(t, d):
            n += 1
    out = [None] * n
    n = 0
    for t in items:
        h = _pkey(t, d)
        if h:
            out[n] = conv(h) if conv else h
            n += 1
    out.sort()
    j = 0
    for v in out:
        if not j or v != out[j - 1]:
            out[j] = v
            j += 1
    del out[j:]
    return out


def _blob(x):
    if hasattr(x, "read"):
        return x  # a file of follows_of() keys, read 32 bytes at a time
    if type(x) in (bytes, bytearray):
        n = len(x) // 32
        for i in range(1, n):
            if x[i * 32 - 32:i * 32] >= x[i * 32:i * 32 + 32]:
                break
        else:
            return x if len(x) == n * 32 else x[:n * 32]
        x = [hexlify(x[i * 32:i * 32 + 32]).decode() for i in range(n)]
    hs = _hexlist(x)
    b = bytearray(32 * len(hs))
    for i in range(len(hs)):
        b[i * 32:i * 32 + 32] = unhexlify(hs[i])
    return b


def _next(old, i):
    if type(old) in (bytes, bytearray):
        a = old[i * 32:i * 32 + 32]
    else:
        try:
            a = old.read(32)
        except Exception:
            a = None
    return a if a and len(a) == 32 else None


def _diff(old, new, keep):
    # old: sorted blob or binary file of them, new: sorted list of 32-byte keys ->
    # (n added, n removed, first added, first removed, n old)
    if type(old) not in (bytes, bytearray):
        try:
            old.seek(0)
        except Exception:
            pass
    i = j = na = nr = 0
    add, rem = [], []
    n = len(new)
    a = _next(old, 0)
    b = new[0] if n else None
    while a is not None or b is not None:
        if b is None or (a is not None and a < b):  # only in the old list
            if keep is None or nr < keep:
                rem.append(hexlify(a).decode())
            nr += 1
        elif a is None or b < a:  # only in the new one
            if keep is None or na < keep:
                add.append(hexlify(b).decode())
            na += 1
        sa = b is None or (a is not None and a <= b)
        if a is None or (b is not None and b <= a):
            j += 1
            b = new[j] if j < n else None
        if sa:
            i += 1
            a = _next(old, i)
    return na, nr, add, rem, i


def follow_diff(old, new):
    if type(new) is dict:
        new = _keys(new)
    else:
        b = _blob(new or ())
        new = [bytes(b[i:i + 32]) for i in range(0, len(b), 32)]
    na, nr, add, rem, m = _diff(_blob(old or ()), new, None)
    return add, rem


def follows_of(tpl, f=None):
    """The sorted unique p-tag pubkeys as one bytearray; or, given a binary file f,
    written to it 32 bytes at a time -> how many."""
    ks = _keys(tpl)
    if f is None:
        b = bytearray(32 * len(ks))
        for i in range(len(ks)):
            b[i * 32:i * 32 + 32] = ks[i]
        return b
    for k in ks:
        f.write(k)
    return len(ks)


def run(a, req, methods):
    """requests.run for a kind 3 that gets signed: written beside the current list before
    signing (the template is freed as the event is built), put in its place once signed.
    (Here, not in the resident signer/requests.py: only a follow list needs it.)"""
    import app as _app
    root = a.id_root
    f3 = True
    try:
        begin(root, req["op"]["tpl"])
    except (OSError, MemoryError):
        forget(root)  # no stale list to compare against
        f3 = False
    ok = False
    try:
        req["result"] = methods.run(req["method"], req.pop("op"), a.sk)
        ok = True
    finally:
        if f3:
            commit(root, ok)
            for q in a.queue:  # a waiting kind 3 must compare with this one
                if q.get("kind") == 3 and q.pop("scr", None) and q is a.queue[0]:
                    a.redraw()
        _app._drop("ui.kinds_follows")
