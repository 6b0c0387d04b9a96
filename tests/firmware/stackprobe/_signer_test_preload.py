# Loaded by fw_signer_driver.py before the app (tests/test_signer_stack.py puts this
# directory on its path): records micropython.stack_use() at the firmware's leaves --
# the link's writes, the JSON escaper's viper loop, ChaCha20, the curve arithmetic's
# main loop, the display's show() -- through wrappers, so each figure is a frame or two
# deeper than the leaf itself (on the safe side). The driver's {"stack": 1} reports it.
import micropython

PEAK = {}


def _rec(where):
    u = micropython.stack_use()
    if u > PEAK.get(where, 0):
        PEAK[where] = u


def _wrap(mod, name, where):
    f = getattr(mod, name)

    def w(*a):
        _rec(where)
        return f(*a)
    setattr(mod, name, w)


from crypto import nip01, nip44, ecmult  # noqa: E402
import link  # noqa: E402

_wrap(nip01, "_fill", "json escape")
_wrap(nip44, "chacha20_xor", "chacha20")
_wrap(ecmult, "run", "curve loop")

_dump = link._dump
_in = [False]


def _probed_dump(o, put):
    if _in[0]:  # a nested value: link._dump calls itself through the module
        return _dump(o, put)
    _in[0] = True
    try:
        # messages only: the driver's screen lines go out the same way, which a board's
        # display does not (its show() is framebuf and SPI, in C)
        if type(o) is dict and "screen" in o:
            return _dump(o, put)
        return _dump(o, lambda b: (_rec("link write"), put(b)))
    finally:
        _in[0] = False


link._dump = _probed_dump


def on_show():
    # the display's show(), at the bottom of every screen drawn (the app loads and
    # drops ui.screens as it goes, so a wrapper there would not last)
    _rec("screen")


def report():
    return PEAK
