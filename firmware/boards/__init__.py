# Board selection: the only place that decides which hardware we run on.
# Each board module exposes `Board(argv)`; see docs/firmware-layout.md ("Board").
import sys


def current(argv=None):
    """Build the board for the port we are running on."""
    plat = sys.platform
    if plat in ("linux", "darwin"):  # the MicroPython unix port: the simulator
        from boards import sim
        return sim.Board(sys.argv[1:] if argv is None else argv)
    raise OSError("no board support for platform %r yet" % plat)
