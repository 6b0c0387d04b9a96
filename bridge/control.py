"""The running bridge's control channel: a unix socket next to its state.

A running `run`/`demo` holds the serial port, so `connect`, `url` and `status` from another
terminal ask it instead of opening the device. One JSON line per request, one JSON line
back, then the connection closes:

    {"cmd": "status"}                 -> {"ok": true, "device": {...}, "relays": [...], "clients": [...], "queue": n, ...}
    {"cmd": "url"}                    -> {"ok": true, "url": "bunker://...", "live": [relays subscribed]}
    {"cmd": "url", "wait": S}         -> the same once the bridge is subscribed on one of its relays
                                         (the URL is printed then too), or ok false after S seconds
    {"cmd": "relays", "relays": [..]} -> {"ok": true, "outcome": "ok", "relays": [...]} once the
                                         person confirmed the device's new relay list on it
    {"cmd": "connect", "uri": "nostrconnect://..."}
                                      -> {"ok": true, "outcome": "ok"} once the person decided on the device
    {"cmd": "provision", "key": HEX}  -> {"ok": true, "outcome": "ok", "pubkey": HEX} likewise

A bridge started by `run`/`demo` also leaves a record of its socket in the per-user runtime
dir (announce/running), so `url`/`status`/`connect`/`provision` find it without --state.

The socket is mode 0600 in a 0700 directory: whoever can talk to it can ask the device to
pair a client or import a key (which the person must still approve on the device) and read
the bunker secret, so it is the same user's only. A key being imported passes through it
once, on its way to the device; it is never logged or kept.
"""
import asyncio
import json
import os
import stat
import tempfile
import time

from .courier import short
from .qr import bunker_url

SOCK_NAME = "bridge.sock"
LINE_MAX = 16 * 1024
CONNECT_TIMEOUT = 130.0   # the device's prompt times out after 60 s by default


def runtime_dir():
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return os.path.join(base, "nostr-signer-bridge-%d" % os.getuid())


def sock_path(state=None):
    """<state>/bridge.sock, or one per user in the runtime dir when there is no state dir."""
    if state:
        return os.path.join(os.path.abspath(state), SOCK_NAME)
    return os.path.join(runtime_dir(), SOCK_NAME)


def _records_dir(create):
    """runtime_dir()/running, if it is ours alone: in /tmp anyone could have made it, and a
    planted record would point our commands at someone else's socket."""
    d = os.path.join(runtime_dir(), "running")
    if create:
        os.makedirs(runtime_dir(), mode=0o700, exist_ok=True)
        os.makedirs(d, mode=0o700, exist_ok=True)
    for path in (runtime_dir(), d):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            if create:
                raise RuntimeError("%s is not a private directory of this user" % path)
            return None
    return d


def announce(path, state=None):
    """Leave a record of the control socket at `path`; returns the record's path."""
    rec = os.path.join(_records_dir(True), "%d.json" % os.getpid())
    tmp = rec + ".tmp"
    old = os.umask(0o177)
    try:
        with open(tmp, "w") as f:
            json.dump({"sock": os.path.abspath(path), "pid": os.getpid(),
                       "state": os.path.abspath(state) if state else None}, f)
    finally:
        os.umask(old)
    os.replace(tmp, rec)
    return rec


def running():
    """Records of the bridges announced and still alive, oldest first (stale ones removed)."""
    d = _records_dir(False)
    out = []
    for name in sorted(os.listdir(d)) if d else ():
        if not name.endswith(".json"):
            continue
        path = os.path.join(d, name)
        try:
            with open(path) as f:
                rec = json.load(f)
            pid, sock = int(rec["pid"]), rec["sock"]
            os.kill(pid, 0)
        except PermissionError:
            continue            # not ours (a reused pid): leave it
        except (OSError, ValueError, KeyError, TypeError):
            try:
                os.unlink(path)     # its bridge died without tidying up
            except OSError:
                pass
            continue
        if os.path.exists(sock):
            out.append(rec)
    return out


def device_summary(hello):
    h = hello or {}
    return {"fw": h.get("fw"), "board": h.get("board"), "pubkey": h.get("pubkey"),
            "relays": h.get("relays") or [], "features": h.get("features") or []}


