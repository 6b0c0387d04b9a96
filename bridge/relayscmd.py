"""`python -m bridge relays [set URL...]`: the device's own relay list.

The list lives on the device (its signer.json): its QR, the bunker URL, get_relays,
switch_relays answers and the NIP-42 AUTHs it signs all use it. `set` proposes a new list;
the device shows SET RELAYS? and keeps it only if the person approves there. Through the
running bridge when there is one (it holds the port; its pool and URL follow at once),
otherwise on the device directly.
"""
import sys

from .courier import loopback_only, short
from .relays import normalize_url

SET_TIMEOUT = 140      # s: the device's prompt times out after 60 s by default


def add_parser(sub):
    p = sub.add_parser("relays", help="show or set the device's own relays (confirm on the device)")
    p.add_argument("action", nargs="?", choices=("show", "set"), default="show")
    p.add_argument("urls", nargs="*", metavar="URL", help="with set: the new list, in order")
    p.add_argument("--device", default="auto", help='"sim", "auto" (default: find it on USB) or a serial port')
    p.add_argument("--state", help="state directory (the simulator's, and where a running bridge's socket is)")
    p.set_defaults(func=run)


def _fail(e):
    print("relays: %s" % short(e, 300), file=sys.stderr)
    return 2


def run(args):
    from . import cli
    urls = []
    if args.action == "set":
        if not args.urls:
            return _fail("set needs at least one ws:// or wss:// URL")
        try:
            for u in args.urls:
                u = normalize_url(u)
                if u not in urls:
                    urls.append(u)
        except ValueError as e:
            return _fail(e)
    elif args.urls:
        return _fail("URLs are for `relays set`")
    try:
        rep = cli._ask_running(args, {"cmd": "relays", "relays": urls} if urls else {"cmd": "url"})
    except RuntimeError as e:
        return _fail(e)
    if rep is None:
        try:
            rep = _standalone(args, urls)
        except Exception as e:
            return _fail(cli._no_bridge(e))
    if not rep.get("ok") and not rep.get("outcome"):
        return _fail(rep.get("error"))
    if urls:
        print("relays: %s" % rep.get("outcome"), flush=True)
    relays = rep.get("relays")
    if relays is None:     # `show` through a bridge: the device's list is in the URL
        relays = [normalize_url(u) for u in _from_url(rep.get("url") or "")]
    for u in relays:
        print(u, flush=True)
    if loopback_only(relays):
        print("relays: WARNING: all on this machine: a phone or another computer cannot use them",
              file=sys.stderr)
    return 0 if rep.get("ok") else 1


def _from_url(url):
    from urllib.parse import parse_qs, urlsplit
    return parse_qs(urlsplit(url).query).get("relay", [])


def _standalone(args, urls):
    from .cli import _device_hello
    link, h = _device_hello(args)
    try:
        if not urls:
            return {"ok": True, "relays": h.get("relays") or []}
        print("relays: confirm SET RELAYS? on the device", flush=True)
        rid = link.request({"t": "relays", "relays": urls})
        msg = link.answer(rid, SET_TIMEOUT) or {}
    finally:
        link.close()
    if msg.get("t") == "error":
        return {"ok": False, "error": msg.get("error")}
    outcome = msg.get("outcome") or "no answer from the device"
    return {"ok": outcome == "ok", "outcome": outcome, "relays": msg.get("relays") or h.get("relays") or []}
