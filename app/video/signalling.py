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

Room keys (LAN relay only). The server authenticates each peer by its access token and
scope; a console's relay has no such thing, so it asks for proof that the peer was invited:

- every consultation has a random ``room_secret``, written into the details of its start
  line in the duty log (app/services/consultations.py), so every console that has synced the
  consultation has it, and nothing that names the room (a URL, a log line, a screen) does;
- the room key is ``room_key(secret, room)`` = HMAC-SHA256(secret, "command-desk/room/v1|" + room);
- a relay built with ``room_keys`` (a lookup: room → key or None) first sends
  ``{"type": "challenge", "nonce"}``; the peer answers ``{"type": "auth", "proof"}`` with
  ``proof_for(key, nonce, room, peer)`` = HMAC-SHA256(key, nonce|room|peer) (the key itself never
  crosses the network, and a proof heard once is useless with another nonce);
- a wrong or missing proof, or a room the relay does not know, gets ``{"type": "not_invited"}``
  and close 4403, before the peer is in the room: it sees no peer list and no offer.
  ``on_refused(room, peer, name, address)`` tells the relay's console.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

import websockets
from websockets.asyncio.server import ServerConnection

log = logging.getLogger(__name__)
MAX_PEERS = 6  # mesh: each peer encodes once per other peer; 6 is what a LAN console carries
AUTH_TIMEOUT = 5.0  # seconds a peer has to answer the relay's challenge
RoomKeys = Callable[[str], "bytes | None"]
RefusedCallback = Callable[[str, str, str, str], None]


def room_key(secret: str | bytes, room: str) -> bytes:
    """The key a consultation's invitees share: HMAC-SHA256 of the room id under the consultation's secret."""
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, b"command-desk/room/v1|" + room.encode(), hashlib.sha256).digest()


def proof_for(key: bytes, nonce: str, room: str, peer: str) -> str:
    """The answer to a relay's challenge (the key itself never goes on the wire)."""
    msg = "|".join((nonce, room, peer)).encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


class NotInvited(ConnectionRefusedError):
    """A LAN relay refused us: no key for this room, or not the key the relay knows."""


@dataclass
class _Room:
    peers: dict[str, tuple[str, ServerConnection]] = field(default_factory=dict)


class LanRelay:
    """The relay a console serves itself (start/stop on the media loop)."""

    def __init__(self, host: str = "0.0.0.0", port: int = 0, max_peers: int = MAX_PEERS, *,
                 room_keys: RoomKeys | None = None, on_refused: RefusedCallback | None = None):
        """``room_keys``: room → key (None: not a room this console knows; refused). Without it the relay
        asks for no proof (tests and benchmarks only: a console's relay always has one)."""
        self.host, self.port = host, port
        self.max_peers = max_peers
        self.room_keys = room_keys
        self.on_refused = on_refused
        self.refused = 0
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
        if self.room_keys is not None and not await self._invited(ws, room_name, peer, name):
            return
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

    async def _invited(self, ws: ServerConnection, room: str, peer: str, name: str) -> bool:
        """Challenge the peer for the room key; refuse (and tell the console) without the right proof."""
        nonce = secrets.token_hex(16)
        proof = ""
        try:
            await ws.send(json.dumps({"type": "challenge", "nonce": nonce}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), AUTH_TIMEOUT))
            if isinstance(answer, dict) and answer.get("type") == "auth":
                proof = str(answer.get("proof", ""))
        except (TimeoutError, ValueError, websockets.ConnectionClosed):
            pass
        try:  # the lookup reads the console's cache: off the media loop
            key = await asyncio.get_running_loop().run_in_executor(None, self.room_keys, room)
        except Exception:
            log.exception("room key lookup failed")
            key = None
        if key is not None and proof and hmac.compare_digest(proof, proof_for(key, nonce, room, peer)):
            return True
        self.refused += 1
        address = ws.remote_address[0] if ws.remote_address else "?"
        log.warning("LAN relay: uninvited join refused (room %s, peer %r, name %r, from %s%s)", room, peer, name,
                    address, "" if key is not None else ", room unknown here")
        try:
            await ws.send(json.dumps({"type": "not_invited"}))  # not why: a stranger learns nothing of the room
            await ws.close(4403, "not invited")
        except websockets.ConnectionClosed:
            pass
        if self.on_refused is not None:
            try:
                self.on_refused(room, peer, name, address)
            except Exception:
                log.exception("on_refused callback failed")
        return False

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
                 token: str | None = None, room_key: bytes | None = None):
        """``token``: the console's access token, sent to relays on the central server (``/api/``);
        ``room_key``: the consultation's room key, for a LAN relay's challenge (``room_key()``)."""
        self.urls = list(urls)
        self.token = token
        self.room_key = room_key
        self.room, self.peer_id, self.name = room, peer_id, name
        self.open_timeout = open_timeout
        self.ws = None
        self.url: str | None = None

    async def connect(self) -> list[dict]:
        """Connect to the first relay that answers; returns the peers already in the room."""
        errors = []
        refused = []
        for base in self.urls:
            params = {"peer": self.peer_id, "name": self.name}
            if self.token and "/api/" in base:
                params["token"] = self.token
            q = urllib.parse.urlencode(params)
            url = f"{base.rstrip('/')}/{urllib.parse.quote(self.room)}?{q}"
            try:
                ws = await websockets.connect(url, open_timeout=self.open_timeout, max_size=2 ** 22)
                first = json.loads(await asyncio.wait_for(ws.recv(), self.open_timeout))
                if first.get("type") == "challenge":  # a LAN relay: prove we were invited
                    proof = proof_for(self.room_key, str(first.get("nonce", "")), self.room, self.peer_id) \
                        if self.room_key is not None else ""
                    await ws.send(json.dumps({"type": "auth", "proof": proof}))
                    first = json.loads(await asyncio.wait_for(ws.recv(), self.open_timeout))
            except (TimeoutError, OSError, websockets.WebSocketException, ValueError) as e:
                errors.append(f"{base}: {type(e).__name__}: {e}")
                continue
            if first.get("type") == "not_invited":  # try the next relay: this one may not know the room yet
                await ws.close()
                refused.append(base)
                errors.append(f"{base}: not invited")
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
        if refused:
            raise NotInvited("uninvited: the relay refused our room key (" + "; ".join(errors) + ")")
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
