# Per-client rules: which requests the device answers without asking.
#
# A rule is a string in NIP-46's permission syntax: "nip44_encrypt", or "sign_event:1"
# (sign kind 1). A bare "sign_event" rule allows every kind; it can only come from a
# connect the person approved with that permission listed on the screen.
# nip44_get_key is never a rule: handing out a conversation key lets the client read
# every past and future message with that peer, so each one is asked for, loudly.

RULE_METHODS = ("sign_event", "nip04_encrypt", "nip04_decrypt", "nip44_encrypt", "nip44_decrypt")
MAX_RULES = 32


def _kind(s):
    try:
        k = int(s)
    except ValueError:
        return None
    return k if 0 <= k <= 65535 and str(k) == s.strip() else None


def parse(text):
    """Rules from a comma-separated perms string; unknown or malformed entries are
    skipped (parameters of other methods are not defined yet, so not guessed at)."""
    rules = []
    if type(text) is not str:
        return rules
    for part in text.split(","):
        part = part.strip()
        if ":" in part:
            m, arg = part.split(":", 1)
        else:
            m, arg = part, ""
        if m not in RULE_METHODS:
            continue
        if arg:
            if m != "sign_event":
                continue
            k = _kind(arg)
            if k is None:
                continue
            part = "sign_event:%d" % k
        if part not in rules and len(rules) < MAX_RULES:
            rules.append(part)
    return rules


def allows(rules, method, kind=None):
    if method not in RULE_METHODS or not rules:
        return False
    if method in rules:
        return True
    return method == "sign_event" and kind is not None and ("sign_event:%d" % kind) in rules


def rule_for(method, kind=None):
    """The rule a long-press "always allow" adds, or None where none may exist."""
    if method not in RULE_METHODS:
        return None
    if method == "sign_event":
        return None if kind is None else "sign_event:%d" % kind
    return method


def add(rules, rule):
    if rule and rule not in rules and len(rules) < MAX_RULES:
        rules.append(rule)



# Auto-reject: kinds this device refuses to sign for any client, without asking.
# Per device, not per client: it is the owner's "never" (no profile overwrite, no
# deletions, no contact-list replacement from anywhere), the inverse of a rule, and it
# has to hold for a client paired tomorrow too; per-client "no" is simply not granting
# that client a rule. It wins over every rule, a bare "sign_event" included. Kept in
# the signer settings (signer.json, "reject": [kinds]), which are loaded anyway.
MAX_REJECT = 16


def rejects(conf, method, kind):
    r = conf.get("reject")
    return method == "sign_event" and kind is not None and type(r) is list and kind in r


def set_reject(conf, kind, on):
    """Add or remove kind from conf's auto-reject list; -> True if conf changed."""
    r = conf.get("reject")
    if type(r) is not list:
        r = conf["reject"] = []
    if on and kind not in r and len(r) < MAX_REJECT:
        r.append(kind)
        r.sort()
        return True
    if not on and kind in r:
        r.remove(kind)
        return True
    return False
