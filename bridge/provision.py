"""`python -m bridge provision [--device auto|sim|PORT] [--state DIR] [--key-file PATH|-]`.

Puts a key on the device. The key is read from a prompt that does not echo it (a
terminal), from stdin (a pipe) or from --key-file, never from the command line (shell
history, `ps`). It is checked here first, so a typo fails at once and the device never
shows a prompt for it. Then it goes through the running bridge if there is one (it holds
the serial port: opening the port beside it would knock it off the link), else straight
to the device. The device asks the person to confirm on its own screen and answers
`done`; the key never comes back (docs/protocol.md). Exit status 0 and the npub on
success; otherwise the outcome on stderr and status 1 (2: bad input or link trouble).
"""
import argparse
import getpass
import re
import sys

from .checks import secret_key_hex
from .link import LinkError, open_link

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def npub(pub_hex):
    # nostr-sdk is already the bridge's relay library; its bech32 is the reference one
    from nostr_sdk import PublicKey
    return PublicKey.parse(pub_hex).to_bech32()


def add_parser(sub):
    p = sub.add_parser("provision", help="put a key on the device (confirmed on the device)")
    p.add_argument("--device", default="auto",
                   help='"auto" (default: find it on USB), "sim" or a serial port such as /dev/ttyACM0; '
                        "unused when a bridge is running (the key goes through it)")
    p.add_argument("--state", help="the running bridge's or simulator's state directory")
    p.add_argument("--key-file", metavar="PATH",
                   help='read the nsec1... or hex key from this file ("-": stdin); default: a prompt '
                        "that does not echo, or stdin when it is not a terminal")
    p.add_argument("--key", help=argparse.SUPPRESS)   # refused: see run()
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds to wait for the confirmation on the device")
    p.set_defaults(func=run)


def _err(msg, rc):
    print("provision: %s" % msg, file=sys.stderr)
    return rc


def read_key(args):
    if args.key_file and args.key_file != "-":
        with open(args.key_file) as f:
            return f.read()
    if args.key_file is None and sys.stdin.isatty():
        return getpass.getpass("secret key (nsec1... or hex; not shown): ")
    return sys.stdin.read()


def run(args):
    if args.key is not None:
        return _err("the key is never taken on the command line (shell history, ps): type it at "
                    "the prompt, pipe it on stdin or use --key-file PATH", 2)
    try:
        key = secret_key_hex(read_key(args))
    except (OSError, EOFError) as e:
        return _err("cannot read the key: %s" % e, 2)
    except KeyboardInterrupt:
        return _err("interrupted", 2)
    except ValueError as e:
        return _err("%s; nothing was sent to the device" % e, 2)
    from .cli import running_socket
    try:
        sock = running_socket(args.state)
    except RuntimeError as e:
        return _err(e, 2)
    if sock is not None:
        ans = _through_bridge(sock, key)
    else:
        ans = _direct(args, key)
    key = None
    if isinstance(ans, int):
        return ans
    if ans is None:
        return _err("no answer from the device in %.0f s" % args.timeout, 1)
    outcome = ans.get("outcome") if ans.get("t") == "done" else "error: %s" % ans.get("error")
    if outcome != "ok":
        return _err(outcome, 1)
    pk = ans.get("pubkey")
    if isinstance(pk, str) and _HEX64.match(pk):
        print(npub(pk.lower()))
    else:
        print("provision: ok, but the device sent no pubkey", file=sys.stderr)
    return 0


def _through_bridge(sock, key):
    from . import control
    print("confirm on the device (through the running bridge)...", file=sys.stderr)
    rep = control.ask_sync(sock, {"cmd": "provision", "key": key})
    if rep is None:
        return _err("the bridge at %s stopped answering" % sock, 2)
    if rep.get("outcome") is None:
        return _err(rep.get("error"), 1)
    return {"t": "done", "outcome": rep["outcome"], "pubkey": rep.get("pubkey")}


def _direct(args, key):
    try:
        link = open_link(args.device, args.state)
    except (OSError, RuntimeError, ValueError, LinkError) as e:
        return _err("cannot open the device: %s" % e, 2)
    try:
        link.hello()
        rid = link.request({"t": "provision", "key": key})
        print("confirm on the device...", file=sys.stderr)
        return link.answer(rid, args.timeout)
    except LinkError as e:
        return _err(e, 2)
    finally:
        link.close()
