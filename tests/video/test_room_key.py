"""The LAN relay's room key: only consoles holding a consultation's key get into its room.

Real relays and real aiortc over 127.0.0.1; the key comes from a real cache (the secret written
with the consultation's start line in the duty log).
"""

from __future__ import annotations

import json

import pytest
import websockets
from test_mesh import Console, _assert_receives

from app.services import consultations as cs
from app.video.signalling import LanRelay, proof_for, room_key

ROOM = "c0ffee00-0000-4000-8000-000000000001"
SECRET = "9f1b6a0d2c4e8a7f3b5d1e0c2a4f6b8d"


@pytest.fixture
def keyed(engine):
    """A relay that knows one room's key; records every refusal it reports."""
    refusals: list[tuple[str, str, str, str]] = []
    keys = {ROOM: room_key(SECRET, ROOM)}
    r = LanRelay("127.0.0.1", 0, room_keys=keys.get, on_refused=lambda *a: refusals.append(a))
    engine.run(r.start())
    r.refusals = refusals  # type: ignore[attr-defined]
    yield r
    engine.run(r.stop())


def test_peers_with_the_key_call_and_peers_without_it_are_refused(engine, keyed):
    key = room_key(SECRET, ROOM)
    a = Console(engine, [keyed.url()], "CENTRE", room=ROOM, room_key=key).join()
    b = Console(engine, [keyed.url()], "FIELD", room=ROOM, room_key=key).join()
    try:
        assert a.session.state == "joined" and b.session.state == "joined"
        _assert_receives(a, b)
        _assert_receives(b, a)

        # no key at all, then the key of another consultation: refused, told so, and nobody in the room hears of it
        nokey = Console(engine, [keyed.url()], "STRANGER", room=ROOM).join()
        wrong = Console(engine, [keyed.url()], "GUESS", room=ROOM, room_key=room_key(SECRET, "other-room")).join()
        for c in (nokey, wrong):
            assert c.session.state == "unavailable"
            assert c.kinds() == ["not_invited"], c.events
            assert "uninvited" in c.events[0][2]["error"]
        assert keyed.refused == 2
        assert [(r[0], r[2]) for r in keyed.refusals] == [(ROOM, "STRANGER"), (ROOM, "GUESS")]
        assert keyed.refusals[0][3] == "127.0.0.1"
        assert set(a.session.links) == {b.id} and set(b.session.links) == {a.id}
        assert not any(k == "peer_joined" and p in (nokey.id, wrong.id) for k, p, _ in a.events + b.events)
    finally:
        a.leave()
        b.leave()


def test_a_room_the_relay_does_not_know_is_refused_even_with_a_proof(engine, keyed):
    other = "c0ffee00-0000-4000-8000-000000000002"
    c = Console(engine, [keyed.url()], "ANY", room=other, room_key=room_key(SECRET, other)).join()
    assert c.kinds() == ["not_invited"]
    assert keyed.refusals[-1][0] == other


def test_an_uninvited_socket_reads_no_peer_list_and_no_offer(engine, keyed):
    """At the protocol level: before a valid proof the relay says nothing about the room and relays nothing."""
    key = room_key(SECRET, ROOM)
    inside = Console(engine, [keyed.url()], "CENTRE", room=ROOM, room_key=key)
    engine.run(inside.session.signalling.connect())
    seen: list[dict] = []

    async def intruder(proof_of) -> None:
        async with websockets.connect(f"{keyed.url()}/{ROOM}?peer=eve&name=EVE") as ws:
            challenge = json.loads(await ws.recv())
            assert challenge["type"] == "challenge" and len(challenge["nonce"]) == 32
            await ws.send(json.dumps({"type": "auth", "proof": proof_of(challenge["nonce"])}))
            try:
                async for raw in ws:
                    seen.append(json.loads(raw))
            except websockets.ConnectionClosed:
                pass
            assert ws.close_code == 4403

    async def offer_to_eve() -> None:  # the console inside offers to "eve": it must reach no one
        await inside.session.signalling.send("eve", {"type": "offer", "sdp": "v=0 secret"})

    try:
        engine.run(offer_to_eve())
        # a replayed proof (right key, another nonce) and a made-up one
        stale = proof_for(key, "0" * 32, ROOM, "eve")
        engine.run(intruder(lambda nonce: stale))
        engine.run(intruder(lambda nonce: "ab" * 32))
        assert seen == [{"type": "not_invited"}] * 2  # no peer list, no offer, not even whether the room exists
        assert keyed.refused == 2
    finally:
        engine.run(inside.session.signalling.close())


def test_the_server_path_asks_no_room_key(engine, keyed):
    """A relay without ``room_keys`` (the server speaks the same protocol, authenticating by token) sends no
    challenge: a client holding a key still gets the peer list first."""
    open_relay = LanRelay("127.0.0.1", 0)
    engine.run(open_relay.start())
    try:
        c = Console(engine, [open_relay.url()], "CENTRE", room=ROOM, room_key=room_key(SECRET, ROOM)).join()
        assert c.session.state == "joined"
        c.leave()
    finally:
        engine.run(open_relay.stop())


