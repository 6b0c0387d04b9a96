# Board selection: the only place that decides which hardware we run on.
# Each board module has `Board(argv)`; the interface is in docs/firmware-layout.md ("Board").
import sys

# sys.platform -> board module. One board per port for now; a port with several
# supported boards would look at machine/pins here.
_BOARDS = {"linux": "sim", "darwin": "sim", "rp2": "pico", "esp32": "tdisplay"}


def current(argv=None):
    """Build the board for the port we run on (the simulator on the unix port)."""
    name = _BOARDS.get(sys.platform)
    if name is None:
        raise OSError("no board for platform %r" % sys.platform)
    mod = __import__("boards." + name, None, None, ("Board",))
    return mod.Board(sys.argv[1:] if argv is None else argv)
