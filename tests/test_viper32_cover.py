"""No viper routine escapes the 32-bit checks, and the checks can fail.

- every file under firmware/ with viper code is in viper_twins.FILES, every routine in
  them has a twin and a viper-vs-twin check in tests/firmware/fw_viper32.py;
- two edits of real routines that make them depend on 64-bit words run right on the x64
  port (so its known-answer tests would pass) and are caught by their 32-bit twins.
"""
import os
import re
import subprocess

import pytest

import mpy
from test_viper32 import V, ref_chacha, twinned

FW_VIPER32 = os.path.join(mpy.ROOT, "tests", "firmware", "fw_viper32.py")


def test_every_file_with_viper_code_is_listed():
    found = set()
    for d, _, files in os.walk(mpy.FIRMWARE):
        for name in files:
            p = os.path.join(d, name)
            if name.endswith(".py") and "@micropython.viper" in open(p).read():
                found.add(os.path.relpath(p, mpy.FIRMWARE).replace(os.sep, "/"))
    assert found == set(V.FILES)


def test_every_viper_routine_has_a_twin_and_a_32_bit_check():
    checked = set(re.findall(r'check\("([\w/.]+)", "(\w+)"', open(FW_VIPER32).read()))
    for rel in V.FILES:
        path = os.path.join(mpy.FIRMWARE, rel)
        names = V.viper_routines(path)
        assert names, rel
        assert open(path).read().count("@micropython.viper") == len(names)
        for n in names:
            assert callable(V.twin(path, n))
            assert (rel, n) in checked, "%s %s has no viper-vs-twin check in fw_viper32.py" % (rel, n)


def test_twin_types_locals_as_viper_does():
    # a local first bound to a literal is a machine int in viper, so in the twin too
    params, ret, body = V.source(os.path.join(mpy.FIRMWARE, "crypto/jsonspan.py"), "unescape")
    assert params == [("b", None), ("i", "int"), ("n", "int")] and ret == "int"
    typed = [V._type_local(x).strip() for x in body]
    assert "o = i" in typed and "u = I32(0)" in typed and "k = I32(0)" in typed
    assert "d -= 48" in typed  # augmented assignments stay as they are


# Two edits that make a routine depend on 64-bit words while it stays right on the x64
# port: SHA-512's carry out of a low half read off bit 32 of the sum, and a ChaCha20
# rotation done in a 64-bit word. `use` runs on MicroPython and in CPython alike.
_MUTANTS = (
    ("crypto/sha512.py",
     "hi = (s1h + uint(w[2 * t - 14]) + ((((s1l & yl) | ((s1l | yl) & ~lo)) >> 31) & 1)) & m",
     "hi = (s1h + uint(w[2 * t - 14]) + ((s1l + yl) >> 16 >> 16)) & m",
     "bytes(mod.digest(b'\\xff' * 200))",
     lambda: __import__("hashlib").sha512(b"\xff" * 200).digest()),
    ("crypto/chacha20.py",
     "x12 = ((x12 << 16) | (x12 >> 16)) & m",
     "x12 = (((x12 << 16) << 16 | x12) >> 16) & m",
     "bytes(mod.chacha20_xor(b'\\xff' * 32, b'\\xff' * 12, bytes(64), 7))",
     lambda: ref_chacha(b"\xff" * 32, b"\xff" * 12, bytes(64), 7)),
)


@pytest.mark.parametrize("rel,old,new,use,ref", _MUTANTS, ids=[m[0] for m in _MUTANTS])
def test_a_routine_relying_on_64_bit_words_is_caught(tmp_path, rel, old, new, use, ref):
    src = open(os.path.join(mpy.FIRMWARE, rel)).read()
    assert old in src
    mutant = tmp_path / rel
    mutant.parent.mkdir(parents=True)
    mutant.write_text(src.replace(old, new, 1))
    right = ref()
    assert eval(use, {"mod": twinned(rel)}) == right  # the routine as it is: right on 32 bits
    # the x64 unix port runs the mutant right: the known-answer tests would pass
    script = tmp_path / "run.py"
    script.write_text("import binascii\nfrom %s import %s as mod\nprint(binascii.hexlify(%s).decode())\n"
                      % (rel.split("/")[0], rel.split("/")[1][:-3], use))
    out = subprocess.run([mpy.micropython_bin(), str(script)], capture_output=True, timeout=60,
                         env=dict(os.environ, MICROPYPATH=str(tmp_path)))
    assert out.stdout.decode().strip() == right.hex(), out.stderr.decode()
    # its 32-bit twin is not
    try:
        got = eval(use, {"mod": twinned(rel, str(mutant))})
    except V.ViperError:
        return
    assert got != right
