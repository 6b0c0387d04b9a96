# Per-client rules: which requests the device answers without asking.
#
# A rule is a string in NIP-46's permission syntax: "nip44_encrypt", or "sign_event:1"
# (sign kind 1). A bare "sign_event" rule allows every kind; it can only come from a
# connect the person approved with that permission listed on the screen.
# nip44_get_key is never a rule: handing out a conversation key lets the client read
# every past and future message with that peer, so each one is asked for, loudly.

from binascii import hexlify

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


# "Always" (a long press on a prompt) makes a narrower rule than a connect's perms: for
# that kind, or for that peer (an "always" on an encrypt to A must not cover B), and
# with terms: it lapses after TTL_S and answers at most PER_H an hour without asking;
# past either the prompt comes back. The terms are the client record's "terms"
# {rule: [expires, hour start, count]}, the count kept in RAM and written with other
# changes (a reboot restarts the hour's count, never the expiry: the device's time
# only goes forward, signer/replay.py). The idle screen says so once made (NOTE).
# A connect's rules (listed on the pairing screen the person approved) have no terms.
TTL_S = 3600
PER_H = 60
NOTE = ("always: for 1 h,", "at most 60/hour")


def _scoped(method, kind, peer):
    if method == "sign_event":
        return None if kind is None else "sign_event:%d" % kind
    return method + ":" + hexlify(peer).decode() if peer else None


def allows(c, method, kind=None, peer=None, now=0):
    """Does client record c have a rule for this request (peer: the other party's key,
    bytes, for encrypt/decrypt)? Counts the use against the rule's terms."""
    rules = c.get("rules")
    if method not in RULE_METHODS or not rules:
        return False
    if method in rules:
        return True
    r = _scoped(method, kind, peer)
    if r not in rules:
        return False
    terms = c.get("terms") or {}
    t = terms.get(r)
    if t is None:  # a connect's
        return True
    if now >= t[0]:  # lapsed
        rules.remove(r)
        terms.pop(r)
        return False
    if now - t[1] >= 3600:
        t[1] = now
        t[2] = 0
    if t[2] >= PER_H:
        return False
    t[2] += 1
    return True


def rule_for(method, kind=None, peer=None):
    """The rule a long-press "always allow" adds, or None where none may exist."""
    if method not in RULE_METHODS:
        return None
    return _scoped(method, kind, peer)


def add(c, rule, now):
    """Client record c gets rule (from "always") with fresh terms; lapsed ones go."""
    rules = c.setdefault("rules", [])
    terms = c.setdefault("terms", {})
    for r in list(terms):
        if type(terms[r]) is not list or now >= terms[r][0] or r not in rules:
            terms.pop(r)
            if r in rules:
                rules.remove(r)
    if not rule or (rule in rules and rule not in terms):
        return False  # none may exist, or a connect's rule already covers it for good
    if rule not in rules:
        if len(rules) >= MAX_RULES:
            return False
        rules.append(rule)
    terms[rule] = [now + TTL_S, now, 0]
    return True


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
