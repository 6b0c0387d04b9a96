# The bodies of the prompts that encrypt, decrypt or hand out a conversation key
# (ui/screens.py puts the title and footer around them).
#
# An encrypt is approved for what it encrypts, so its prompt shows the whole plaintext,
# scrollable to its last character: a summary cut at some length let a tail the person
# never saw ("P.S. new payment address: ...") be encrypted under their key (issue 11,
# break 2). The plaintext is a lazy segment (ui/screens.py), so a long one costs a few
# ints per 8 rows, never a wrapped copy.
#
# A NIP-17 client encrypts a rumor (kind 14 chat message, 15 file message) or a seal
# (kind 13) as JSON, in which the message is one escaped string among ids and keys.
# Such a plaintext is shown as what it is first -- its kind, every recipient (p tags,
# as short npubs), its author when that is not this signer, and its content -- then
# its tags and the whole JSON text, so that nothing the JSON holds is only in the
# parsed view.
#
# A decrypt shows no plaintext (none is known before approval: signer/methods.py), so
# it says whose conversation is opened (the peer) and which client gets to read it.
import json
from crypto import jsonspan
from ui import screens
from ui.screens import esc, wrap, pack, short_key, hex64, segment

# A plaintext this long at most is read as JSON (json.loads copies what it parses); a
# longer one is still shown whole, as text.
MAX_JSON = 8192
NIP17 = {13: "seal", 14: "chat msg", 15: "file msg"}
MAX_TO = 24  # recipients listed one a line; every p tag is in the tag list too


def body(method, op, head, client_npub, peer_npub, ctx=None):
    """-> the body (a tuple of segments for screens.page) of a keyed request other
    than sign_event. head: the lines above it (who is asking, then the method)."""
    ctx = ctx or {}
    W = screens.W
    peer = short_key(peer_npub)
    lines = list(head)
    if method == "nip44_get_key":
        lines += wrap("nip44 key with %s: client can read all DMs with them" % peer)
        return (pack(lines),)
    if method.endswith("decrypt"):
        # which client reads it: its key under its claimed name (a nameless one's
        # head is its key already)
        k = short_key(client_npub)
        if k not in lines:
            lines.insert(len(lines) - 1, k)
        lines += ["opens DMs with:", peer]
        return (pack(lines),)
    text = op["text"]
    lines[-1] = (method + " to")[:W]
    lines.append(peer)
    segs = []
    ev = _nip17(text)
    if ev is not None:
        k = ev["kind"]
        lines.append(("NIP-17 %s" % NIP17[k])[:W])
        lines.append("kind %d" % k)
        tags = ev.get("tags")
        tags = tags if type(tags) is list else []
        ps = [t for t in tags if type(t) is list and len(t) > 1 and t[0] == "p"]
        if ps:
            lines.append("recipients:" if len(ps) > 1 else "recipient:")
            for t in ps[:MAX_TO]:
                lines.append(_key(ctx, t[1]))
            if len(ps) > MAX_TO:
                lines.append("+%d more (tags)" % (len(ps) - MAX_TO))
        elif k != 13:
            lines.append("no recipient!")
        me = ctx.get("pubkey")
        pk = ev.get("pubkey")
        if me and pk is not None and pk != me:
            lines += ["author is NOT", "this signer:", _key(ctx, pk)]
        c = ev.get("content")
        lines.append("-- content --" if k != 13 else "-- sealed --")
        if type(c) is not str:
            lines.append("(not text)")
        elif c:
            segs.append(pack(lines))
            segs.append(segment(("c", c), W))
            lines = []
        else:
            lines.append('""')
        lines.append("-- %d tag%s --" % (len(tags), "" if len(tags) == 1 else "s"))
        if tags:
            segs.append(pack(lines))
            segs.append(segment(("t", tags), W))
            lines = []
        lines.append("-- whole text --")
    else:
        # a big plaintext is UTF-8 in the request's buffer (signer/rpc.py _big)
        n = len(text) if type(text) is str else jsonspan.chars(text, len(text))
        t = "-- %d char%s --" % (n, "" if n == 1 else "s")
        lines.append(t if len(t) <= W else "%d chars:" % n)
    segs.append(pack(lines))
    if text:
        segs.append(segment(("c", text), W))
    return tuple(segs)


def _key(ctx, h):
    npub = ctx.get("npub")
    if hex64(h) and npub:
        try:
            return npub(h)
        except Exception:
            pass
    if hex64(h):
        return h[:6] + ".." + h[-6:]
    return ("bad key " + esc(h if type(h) is str else "?", 8))[:screens.W]


def _nip17(text):
    # the parsed rumor or seal, or None. Only text that starts as a JSON object is
    # parsed: a plain message never costs a parse.
    if len(text) > MAX_JSON:
        return None
    mv = type(text) is not str  # UTF-8 left in the request's buffer: its bytes, uncopied
    i = 0
    n = len(text)
    while i < n and text[i] in (b" \t\r\n" if mv else " \t\r\n"):
        i += 1
    if i == n or text[i] != (0x7B if mv else "{"):
        return None
    if mv:
        text = str(text, "utf-8")
    try:
        ev = json.loads(text)
    except (ValueError, MemoryError):  # no room for its objects: shown as text, whole
        return None
    if type(ev) is not dict or type(ev.get("kind")) is not int or ev["kind"] not in NIP17:
        return None
    return ev
