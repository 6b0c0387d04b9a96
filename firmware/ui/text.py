# Text for a 16-column, 8-row screen (128x64, framebuf's 8x8 font).
#
# The font draws printable ASCII only, and what a person is asked to approve must not
# hide anything: every other character is shown as an escape (\n, \x07, \u202e,
# \U0001f600). Bidi overrides, zero-width spaces and control characters therefore
# appear as what they are instead of silently reordering or vanishing; a non-ASCII
# letter shows as its code point rather than a blank box.

W = 16
H = 8

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}


def esc(s, limit=400):
    """s with every non-printable-ASCII character escaped; at most `limit` chars of s
    are looked at (the rest of a 16 KB note cannot be shown anyway) and a cut is
    marked with "...". """
    cut = len(s) > limit
    if cut:
        s = s[:limit]
    out = []
    for c in s:
        o = ord(c)
        if 0x20 <= o < 0x7F and c != "\\":
            out.append(c)
        elif c in _NAMED:
            out.append(_NAMED[c])
        elif o < 0x100:
            out.append("\\x%02x" % o)
        elif o < 0x10000:
            out.append("\\u%04x" % o)
        else:
            out.append("\\U%08x" % o)
    if cut:
        out.append("...")
    return "".join(out)


def wrap(s, width=W, max_lines=40):
    """Hard-wrap at width columns (the text is already escaped, so one char = one column)."""
    lines = []
    for para in s.split("\n"):
        if not para:
            lines.append("")
        while para and len(lines) < max_lines:
            lines.append(para[:width])
            para = para[width:]
    return lines[:max_lines]


def short_key(bech):
    # npub1abcd..vwxyz: 16 columns, enough of both ends to compare with a client's view
    return bech[:9] + ".." + bech[-5:] if len(bech) > 16 else bech
