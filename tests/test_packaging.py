"""`pip install .` (pyproject.toml): a wheel of the bridge alone, its `nostr-signer-bridge`
command with --version and --help, a single-sourced version, and an installed bridge that
reads nothing from the repository (issue 13, "what a user also expects"). The wheel is
built offline from a copy of only the files pyproject.toml packs, with the .venv's pinned
setuptools (no build isolation), and installed with --target into a temporary folder."""
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest

import bridge
from bridge import sim as S

pytestmark = pytest.mark.timeout(120)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(target dir, wheel path): the wheel built from a copy of the package's files, installed."""
    base = tmp_path_factory.mktemp("pkg")
    src = base / "src"
    src.mkdir()
    for f in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(os.path.join(ROOT, f), src / f)
    shutil.copytree(os.path.join(ROOT, "bridge"), src / "bridge",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    p = subprocess.run([PY, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(base / "dist"), str(src)], cwd=base, env=env,
                       capture_output=True, text=True, timeout=100)
    assert p.returncode == 0, p.stdout + p.stderr
    wheel = next((base / "dist").glob("nostr_signer_bridge-*.whl"))
    target = base / "site"
    p = subprocess.run([PY, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                       cwd=base, env=env, capture_output=True, text=True, timeout=100)
    assert p.returncode == 0, p.stdout + p.stderr
    return target, wheel


def installed_env(target, tmp_path):
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700, exist_ok=True)
    e = dict(os.environ, PYTHONPATH=str(target), XDG_RUNTIME_DIR=str(xdg),
             XDG_CONFIG_HOME=str(tmp_path / "config"))
    e.pop("PYTEST_CURRENT_TEST", None)
    return e


def command(target, tmp_path, *args, timeout=30):
    """The installed console script, run away from the repository (cwd: a temp folder)."""
    exe = os.path.join(target, "bin", "nostr-signer-bridge")
    return subprocess.run([exe, *args], cwd=tmp_path, env=installed_env(target, tmp_path),
                          capture_output=True, text=True, timeout=timeout)


def test_the_version_is_written_once():
    assert re.fullmatch(r"\d+\.\d+\.\d+", bridge.__version__)
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        proj = tomllib.load(f)
    assert "version" not in proj["project"] and "version" in proj["project"]["dynamic"]
    assert proj["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bridge.__version__"}
    assert proj["project"]["scripts"] == {"nostr-signer-bridge": "bridge.__main__:console"}
    p = subprocess.run([PY, "-m", "bridge", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.strip() == "python -m bridge " + bridge.__version__


def test_runtime_dependencies_are_pinned_for_the_venv():
    # what pyproject.toml asks pip for is what requirements.txt pins for make test
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    pins = {}
    for ln in open(os.path.join(ROOT, "requirements.txt")):
        if "==" in ln and not ln.startswith("#"):
            name, ver = ln.strip().split("==")
            pins[name.lower().replace("_", "-")] = ver
    for d in deps:
        name = re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower()
        assert name in pins, d


def test_the_wheel_holds_the_bridge_and_the_license_only(installed):
    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "bridge/__main__.py" in names and "bridge/run.py" in names
    assert all(n.startswith(("bridge/", "nostr_signer_bridge-")) for n in names), names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "nostr-signer-bridge = bridge.__main__:console" in entry


def test_the_console_command_has_version_and_help(installed, tmp_path):
    target, _ = installed
    p = command(target, tmp_path, "--version")
    assert p.returncode == 0 and p.stdout.strip() == "nostr-signer-bridge " + bridge.__version__, p
    p = command(target, tmp_path, "--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: nostr-signer-bridge")
    for cmd in ("run", "url", "status", "connect", "relays", "provision"):
        assert cmd in p.stdout
    p = command(target, tmp_path, "run", "--help")
    assert p.returncode == 0 and "--config" in p.stdout and "--log-file" in p.stdout
    # it is the installed copy that ran, not the repository's
    p = subprocess.run([PY, "-c", "import bridge; print(bridge.__file__)"], cwd=tmp_path,
                       env=installed_env(target, tmp_path), capture_output=True, text=True, timeout=30)
    assert p.stdout.strip().startswith(str(target))


def test_an_installed_bridge_says_the_simulator_needs_a_checkout(installed, tmp_path):
    target, _ = installed
    for args in (("sim", "--state", str(tmp_path / "s")), ("demo", "--state", str(tmp_path / "d")),
                 ("run", "--device", "sim", "--state", str(tmp_path / "r"))):
        p = command(target, tmp_path, *args)
        assert p.returncode in (1, 2) and "needs a repository checkout" in p.stderr, (args, p.stderr)
        assert "Traceback" not in p.stderr
    assert not (tmp_path / "d").exists() and not (tmp_path / "s" / "sim.pid").exists()


def test_an_installed_bridge_runs_a_device_on_a_serial_port(installed, tmp_path):
    """`run --device PORT` from the installed package: the simulator (started from the
    repository here) stands in for a board on its pseudo-terminal; fresh, it has no key,
    which the installed bridge learns from its hello and says."""
    target, _ = installed
    sim = S.Sim(str(tmp_path / "dev"))
    try:
        log = tmp_path / "bridge.log"
        p = command(target, tmp_path, "run", "--device", sim.tty, "--no-qr", "--log-file", str(log), timeout=60)
    finally:
        sim.stop()
    assert p.returncode == 2 and "the device has no key yet" in p.stdout, (p.stdout, p.stderr)
    assert "the device has no key yet" in log.read_text()
