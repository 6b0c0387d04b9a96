# The screens: each is a list of at most 8 text lines of at most 16 columns, drawn on
# the board's framebuf and handed unchanged to display.show() as the text mirror, so
# what tests and people read is exactly what the pixels say.
#
# A prompt screen is a title line, a 6-line window on its body (up/down scroll it)
# and a footer naming the buttons. Bodies are built from the parsed request the
# device will act on (see signer/methods.py), never from the raw text.
from ui import text as T
from ui import summary

BODY = T.H - 2


def draw(display, lines):
    fb = display.fb
    fb.fill(0)
    for i in range(min(len(lines), T.H)):
        fb.text(lines[i], 0, i * 8, 1)
    display.show(lines)


def idle(npub, nclients, waiting):
    if not npub:
        return ["NOSTR SIGNER", "no key yet:", "provision it", "from the host", "", "waiting: %d" % waiting]
    return ["NOSTR SIGNER", T.short_key(npub), "", "clients: %d" % nclients, "waiting: %d" % waiting]


def page(title, body, footer, scroll, waiting):
    """8 lines: title (+N others waiting, scroll marks), body window, footer."""
    top = max(0, len(body) - BODY)
    scroll = max(0, min(scroll, top))
    marks = ("^" if scroll > 0 else "") + ("v" if scroll < top else "")
    head = (title + (" +%d" % waiting if waiting else ""))[:T.W - 3]
    if marks:
        head += " " * (T.W - len(head) - len(marks)) + marks
    win = body[scroll:scroll + BODY]
    return [head] + win + [""] * (BODY - len(win)) + [footer]


def _who(name, client_npub):
    # a client's name is its own claim: shown escaped and marked, or its key if nameless
    if name:
        return [T.esc(name, 40)[:T.W], "(unverified)"]
    return ["client", T.short_key(client_npub)]


FOOT_RULE = "A:yes R:no L:all"
FOOT = "A:yes R:no"


def request(item, client_name, client_npub, peer_npub):
    """Title, body, footer for a keyed request waiting for approval."""
    m = item["method"]
    body = _who(client_name, client_npub)
    if m == "nip44_get_key":
        body += ["!! KEY EXPORT !!"] + T.wrap(summary.request(m, item["op"], peer_npub))
        return "EXPORT KEY?", body, FOOT
    body.append(m[:T.W])
    body += T.wrap(summary.request(m, item["op"], peer_npub))
    return "APPROVE?", body, FOOT_RULE


def connect(meta, secret_state, rules, client_npub, relays=None):
    """Title, body, footer for a connect (bunker) or nostrconnect pairing."""
    body = _who(meta.get("name"), client_npub)
    if meta.get("url"):
        body += T.wrap(T.esc(meta["url"], 64), max_lines=2)
    if secret_state == "ok":
        body.append("secret ok")
    elif secret_state == "none":
        body.append("NO SECRET!")
    elif secret_state == "bad":
        body.append("WRONG SECRET!")
    if rules:
        body.append("asks to allow:")
        for r in rules:
            body.append(summary.rule(r))
    else:
        body.append("no auto-allow")
    if relays:
        body.append("relays:")
        for r in relays:
            body += T.wrap(T.esc(r, 64), max_lines=2)
    return ("PAIR?" if relays else "CONNECT?"), body, FOOT


def provision(npub, replacing):
    body = ["new key:"] + T.wrap(npub)
    if replacing:
        body += ["REPLACES the", "current key and", "forgets clients"]
    return "IMPORT KEY?", body, FOOT
