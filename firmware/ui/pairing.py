# Screens for pairing and keys: a bunker `connect`, a nostrconnect:// pairing, a key
# import. Loaded on demand with signer/pairing.py (see app.py, _lazy).
from ui.screens import W, FOOT, esc, wrap, who, kind_name


def rule(r):
    # how a requested permission reads on the screen
    if r == "sign_event":
        return "sign ANY kind!"
    if r.startswith("sign_event:"):
        k = int(r[11:])
        return ("sign %d %s" % (k, kind_name(k)))[:W]
    return r[:W]


def connect(meta, secret_state, rules, client_npub, relays=None):
    """Title, body, footer for a connect (bunker) or nostrconnect pairing."""
    body = who(meta.get("name"), client_npub)
    if meta.get("url"):
        body += wrap(esc(meta["url"], 64), max_lines=2)
    if secret_state == "ok":
        body.append("secret ok")
    elif secret_state == "none":
        body.append("NO SECRET!")
    elif secret_state == "bad":
        body.append("WRONG SECRET!")
    if rules:
        body.append("asks to allow:")
        for r in rules:
            body.append(rule(r))
    else:
        body.append("no auto-allow")
    if relays:
        body.append("relays:")
        for r in relays:
            body += wrap(esc(r, 64), max_lines=2)
    return ("PAIR?" if relays else "CONNECT?"), body, FOOT


def provision(npub, replacing):
    body = ["new key:"] + wrap(npub)
    if replacing:
        body += ["REPLACES the", "current key and", "forgets clients"]
    return "IMPORT KEY?", body, FOOT


def prompt(item, replacing, client_npub):
    k = item["type"]
    if k == "provision":
        return provision(item["npub"], replacing)
    return connect(item["meta"], item.get("secret_state"), item["rules"], client_npub,
                   item["relays"] if k == "nostrconnect" else None)
