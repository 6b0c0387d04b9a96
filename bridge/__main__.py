"""`python -m bridge COMMAND ...`, or `nostr-signer-bridge COMMAND ...` once installed.

Each command lives in its own module with `add_parser(subparsers)` (which sets
`func`) and a `run(args) -> exit status`; add a command by adding its module to COMMANDS.
"""
import argparse
import importlib
import sys

from . import __version__

COMMANDS = ["sim", "press", "provision", "localrelay", "run", "demo", "cli", "relayscmd"]


def main(argv=None, prog="python -m bridge"):
    parser = argparse.ArgumentParser(prog=prog,
                                     description="Bridge between Nostr relays and the signer device.")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module("bridge." + name).add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args) or 0


def console():
    """The `nostr-signer-bridge` console command (pyproject.toml's [project.scripts])."""
    sys.exit(main(prog="nostr-signer-bridge"))


if __name__ == "__main__":
    sys.exit(main())
