"""The simulator runs the firmware with the RP2040's C stack (firmware/boards/simstack.py,
docs/stack.md): calibrated on a minimal call, racing no thread start, costing the
firmware no heap and no x64-only import stack."""
import os
import subprocess
import sys

import mpy

sys.path.insert(0, mpy.ROOT)
from bridge import rom, sim  # noqa: E402

PROBE_DIR = os.path.join(mpy.ROOT, "tests", "firmware", "stack")


def probe(mode, use_rom=False, stack=True, heap="128K", extra_env=None):
    """(rc, last stdout line, stderr) of stack_probe.main(mode); stack=False: as the plain
    unix port runs it (SIGNER_STACK=0), on the x64 main thread with nothing of the harness."""
    env = mpy.mpy_env()
    probe_dir = sim.mpy_path(extra=(PROBE_DIR,)).split(":")[0]  # compiled, as the firmware
    if use_rom:
        env = rom.env(env, path=(probe_dir,))
        cmd = rom.cmd(mpy.micropython_bin(), heap, "stack_probe", (mode,), stack=stack)
    else:
        env["MICROPYPATH"] = ":".join((probe_dir, sim.mpy_path()))
        cmd = [mpy.micropython_bin(), "-X", sim.heap_flag(heap, stack=stack),
               *sim.entry_args("stack_probe", stack=stack), mode]
    env["SIGNER_STACK"] = env.get("SIGNER_STACK", "") if stack else "0"
    if not env["SIGNER_STACK"]:
        del env["SIGNER_STACK"]
    env.update(extra_env or {})
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=mpy.ROOT)
    return p.returncode, p.stdout.strip().split("\n")[-1], p.stderr


def test_a_minimal_call_overflows_about_23_deep_stricter_than_the_chip():
    # docs/stack.md: the limit reproduces the chip's real failure (the old response writer
    # overflowed at 9 p tags, not at 8); minimal calls then stop ~23 deep, where the
    # chip's stop 30-35 deep: the model is the stricter of the two measurements
    for use_rom in (False, True):
        rc, out, err = probe("depth", use_rom)
        assert rc == 0, err
        assert 20 <= int(out.split()[1]) <= 26, out


def test_the_plain_unix_port_would_go_far_deeper():
    # what the harness is for: x64's main thread lets a call chain run ~10x deeper
    rc, out, err = probe("depth", stack=False)
    assert rc == 0, err
    assert int(out.split()[1]) > 150, out


def test_every_thread_start_gets_its_limit_never_a_segfault():
    # _thread reads a new thread's limit before it subtracts the overflow margin (a race
    # that lost ~1 start in 15 when measured): each start must end in the error, not -11
    for _ in range(30):
        rc, out, err = probe("depth")
        assert rc == 0 and out.startswith("depth"), (rc, out, err[-500:])


def test_the_firmware_sees_the_heap_it_would_see_without_the_harness():
    # the harness's own heap (its code, thread, hand-off) is added to -X heapsize
    for use_rom in (False, True):
        rc, out, err = probe("free", use_rom)
        assert rc == 0, err
        with_stack = int(out.split()[1])
        rc, out, err = probe("free", use_rom, stack=False)
        assert rc == 0, err
        plain = int(out.split()[1])
        # never more than the device has; from ROM the plain bootstrap's own objects vary
        # the figure by ~2.5 KB from one entry to another (docs/stack.md)
        assert -(3072 if use_rom else 1024) <= with_stack - plain <= 512, (use_rom, with_stack, plain)


def test_nested_imports_deep_in_a_call_chain_cost_what_they_cost_on_the_chip():
    # on x64 each nested import holds a ~5 KB path buffer on the C stack (the chip's is
    # 128 bytes): imports are handed to the main thread, so a chain of 4 at depth 20 works
    rc, out, err = probe("import")
    assert rc == 0 and out == "import 1", (rc, out, err[-800:])
