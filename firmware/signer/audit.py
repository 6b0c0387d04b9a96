# The audit log: the last N answered requests of admitted clients (what was signed,
# encrypted or decrypted, approved by a press or allowed by a rule, or refused), kept
# on flash so the owner can look back from the device menu.
#
# A record holds when, which client (first 8 hex of its key), the method, the kind,
# the signed event's id prefix and the outcome. Never a plaintext, content or tag:
# the log is for "what did this device do", not "what did it say".
#
# Storage: one file of N fixed-width records (80 bytes, N = 50: 4000 bytes, one flash
# sector), used as a ring. Record seq goes to slot seq % N and is written in place,
# one write of 80 bytes; the newest is the valid record with the highest seq, so no
# header has to be kept in step. Each record ends in a CRC32 of its text: a write cut
# short (a kill of the simulator, a file system that writes in place) spoils at most
# that record, which the CRC rejects and the reader skips, and the next append reuses
# its seq and slot. On littlefs (rp2, esp32) a file's writes are committed at close,
# so a cut leaves the old record. (FAT on raw flash could lose the whole 4 KB sector
# in a cut; no board here uses it, and a lost log costs no key and no client.)
# Rewriting the whole file atomically (tmp + rename) per request would cost a 4 KB
# flash write and a 4 KB buffer each time, for no gain over this.
#
# Loaded for each append and dropped after (app._done); the next seq is cached on the
# App (a small int) so an append reads nothing after the first one since boot.
from binascii import crc32

FILE = "audit.log"
N = 50
REC = 80
_BODY = 70  # then " %08x\n": the CRC32 of the first 70 bytes
# seq, time, client, method, kind, event id prefix, outcome
_FMT = "%08x %08x %-8s %-13s %5s %-8s %-14s"


def _path(root):
    return root + "/" + FILE


def _record(seq, t, client, method, kind, eid, outcome):
    body = _FMT % (seq & 0xFFFFFFFF, t & 0xFFFFFFFF, (client or "")[:8], (method or "")[:13],
                   "" if kind is None else str(kind)[:5], (eid or "")[:8], outcome[:14])
    body = body.encode()
    if len(body) != _BODY:  # a non-ASCII outcome would shift the columns
        return None
    return body + b" %08x\n" % crc32(body)


def _valid(b):
    # b: REC bytes read from a slot
    try:
        return int(bytes(b[_BODY + 1:_BODY + 9]), 16) == crc32(b[:_BODY]) and b[REC - 1] == 10
    except ValueError:
        return False


def _slots(root):
    # -> [(seq, slot)] of the valid records, in file order
    out = []
    buf = bytearray(REC)
    try:
        f = open(_path(root), "rb")
    except OSError:
        return out
    with f:
        for slot in range(N):
            if f.readinto(buf) != REC:
                break
            if _valid(buf):
                out.append((int(bytes(buf[:8]), 16), slot))
    return out


def newest(root):
    """Slots of the valid records, newest first."""
    s = _slots(root)
    s.sort(reverse=True)
    return [slot for _, slot in s]


def read(root, slot):
    """The record in slot -> dict (time, client, method, kind, eid, outcome), or None."""
    buf = bytearray(REC)
    try:
        with open(_path(root), "rb") as f:
            f.seek(slot * REC)
            if f.readinto(buf) != REC:
                return None
    except OSError:
        return None
    if not _valid(buf):
        return None
    s = bytes(buf).decode()
    kind = s[41:46].strip()
    return {"seq": int(s[:8], 16), "time": int(s[9:17], 16), "client": s[18:26].strip(),
            "method": s[27:40].strip(), "kind": int(kind) if kind else None,
            "eid": s[47:55].strip(), "outcome": s[56:70].strip()}


def append(root, seq, t, client, method, kind, eid, outcome):
    rec = _record(seq, t, client, method, kind, eid, outcome)
    if rec is None:
        rec = _record(seq, t, client, method, kind, eid, "?")
    try:
        f = open(_path(root), "r+b")
    except OSError:
        f = open(_path(root), "wb")
    with f:
        # past the end on a young log: the gap reads as zeros, which fail the CRC
        f.seek((seq % N) * REC)
        f.write(rec)


def add(a, outcome, client, method, kind, eid, rule):
    """app._done's hook: log one answered request of an admitted client."""
    seq = getattr(a, "audit_seq", None)
    if seq is None:
        s = _slots(a.root)
        seq = max(s)[0] + 1 if s else 0
    if outcome == "ok" and rule:
        outcome = "rule"  # answered without a press: a rule allowed it
    try:
        append(a.root, seq, a.now(), client, method, kind, eid, outcome)
    except OSError:
        return  # a full or failing flash must not stop the answer that was already sent
    a.audit_seq = seq + 1
