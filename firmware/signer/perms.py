# Per-client rules: which requests the device answers without asking.
#
# A rule is a string in NIP-46's permission syntax: "nip44_encrypt", or "sign_event:1"
# (sign kind 1). A bare "sign_event" rule allows every kind; it can only come from a
# connect the person approved with that permission listed on the screen.
# nip44_get_key is never a rule: handing out a conversation key lets the client read
# every past and future message with that peer, so each one is asked for, loudly.

# Loaded when needed and dropped (resident code budget); what runs on every keyed
# request (allows, rejects) is in signer/clients.py, resident: a big request can leave
# no room to load code while it is held.
from signer.clients import RULE_METHODS, allows, rejects, scoped as _scoped  # noqa: F401

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
PER_H = 60  # (the count itself is in clients.allows)
NOTE = ("always: for 1 h,", "at most 60/hour")


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
