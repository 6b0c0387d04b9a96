# JSON strings of a big request read where they lie (in the link's receive buffer):
# find a top-level string value's span, unescape it in place, check UTF-8.
#
# Why: a 16 KB sign_event arrives as base64 (~22 KB) in the link's buffer. Decrypted in
# place it becomes the RPC text, whose params[0] is the template text, whose "content"
# is the note. json.loads at each level would copy the note three times (decrypted
# str, params[0], content); a 128 KB heap with code in it has no room for that. Here
# each level is unescaped inside the level above (an escape is never shorter than
# what it stands for), so the note is only ever the bytes of the link's buffer.
#
# Unescaping matches MicroPython's json.loads (the small-request path): \uXXXX becomes
# the code unit's UTF-8, a UTF-16 surrogate (paired or lone) its 3-byte CESU-8 form,
# which crypto/nip01.py's serialiser turns back into what JSON.stringify writes.
import micropython


@micropython.viper
def utf8_ok(b, n: int) -> bool:
    # what str(bytes, "utf-8") checks on MicroPython (py/unicode.c utf8_check): lead and
    # continuation bytes in shape, nothing cut off at the end
    s = ptr8(b)
    need = 0
    i = 0
    while i < n:
        c = s[i]
        if need:
            if (c & 0xC0) != 0x80:
                return False
            need -= 1
        elif c >= 0xC0:
            if c >= 0xF8:
                return False
            need = (0xE5 >> ((c >> 3) & 6)) & 3
        elif c >= 0x80:
            return False
        i += 1
    return need == 0


@micropython.viper
def unescape(b, i: int, n: int) -> int:
    # the JSON string body b[i:n] (between the quotes) unescaped into b[i:...] in place
    # -> its end, or -1 where MicroPython's json.loads fails too (a bare quote, a \u
    # without 4 hex digits, a trailing backslash)
    s = ptr8(b)
    o = i
    while i < n:
        c = s[i]
        if c == 0x5C:
            if i + 1 >= n:
                return -1
            e = s[i + 1]
            i += 2
            if e == 0x22 or e == 0x5C or e == 0x2F:
                s[o] = e
            elif e == 0x62:
                s[o] = 8
            elif e == 0x66:
                s[o] = 12
            elif e == 0x6E:
                s[o] = 10
            elif e == 0x72:
                s[o] = 13
            elif e == 0x74:
                s[o] = 9
            elif e == 0x75:
                if i + 4 > n:
                    return -1
                u = 0
                k = 0
                while k < 4:
                    d = s[i + k]
                    if d >= 48 and d <= 57:
                        d -= 48
                    elif d >= 97 and d <= 102:
                        d -= 87
                    elif d >= 65 and d <= 70:
                        d -= 55
                    else:
                        return -1
                    u = (u << 4) | d
                    k += 1
                i += 4
                if u < 0x80:
                    s[o] = u
                elif u < 0x800:
                    s[o] = 0xC0 | (u >> 6)
                    o += 1
                    s[o] = 0x80 | (u & 0x3F)
                else:
                    s[o] = 0xE0 | (u >> 12)
                    o += 1
                    s[o] = 0x80 | ((u >> 6) & 0x3F)
                    o += 1
                    s[o] = 0x80 | (u & 0x3F)
            else:
                s[o] = e  # as MicroPython's json does: an unknown escape is its character
            o += 1
        elif c == 0x22:
            return -1
        else:
            s[o] = c
            o += 1
            i += 1
    return o


@micropython.viper
def string_end(b, i: int, n: int) -> int:
    # index of the quote closing the JSON string whose body starts at i, or -1
    s = ptr8(b)
    while i < n:
        c = s[i]
        if c == 0x22:
            return i
        if c == 0x5C:
            i += 2
        else:
            i += 1
    return -1


