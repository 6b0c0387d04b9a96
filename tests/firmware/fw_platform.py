# The MicroPython runtime the firmware tests run on is the one we pinned, at the heap we promise.
import sys
import gc


def test_runtime_is_micropython_1_29():
    assert sys.implementation.name == "micropython"
    assert sys.implementation.version[:2] == (1, 29), sys.implementation.version


def test_heap_is_limited_to_128k():
    total = gc.mem_free() + gc.mem_alloc()
    # on the chip's stack (boards/simstack.py) the arena also holds the harness's own few
    # KB (bridge/sim.py SIMSTACK_HEAP), which tests/test_simstack.py keeps out of reach
    extra = 4096 if "boards.simstack" in sys.modules else 0
    assert 120 * 1024 <= total <= 128 * 1024 + extra, total


def test_builtin_modules_the_firmware_relies_on():
    import cryptolib, hashlib, binascii, json, os  # noqa: F401
    assert hasattr(hashlib, "sha256")
    assert len(os.urandom(32)) == 32
