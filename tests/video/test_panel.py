"""The video panel: start from an incident in one step, type minutes, see tiles fill, feeds retry, seek playback."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.domain.validate import parse_time
from app.services import consultations as cs
from app.services.changes import ChangeBus
from app.services.context import AppContext
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.selection import Selection
from app.video.feeds import write_pattern_ts
from app.video.mesh import MeshSession


@pytest.fixture
def panel(qtbot, vctx, tmp_path, engine, relay):
    from app.ui.settings import Settings
    from app.ui.video.panel import VideoPanel

    settings = Settings(tmp_path / "home" / "settings.json")
    settings.set("video_lan_relays", [relay.url().removesuffix("/signalling").removeprefix("ws://")])
    settings.set("video_serve_relay", False)
    host = PanelHost(ctx=vctx, changes=ChangeBridge(vctx.bus), selection=Selection(), read_only=False,
                     settings=settings)
    p = VideoPanel(host, media_size=(320, 240), fps=15)
    qtbot.addWidget(p)
    p.resize(1400, 800)
    p.show()
    yield p
    p.shutdown()


def test_one_step_call_from_incident_with_minutes_tiles_and_playback(qtbot, panel, vctx, engine, relay):
    assert not panel.btn_from_incident.isEnabled()  # nothing selected yet
    panel.host.selection.select("incident", (vctx.incident_id,), source=None)
    assert panel.btn_from_incident.isEnabled()
    qtbot.mouseClick(panel.btn_from_incident, Qt.MouseButton.LeftButton)
    cid = panel.active_id
    assert cid and panel.ctx.read(cs.get_consultation, cid)["incident_id"] == vctx.incident_id
    qtbot.waitUntil(lambda: panel.call.state == "joined", timeout=10000)

    # a colleague's console joins the same room through the LAN relay
    other = MeshSession(room=cid, name="STREET", signalling_urls=[relay.url()], width=320, height=240, fps=15)
    engine.run(other.join())
    try:
        qtbot.waitUntil(lambda: other.peer_id in panel.tiles and panel.tiles[other.peer_id].frames >= 5,
                        timeout=20000)
        own = panel.tiles[panel.call.self_id]
        qtbot.waitUntil(lambda: own.frames >= 2, timeout=5000)
        parts = panel.ctx.read(cs.get_consultation, cid)["participants"]
        me = panel.ctx.user.name
        assert any(p["name"] == me and p["events"][-1]["event"] == "joined" for p in parts)
        # Each console records its own attendance only (six consoles writing everyone's would be
        # thirty patches of one field): the colleague's console writes its own "joined".
        assert not any(p["name"] == "STREET" and p.get("events") for p in parts)

        # recording on, then a minute and a decision typed during the call
        panel.btn_record.setChecked(True)
        qtbot.waitUntil(lambda: panel.call.recorder is not None and panel.call.recorder.frames_written >= 8,
                        timeout=10000)
        panel.minute_edit.setPlainText("现场积水约 40 厘米")
        qtbot.keyClick(panel.minute_edit, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)
        assert panel.minute_edit.toPlainText() == ""
        panel.minute_edit.setPlainText("调派抢险队两个小组")
        panel.record_minute("decision")
        qtbot.waitUntil(lambda: panel.call.recorder.frames_written >= 14, timeout=10000)
        panel.btn_record.setChecked(False)

        # an empty minute is refused beside the box, nothing is written
        panel.record_minute("minute")
        assert panel.minute_error.isVisible()
    finally:
        engine.run(other.leave())
    qtbot.waitUntil(lambda: other.peer_id not in panel.tiles, timeout=10000)

    log = panel.ctx.read(cs.call_log, cid)
    assert [e.action for e in log] == ["start", "minute", "decision"]
    assert [r.body for r in panel.log_model.rows] == [e.body for e in log]
    # clicking the decision's log line seeks the recording to that moment
    decision_row = next(i for i, r in enumerate(panel.log_model.rows) if r.action == "decision")
    idx = panel.log_proxy.mapFromSource(panel.log_model.index(decision_row, 0))
    panel._seek_to_entry(idx)
    qtbot.waitUntil(lambda: hasattr(panel, "last_seek"), timeout=10000)
    rec = panel.recording_for(cid)[1]
    call_start = parse_time(panel.ctx.read(cs.get_consultation, cid)["started_at"]).timestamp()
    expected = log[2].call_time_s - (rec["start_epoch"] - call_start)
    assert abs(panel.last_seek - expected) <= 0.25
    assert not panel.player.pixmap().isNull()

    panel.end_call()
    assert panel.ctx.read(cs.call_log, cid)[-1].action == "end"
    assert panel.ctx.read(cs.list_consultations)[0].status == "ended"


def test_feed_tile_shows_frames_and_a_dead_feed_shows_retry_and_logs(qtbot, panel, tmp_path, vctx):
    clip = tmp_path / "drone.ts"
    write_pattern_ts(str(clip), "DRONE", seconds=1.0)
    good = panel.add_feed("无人机 1 号", str(clip), position=(113.3, 23.1))
    dead = panel.add_feed("执法记录仪 3 号", "rtsp://127.0.0.1:9/live")
    qtbot.waitUntil(lambda: panel.tiles[good].frames >= 5, timeout=10000)
    qtbot.waitUntil(lambda: panel.tiles[dead].state == "retrying", timeout=10000)
    assert "重试" in panel.tiles[dead].status_text()
    assert panel.tiles[dead].detail_text().startswith("连接被拒绝")
    qtbot.waitUntil(lambda: any("图传中断" in r["body"] for r in _log_bodies(vctx)), timeout=5000)
    assert sum("执法记录仪 3 号" in r["body"] for r in _log_bodies(vctx)) == 1  # one line, not one per retry


def test_a_feed_chosen_on_the_map_becomes_the_big_tile(qtbot, panel, tmp_path):
    clip = tmp_path / "drone.ts"
    write_pattern_ts(str(clip), "DRONE", seconds=1.0)
    first = panel.add_feed("无人机 1 号", str(clip))
    second = panel.add_feed("无人机 2 号", str(clip))
    qtbot.waitUntil(lambda: first in panel.tiles and second in panel.tiles, timeout=10000)
    panel.host.selection.select("feed", (second,), source=None)  # the map card's "open in video panel"
    assert panel.stage.mode == "speaker" and panel.stage.speaker == second
    panel._levels({first: 0.9})  # someone loud does not take the chosen feed's place
    assert panel.stage.speaker == second


def test_video_unavailable_state_when_no_relay_answers(qtbot, vctx, tmp_path, engine):
    from app.ui.settings import Settings
    from app.ui.video.panel import VideoPanel

    settings = Settings(tmp_path / "s.json")
    settings.set("video_lan_relays", ["127.0.0.1:9"])
    settings.set("video_serve_relay", False)
    ctx = AppContext(store=vctx.store, bus=ChangeBus(), device_id=vctx.device_id, user=vctx.user)
    host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False,
                     settings=settings)
    p = VideoPanel(host, media_size=(320, 240), fps=15)
    qtbot.addWidget(p)
    p.show()
    try:
        cid = cs.start_from_incident(ctx, vctx.incident_id)
        p.refresh()
        p.select_consultation(cid)
        p.join_selected()
        qtbot.waitUntil(lambda: p.banner.isVisible(), timeout=10000)
        assert "电话" in p.banner.text()
    finally:
        p.shutdown()


def test_list_is_searchable_and_exports_csv(qtbot, panel, vctx, tmp_path):
    cs.schedule(vctx, title="汛期防御部署会商", participants=["华乐街"])
    cs.schedule(vctx, title="燃气安全专题会商", participants=["燃气集团"])
    panel.refresh()
    assert panel.proxy.rowCount() == 2
    panel.search.setText("燃气")
    assert panel.proxy.rowCount() == 1
    out = tmp_path / "c.csv"
    assert panel.export_csv(str(out)) == 1
    text = out.read_text(encoding="utf-8-sig")
    assert "燃气安全专题会商" in text and "汛期" not in text


def _log_bodies(ctx):
    import sqlalchemy as sa

    from app.store.schema import table_for

    t = table_for("duty_log_entry")
    return [dict(r) for r in ctx.read(lambda conn: conn.execute(sa.select(t.c.body)).mappings().all())]


def test_controls_layout_language_and_briefing_read_only(qtbot, panel, vctx, engine, relay, tmp_path):
    from app.ui import i18n
    from app.ui.settings import Settings
    from app.ui.video.panel import VideoPanel

    cid = cs.start_from_incident(vctx, vctx.incident_id)
    panel.refresh()
    panel.select_consultation(cid)
    assert panel.btn_join.isEnabled() and not panel.btn_mute.isEnabled()
    panel.join_selected()
    qtbot.waitUntil(lambda: panel.call.state == "joined", timeout=10000)
    session = panel.call.session
    # keyboard: mute and camera off reach the media layer
    qtbot.keyClick(panel, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(panel, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert panel.btn_mute.isChecked() and panel.btn_camera.isChecked()
    qtbot.waitUntil(lambda: session.tone.muted and session.pattern.camera_off, timeout=5000)
    assert panel.tiles[panel.call.self_id].muted
    # grid ↔ speaker view (Ctrl+Shift+G: Ctrl+Shift+L is the window's language switch)
    qtbot.keyClick(panel, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert panel.stage.mode == "speaker"
    # the panel follows a language switch, state texts included
    i18n.set_language("en")
    assert panel.btn_mute.text() == "Unmute" and panel.btn_layout.text() == "Speaker view"
    assert panel.call_status.text() == "In the consultation"
    i18n.set_language("zh")
    assert panel.btn_mute.text() == "取消静音"
    panel.end_call()

    # the briefing display shows the list, never acts
    host = PanelHost(ctx=vctx, changes=ChangeBridge(vctx.bus), selection=Selection(), read_only=True,
                     settings=Settings(tmp_path / "b.json"))
    briefing = VideoPanel(host)
    qtbot.addWidget(briefing)
    briefing.select_consultation(cid)
    assert briefing.proxy.rowCount() >= 1
    assert not any(b.isEnabled() for b in (briefing.btn_schedule, briefing.btn_join, briefing.btn_minute,
                                           briefing.btn_feed, briefing.btn_from_incident))
    briefing.join_selected()
    assert briefing.active_id is None
    briefing.shutdown()


def test_feeds_are_shared_both_ways_as_participants(qtbot, panel, vctx, engine, relay, tmp_path):
    from app.video.feeds import FeedReader

    cid = cs.start_from_incident(vctx, vctx.incident_id)
    panel.refresh()
    panel.select_consultation(cid)
    panel.join_selected()
    qtbot.waitUntil(lambda: panel.call.state == "joined", timeout=10000)
    received: dict[str, int] = {}
    other = MeshSession(room=cid, name="VEHICLE", signalling_urls=[relay.url()], width=320, height=240, fps=15,
                        on_frame=lambda src, rgb: received.__setitem__(src, received.get(src, 0) + 1))
    engine.run(other.join())
    clip = tmp_path / "uav.ts"
    write_pattern_ts(str(clip), "UAV", seconds=2)
    theirs = FeedReader("v", "车载", str(clip), on_frame=lambda fid, rgb: other.feed_track.push(rgb))
    try:
        qtbot.waitUntil(lambda: other.peer_id in panel.tiles, timeout=15000)
        # this console shares its drone feed: the other console receives it as a second video
        panel.add_feed("无人机 1 号", str(clip))
        assert panel.btn_share.isEnabled()
        panel.btn_share.setChecked(True)
        ours = f"{panel.call.self_id}/feed"
        qtbot.waitUntil(lambda: received.get(ours, 0) >= 5, timeout=20000)
        # the other console shares its vehicle camera: a tile appears here with the owner's name
        theirs.start()
        engine.run(other.share_feed("车载摄像头"))
        source = f"{other.peer_id}/feed"
        qtbot.waitUntil(lambda: source in panel.tiles and panel.tiles[source].frames >= 3, timeout=20000)
        assert panel.tiles[source].display_name().startswith("VEHICLE · 车载摄像头")
        engine.run(other.share_feed(None))
        qtbot.waitUntil(lambda: source not in panel.tiles, timeout=10000)
    finally:
        theirs.stop()
        engine.run(other.leave())
