"""Signalling for the mesh: a tiny relay protocol over WebSocket, JSON text messages.

A peer connects to ``ws://HOST:PORT/signalling/<room>?peer=<id>&name=<name>``. The relay
answers ``{"type": "peers", "peers": [{"id", "name"}...]}`` (everyone already in the room),
tells the others ``{"type": "joined", "id", "name"}``, relays any message carrying
``"to": <peer id>`` (adding ``"from"``), and says ``{"type": "left", "id"}`` when a peer
goes. No trickle ICE: aiortc puts every candidate in the SDP, so an offer and an answer
are all a pair needs.

The same protocol is served by the central server (app/server/signalling.py) and by any
console itself (``LanRelay``) when the server is down, so a console can fall back to a
colleague's console on the LAN.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from dataclasses import dataclass, field

import websockets
from websockets.asyncio.server import ServerConnection

log = logging.getLogger(__name__)
MAX_PEERS = 6  # mesh: each peer encodes once per other peer; 6 is what a LAN console carries


@dataclass
class _Room:
    peers: dict[str, tuple[str, ServerConnection]] = field(default_factory=dict)


class LanRelay:
    """The relay a console serves itself (start/stop on the media loop)."""

    def __init__(self, host: str = "0.0.0.0", port: int = 0, max_peers: int = MAX_PEERS):
        self.host, self.port = host, port
        self.max_peers = max_peers
        self._rooms: dict[str, _Room] = {}
        self._server = None

    async def start(self) -> int:
        self._server = await websockets.serve(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def url(self, host: str = "127.0.0.1") -> str:
        return f"ws://{host}:{self.port}/signalling"

    async def _handle(self, ws: ServerConnection) -> None:
        parsed = urllib.parse.urlparse(ws.request.path)
        parts = parsed.path.strip("/").split("/")
        query = urllib.parse.parse_qs(parsed.query)
        if len(parts) != 2 or parts[0] != "signalling" or "peer" not in query:
            await ws.close(4400, "bad signalling path")
            return
        room_name, peer = parts[1], query["peer"][0]
        name = query.get("name", [peer])[0]
        room = self._rooms.setdefault(room_name, _Room())
        if peer in room.peers:  # refused, not taken over (else a stranger could hijack that console's offers)
            await ws.send(json.dumps({"type": "peer_in_use"}))
            await ws.close(4409, "peer id in use")
            return
        if len(room.peers) >= self.max_peers:
            await ws.send(json.dumps({"type": "full", "max": self.max_peers}))
            await ws.close(4409, "room full")
            return
        await ws.send(json.dumps({"type": "peers",
                                  "peers": [{"id": p, "name": n} for p, (n, _) in room.peers.items()]}))
        room.peers[peer] = (name, ws)
        await self._broadcast(room, peer, {"type": "joined", "id": peer, "name": name})
        try:
            async for raw in ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                target = room.peers.get(msg.get("to", ""))
                if target is not None:
                    msg["from"] = peer
                    try:
                        await target[1].send(json.dumps(msg))
                    except websockets.ConnectionClosed:
                        pass
        except websockets.ConnectionClosed:
            pass
        finally:
            if room.peers.get(peer, (None, None))[1] is ws:
                del room.peers[peer]
                await self._broadcast(room, peer, {"type": "left", "id": peer})
            if not room.peers:
                self._rooms.pop(room_name, None)

    @staticmethod
    async def _broadcast(room: _Room, sender: str, msg: dict) -> None:
        text = json.dumps(msg)
        for p, (_, ws) in list(room.peers.items()):
            if p != sender:
                try:
                    await ws.send(text)
                except websockets.ConnectionClosed:
                    pass


class SignallingClient:
    """One peer's connection to a relay; tries each base URL in turn (server first, then LAN)."""

    def __init__(self, urls: list[str], room: str, peer_id: str, name: str, open_timeout: float = 3,
                 token: str | None = None):
        """``token``: the console's access token, sent to relays on the central server (``/api/``)."""
        self.urls = list(urls)
        self.token = token
        self.room, self.peer_id, self.name = room, peer_id, name
        self.open_timeout = open_timeout
        self.ws = None
        self.url: str | None = None

    async def connect(self) -> list[dict]:
        """Connect to the first relay that answers; returns the peers already in the room."""
        errors = []
        for base in self.urls:
            params = {"peer": self.peer_id, "name": self.name}
            if self.token and "/api/" in base:
                params["token"] = self.token
            q = urllib.parse.urlencode(params)
            url = f"{base.rstrip('/')}/{urllib.parse.quote(self.room)}?{q}"
            try:
                ws = await websockets.connect(url, open_timeout=self.open_timeout, max_size=2 ** 22)
                first = json.loads(await asyncio.wait_for(ws.recv(), self.open_timeout))
            except (TimeoutError, OSError, websockets.WebSocketException, ValueError) as e:
                errors.append(f"{base}: {type(e).__name__}: {e}")
                continue
            if first.get("type") == "full":
                await ws.close()
                raise ConnectionRefusedError(f"room full ({first.get('max')} participants)")
            if first.get("type") == "peer_in_use":
                await ws.close()
                raise ConnectionRefusedError("peer id already in the room")
            if first.get("type") != "peers":  # e.g. {"type": "error"}: the server refused our token
                await ws.close()
                errors.append(f"{base}: {first.get('code') or first.get('type')}: {first.get('message', '')}")
                continue
            self.ws, self.url = ws, base
            return list(first.get("peers", []))
        raise ConnectionError("no signalling relay answered: " + "; ".join(errors))

    async def send(self, to: str, msg: dict) -> None:
        if self.ws is None:
            raise ConnectionError("not connected")
        await self.ws.send(json.dumps({**msg, "to": to}))

    async def messages(self):
        assert self.ws is not None
        try:
            async for raw in self.ws:
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue
        except websockets.ConnectionClosed:
            return

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
