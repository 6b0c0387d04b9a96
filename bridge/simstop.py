"""`python -m bridge sim stop`: end a simulator left running for a state directory.

Only processes that still look like a simulator's are signalled (pids in files outlive
their processes), and not one that belongs to a running `demo`/`run`: quitting that
bridge is the way there.
"""
import os
import signal
import time

from .sim import _alive, _read_pid, _rm


def shown(state):
    """The state dir as the person would type it (relative to the cwd when inside it)."""
    rel = os.path.relpath(state)
    return rel if not rel.startswith("..") else state


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def is_firmware(pid):
    # micropython itself, or the pip package's launcher script run by a python
    return any(os.path.basename(a).startswith(b"micropython") for a in cmdline(pid)[:2])


def _subcommand(pid):
    args = cmdline(pid)
    i = args.index(b"bridge") if b"bridge" in args else -2
    return args[i + 1] if 0 <= i + 1 < len(args) else None


def stop_running(state, timeout=10.0):
    """`python -m bridge sim stop`: end the simulator running for `state` (its launcher, which
    takes the firmware with it). -> a line saying what happened; RuntimeError if it can't."""
    state = os.path.abspath(state)
    lpid = _read_pid(os.path.join(state, "launcher.pid"))
    pid = _read_pid(os.path.join(state, "sim.pid"))
    # pids in files outlive their processes: only ones that still look like ours are signalled
    launcher = lpid if lpid and _alive(lpid) and b"bridge" in b" ".join(cmdline(lpid)) else None
    fw = pid if pid and _alive(pid) and is_firmware(pid) else None
    if launcher is None and fw is None:
        return "no simulator running for %s" % shown(state)
    if launcher is not None and _subcommand(launcher) != b"sim":
        # the simulator of a running `demo` / `run`: stopping it under them is not the way
        raise RuntimeError("the simulator for %s belongs to a running bridge (pid %d): quit that "
                           "([q] or Ctrl-C)" % (shown(state), launcher))
    for p in (launcher, fw):
        if p is not None:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(p is not None and _alive(p) for p in (launcher, fw)):
            break
        time.sleep(0.05)
    else:
        for p in (launcher, fw):
            if p is not None and _alive(p):
                os.kill(p, signal.SIGKILL)
    for f in ("tty", "sim.pid", "launcher.pid"):
        if launcher is None:
            _rm(os.path.join(state, f))   # no launcher left to tidy up after its firmware
    return "stopped the simulator for %s" % shown(state)
