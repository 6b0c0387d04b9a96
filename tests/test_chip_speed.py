"""tools/chip_speed.py's snippet (what a board runs to time the curve operations by its
own clock) runs on the unix port: boards/pico.py against the fake `machine`, the Thumb
machine code replaced by its model, both paths timed, one JSON line out."""
import os
import subprocess
import sys

import mpy

sys.path.insert(0, os.path.join(mpy.ROOT, "tools"))
import chip_speed  # noqa: E402

FW = os.path.join(mpy.ROOT, "tests", "firmware")
# crypto.fe_thumb as the board imports it, its machine code the model
PREAMBLE = """
import sys, crypto, fe_model
class _M:
    pass
_m = _M()
_m.run = fe_model.run
sys.modules["crypto.fe_thumb"] = _m
crypto.fe_thumb = _m
"""


def test_the_board_speed_snippet_times_both_paths():
    env = mpy.mpy_env((os.path.join(FW, "fake_machine"), FW))
    p = subprocess.run([mpy.micropython_bin(), "-X", "heapsize=2M", "-c", PREAMBLE + chip_speed.snippet(1)],
                       capture_output=True, text=True, env=env, cwd=mpy.ROOT, timeout=300)
    assert p.returncode == 0, p.stdout[-1500:] + p.stderr[-1500:]
    res = chip_speed.parse(p.stdout)
    assert res["native_installed"] is True
    for path in ("native", "bignum"):
        assert set(res[path]) == {"sign", "verify", "ecdh_fresh_key"}
        assert all(v > 0 for v in res[path].values()), res
