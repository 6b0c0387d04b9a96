"""`python -m bridge connect|url|status`: pairing and looking at the signer from a terminal.

When a bridge (`run`/`demo`) is running it holds the serial port, so these ask it over its
control socket (control.py): the one of --state if given, else the one a bridge without a
state dir uses, else the one a running bridge announced. Otherwise they open the device
themselves for the one job and let go of it; with --device sim that is a simulator already
running for --state (they never start one: it would outlive them).
"""
import asyncio
import json
import os
import sys

from . import control
from .courier import Courier, check_hello, short
from .qr import bunker_url, qr_text


def add_parser(sub):
    for name, helptext in (("connect", "pair a client that shows a nostrconnect:// code (approve on the device)"),
                           ("url", "print the signer's bunker:// URL"),
                           ("status", "device, relays and their health, clients, queue")):
        p = sub.add_parser(name, help=helptext)
        if name == "connect":
            p.add_argument("uri", metavar="NOSTRCONNECT_URI")
        p.add_argument("--device", default="auto", help='"sim", "auto" (default: find it on USB) or a serial port')
        p.add_argument("--state", help="state directory (the simulator's, and where a running bridge's socket is)")
        if name != "url":   # the URL names the device's own relays only (`relays set`)
            p.add_argument("--relay", action="append", default=[], metavar="URL",
                           help="another relay to listen on besides the device's own (repeatable)")
        if name == "url":
            p.add_argument("--qr", action="store_true", help="also print the URL as a QR code")
            p.add_argument("--wait", type=float, nargs="?", const=120.0, metavar="SECONDS",
                           help="wait (default 120 s) for a bridge subscribed on one of the device's "
                                "relays: a client that connects once this prints gets answers")
        if name == "status":
            p.add_argument("--json", action="store_true", help="print the status as JSON")
        p.set_defaults(func=globals()["cmd_" + name])


def running_socket(state):
    """The control socket of the bridge to ask (None: no bridge runs). RuntimeError when
    several run and none was picked."""
    if state:
        path = control.sock_path(state)
        return path if os.path.exists(path) else None
    socks = [control.sock_path()] if os.path.exists(control.sock_path()) else []
    names = {}
    for rec in control.running():
        if rec["sock"] not in socks:
            socks.append(rec["sock"])
        names[rec["sock"]] = rec.get("state")
    if len(socks) > 1:
        socks = [p for p in socks if control.ask_sync(p, {"cmd": "url"}, timeout=3) is not None]
    if len(socks) > 1:
        raise RuntimeError("several bridges are running (%s): pick one with --state DIR" % ", ".join(
            names.get(p) or "no state dir" for p in socks))
    return socks[0] if socks else None


def _ask_running(args, req):
    path = running_socket(args.state)
    return None if path is None else control.ask_sync(path, req)


def _device_hello(args):
    """(link, hello) of the device opened here; raises with a clear message if it can't be."""
    from .link import open_link
    link = open_link(args.device, args.state)
    try:
        h = link.hello(timeout=15)
    except Exception:
        link.close()
        raise
    err = check_hello(h)
    if err:
        link.close()
        raise RuntimeError("device: " + err)
    return link, h


def _fail(cmd, e):
    print("%s: %s" % (cmd, short(e, 300)), file=sys.stderr)
    return 2


def _no_bridge(e):
    return "%s (and no bridge is running: start one with `make run` or `python -m bridge run`)" % e


def _relays(hello, extra):
    from .relays import normalize_url
    out = []
    for u in list(hello.get("relays") or []) + list(extra):
        u = normalize_url(u)
        if u not in out:
            out.append(u)
    return out


# ---- url ----------------------------------------------------------------------------

def _wait_url(args):
    # a script may start the bridge and ask at once: wait for its socket, then its URL
    import time
    deadline = time.monotonic() + args.wait
    while True:
        left = deadline - time.monotonic()
        rep = _ask_running(args, {"cmd": "url", "wait": max(left, 0.1)}) if left > 0 else None
        if rep is not None or left <= 0:
            return rep or {"ok": False, "error": "no bridge subscribed on a relay after %g s" % args.wait}
        time.sleep(0.2)


def cmd_url(args):
    try:
        rep = _wait_url(args) if args.wait else _ask_running(args, {"cmd": "url"})
    except RuntimeError as e:
        return _fail("url", e)
    if rep is not None:
        if not rep.get("ok"):
            return _fail("url", rep.get("error"))
        url = rep["url"]
        if rep.get("live") == []:
            print("url: the bridge is not subscribed on any of these relays yet (`url --wait` waits)",
                  file=sys.stderr)
    else:
        try:
            link, h = _device_hello(args)
        except Exception as e:
            return _fail("url", _no_bridge(e))
        link.close()
        if not h.get("pubkey"):
            return _fail("url", "the device has no key yet: provision it first")
        url = bunker_url(h["pubkey"], _relays(h, ()), h.get("secret") or None)
    print(url, flush=True)     # a line of its own, to copy
    if args.qr:
        print(qr_text(url))
    return 0


