# One-line descriptions of what a request would do, for the approval screen.
# (Per-kind detail and scrolling through whole events come in a later issue; this
# gives the kind, its name and the start of the content, escaped.)
from ui import text as T

KINDS = {
    0: "profile", 1: "note", 3: "contacts", 4: "nip04 DM", 5: "delete", 6: "repost",
    7: "reaction", 13: "seal", 14: "chat msg", 16: "repost", 1059: "gift wrap",
    1984: "report", 9734: "zap request", 10002: "relay list", 22242: "relay auth",
    24242: "blossom auth", 27235: "http auth", 30023: "article", 30078: "app data",
}


def kind_name(k):
    return KINDS.get(k, "event")


def request(method, op, peer_npub):
    if method == "sign_event":
        tpl = op["tpl"]
        k = tpl["kind"]
        s = "kind %d %s: %s" % (k, kind_name(k), T.esc(tpl["content"], 160))
        if tpl["tags"]:
            s += " [%d tags]" % len(tpl["tags"])
        return s
    who = T.short_key(peer_npub)
    if method == "nip44_get_key":
        return "nip44 key with %s: client can read all DMs with them" % who
    scheme = method[:5]
    if method.endswith("encrypt"):
        return "encrypt %s to %s: %s" % (scheme, who, T.esc(op["text"], 160))
    return "decrypt %s from %s: %s" % (scheme, who, T.esc(op["text"], 160))


def rule(r):
    if r == "sign_event":
        return "sign ANY kind!"
    if r.startswith("sign_event:"):
        k = int(r[11:])
        return ("sign %d %s" % (k, kind_name(k)))[:T.W]
    return r[:T.W]