@micropython.viper
def find(b, n: int, pat, m: int, i: int) -> int:
    # first index >= i of pat[0:m] in b[0:n], or -1
    s = ptr8(b)
    p = ptr8(pat)
    while i + m <= n:
        j = 0
        while j < m and s[i + j] == p[j]:
            j += 1
        if j == m:
            return i
        i += 1
    return -1


@micropython.viper
def chars(b, n: int) -> int:
    # the characters in UTF-8 b[0:n] (as len() of its str counts them: a CESU-8
    # surrogate half is one)
    s = ptr8(b)
    k = 0
    i = 0
    while i < n:
        if (s[i] & 0xC0) != 0x80:
            k += 1
        i += 1
    return k


@micropython.viper
def utf8_of_cesu(b, n: int) -> int:
    # b[0:n] rewritten in place as a JS TextEncoder encodes the same string: a UTF-16
    # surrogate pair that json.loads left as two 3-byte CESU-8 halves (from
    # "\ud83d\ude00", how ensure_ascii clients send emoji) becomes its 4-byte UTF-8,
    # a lone half U+FFFD -> the new length (never longer)
    s = ptr8(b)
    i = 0
    o = 0
    while i < n:
        c = s[i]
        if c == 0xED and i + 2 < n and (s[i + 1] & 0xE0) == 0xA0:
            u = 0xD000 | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F)
            if u < 0xDC00 and i + 5 < n and s[i + 3] == 0xED and (s[i + 4] & 0xF0) == 0xB0:
                lo = 0xD000 | ((s[i + 4] & 0x3F) << 6) | (s[i + 5] & 0x3F)
                cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                s[o] = 0xF0 | (cp >> 18)
                s[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
                s[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
                s[o + 3] = 0x80 | (cp & 0x3F)
                o += 4
                i += 6
            else:
                s[o] = 0xEF
                s[o + 1] = 0xBF
                s[o + 2] = 0xBD
                o += 3
                i += 3
        else:
            s[o] = c
            o += 1
            i += 1
    return o


def _ws(b, i, n, back=False):
    # skip JSON whitespace forwards from i (or backwards from i)
    while 0 <= i < n and b[i] in b" \t\r\n":
        i += -1 if back else 1
    return i


def value_span(b, key, lead=b""):
    """The body span (a, z) of the string that is the value of the key `key` (bytes,
    with its quotes) in the JSON object text b (a memoryview), optionally inside
    `lead` (b"[" for the first item of a list), or None unless that key occurs exactly
    once as a literal key: preceded by { or , and followed by : (an escaped quote
    cannot be a key's quote: inside a string every quote is escaped, so its \\ is what
    precedes it). The caller still parses the text around the span to confirm."""
    n = len(b)
    k = find(b, n, key, len(key), 0)
    if k < 0 or find(b, n, key, len(key), k + 1) >= 0:
        return None
    p = _ws(b, k - 1, n, True)
    if p < 0 or b[p] not in b"{,":
        return None
    i = _ws(b, k + len(key), n)
    if i >= n or b[i] != 0x3A:
        return None
    i = _ws(b, i + 1, n)
    for c in lead:
        if i >= n or b[i] != c:
            return None
        i = _ws(b, i + 1, n)
    if i >= n or b[i] != 0x22:
        return None
    z = string_end(b, i + 1, n)
    return None if z < 0 else (i + 1, z)


def next_item(b, z):
    """The body span of the string that follows, as the next item of a list, the
    string whose closing quote is at z (`, "..."`), or None."""
    n = len(b)
    i = _ws(b, z + 1, n)
    if i >= n or b[i] != 0x2C:
        return None
    i = _ws(b, i + 1, n)
    if i >= n or b[i] != 0x22:
        return None
    e = string_end(b, i + 1, n)
    return None if e < 0 else (i + 1, e)


def without(b, span):
    """b (a memoryview) with the string at span emptied, as a new small bytearray: the
    rest of the object, for json.loads."""
    a, z = span
    small = bytearray(len(b) - (z - a))
    small[0:a] = b[0:a]
    small[a:] = b[z:]
    return small
