"""The repository carries everything its tests and tools read (issue: `make test` on a
fresh GitHub clone failed looking for ../shared/vectors).

- the vectors in tests/vectors are the ones SHA256SUMS names, unchanged, and tracked by git;
- no test, tool, benchmark, bridge or firmware source names a path outside the repository
  (a `..` path component or the old `shared/vectors` folder);
- the folder the tests take vectors from is inside the repository.
"""
import hashlib
import os
import re
import subprocess

import mpy

ROOT = mpy.ROOT
VEC = os.path.join(ROOT, "tests", "vectors")
SCANNED = ("tests", "tools", "bench", "bridge", "firmware", "hardware", ".ci", "Makefile", "pytest.ini")
# a path leaving a folder: os.path.join(..., "..", ...), or the old sibling data folder;
# a literal "../x" is resolved from its file's folder (hardware/manifest.py's "../firmware"
# is inside the repository)
OUTSIDE = re.compile(r"""join\([^#]*["']\.\.["']|shared[/\\"', ]+vectors""")
RELATIVE = re.compile(r"""["'](\.\.[/\\][^"']*)["']""")


def _escapes(rel, line):
    if OUTSIDE.search(line):
        return True
    base = os.path.dirname(os.path.join(ROOT, rel))
    for m in RELATIVE.finditer(line):
        p = os.path.normpath(os.path.join(base, m.group(1)))
        if not (p + os.sep).startswith(ROOT + os.sep):
            return True
    return False


def _sums():
    out = {}
    with open(os.path.join(VEC, "SHA256SUMS")) as f:
        for line in f:
            digest, name = line.split()
            out[name] = digest
    return out


def test_vectors_match_their_checksums():
    sums = _sums()
    assert len(sums) >= 8
    for name, digest in sums.items():
        with open(os.path.join(VEC, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, "vector %s was changed" % name


def test_every_vector_file_has_a_checksum_and_a_source():
    sums = _sums()
    with open(os.path.join(VEC, "SOURCES.md")) as f:
        sources = f.read()
    for name in os.listdir(VEC):
        if name in ("SHA256SUMS", "SOURCES.md", "README.md"):
            continue
        assert name in sums, "%s has no checksum in SHA256SUMS" % name
        assert name in sources, "%s has no entry in SOURCES.md" % name


def test_tests_read_vectors_from_inside_the_repo():
    v = os.path.realpath(mpy.VECTORS)
    assert v.startswith(os.path.realpath(ROOT) + os.sep), v
    assert mpy.mpy_env()["VECTORS"] == mpy.VECTORS


def _tracked():
    p = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *SCANNED],
                       cwd=ROOT, capture_output=True, check=True)
    return [f for f in p.stdout.decode().split("\0") if f]


def test_vectors_are_tracked_by_git():
    # a clone gets only what git tracks: an ignored vector would pass here and fail there
    names = set(_tracked())
    for name in list(_sums()) + ["SHA256SUMS", "SOURCES.md"]:
        assert "tests/vectors/" + name in names, "tests/vectors/%s is ignored by git" % name


def test_no_source_reads_outside_the_repo():
    bad = []
    for rel in _tracked():
        if rel.startswith("tests/vectors/") or rel.startswith("tests/e2e/node_modules/"):
            continue
        if not rel.endswith((".py", ".mjs", ".js", ".sh", ".json", ".ini", ".toml", "Makefile", "run")):
            continue
        if rel == "tests/test_self_contained.py":
            continue
        try:
            with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0] if rel.endswith(".py") else line
            if _escapes(rel, code):
                bad.append("%s:%d: %s" % (rel, n, line.strip()[:100]))
    assert not bad, "paths outside the repository:\n" + "\n".join(bad)


def test_the_outside_path_check_catches_the_old_path():
    assert _escapes("tests/mpy.py", 'VECTORS = os.path.normpath(os.path.join(ROOT, "..", "shared", "vectors"))')
    assert _escapes("tests/x.py", 'open("../../elsewhere/nip06-vectors.json")')
    assert not _escapes("hardware/manifest.py", 'FIRMWARE = "../firmware"')
    assert not _escapes("tests/x.py", 'return np[:9] + ".." + np[-5:]')