# ---- status -------------------------------------------------------------------------

async def _probe(url, timeout=3.0):
    import websockets
    try:
        ws = await asyncio.wait_for(websockets.connect(url, open_timeout=timeout, proxy=None), timeout + 1)
    except Exception as e:
        return {"url": url, "connected": False, "last_error": short(e, 80)}
    await ws.close()
    return {"url": url, "connected": True, "last_error": None}


def _standalone_status(args):
    link, h = _device_hello(args)
    try:
        rid = link.request({"t": "status"})
        st = link.answer(rid, 10, types=("status", "error")) or {}
    finally:
        link.close()

    async def probes():
        return await asyncio.gather(*[_probe(u) for u in _relays(h, args.relay)])
    return {"ok": True, "bridge": "not running", "device": control.device_summary(h),
            "relays": asyncio.run(probes()), "clients": st.get("clients"),
            "device_queue": st.get("queue"), "queue": 0, "inflight": 0}


def format_report(rep):
    d = rep.get("device") or {}
    lines = ["device: fw %s, board %s, key %s" % (d.get("fw"), d.get("board"), d.get("pubkey")),
             "bridge: %s" % rep.get("bridge", "running"), "relays:"]
    for r in rep.get("relays") or []:
        state = "up" if r.get("connected") else "down"
        if r.get("authed"):
            state += ", authed"
        if "events_in" in r:
            state += ", in %d out %d" % (r.get("events_in", 0), r.get("events_out", 0))
        lines.append("  %-40s %s%s" % (r.get("url"), state,
                                        ("  (" + short(r["last_error"], 60) + ")") if r.get("last_error") else ""))
    clients = rep.get("clients")
    lines.append("clients: %s" % ("?" if clients is None else len(clients)))
    for c in clients or []:
        lines.append("  %s %s" % (str(c.get("pubkey"))[:16], short(c.get("name") or "", 30)))
    for a in rep.get("auths") or []:
        lines.append("  AUTH %s %s" % (a.get("relay"), a.get("outcome")))
    lines.append("queue: %s waiting for the device, %s on the device, %s in flight" % (
        rep.get("queue"), rep.get("device_queue"), rep.get("inflight")))
    return "\n".join(lines)


def cmd_status(args):
    try:
        rep = _ask_running(args, {"cmd": "status"})
    except RuntimeError as e:
        return _fail("status", e)
    if rep is None:
        try:
            rep = _standalone_status(args)
        except Exception as e:
            return _fail("status", _no_bridge(e))
    if not rep.get("ok"):
        return _fail("status", rep.get("error"))
    print(json.dumps(rep) if args.json else format_report(rep), flush=True)
    return 0


# ---- connect ------------------------------------------------------------------------

async def _standalone_connect(args):
    from .link import AsyncDeviceLink, open_link
    link = AsyncDeviceLink(lambda: open_link(args.device, args.state))
    out = lambda line: print(line, flush=True)  # noqa: E731
    c = Courier(link, args.relay, out=out, qr=False)
    try:
        h = await asyncio.wait_for(link.hello(), 20)
        err = check_hello(h)
        if err or not h.get("pubkey"):
            raise RuntimeError(err or "the device has no key yet: provision it first")
        c.adopt(h)
        await c.pool.start()
        recv = asyncio.create_task(c.receive())
        try:
            done = await control.nostrconnect_wait(c, args.uri)
            # the response is on its way to the client's relays and the device's
            if c.tasks:
                await asyncio.wait(list(c.tasks), timeout=c.publish_timeout + 1)
        finally:
            recv.cancel()
            await asyncio.gather(recv, return_exceptions=True)
            await c.pool.close()
        return done.get("outcome")
    finally:
        link.close()


def cmd_connect(args):
    from .checks import nostrconnect_problem
    why = nostrconnect_problem(args.uri)
    if why:
        return _fail("connect", "invalid uri: " + why)
    try:
        rep = _ask_running(args, {"cmd": "connect", "uri": args.uri})
    except RuntimeError as e:
        return _fail("connect", e)
    if rep is not None:
        outcome = rep.get("outcome") or rep.get("error")
    else:
        try:
            outcome = asyncio.run(_standalone_connect(args))
        except Exception as e:
            return _fail("connect", _no_bridge(e))
    print("connect: %s" % outcome, flush=True)
    return 0 if outcome == "ok" else 1
