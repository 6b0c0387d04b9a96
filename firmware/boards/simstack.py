# The chip's C stack for the firmware on the unix port (docs/stack.md).
#
# An RP2040 gives MicroPython 8 KB of C stack; the unix port's main thread has ~80 KB.
# So the firmware's loop runs here on a thread whose stack is the chip's, scaled to what
# the firmware's calls cost on each: the unix port enforces a thread's limit with the
# same "maximum recursion depth exceeded" as the chip.
#
#   micropython -X heapsize=128K -m boards.simstack ENTRY ARGS...
#
# ENTRY is a module (imported on the thread, then its main() called) or a .py script
# (compiled here, run on the thread as __main__). boards/simrom.py calls run() itself.
# SIGNER_STACK=bytes overrides the size; SIGNER_STACK=0 runs on the main thread.
#
# Two things of the unix port would make the model wrong, and are corrected here:
# - an import costs ~5 KB of C stack per nesting level on x64 (a PATH_MAX path buffer),
#   ~0.3 KB on the chip: imports a thread starts are run by the main thread, with its
#   big stack, while the firmware's thread waits (one runs at a time: no GIL needed);
# - `_thread` sets a new thread's limit from a size it adjusts only after the thread has
#   started (a race: ~1 start in 15 gets the full size as limit, no margin, and a
#   segfault instead of the error): each thread first checks where its limit is, and a
#   wrong one is started again.
import sys
import os
import _thread
import builtins
import micropython

# _thread reserves this much below the limit to handle the overflow (unix port)
MARGIN = 8192
# 10,240 bytes of limit (docs/stack.md): the chip's own failure, reproduced. At f2cf4f0 a
# kind-3 response with 9 p tags overflowed the RP2040 and one with 8 did not; here those
# paths use 10,580 and 5,492 bytes. A minimal call then stops ~23 deep (the chip: 30-35):
# real frames cost relatively more on the chip than minimal ones, so the stricter holds.
STACK = 18432
LIMIT = None  # the limit the firmware runs with, once run() started it (boards/sim.py's status)


def size():
    v = os.getenv("SIGNER_STACK")
    return STACK if v is None else int(v)


_orig = builtins.__import__
_job = [None, None, None]  # import arguments, result, exception
_ask = _thread.allocate_lock()
_done = _thread.allocate_lock()
_done.acquire()  # held until the main thread has run the job
_main = _thread.get_ident()


def _import(name, globals=None, locals=None, fromlist=None, level=0):
    if _thread.get_ident() == _main:
        return _orig(name, globals, locals, fromlist, level)
    m = sys.modules.get(name) if level == 0 else None
    if m is not None:  # cached: what the import statement would return, without a job
        if not fromlist:
            return sys.modules.get(name.split(".")[0]) or m
        for a in fromlist:
            if not hasattr(m, a):
                break
        else:
            return m
    _job[0] = (name, globals, locals, fromlist, level)
    _ask.release()
    _done.acquire()
    r, e = _job[1], _job[2]
    _job[1] = _job[2] = None
    if e is not None:
        raise e
    return r


def _limit_ok(limit):
    # True if the limit is where it was asked to be: recursion is stopped before 1 KB
    # past it (the raced limit lies 8 KB further, still inside the real stack)
    su = micropython.stack_use

    def down():
        if su() > limit + 1024:
            return False
        return down()

    try:
        return down()
    except RuntimeError:
        return True


def run(fn, stack=None):
    """fn() on a thread with the chip's stack; returns when it does, its SystemExit or
    exception raised here."""
    stack = size() if stack is None else stack
    if not stack:
        return fn()
    global LIMIT
    LIMIT = stack - MARGIN
    out = [None, None]  # state: "retry", "done"; exception

    def body():
        try:
            if not _limit_ok(stack - MARGIN):
                out[0] = "retry"
                return
            fn()
            out[0] = "done"
        except BaseException as e:
            out[0] = "done"
            out[1] = e
        finally:
            _job[0] = None
            _ask.release()

    builtins.__import__ = _import
    try:
        while out[0] != "done":
            out[0] = None
            _ask.acquire(0)
            _thread.stack_size(stack)
            _thread.start_new_thread(body, ())
            while True:
                _ask.acquire()
                if _job[0] is None:
                    break
                try:
                    _job[1] = _orig(*_job[0])
                except BaseException as e:
                    _job[2] = e
                _job[0] = None
                _done.release()
    finally:
        builtins.__import__ = _orig
    if out[1] is not None:
        raise out[1]


def _entry(target):
    if target.endswith(".py"):
        with open(target) as f:
            code = compile(f.read(), target, "exec")
        return lambda: exec(code, {"__name__": "__main__", "__file__": target})

    m = _orig(target)  # its body on the main thread, as any import; main() on the thread
    for part in target.split(".")[1:]:
        m = getattr(m, part)
    return getattr(m, "main", lambda: None)


def start(target):
    run(_entry(target))


if __name__ == "__main__":
    sys.argv[:] = sys.argv[1:]
    start(sys.argv[0])
