# The simulator's command line (boards/sim.py), read once at start: loaded by
# sim.Board and dropped again, so its code does not stay in the 128 KB heap.
#
# argv: --state DIR --prompt-timeout S --max-age S --max-future S --max-message N
# --relay URL (repeatable) --link-nonblock; env fallbacks SIGNER_STATE,
# SIGNER_PROMPT_TIMEOUT, SIGNER_MAX_AGE, SIGNER_MAX_FUTURE.
import os

_OPTS = {"--state": "state", "--prompt-timeout": "prompt_timeout_s", "--max-age": "max_age_s",
         "--max-future": "max_future_s", "--max-message": "max_message"}


def parse(argv, log):
    """(config dict, nonblock)"""
    g = os.getenv
    c = {"state": g("SIGNER_STATE") or "sim-state",
         "prompt_timeout_s": int(g("SIGNER_PROMPT_TIMEOUT") or 60),
         "max_age_s": int(g("SIGNER_MAX_AGE") or 300),
         "max_future_s": int(g("SIGNER_MAX_FUTURE") or 60),
         "max_message": 65536}
    relays = []
    nonblock = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--link-nonblock":
            nonblock = True
        elif a in _OPTS and i + 1 < len(argv):
            k = _OPTS[a]
            c[k] = argv[i + 1] if k == "state" else int(argv[i + 1])
            i += 1
        elif a == "--relay" and i + 1 < len(argv):
            relays.append(argv[i + 1])
            i += 1
        else:
            log("sim: ignoring argument", a)
        i += 1
    if relays:  # otherwise the app's default
        c["relays"] = relays
    return c, nonblock
