"""A NIP-46 client over real relays for the e2e tests and bench/e2e.py: refclient's Client
(coincurve + cryptography, no code shared with the firmware or the bridge) speaking
NIP-01 over `websockets` to one or more relays, answering NIP-42 challenges with its own
key. Any transport the Client has: NIP-44, or NIP-04 as in the older NIP-46 draft.

    async with WsClient([relay_url], signer_pub_bytes) as c:
        resp = await c.call("ping", [])               # {"id", "result"} or {"id", "error"}
"""
import asyncio
import json
import os
import time

import websockets

import refclient as rc
from bridge.relayconn import quickack
from nostrev import auth_event


class WsClient:
    def __init__(self, urls, signer_pub, client=None, scheme="nip44"):
        self.urls = list(urls)
        self.signer_pub = signer_pub
        self.client = client or rc.Client()
        self.scheme = scheme
        self.conns = {}
        self.waiting = {}       # request id -> future of the response dict
        self.tasks = []
        self.challenged = {}
        self.authed = {}
        self.auth_ids = {}
        self.got = []           # every response opened, asked for or not (nostrconnect)
        self.sub = "c" + os.urandom(4).hex()
        self.since = int(time.time()) - 5

    async def __aenter__(self):
        for u in self.urls:
            await self.open(u)
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def open(self, url):
        ws = await websockets.connect(url, open_timeout=5, max_size=2 ** 22)
        self.conns[url] = ws
        self.challenged[url] = asyncio.Event()
        self.authed[url] = asyncio.Event()
        self.tasks.append(asyncio.create_task(self._read(url, ws)))
        await self._subscribe(ws)
        # a relay that wants NIP-42 sends its challenge at once: be authenticated before
        # the first request, or the relay refuses it
        try:
            await asyncio.wait_for(self.challenged[url].wait(), 0.5)
        except asyncio.TimeoutError:
            return
        await asyncio.wait_for(self.authed[url].wait(), 5)

    async def _subscribe(self, ws):
        await ws.send(json.dumps(["REQ", self.sub, {"kinds": [24133], "#p": [self.client.pubhex],
                                                    "since": self.since}]))

    async def close(self):
        for t in self.tasks:
            t.cancel()
        for ws in self.conns.values():
            try:
                await ws.close()
            except Exception:
                pass
        self.conns.clear()

    async def _read(self, url, ws):
        try:
            async for raw in ws:
                quickack(ws)    # see bridge/relayconn.py: LocalRelay + Nagle + delayed ACK = 40 ms
                m = json.loads(raw)
                if m[0] == "AUTH":
                    ev = auth_event(self.client.sk, url, m[1])
                    self.auth_ids[url] = ev["id"]
                    self.challenged[url].set()
                    await ws.send(json.dumps(["AUTH", ev]))
                elif m[0] == "OK" and m[1] == self.auth_ids.get(url) and m[2]:
                    self.authed[url].set()
                    await self._subscribe(ws)    # the REQ before AUTH was CLOSED
                elif m[0] == "EVENT" and m[1] == self.sub:
                    self._on_event(m[2])
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            pass

    def _on_event(self, ev):
        if ev.get("pubkey") != self.signer_pub.hex():
            return
        try:
            resp, scheme = self.client.open(ev, self.signer_pub)
        except Exception:
            return
        resp["_scheme"] = scheme
        self.got.append(resp)
        fut = self.waiting.get(resp.get("id"))
        if fut is not None and not fut.done():
            fut.set_result(resp)

    async def send(self, method, params, scheme=None):
        """Publish one request to every relay; -> (request id, future of the response)."""
        ev = self.client.request(self.signer_pub, method, params, scheme=scheme or self.scheme)
        fut = asyncio.get_running_loop().create_future()
        self.waiting[ev["_req_id"]] = fut
        msg = json.dumps(["EVENT", rc.strip(ev)])
        for ws in list(self.conns.values()):
            try:
                await ws.send(msg)
            except websockets.ConnectionClosed:
                pass
        return ev["_req_id"], fut

    async def call(self, method, params, timeout=20, scheme=None):
        rid, fut = await self.send(method, params, scheme)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.waiting.pop(rid, None)
