"""`python -m bridge press BUTTON --state DIR`: press a simulator button.

Presses travel through the simulator's control FIFO (DIR/control), never the serial
link: on a real device the host cannot press buttons, so in the simulator it can't either.
"""
import sys

from . import sim

BUTTONS = ("approve", "reject", "long-approve", "up", "down")


def add_parser(sub):
    p = sub.add_parser("press", help="press a button on the simulator")
    p.add_argument("button", choices=BUTTONS)
    p.add_argument("--state", required=True, help="the simulator's state directory")
    p.set_defaults(func=run)


def run(args):
    try:
        sim.press(args.state, args.button)
    except RuntimeError as e:
        print("press: %s" % e, file=sys.stderr)
        return 1
    return 0
