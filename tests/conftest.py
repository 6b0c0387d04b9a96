"""pytest collects firmware tests (tests/firmware/fw_*.py) and runs them on MicroPython.

Each `def test_*` in such a file becomes its own pytest item; the file runs once under
`micropython -X heapsize=128K` and each item reports its own pass or failure with the
MicroPython traceback.
"""
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpy  # noqa: E402

MARK = "@@FWTEST"


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".py" and file_path.name.startswith("fw_"):
        return FirmwareFile.from_parent(parent, path=file_path)


class FirmwareFile(pytest.File):
    def collect(self):
        src = self.path.read_text()
        heap = re.search(r"^# heap:\s*(\S+)", src, re.M)
        self.heap = heap.group(1) if heap else None
        for name in re.findall(r"^def (test_\w+)\(", src, re.M):
            yield FirmwareItem.from_parent(self, name=name)

    def results(self):
        if not hasattr(self, "_results"):
            rc, out, err = _run(self.path, self.heap)
            self._results = {}
            for line in out.splitlines():
                if line.startswith(MARK + " "):
                    _, status, name, msg = (line.split(" ", 3) + [""])[:4]
                    self._results[name] = (status, msg.replace("\\n", "\n"))
            self._tail = "rc=%s\nstdout:\n%s\nstderr:\n%s" % (rc, out[-3000:], err[-3000:])
        return self._results


def _run(path, heap):
    import subprocess
    runner = os.path.join(mpy.ROOT, "tests", "firmware", "runner.py")
    cmd = mpy.mpy_cmd(runner, heap) + [path.stem]
    p = subprocess.run(cmd, capture_output=True, timeout=1200, cwd=mpy.ROOT,
                       env=mpy.mpy_env((str(path.parent),)))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class FirmwareFailure(Exception):
    pass


class FirmwareItem(pytest.Item):
    def runtest(self):
        res = self.parent.results()
        if self.name not in res:
            raise FirmwareFailure("%s did not run on MicroPython\n%s" % (self.name, self.parent._tail))
        status, msg = res[self.name]
        if status != "PASS":
            raise FirmwareFailure(msg)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, FirmwareFailure):
            return "MicroPython: " + str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "%s::%s (micropython)" % (self.path.name, self.name)


def pytest_addoption(parser):
    # as Coldcard's test suite: the same device-link tests drive the simulator (default)
    # or a real device on a serial port (tests/test_sim.py: those that need no simulator
    # internals such as the button FIFO, screen files or kill -9 run; the rest skip)
    parser.addoption("--dev", metavar="PORT", default=None,
                     help="run the device-link tests against a real device on PORT "
                          "(flashed with make flash) instead of the simulator")
    parser.addoption("--sim", action="store_true",
                     help="run them against the simulator (the default)")


@pytest.fixture(scope="session")
def dev_port(request):
    return request.config.getoption("--dev")


@pytest.fixture(scope="session")
def vectors_dir():
    return mpy.VECTORS


@pytest.fixture(scope="module")
def fw():
    with mpy.Firmware() as f:
        yield f


class _NotForCPython(pytest.File):
    def collect(self):
        return []


def pytest_pycollect_makemodule(module_path, parent):
    # fw_* files are MicroPython code: never import them into CPython, even when named on the command line
    if module_path.name.startswith("fw_"):
        return _NotForCPython.from_parent(parent, path=module_path)
