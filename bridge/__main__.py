"""`python -m bridge COMMAND ...`.

Each command lives in its own module with `add_parser(subparsers)` (which sets
`func`) and a `run(args) -> exit status`; add a command by adding its module to COMMANDS.
"""
import argparse
import importlib
import sys

COMMANDS = ["sim", "press", "provision", "localrelay", "run", "demo", "cli", "relayscmd"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bridge",
                                     description="Bridge between Nostr relays and the signer device.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module("bridge." + name).add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
