# A big template's tags kept as text where they arrived (issue 10, 4): a follow list of
# 500 p tags parsed into Python lists costs ~190 bytes a tag on x64 (95 KB), more than
# the whole request's text. Tags(b, a, z) holds the JSON array b[a:z] (a memoryview of
# the template text, in the request's buffer) and the offsets of its tags (8 bytes a
# tag, one block); each tag is parsed only when it is read, into a short-lived list of str, by
# MicroPython's own json.loads of that tag's text: what is hashed, shown and written
# back is exactly what the whole template's json.loads would have given.
#
# The walk checks the whole array once, at construction, as json.loads and
# nip01.validate would: a JSON array of arrays of strings (ValueError otherwise). The
# walk is a loop over the bytes (no recursion): its depth does not grow with the input.
# loads(text): json.loads of a big template (signer/methods.py), its content and tags
# left where they lie. Loaded only for a big template.
import json
import struct
from crypto import jsonspan
from crypto.jsonspan import string_end

_WS = b" \t\r\n"


def _ws(b, i, n):
    while i < n and b[i] in _WS:
        i += 1
    return i


def array_end(b, i, n):
    """b[i] is '[' of an array of arrays of strings: -> the index after its ']', or -1
    when the text is not that shape (nested deeper, numbers, objects...)."""
    if i >= n or b[i] != 0x5B:
        return -1
    i = _ws(b, i + 1, n)
    if i < n and b[i] == 0x5D:
        return i + 1
    while i < n:
        if b[i] != 0x5B:  # a tag
            return -1
        i = _ws(b, i + 1, n)
        if i < n and b[i] != 0x5D:
            while True:
                if i >= n or b[i] != 0x22:
                    return -1
                i = string_end(b, i + 1, n)
                if i < 0:
                    return -1
                i = _ws(b, i + 1, n)
                if i < n and b[i] == 0x2C:
                    i = _ws(b, i + 1, n)
                    continue
                break
        if i >= n or b[i] != 0x5D:
            return -1
        i = _ws(b, i + 1, n)
        if i < n and b[i] == 0x2C:
            i = _ws(b, i + 1, n)
            continue
        if i < n and b[i] == 0x5D:
            return i + 1
        return -1
    return -1


class Tags:
    """A read-only list of tags (lists of str) over their JSON text: len, [i], iteration."""

    TAGS = True  # what nip01 and ui.kinds recognise it by (JSON never parses to one)

    def __init__(self, b, a, z):
        # b[a:z]: the array's text, '[' to ']', already found by array_end. Counted
        # first: the offsets are one block of the right size (a growing array would
        # leave holes behind it, and need a bigger block at each step)
        self.b = b
        n = 0
        for i, j in _spans(b, a, z):
            n += 1
        self.n = n
        self.st = st = bytearray(8 * n)
        k = 0
        for i, j in _spans(b, a, z):
            struct.pack_into("<II", st, 8 * k, i, j)
            t = json.loads(b[i:j])  # the check json.loads would make: escapes, UTF-8
            if type(t) is not list:
                raise ValueError("invalid event: tag %d is not a list" % k)
            for m in range(len(t)):
                if type(t[m]) is not str:
                    raise ValueError("invalid event: tag %d item %d is not a string" % (k, m))
            k += 1

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        n = self.n
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError
        a, z = struct.unpack_from("<II", self.st, 8 * i)
        return json.loads(self.b[a:z])

    def __iter__(self):
        st = self.st
        b = self.b
        for k in range(self.n):
            a, z = struct.unpack_from("<II", st, 8 * k)
            yield json.loads(b[a:z])


def _spans(b, a, z):
    # (start, end) of each tag's text in the array b[a:z] (its shape checked already)
    i = _ws(b, a + 1, z)
    while i < z and b[i] == 0x5B:
        j = i + 1
        while b[j] != 0x5D:  # strings' ']' are skipped by string_end
            if b[j] == 0x22:
                j = string_end(b, j + 1, z)
            j += 1
        yield i, j + 1
        i = _ws(b, j + 1, z)
        if i < z and b[i] == 0x2C:
            i = _ws(b, i + 1, z)

SHORT = 1024


def loads(text):
    # json.loads of the template. A big one (a memoryview in the link's buffer, from
    # rpc.parse) keeps its content there: unescaped in place, tpl["content"] is a
    # memoryview of its UTF-8, which crypto/nip01.py hashes and writes where it lies
    # (a copy would need a second big block, which a fragmented heap may not have).
    # Big tags (a follow list's hundreds) stay there too, as text: tpl["tags"] is a
    # crypto.jsontags.Tags over them, each tag parsed only while it is read.
    # The rest (small) is parsed from a copy without them.
    sp = jsonspan.value_span(text, b'"content"')
    if sp is not None and sp[1] - sp[0] <= SHORT:
        sp = None
    ts = _tags_span(text)
    if ts is not None and sp is not None and not (ts[1] < sp[0] or sp[1] < ts[0]):
        ts = None
    if sp is None and ts is None:
        # nothing big to keep in place: parsed where it lies
        return json.loads(text)
    tpl = json.loads(_without(text, sp, ts))
    if (type(tpl) is not dict or (sp is not None and tpl.get("content") != "")
            or (ts is not None and tpl.get("tags") != [])):
        return json.loads(text)  # the spans were not the content, the tags: text is untouched
    if ts is not None:
        tpl["tags"] = Tags(text, ts[0], ts[1])
    if sp is None:
        return tpl
    end = jsonspan.unescape(text, sp[0], sp[1])
    if end < 0:
        raise ValueError("not JSON")
    c = text[sp[0]:end]
    # a short content as a str: else the few bytes would keep the whole buffer alive
    # while the prompt waits and the response is made
    tpl["content"] = str(c, "utf-8") if len(c) <= SHORT else c
    return tpl


def _tags_span(b):
    # (a, z): the text of the template's "tags" array, '[' to ']', when it is long and
    # of the shape Tags keeps (arrays of strings); else None
    if len(b) <= SHORT:
        return None
    n = len(b)
    key = b'"tags"'
    k = jsonspan.find(b, n, key, len(key), 0)
    if k < 0 or jsonspan.find(b, n, key, len(key), k + 1) >= 0:
        return None
    p = jsonspan._ws(b, k - 1, n, True)
    if p < 0 or b[p] not in b"{,":
        return None
    i = jsonspan._ws(b, k + len(key), n)
    if i >= n or b[i] != 0x3A:
        return None
    i = jsonspan._ws(b, i + 1, n)
    z = array_end(b, i, n)
    if z < 0 or z - i <= SHORT:
        return None
    return i, z


def _without(b, sp, ts):
    # b with the content's body emptied and the tags array as [], as a new small bytearray
    cuts = []
    if sp is not None:
        cuts.append((sp[0], sp[1], b""))
    if ts is not None:
        cuts.append((ts[0], ts[1], b"[]"))
    cuts.sort()
    n = len(b)
    for a, z, r in cuts:
        n -= z - a - len(r)
    small = bytearray(n)
    o = i = 0
    for a, z, r in cuts:
        small[o:o + a - i] = b[i:a]
        o += a - i
        small[o:o + len(r)] = r
        o += len(r)
        i = z
    small[o:] = b[i:]
    return small
