# The pairing and key-import prompts (connect, nostrconnect, provision): loaded only
# while one is up, so a sign_event's prompt does not carry their code's dict.
#
# A pairing decides what a client may do unasked from now on, so its screen leads
# with who the client is -- its key under whatever name it claims -- and the
# permissions that give the most away ("sign ANY kind!", nip44_get_key, decrypts)
# above the harmless ones; the URL, a claim too, comes after.
from ui.screens import esc, wrap, who, rule, short_key, foot


def _danger(r):
    # how much a permission gives away: a pairing lists the worst first, so scrolling
    # is never needed to find them below harmless ones
    return 0 if r == "sign_event" else 2 if r.endswith("_decrypt") else 3


def _asks_key(text):
    # nip44_get_key in the perms asked for: never a rule (signer/perms.py), but said
    if type(text) is not str:
        return False
    for part in text.split(","):
        if part.strip().split(":", 1)[0] == "nip44_get_key":
            return True
    return False


def connect(meta, secret_state, rules, client_npub, relays=None, perms=None):
    """Title, body, footer for a connect (bunker) or, with relays, a nostrconnect pairing.
    perms: the permissions text the client sent (rules: what of it can be a rule)."""
    asks_key = _asks_key(perms)
    body = who(meta.get("name"), client_npub)
    if meta.get("name"):  # a name is a claim; the key is who it is
        body.append(short_key(client_npub))
    if secret_state:
        body.append({"ok": "secret ok", "none": "NO SECRET!", "bad": "WRONG SECRET!"}[secret_state])
    if rules or asks_key:
        body.append("asks to allow:")
        for d in range(4):  # by danger (list.sort need not be stable on MicroPython)
            if d == 1 and asks_key:
                body += ["nip44_get_key!", " (asked each", " time: no rule)"]
            for r in rules:
                if _danger(r) == d:
                    body.append(rule(r))
    else:
        body.append("no auto-allow")
    if meta.get("url"):  # a claim too: below what the person is deciding on
        body += wrap(esc(meta["url"], 64), max_lines=2)
    if relays:
        body.append("relays:")
        for r in relays:
            body += wrap(esc(r, 64), max_lines=2)
    return ("PAIR?" if relays else "CONNECT?"), body, foot("yes")


def provision(npub, replacing):
    body = ["new key:"] + wrap(npub)
    if replacing:
        body += ["REPLACES the", "current key and", "forgets clients"]
    return "IMPORT KEY?", body, foot("yes")