async def answer(courier, req):
    """The reply to one control request, from the running Courier."""
    cmd = req.get("cmd") if isinstance(req, dict) else None
    c = courier
    if cmd == "provision":     # also before the device has a key (demo.KeyWait)
        return await _provision(c, req)
    if cmd == "url" and req.get("wait"):
        live = getattr(c, "url_live", None)
        try:
            if live is not None:
                await asyncio.wait_for(live.wait(), float(req["wait"]))
        except (asyncio.TimeoutError, TypeError, ValueError):
            return {"ok": False, "error": "not subscribed on any of the device's relays yet"}
    if c.hello is None:
        return {"ok": False, "error": "device not connected yet"}
    if cmd == "url":
        rep = {"ok": True, "url": bunker_url(c.hello["pubkey"], c.device_relays, c.hello.get("secret") or None)}
        if hasattr(c, "live_relays"):
            rep["live"] = c.live_relays()   # which of them the bridge is subscribed on
        return rep
    if cmd == "relays":
        from .relays import normalize_url
        want = req.get("relays")
        try:
            if not isinstance(want, list) or not want:
                raise ValueError("relays must be a list of ws:// or wss:// URLs")
            want = [normalize_url(u) for u in want]
        except ValueError as e:
            return {"ok": False, "error": str(e)}
        outcome = await c.set_relays(want)
        return {"ok": outcome == "ok", "outcome": outcome, "relays": c.device_relays}
    if cmd == "status":
        st = await c.request({"t": "status"}, 10)
        ok = bool(st and st.get("t") == "status")
        return {"ok": True, "device": device_summary(c.hello), "device_answered": ok,
                "relays": c.pool.status() if c.pool else [],
                "clients": st.get("clients", []) if ok else None,
                "device_queue": st.get("queue") if ok else None,
                # free heap, largest block, the last request's peak C stack (issue 10, 6)
                "memory": {"heap": st.get("heap"), "stack": st.get("stack")} if ok else None,
                "queue": len(c.queue), "inflight": len(c.inflight), "published": c.publishes,
                "auths": list(getattr(c, "auths", []))}
    if cmd == "connect":
        uri = req.get("uri")
        if not isinstance(uri, str) or not uri.startswith("nostrconnect://"):
            return {"ok": False, "error": "uri must be a nostrconnect:// URI"}
        done = await nostrconnect_wait(c, uri)
        return {"ok": done.get("outcome") == "ok", "outcome": done.get("outcome")}
    return {"ok": False, "error": "unknown cmd"}


async def _provision(c, req):
    from .checks import secret_key_hex
    try:
        key = secret_key_hex(req.get("key"))
    except ValueError as e:
        return {"ok": False, "error": str(e)}
    req["key"] = None
    c.say("provision: a key was handed to the device, confirm it there")
    msg = await c.request({"t": "provision", "key": key}, CONNECT_TIMEOUT)
    key = None
    if msg is None:
        return {"ok": False, "error": "no answer from the device"}
    outcome = msg.get("outcome") if msg.get("t") == "done" else "error: %s" % short(msg.get("error"), 60)
    c.say("provision: %s" % short(outcome, 60))
    return {"ok": outcome == "ok", "outcome": outcome, "pubkey": msg.get("pubkey")}


async def nostrconnect_wait(c, uri, timeout=CONNECT_TIMEOUT):
    """Hand the URI to the device and wait for its `done` (after the person's decision).
    The `publish` before it goes through the courier as usual (to the client's relays too)."""
    c.say("nostrconnect: handed to the device, approve it there")
    msg = await c.request({"t": "nostrconnect", "now": int(time.time()), "uri": uri}, timeout)
    if msg is None:
        msg = {"outcome": "no answer from the device"}
    elif msg.get("t") == "error":
        msg = {"outcome": "refused: " + short(msg.get("error"), 60)}
    c.say("nostrconnect: %s" % short(msg.get("outcome"), 60))
    return msg


async def start(courier, path, announce_state=False):
    """Serve the control socket at `path` for as long as the returned server lives.
    announce_state: False, or the bridge's state dir (None if it has none) to leave a
    record for commands that are given no --state (announce)."""
    d = os.path.dirname(path)
    os.makedirs(d, mode=0o700, exist_ok=True)
    if os.path.exists(path):
        if await ask(path, {"cmd": "url"}, timeout=2) is not None:
            raise RuntimeError("another bridge is running (control socket %s)" % path)
        os.unlink(path)     # left over from a bridge that died

    async def client(reader, writer):
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            try:
                req = json.loads(line[:LINE_MAX])
            except ValueError:
                req = None
            try:
                rep = await answer(courier, req)
            except Exception as e:
                rep = {"ok": False, "error": "%s: %s" % (type(e).__name__, short(e, 80))}
            writer.write(json.dumps(rep).encode() + b"\n")
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
    old = os.umask(0o177)    # created 0600 from the start, not chmod-ed after a window
    try:
        server = await asyncio.start_unix_server(client, path, limit=LINE_MAX)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    server.record = None
    if announce_state is not False:
        try:
            server.record = announce(path, announce_state)
        except (OSError, RuntimeError) as e:
            courier.say("control: no record in %s (%s): give other commands --state" % (
                runtime_dir(), short(e, 80)))
    return server


async def stop(server, path):
    server.close()
    await server.wait_closed()
    for p in (path, getattr(server, "record", None)):
        try:
            if p:
                os.unlink(p)
        except OSError:
            pass


async def ask(path, req, timeout=CONNECT_TIMEOUT + 10):
    """One request to a running bridge -> its reply dict, or None when no bridge listens."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path, limit=1 << 20), 2)
    except (OSError, asyncio.TimeoutError):
        return None
    try:
        writer.write(json.dumps(req).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        return json.loads(line) if line else None
    finally:
        writer.close()


def ask_sync(path, req, timeout=CONNECT_TIMEOUT + 10):
    return asyncio.run(ask(path, req, timeout))
