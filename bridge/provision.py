"""`python -m bridge provision --device sim|PORT [--state DIR] --key NSEC_OR_HEX`.

Puts a key on the device. The device asks the person to confirm on its own screen and
answers `done`; the key never comes back (docs/protocol.md). Exit status 0 and the
npub on success; otherwise the outcome on stderr and status 1 (2: link trouble).
"""
import re
import sys

from .link import LinkError, open_link

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def npub(pub_hex):
    # nostr-sdk is already the bridge's relay library; its bech32 is the reference one
    from nostr_sdk import PublicKey
    return PublicKey.parse(pub_hex).to_bech32()


def add_parser(sub):
    p = sub.add_parser("provision", help="put a key on the device (confirmed on the device)")
    p.add_argument("--device", required=True, help='"sim" or a serial port such as /dev/ttyACM0')
    p.add_argument("--state", help="simulator state directory (with --device sim)")
    p.add_argument("--key", required=True, help="nsec1... or 64 hex digits")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds to wait for the confirmation on the device")
    p.set_defaults(func=run)


def run(args):
    key = args.key.strip()
    if not (key.startswith("nsec1") or _HEX64.match(key)):
        print("provision: --key must be an nsec1... or 64 hex digits", file=sys.stderr)
        return 2
    try:
        link = open_link(args.device, args.state)
    except (OSError, RuntimeError, ValueError) as e:
        print("provision: cannot open the device: %s" % e, file=sys.stderr)
        return 2
    try:
        link.hello()
        rid = link.request({"t": "provision", "key": key})
        print("confirm on the device...", file=sys.stderr)
        ans = link.answer(rid, args.timeout)
    except LinkError as e:
        print("provision: %s" % e, file=sys.stderr)
        return 2
    finally:
        link.close()
    if ans is None:
        print("provision: no answer from the device in %.0f s" % args.timeout, file=sys.stderr)
        return 1
    outcome = ans.get("outcome") if ans.get("t") == "done" else "error: %s" % ans.get("error")
    if outcome != "ok":
        print("provision: %s" % outcome, file=sys.stderr)
        return 1
    pk = ans.get("pubkey")
    if isinstance(pk, str) and _HEX64.match(pk):
        print(npub(pk.lower()))
    else:
        print("provision: ok, but the device sent no pubkey", file=sys.stderr)
    return 0
