# tests/firmware/stackprobe's probes with the RP2040's native field path installed (as
# boards/pico.native_field does at boot), on the machine code's model: a Python function,
# whose frame is deeper than the machine code's call, so the figure errs high. Records
# the stack at every call of it ("native field"). tests/test_signer_stack.py runs it.
exec(open("tests/firmware/stackprobe/_signer_test_preload.py").read())
_fm = {}
exec(open("tests/firmware/fe_model.py").read(), _fm)

from crypto import ecmult_fe  # noqa: E402


def _native(ws, prog, tab, off):
    _rec("native field")
    return _fm["run"](ws, prog, tab, off)


# installed on the model itself, then probed: install's known-answer check runs here,
# inside this file's import and exec (deep C frames a board's boot does not have)
assert ecmult_fe.install(_fm["run"])
ecmult_fe._fe = _native
_wrap(ecmult, "run", "curve loop")  # ecmult_fe.run now, wrapped again