def test_the_room_secret_is_synced_with_the_start_line_and_stable(vctx, monkeypatch):
    a = cs.start_from_incident(vctx, vctx.incident_id)
    b = cs.start_from_incident(vctx, vctx.incident_id)
    sa, sb = vctx.read(cs.room_secret, a), vctx.read(cs.room_secret, b)
    assert sa and sb and sa != sb and len(sa) == 32
    start_line = next(e for e in vctx.read(cs.call_log, a) if e.action == "start")
    assert start_line.body.startswith("视频会商开始")
    # ended and started again a minute later: a second start line with another secret, the first one still wins
    import datetime as dt

    later = cs.clock.now() + dt.timedelta(minutes=1)
    monkeypatch.setattr(cs.clock, "now", lambda: later)
    monkeypatch.setattr(cs.clock, "now_iso", lambda: cs.clock.iso(later))
    cs.end(vctx, a)
    cs.start(vctx, a)
    assert sum(e.action == "start" for e in vctx.read(cs.call_log, a)) == 2
    assert vctx.read(cs.room_secret, a) == sa
    # a scheduled consultation that never started has a fallback; an unknown one has none
    s = cs.schedule(vctx, title="晨会")
    assert vctx.read(cs.room_secret, s).startswith("legacy|")
    assert vctx.read(cs.room_secret, "no-such-id") is None


@pytest.fixture
def serving_panel(qtbot, vctx, tmp_path):
    """A video panel whose console serves its own LAN relay (as in production, with the cache's keys)."""
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.selection import Selection
    from app.ui.settings import Settings
    from app.ui.video.panel import VideoPanel

    settings = Settings(tmp_path / "home" / "settings.json")
    settings.set("video_serve_relay", True)
    settings.set("video_relay_host", "127.0.0.1")
    settings.set("video_relay_port", 0)
    host = PanelHost(ctx=vctx, changes=ChangeBridge(vctx.bus), selection=Selection(), read_only=False,
                     settings=settings)
    p = VideoPanel(host, media_size=(160, 120), fps=10)
    qtbot.addWidget(p)
    p.resize(1400, 800)
    p.show()
    yield p
    p.shutdown()


def test_the_consoles_own_relay_admits_invitees_and_says_when_it_refuses_one(qtbot, serving_panel, vctx, engine):
    panel = serving_panel
    panel.host.selection.select("incident", (vctx.incident_id,), source=None)
    panel.start_from_incident()
    cid = panel.active_id
    qtbot.waitUntil(lambda: panel.call.state == "joined", timeout=10000)
    url = panel.call.relay.url()
    assert not panel.refused_status.isVisible()

    # a colleague's console: same district cache, so the same secret (here: read from the same cache)
    key = room_key(vctx.read(cs.room_secret, cid), cid)
    colleague = Console(engine, [url], "STREET", room=cid, room_key=key).join()
    stranger = Console(engine, [url], "EVE", room=cid).join()
    try:
        qtbot.waitUntil(lambda: colleague.id in panel.tiles and panel.tiles[colleague.id].frames >= 3,
                        timeout=20000)
        assert stranger.kinds() == ["not_invited"]
        assert stranger.id not in panel.tiles
        qtbot.waitUntil(lambda: panel.refused_status.isVisible(), timeout=5000)
        assert panel.refused_status.text() == "未受邀的入会请求已拒绝（1 次） · 最近一次：EVE，来自 127.0.0.1"
        assert "没有会商密钥" in panel.refused_status.toolTip()
    finally:
        colleague.leave()


def test_a_console_without_the_key_shows_not_invited(qtbot, vctx, tmp_path, engine, keyed):
    """The joining side: the consultation's key is not the one the colleague's relay knows."""
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.selection import Selection
    from app.ui.settings import Settings
    from app.ui.video.panel import VideoPanel

    settings = Settings(tmp_path / "home" / "settings.json")
    settings.set("video_lan_relays", [keyed.url().removesuffix("/signalling").removeprefix("ws://")])
    settings.set("video_serve_relay", False)
    host = PanelHost(ctx=vctx, changes=ChangeBridge(vctx.bus), selection=Selection(), read_only=False,
                     settings=settings)
    panel = VideoPanel(host, media_size=(160, 120), fps=10)
    qtbot.addWidget(panel)
    panel.show()
    try:
        panel.host.selection.select("incident", (vctx.incident_id,), source=None)
        panel.start_from_incident()
        qtbot.waitUntil(lambda: panel.call.state == "not_invited", timeout=10000)
        assert panel.banner.isVisible() and panel.banner.text().startswith("未受邀")
        assert panel.call_status.text() == "入会被拒绝（未受邀）"
    finally:
        panel.shutdown()

