"""Video signalling relay on the central server: ``/api/v1/signalling/{room}`` (WebSocket).

The same small protocol a console serves itself when the server is down
(app/video/signalling.py, ``LanRelay``), so a console tries the server first and a
colleague's console second with one client:

- connect with ``?token=<access token>&peer=<id>&name=<display name>``;
- the server answers ``{"type": "peers", "peers": [{"id", "name"}...]}``, tells the others
  ``{"type": "joined", "id", "name"}``, relays any message carrying ``"to"`` (adding
  ``"from"``), and says ``{"type": "left", "id"}`` when a peer goes;
- at most ``MAX_PEERS`` per room (a mesh): a seventh gets ``{"type": "full"}`` and close 4409.

The server only relays SDP; media flows console to console on the LAN. Rooms live in this
process's memory (a restart drops them; consoles then fall back to the LAN relay).
Kept apart from the events WebSocket (``/api/v1/events``) so a chatty call never delays a
revision hint.
"""

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from app.server import auth
from app.server.errors import ApiError

log = logging.getLogger("command_desk.server.signalling")
MAX_PEERS = 6
MAX_MESSAGE = 256 * 1024  # an SDP with every candidate is a few kB


class SignallingHub:
    def __init__(self, max_peers: int = MAX_PEERS):
        self.max_peers = max_peers
        self.rooms: dict[str, dict[str, tuple[str, WebSocket]]] = {}
        self._lock = asyncio.Lock()

    async def join(self, room: str, peer: str, name: str, ws: WebSocket) -> bool:
        async with self._lock:
            members = self.rooms.setdefault(room, {})
            # A peer id already in the room is refused, not taken over: otherwise anyone who learnt
            # it could replace that console's socket and receive the offers meant for it.
            if peer in members or len(members) >= self.max_peers:
                return False
            await ws.send_text(json.dumps({"type": "peers",
                                           "peers": [{"id": p, "name": n} for p, (n, _) in members.items()]}))
            members[peer] = (name, ws)
        await self.broadcast(room, peer, {"type": "joined", "id": peer, "name": name})
        return True

    async def leave(self, room: str, peer: str, ws: WebSocket) -> None:
        async with self._lock:
            members = self.rooms.get(room, {})
            if members.get(peer, (None, None))[1] is not ws:
                return
            del members[peer]
            if not members:
                self.rooms.pop(room, None)
        await self.broadcast(room, peer, {"type": "left", "id": peer})

    async def relay(self, room: str, sender: str, msg: dict[str, Any]) -> None:
        target = self.rooms.get(room, {}).get(str(msg.get("to", "")))
        if target is None:
            return
        msg["from"] = sender
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await target[1].send_text(json.dumps(msg))

    async def broadcast(self, room: str, sender: str, msg: dict[str, Any]) -> None:
        text = json.dumps(msg)
        for p, (_, ws) in list(self.rooms.get(room, {}).items()):
            if p != sender:
                with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                    await ws.send_text(text)


def install(app: FastAPI, engine, state: dict, api: str) -> SignallingHub:
    """Add the signalling route to the app (called from create_app)."""
    hub = SignallingHub()

    @app.websocket(api + "/signalling/{room}")
    async def signalling(ws: WebSocket, room: str, token: str = "", peer: str = "", name: str = "") -> None:
        await ws.accept()
        try:
            await run_in_threadpool(auth.principal_from_token, engine, state["secret"], token)
        except ApiError as exc:
            await ws.send_text(json.dumps({"type": "error", "code": exc.code, "message": exc.message}))
            await ws.close(code=4401 if exc.status == 401 else 4403)
            return
        if not peer or len(peer) > 64 or len(room) > 64:
            await ws.close(code=4400)
            return
        if not await hub.join(room, peer, name[:64] or peer, ws):
            in_use = peer in hub.rooms.get(room, {})
            refusal = {"type": "peer_in_use"} if in_use else {"type": "full", "max": hub.max_peers}
            await ws.send_text(json.dumps(refusal))
            await ws.close(code=4409)
            return
        try:
            while True:
                raw = await ws.receive_text()
                if len(raw) > MAX_MESSAGE:
                    continue
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(msg, dict):
                    await hub.relay(room, peer, msg)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            await hub.leave(room, peer, ws)

    app.state.signalling = hub
    return hub
