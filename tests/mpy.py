"""Run firmware code on the real MicroPython unix port from CPython tests.

Two ways in:
- `run_script(path_or_code)`: run a script once, return (rc, stdout, stderr).
- `Firmware()`: a long-lived micropython process answering calls over a JSON-lines pipe,
  for property tests that cross-check thousands of values against CPython libraries
  without paying start-up per call. Bytes travel as {"b": hex}; tuples as lists.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
# the project carries its own test data (tests/vectors/SOURCES.md, SHA256SUMS): nothing
# a test reads lies outside the repository
VECTORS = os.path.join(ROOT, "tests", "vectors")
HEAP = os.environ.get("MPY_HEAP", "128K")


def micropython_bin():
    venv = os.path.join(ROOT, ".venv", "bin", "micropython")
    return venv if os.path.exists(venv) else "micropython"


def embit_dir():
    """Folder that holds the `embit` package from the pinned PyPI release."""
    import embit  # the CPython install of the same release; its sources run on MicroPython

    return os.path.dirname(os.path.dirname(embit.__file__))


def mpy_env(extra_path=(), compiled=True):
    """Environment for micropython: MICROPYPATH = extra test dirs, firmware, firmware/lib, embit.

    Compiled (the default) runs the same .mpy files a board gets from mpy-cross (built and
    kept up to date by bridge.sim), so heap figures match a device that loads .mpy, not
    one that compiles source on its own heap.
    """
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from bridge.sim import mpy_path

    env = dict(os.environ)
    env["MICROPYPATH"] = mpy_path(compiled=compiled, extra=tuple(extra_path))
    env["VECTORS"] = VECTORS
    return env


def mpy_cmd(script, heap=None):
    # boards.simstack: the script runs with the chip's C stack (docs/stack.md)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from bridge.sim import heap_flag, entry_args
    return [micropython_bin(), "-X", heap_flag(heap or HEAP), *entry_args(script)]


def run_script(script, heap=None, timeout=600, extra_path=()):
    p = subprocess.run(mpy_cmd(script, heap), capture_output=True, timeout=timeout,
                       env=mpy_env(extra_path), cwd=ROOT)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def _enc(v):
    if isinstance(v, (bytes, bytearray)):
        return {"b": bytes(v).hex()}
    if isinstance(v, (list, tuple)):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        return {"d": [[_enc(k), _enc(x)] for k, x in v.items()]}
    return v


def _dec(v):
    if isinstance(v, dict):
        if "b" in v:
            return bytes.fromhex(v["b"])
        if "d" in v:
            return {_dec(k): _dec(x) for k, x in v["d"]}
    if isinstance(v, list):
        return [_dec(x) for x in v]
    return v


class FirmwareError(Exception):
    """An exception raised inside the firmware: .type is its class name on MicroPython."""

    def __init__(self, typ, msg):
        super().__init__("%s: %s" % (typ, msg))
        self.type = typ
        self.msg = msg


class Firmware:
    """A micropython process that calls firmware functions for a CPython test.

    fw.call("crypto.secp256k1", "schnorr_verify", msg, pub, sig) -> value
    Exceptions inside come back as FirmwareError with the MicroPython type name.
    """

    def __init__(self, heap=None):
        self.proc = subprocess.Popen(
            mpy_cmd(os.path.join(ROOT, "tests", "firmware", "rpc.py"), heap),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=mpy_env((os.path.join(ROOT, "tests", "firmware"),)), cwd=ROOT)

    def call(self, module, func, *args):
        # raw UTF-8, not \u escapes: MicroPython turns escaped surrogate pairs into CESU-8
        line = json.dumps({"m": module, "f": func, "a": _enc(list(args))}, ensure_ascii=False) + "\n"
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        if not out:
            raise RuntimeError("micropython exited (rc=%s)" % self.proc.poll())
        r = json.loads(out)
        if "e" in r:
            raise FirmwareError(r["e"], r["msg"])
        return _dec(r["r"])

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
