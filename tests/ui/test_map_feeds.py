"""The map's field-feed layer (real feed registry, real reader on a real clip) and stale faded markers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from test_map import close_to, colour_at, pixel_of  # tests/ui is on sys.path

from app.domain import clock
from app.services import feed_positions as FP
from app.services.changes import ChangeSet
from app.store import records
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.map import style as S
from app.ui.map.panel import MapPanel
from app.ui.selection import Selection
from app.video.feeds import FeedReader, write_pattern_ts

SPOT = (113.2650, 23.1280)
FEED = S.STYLES["feed"]


@pytest.fixture(autouse=True)
def clean_feeds():
    yield
    for p in FP.feed_positions():
        FP.set_feed_position(p.feed_id, p.name, None, None)


@pytest.fixture
def host(ctx, settings):
    return PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False, settings=settings)


@pytest.fixture
def panel(qtbot, host):
    p = MapPanel(host)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    qtbot.waitUntil(lambda: not p.loading() and bool(p.data), timeout=20000)
    yield p
    p.shutdown()


def from_thread(*args) -> None:
    """Move a feed the way a reader does: from its own thread."""
    t = threading.Thread(target=FP.set_feed_position, args=args, name="feed-test")
    t.start()
    t.join()


def feed_xy(panel, feed_id: str, group: str):
    item = panel.map.layers["feed"].groups.get(group)
    if item is None:
        return []
    return list(zip(item.data["x"], item.data["y"], strict=True))


def test_a_feed_appears_moves_and_changes_colour(panel, qtbot):
    panel.map.centre_on(*SPOT, span_m=800)
    from_thread("uav1", "无人机一号", *SPOT, "live")
    qtbot.waitUntil(lambda: "uav1" in panel.data["feed"].ids, timeout=5000)
    assert feed_xy(panel, "uav1", "live") == [pytest.approx(panel.map.to_view(*SPOT))]
    qtbot.waitUntil(lambda: close_to(colour_at(panel.map, *SPOT), FEED.colour("live")), timeout=5000)
    assert "无人机一号" in panel.map.layers["feed"].labels.texts  # named at any zoom
    assert any(t.startswith("现场视频（1）") for t in
               (panel.layer_list.item(i).text() for i in range(panel.layer_list.count())))
    assert "现场视频" in [name for name, _ in panel.map.legend.entries]

    moved = (SPOT[0] + 0.002, SPOT[1] + 0.001)
    from_thread("uav1", "无人机一号", *moved, "live")
    qtbot.waitUntil(lambda: feed_xy(panel, "uav1", "live") == [pytest.approx(panel.map.to_view(*moved))],
                    timeout=5000)
    qtbot.waitUntil(lambda: close_to(colour_at(panel.map, *moved), FEED.colour("live")), timeout=5000)
    assert not close_to(colour_at(panel.map, *SPOT), FEED.colour("live"))

    from_thread("uav1", "无人机一号", *moved, "retrying")
    qtbot.waitUntil(lambda: close_to(colour_at(panel.map, *moved), FEED.colour("retrying")), timeout=5000)
    assert feed_xy(panel, "uav1", "live") == []
    from_thread("uav1", "无人机一号", *moved, "stopped")
    qtbot.waitUntil(lambda: close_to(colour_at(panel.map, *moved), FEED.colour("down")), timeout=5000)

    from_thread("uav1", "无人机一号", None, None)  # no position any more: gone from the map
    qtbot.waitUntil(lambda: "uav1" not in panel.data["feed"].ids, timeout=5000)
    qtbot.waitUntil(lambda: not close_to(colour_at(panel.map, *moved), FEED.colour("down")), timeout=5000)


def test_click_shows_the_card_and_the_button_opens_it_in_the_video_panel(panel, qtbot, host):
    FP.set_feed_position("cam7", "执法记录仪 7", *SPOT, "live")
    qtbot.waitUntil(lambda: "cam7" in panel.data["feed"].ids, timeout=5000)
    panel.map.centre_on(*SPOT, span_m=600)
    seen = []
    host.selection.selection_changed.connect(lambda e, ids, src: seen.append((e, ids)))
    qtbot.mouseClick(panel.map.gv.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.map.gv.viewport().mapFrom(panel.map, pixel_of(panel.map, *SPOT)))
    text = panel.card.text()
    assert "执法记录仪 7" in text and "在线" in text and f"{SPOT[0]:.6f}" in text
    assert seen == []  # a click only shows the card; the video panel is asked by the button
    assert panel.feed_open.isVisible() and panel.feed_open.text() == "在视频面板中打开"
    qtbot.mouseClick(panel.feed_open, Qt.MouseButton.LeftButton)
    assert seen == [("feed", ("cam7",))]
    # the card follows the feed's state while shown
    FP.set_feed_position("cam7", "执法记录仪 7", *SPOT, "retrying")
    qtbot.waitUntil(lambda: "重连中" in panel.card.text(), timeout=5000)
    # another kind of feature hides the button again
    panel.show_card("team", panel.data["team"].ids[0])
    assert not panel.feed_open.isVisible()


def test_a_narrow_map_offers_the_video_link_on_its_card(panel, qtbot, host):
    FP.set_feed_position("cam8", "单兵 08", *SPOT, "live")
    qtbot.waitUntil(lambda: "cam8" in panel.data["feed"].ids, timeout=5000)
    panel.resize(520, 600)  # a slim dock: the side bar steps aside, the card floats on the map
    panel._on_feature_clicked("feed", "cam8")
    assert not panel.side.isVisible() and panel.map.card_overlay.isVisible()
    assert "单兵 08" in panel.map.card_overlay.text() and "在视频面板中打开" in panel.map.card_overlay.text()
    with qtbot.waitSignal(host.selection.selection_changed, timeout=2000) as got:
        panel.map.card_overlay.linkActivated.emit("feed:cam8")
    assert got.args[:2] == ["feed", ("cam8",)]


def test_selecting_a_feed_in_the_video_panel_centres_the_map_on_it(panel, qtbot, host):
    FP.set_feed_position("car2", "指挥车", 113.2800, 23.1400, "live")
    qtbot.waitUntil(lambda: "car2" in panel.data["feed"].ids, timeout=5000)
    host.selection.select("feed", ("car2",), source=object())
    c = panel.map.vb.viewRect().center()
    assert panel.map.to_lonlat(c.x(), c.y()) == pytest.approx((113.28, 23.14), abs=1e-5)
    assert len(panel.map.highlight.data) == 1 and "指挥车" in panel.card.text()


def test_a_real_reader_puts_its_clip_on_the_map_live(panel, qtbot, tmp_path):
    clip = tmp_path / "uav.mkv"
    write_pattern_ts(str(clip), "无人机", seconds=1.0, fps=10, width=160, height=120, location="+23.1280+113.2650/")
    reader = FeedReader("uav9", "无人机九号", str(clip), realtime=True).start()  # position from the clip's tags
    try:
        qtbot.waitUntil(lambda: "uav9" in panel.data["feed"].ids, timeout=10000)
        i = panel.data["feed"].ids.index("uav9")
        assert (panel.data["feed"].lon[i], panel.data["feed"].lat[i]) == pytest.approx(SPOT)
        qtbot.waitUntil(lambda: panel.data["feed"].style[panel.data["feed"].ids.index("uav9")] == "live",
                        timeout=10000)
    finally:
        reader.stop()
    qtbot.waitUntil(lambda: "uav9" not in panel.data["feed"].ids, timeout=5000)


def test_the_panel_stops_listening_when_shut(qtbot, host):
    p = MapPanel(host)
    qtbot.addWidget(p)
    with qtbot.waitSignal(p.feed_bridge.moved, timeout=2000):  # listening while open (emitted at once)
        FP.set_feed_position("x", "x", 113.0, 23.0, "live")
    p.shutdown()
    with qtbot.assertNotEmitted(p.feed_bridge.moved):
        FP.set_feed_position("x", "x", 113.1, 23.1, "live")  # must not reach the closed panel


def test_a_deleted_panel_without_shutdown_is_forgotten(qtbot, host):
    from app.video import feeds

    before = len(feeds._position_listeners)
    p = MapPanel(host)
    assert len(feeds._position_listeners) == before + 1
    with qtbot.waitSignal(p.destroyed, timeout=5000):
        p.deleteLater()
    assert len(feeds._position_listeners) == before
    FP.set_feed_position("y", "y", 113.0, 23.0, "live")  # no callback into a dead object


# ---- staleness ---------------------------------------------------------------------------------------
def _age_team(ctx, tid: str, minutes: float) -> str:
    old = clock.iso(clock.now() - dt.timedelta(minutes=minutes))
    ctx.store.write_sync(lambda conn: records.patch(conn, "team", tid, {"status": "standby"},
                                                    author_id=ctx.user.id, now=old))
    ctx.publish(ChangeSet.of("team", (tid,), origin="sync"))
    return old


def test_a_team_not_updated_for_two_hours_is_drawn_faded(panel, ctx, qtbot, settings):
    team = panel.data["team"]
    layer = panel.map.layers["team"]
    before = layer.stale_count()
    tid = team.ids[5]
    old = _age_team(ctx, tid, 120)
    qtbot.waitUntil(lambda: layer.stale_count() == before + 1, timeout=10000)
    i = layer.index_of(tid)
    assert layer.stale[i]
    lon, lat = float(layer.lon[i]), float(layer.lat[i])
    panel.map.centre_on(lon, lat, span_m=250)
    faded = layer.groups["standby~stale"]
    assert (layer.mx[i], layer.my[i]) in list(zip(faded.data["x"], faded.data["y"], strict=True))
    assert faded.opts["brush"].color().alpha() == S.STALE_ALPHA
    assert layer.groups["standby"].opts["brush"].color().alpha() == 255
    # on screen: a pale fill, not the full standby green
    green = S.STYLES["team"].colour("standby")
    qtbot.waitUntil(lambda: not close_to(colour_at(panel.map, lon, lat), green, tol=30), timeout=5000)
    c = colour_at(panel.map, lon, lat)
    assert c.lightness() > QColor(green).lightness() + 40

    # the layer list counts it, the card says "as of" the old time, the legend explains the fading
    texts = [panel.layer_list.item(k).text() for k in range(panel.layer_list.count())]
    assert any(t.startswith("救援队伍") and f"{before + 1} 个过时" in t for t in texts)
    panel.show_card("team", tid)
    assert f"截至 {old[11:16]}" in panel.card.text() and "超过 30 分钟 未更新" in panel.card.text()
    assert any(text == "超过 30 分钟 未更新" for _, items in panel.map.legend.entries for _, _, text in items)

    # a fresh update brings it back to full colour
    ctx.store.write_sync(lambda conn: records.patch(conn, "team", tid, {"status": "standby"},
                                                    author_id=ctx.user.id, now=clock.now_iso()))
    ctx.publish(ChangeSet.of("team", (tid,)))
    qtbot.waitUntil(lambda: not layer.stale[layer.index_of(tid)], timeout=10000)
    qtbot.waitUntil(lambda: close_to(colour_at(panel.map, lon, lat), green), timeout=5000)


def test_nearest_teams_say_which_are_stale(panel, ctx, qtbot):
    layer = panel.map.layers["team"]
    tid = panel.data["team"].ids[7]
    old = _age_team(ctx, tid, 90)
    qtbot.waitUntil(lambda: panel.data["team"].updated[panel.data["team"].ids.index(tid)] == old, timeout=10000)
    i = layer.index_of(tid)
    panel.show_nearest(float(layer.lon[i]), float(layer.lat[i]), "team")
    rows = {panel.results.item(r, 0).data(Qt.ItemDataRole.UserRole): panel.results.item(r, 3).text()
            for r in range(panel.results.rowCount())}
    assert rows[tid].endswith("（过时）")
    assert sum(text.endswith("（过时）") for text in rows.values()) == sum(
        bool(layer.stale[layer.index_of(r)]) for r in rows)


def test_threshold_from_settings_and_clock_passing(panel, ctx, qtbot, settings):
    layer = panel.map.layers["team"]
    tid = panel.data["team"].ids[2]
    old = _age_team(ctx, tid, 20)
    qtbot.waitUntil(lambda: panel.data["team"].updated[panel.data["team"].ids.index(tid)] == old, timeout=10000)
    assert not layer.stale[layer.index_of(tid)]  # 20 min < 30 min
    # half an hour later, with no change at all, it fades (the panel re-checks on its timer)
    panel.apply_stale(now=clock.now() + dt.timedelta(minutes=15))
    assert layer.stale[layer.index_of(tid)]
    panel.apply_stale()
    assert not layer.stale[layer.index_of(tid)]
    # a tighter threshold, kept in settings
    panel.set_stale_minutes("team", 10)
    assert layer.stale[layer.index_of(tid)]
    assert settings.get("map_stale")["team"] == 10
    again = MapPanel(panel.host)
    qtbot.addWidget(again)
    assert again.stale_minutes["team"] == 10
    again.shutdown()
