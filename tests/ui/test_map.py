"""The map panel over the seeded demo district: what is drawn (pixels), tiles, selection, tools, exchange."""

from __future__ import annotations

import json
import sqlite3

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage

from app.domain import clock
from app.services.changes import ChangeSet
from app.services.maps import tiles as T
from app.store import records
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.map import style as S
from app.ui.map.panel import MapPanel
from app.ui.map.view import MapView
from app.ui.selection import Selection

SPOT = (113.2700, 23.1300)


def png(colour: str) -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice

    image = QImage(256, 256, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return bytes(buf.data())


def make_mbtiles(path, tiles: dict, metadata: dict | None = None) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    conn.executemany("INSERT INTO metadata VALUES (?, ?)", list({"name": "t", **(metadata or {})}.items()))
    conn.executemany("INSERT INTO tiles VALUES (?,?,?,?)",
                     [(z, x, (1 << z) - 1 - y, d) for (z, x, y), d in tiles.items()])
    conn.commit()
    conn.close()


def pixel_of(view: MapView, lon: float, lat: float):
    x, y = view.to_view(lon, lat)
    scene = view.vb.mapViewToScene(QPointF(x, y))
    vp = view.gv.mapFromScene(scene)
    return view.gv.viewport().mapTo(view, vp)


def colour_at(view: MapView, lon: float, lat: float) -> QColor:
    image = view.grab().toImage()
    return image.pixelColor(pixel_of(view, lon, lat))


def close_to(c: QColor, hex_colour: str, tol: int = 40) -> bool:
    e = QColor(hex_colour)
    return abs(c.red() - e.red()) <= tol and abs(c.green() - e.green()) <= tol and abs(c.blue() - e.blue()) <= tol


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


@pytest.fixture
def view(qtbot):
    v = MapView()
    qtbot.addWidget(v)
    v.resize(800, 600)
    v.show()
    v.set_boundaries_visible(False)
    yield v
    v.close_loader()


def count(ctx, sql: str, params: tuple = ()) -> int:
    return ctx.read(lambda c: c.exec_driver_sql(sql, params).scalar())


# ---- layers from the store ---------------------------------------------------------------------
def test_layers_show_what_the_cache_holds(panel, ctx):
    open_n = count(ctx, "SELECT count(*) FROM incident WHERE status IN ('reported','verified','responding') "
                        "AND NOT deleted AND (drill IS NULL OR NOT drill) AND lon IS NOT NULL")
    assert len(panel.data["incident"].ids) == open_n
    assert len(panel.data["team"].ids) == count(ctx, "SELECT count(*) FROM team WHERE lon IS NOT NULL")
    assert len(panel.data["risk_source"].ids) == count(ctx, "SELECT count(*) FROM risk_source WHERE lon IS NOT NULL")
    texts = [panel.layer_list.item(i).text() for i in range(panel.layer_list.count())]
    assert any(t.startswith("风险隐患点") and f"{len(panel.data['risk_source'].ids):,}" in t for t in texts)
    assert panel.map.as_of.text().startswith("数据截至")
    assert panel.map.legend.entries and panel.map.legend.entries[0][0] == "在办事件"


def _add_incident(ctx, severity="I", lon=SPOT[0], lat=SPOT[1], status="reported") -> str:
    now = clock.now_iso()
    rid = ctx.store.write_sync(lambda conn: records.create(conn, "incident", {
        "title": "测试火情", "category": "accident", "severity": severity, "status": status, "lon": lon, "lat": lat,
        "occurred_at": now}, author_id=ctx.user.id, now=now))
    ctx.publish(ChangeSet.of("incident", (rid,)))
    return rid


def test_a_new_incident_appears_live_in_its_severity_colour(panel, ctx, qtbot):
    before = len(panel.data["incident"].ids)
    rid = _add_incident(ctx, "I")
    qtbot.waitUntil(lambda: rid in panel.data["incident"].ids, timeout=10000)
    assert len(panel.data["incident"].ids) == before + 1
    panel.map.centre_on(*SPOT, span_m=600)  # close: no clustering, the point is drawn itself
    qtbot.waitUntil(lambda: close_to(colour_at(panel.map, *SPOT), S.STYLES["incident"].colour("I")), timeout=5000)
    # Closing it moves it to the (hidden) closed layer: the red dot goes.
    ctx.store.write_sync(lambda conn: records.patch(conn, "incident", rid, {"status": "closed"},
                                                    author_id=ctx.user.id, now=clock.now_iso()))
    ctx.publish(ChangeSet.of("incident", (rid,), origin="sync"))
    qtbot.waitUntil(lambda: rid not in panel.data["incident"].ids, timeout=10000)
    qtbot.waitUntil(lambda: not close_to(colour_at(panel.map, *SPOT), S.STYLES["incident"].colour("I")), timeout=5000)


def test_clusters_when_zoomed_out_and_single_points_when_close(panel, ctx, qtbot):
    for i in range(6):
        _add_incident(ctx, "III", SPOT[0] + i * 0.0001, SPOT[1])
    qtbot.waitUntil(lambda: len(panel.data["incident"].ids) >= 6, timeout=10000)
    layer = panel.map.layers["incident"]
    panel.map.zoom_to_bbox(*panel.map.district_bbox())
    assert any(len(m) >= 6 for m in layer.cluster_members)
    panel.map.centre_on(*SPOT, span_m=400)
    assert not layer.cluster_members and len(layer.single_idx) == len(layer.ids)
    assert len(layer.labels.texts) > 0  # names appear at close zoom


def test_click_selects_and_shows_the_card_and_other_panels_follow(panel, ctx, qtbot, host):
    rid = _add_incident(ctx, "II")
    qtbot.waitUntil(lambda: rid in panel.data["incident"].ids, timeout=10000)
    panel.map.centre_on(*SPOT, span_m=500)
    seen = []
    host.selection.selection_changed.connect(lambda e, ids, src: seen.append((e, ids)))
    qtbot.mouseClick(panel.map.gv.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.map.gv.viewport().mapFrom(panel.map, pixel_of(panel.map, *SPOT)))
    assert seen == [("incident", (rid,))]
    assert "测试火情" in panel.card.text() and "重大" in panel.card.text()


def test_selection_from_another_panel_centres_and_highlights(panel, ctx, qtbot, host):
    team = panel.data["team"]
    tid, lon, lat = team.ids[3], team.lon[3], team.lat[3]
    host.selection.select("team", (tid,), source=object())
    c = panel.map.vb.viewRect().center()
    assert panel.map.to_lonlat(c.x(), c.y()) == pytest.approx((lon, lat), abs=1e-5)
    assert len(panel.map.highlight.data) == 1
    assert team.label[3] in panel.card.text()


# ---- navigation --------------------------------------------------------------------------------
def test_keyboard_pans_and_zooms_within_limits(panel, qtbot):
    m = panel.map
    m.setFocus()
    r0 = m.vb.viewRect()
    qtbot.keyClick(m, Qt.Key.Key_Right)
    assert m.vb.viewRect().center().x() > r0.center().x()
    qtbot.keyClick(m, Qt.Key.Key_Plus)
    assert m.vb.viewRect().width() == pytest.approx(r0.width() / 2, rel=0.05)
    for _ in range(20):
        qtbot.keyClick(m, Qt.Key.Key_Plus)
    assert m.vb.viewRect().width() >= 119  # the closest zoom stops at a street block
    for _ in range(40):
        qtbot.keyClick(m, Qt.Key.Key_Minus)
    assert m.vb.viewRect().width() <= 4_000_001
    qtbot.keyClick(m, Qt.Key.Key_Home)
    w, s, e, n = m.district_bbox()
    r = m.vb.viewRect()
    x0, y0 = m.to_view(w, s)
    x1, y1 = m.to_view(e, n)
    assert r.left() <= x0 and r.right() >= x1 and r.top() <= y0 and r.bottom() >= y1


def test_scale_bar_and_coordinate_readout(panel, qtbot):
    m = panel.map
    m.centre_on(*SPOT, span_m=2000)
    px, text = m.scale_bar.bar(120)
    assert text.endswith("m") and 0 < px <= 120
    qtbot.mouseMove(m.gv.viewport(), m.gv.viewport().mapFrom(m, pixel_of(m, *SPOT)))
    qtbot.waitUntil(lambda: "113.27" in m.coords.text(), timeout=3000)
    import re

    lon, lat = (float(v) for v in re.findall(r"\d+\.\d+", m.coords.text()))
    assert "东经" in m.coords.text() and "北纬" in m.coords.text()
    assert (lon, lat) == pytest.approx(SPOT, abs=5e-5)  # within a pixel or so


def test_zoom_to_street(panel):
    index = next(i for i in range(panel.area_box.count()) if panel.area_box.itemText(i) == "北京街道")
    panel.area_box.setCurrentIndex(index)
    panel._on_area_jump(index)
    assert panel.map.vb.viewRect().width() < 4000


# ---- base maps -----------------------------------------------------------------------------------
def _view_tiles(view: MapView):
    view.centre_on(*SPOT, span_m=2000)
    z = T.zoom_for_resolution(view.mpp())
    cx, cy = T.tile_of_lonlat(z, *SPOT)
    return z, cx, cy


def _tile_centre(z, x, y):
    return T.tile_centre_lonlat(z, x, y)


def test_mbtiles_tiles_are_drawn_and_bad_ones_visibly_missing(view, qtbot, tmp_path):
    from app.services.maps.sources import MBTilesSource

    z, cx, cy = _view_tiles(view)
    tiles = {(z, x, y): png("#ff0000") for x in range(cx - 3, cx + 4) for y in range(cy - 3, cy + 4)}
    tiles[(z, cx, cy)] = b"\x89PNG\r\n\x1a\n this is not a picture"  # corrupt
    del tiles[(z, cx + 1, cy)]  # missing
    make_mbtiles(tmp_path / "t.mbtiles", tiles)
    view.set_tile_sources([MBTilesSource(tmp_path / "t.mbtiles")])
    view.grab()
    qtbot.waitUntil(lambda: view.tiles_pending() == 0, timeout=5000)
    red = colour_at(view, *_tile_centre(z, cx - 1, cy))
    assert close_to(red, "#ff0000", 10), red.name()
    for bad in ((cx, cy), (cx + 1, cy)):
        c = colour_at(view, *_tile_centre(z, *bad))
        assert not close_to(c, "#ff0000", 60), c.name()  # not painted red…
    image = view.grab().toImage()
    p = pixel_of(view, *_tile_centre(z, cx, cy))
    block = {image.pixelColor(p.x() + dx, p.y() + dy).name() for dx in range(12) for dy in range(12)}
    assert len(block) >= 2  # …but hatched: a visible pattern, not plain background


def test_stacked_sources_top_one_wins(view, qtbot, tmp_path):
    from app.services.maps.sources import MBTilesSource

    z, cx, cy = _view_tiles(view)
    area = [(z, x, y) for x in range(cx - 3, cx + 4) for y in range(cy - 3, cy + 4)]
    make_mbtiles(tmp_path / "a.mbtiles", {t: png("#0000ff") for t in area})
    make_mbtiles(tmp_path / "b.mbtiles", {(z, cx, cy): png("#00ff00")})  # covers one tile only
    view.set_tile_sources([MBTilesSource(tmp_path / "a.mbtiles"), MBTilesSource(tmp_path / "b.mbtiles")])
    view.grab()
    qtbot.waitUntil(lambda: view.tiles_pending() == 0, timeout=5000)
    assert close_to(colour_at(view, *_tile_centre(z, cx, cy)), "#00ff00", 10)
    assert close_to(colour_at(view, *_tile_centre(z, cx - 1, cy)), "#0000ff", 10)


def test_zooming_out_shows_parent_tile_until_the_new_one_arrives(view, qtbot, tmp_path):
    from app.services.maps.sources import MBTilesSource

    z, cx, cy = _view_tiles(view)
    # Only zoom z exists; zoom z+1 is missing, so after zooming in the z tiles are drawn scaled up.
    make_mbtiles(tmp_path / "p.mbtiles", {(z, x, y): png("#ff8800") for x in range(cx - 3, cx + 4)
                                          for y in range(cy - 3, cy + 4)})
    view.set_tile_sources([MBTilesSource(tmp_path / "p.mbtiles")])
    view.grab()
    qtbot.waitUntil(lambda: view.tiles_pending() == 0, timeout=5000)
    view.zoom_by(0.5)
    view.grab()
    qtbot.waitUntil(lambda: view.tiles_pending() == 0, timeout=5000)
    assert close_to(colour_at(view, *SPOT), "#ff8800", 10)


def test_gcj02_base_map_shifts_features_for_display(panel, qtbot, tmp_path):
    from app.services.maps import gcj02

    make_mbtiles(tmp_path / "g.mbtiles", {(0, 0, 0): png("#ffffff")}, {"crs": "gcj02"})
    team = panel.data["team"]
    layer = panel.map.layers["team"]
    wgs = (layer.mx[0], layer.my[0])
    panel.add_mbtiles(str(tmp_path / "g.mbtiles"))
    assert panel.map.frame == "gcj02" and panel.gcj_action.isChecked()
    expected = panel.map.to_view(*gcj02.gcj02_to_wgs84(*gcj02.wgs84_to_gcj02(team.lon[0], team.lat[0])))
    assert (layer.mx[0], layer.my[0]) == pytest.approx(expected)
    assert abs(layer.mx[0] - wgs[0]) > 300  # about half a kilometre east in Guangzhou
    c = panel.map.vb.viewRect().center()
    lon, lat = panel.map.to_lonlat(c.x(), c.y())  # the readout stays WGS-84
    assert 113.2 < lon < 113.35 and 23.1 < lat < 23.17


def test_broken_base_map_file_is_refused_with_a_message(panel, tmp_path):
    from app.services.maps.sources import TileSourceError

    bad = tmp_path / "x.mbtiles"
    bad.write_text("hello")
    with pytest.raises(TileSourceError):
        panel.add_mbtiles(str(bad))
    assert panel.sources == []


def test_online_tiles_cached_then_shown_offline(panel, qtbot, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
    from test_maps_sources import TileServer

    server = TileServer()
    try:
        src = panel.add_xyz(server.url)
        panel.map.centre_on(*SPOT, span_m=2000)
        panel.map.grab()
        qtbot.waitUntil(lambda: panel.map.tiles_pending() == 0, timeout=10000)
        fetched = src.fetched
        assert fetched > 0 and panel.tile_cache.count(src.key) == fetched
        done = []
        panel.start_download(src, (113.26, 23.125, 113.275, 23.135), 12, 15, done=lambda r, e: done.append((r, e)))
        qtbot.waitUntil(lambda: bool(done), timeout=20000)
        report, error = done[0]
        assert error is None and report.completeness.percent == 100.0
        assert "100.0%" in panel.report_text(report.completeness)
    finally:
        server.close()
    src.online = False  # the network is gone
    panel.map.tile_memory.clear()
    panel.map.grab()
    qtbot.waitUntil(lambda: panel.map.tiles_pending() == 0, timeout=10000)
    assert any(isinstance(v, QImage) for v in panel.map.tile_memory.values())


# ---- interaction -------------------------------------------------------------------------------
def test_new_incident_here_creates_a_reported_incident(panel, ctx, qtbot):
    from app.ui.map.dialogs import NewIncidentDialog

    dialog = NewIncidentDialog(ctx, *SPOT, panel)
    qtbot.addWidget(dialog)
    dialog.save()
    assert dialog.title_error.text()  # no title: said beside the field, nothing saved
    dialog.title.setText("地图上报：树木倒伏")
    dialog.save()
    rid = dialog.created_id
    row = ctx.read(records.get, "incident", rid)
    assert row["status"] == "reported" and (row["lon"], row["lat"]) == SPOT
    qtbot.waitUntil(lambda: rid in panel.data["incident"].ids, timeout=10000)
    assert count(ctx, "SELECT count(*) FROM duty_log_entry WHERE incident_id = ? AND kind = 'receive'", (rid,)) == 1


def test_context_menu_offers_new_incident_only_when_editing(panel, host):
    texts = [a.text() for a in panel.context_menu(*SPOT).actions()]
    assert "在此新建事件…" in texts and "最近的备勤队伍" in texts
    panel.read_only = True
    assert "在此新建事件…" not in [a.text() for a in panel.context_menu(*SPOT).actions()]


def test_measure_distance_and_area(panel, qtbot):
    from app.domain.geo import haversine_m

    results = []
    panel.map.tool_result.connect(lambda tool, r: results.append((tool, r)))
    panel.start_tool("distance")
    panel.map.add_tool_point(113.26, 23.12)
    panel.map.add_tool_point(113.27, 23.12)
    qtbot.keyClick(panel.map, Qt.Key.Key_Return)
    tool, r = results[-1]
    assert tool == "distance" and r["length_m"] == pytest.approx(haversine_m(113.26, 23.12, 113.27, 23.12))
    assert "km" in panel.map.tool_label.text()
    panel.start_tool("area")
    for p in ((113.26, 23.12), (113.27, 23.12), (113.27, 23.13), (113.26, 23.13)):
        panel.map.add_tool_point(*p)
    panel.map.finish_tool()
    assert results[-1][1]["area_m2"] == pytest.approx(1.14e6, rel=0.03)


def test_draw_polygon_lists_what_lies_inside(panel, ctx):
    w, s, e, n = 113.25, 23.12, 113.28, 23.14
    panel.start_tool("polygon")
    for p in ((w, s), (e, s), (e, n), (w, n)):
        panel.map.add_tool_point(*p)
    panel.map.finish_tool()
    risk_inside = count(ctx, "SELECT count(*) FROM risk_source WHERE lon > ? AND lon < ? AND lat > ? AND lat < ?",
                        (w, e, s, n))
    layers = [panel.results.item(r, 1).text() for r in range(panel.results.rowCount())]
    assert layers.count("风险隐患点") == risk_inside > 0
    out = panel.export_results_csv(str(ctx.store.path.parent / "inside.csv"))
    lines = open(out, encoding="utf-8-sig").read().splitlines()
    assert len(lines) == panel.results.rowCount() + 1


def test_circle_selection(panel):
    panel.start_tool("circle")
    panel.map.add_tool_point(*SPOT)
    panel.map.add_tool_point(SPOT[0] + 0.01, SPOT[1])  # ~1 km radius; the second click finishes
    ring = panel.map.tool_polygon()
    assert len(ring) == 65
    assert panel.results_label.text().startswith("圈选范围内")


def test_nearest_shelters_sorted_by_distance(panel, ctx):
    found = panel.show_nearest(*SPOT, "shelter")
    assert found and all(a.distance_m <= b.distance_m for a, b in zip(found, found[1:], strict=False))
    shown = [panel.results.item(r, 0).text() for r in range(panel.results.rowCount())]
    assert shown == [f.name for f in found]
    spare = ctx.read(lambda c: c.exec_driver_sql(
        "SELECT min(capacity - coalesce(occupancy, 0)) FROM shelter WHERE status = 'open'").scalar())
    assert spare is None or all(int(f.detail) >= 1 for f in found)


def test_find_by_name(panel):
    name = panel.data["shelter"].label[0]
    panel.find_box.setText(name)
    panel.find()
    assert panel.results.rowCount() >= 1 and panel.results.item(0, 0).text() == name


# ---- exchange -------------------------------------------------------------------------------
def test_import_geojson_overlay_and_bad_file(panel, tmp_path):
    from app.services.maps.exchange import ExchangeError

    good = tmp_path / "route.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "转移路线"},
         "geometry": {"type": "LineString", "coordinates": [[113.26, 23.12], [113.27, 23.13]]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [181, 23.13]}}]}))
    imported = panel.import_file(str(good))
    assert len(imported.features) == 1 and imported.skipped == 1
    assert panel.layer_list.item(panel.layer_list.count() - 1).text().startswith("导入：route")
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(ExchangeError):
        panel.import_file(str(bad))


def test_export_layer_geojson_and_view_png_pdf(panel, tmp_path):
    n = panel.export_layer("shelter", str(tmp_path / "s.geojson"))
    doc = json.loads((tmp_path / "s.geojson").read_text(encoding="utf-8"))
    assert n == len(doc["features"]) == len(panel.data["shelter"].ids)
    assert doc["features"][0]["geometry"]["type"] == "Point"
    assert panel.export_png(str(tmp_path / "v.png"))
    image = QImage(str(tmp_path / "v.png"))
    assert image.width() == panel.map.width() * 2  # twice the screen's pixels
    panel.export_pdf(str(tmp_path / "v.pdf"))
    assert (tmp_path / "v.pdf").read_bytes().startswith(b"%PDF")


def test_english_labels(panel):
    from app.ui import i18n

    i18n.set_language("en")
    assert panel.map.legend.entries[0][0] == "Open incidents"
    assert panel.actions_by_name["mapDistance"].text() == "Distance"
    assert "Data as of" in panel.map.as_of.text()


def test_arrows_on_the_focused_panel_move_the_map(panel, qtbot):
    panel.setFocus()
    r0 = panel.map.vb.viewRect()
    qtbot.keyClick(panel, Qt.Key.Key_Up)
    assert panel.map.vb.viewRect().center().y() > r0.center().y()


def test_open_incidents_pulse(panel, qtbot):
    halo = panel.map.halo
    assert len(halo.data) == len(panel.map.layers["incident"].single_idx) > 0
    sizes = set()

    def changed():
        sizes.add(float(halo.opts["size"]))
        return len(sizes) >= 3

    qtbot.waitUntil(changed, timeout=3000)


def test_area_download_shows_progress_and_can_be_cancelled(panel, qtbot):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
    from test_maps_sources import TileServer

    server = TileServer()
    try:
        from PySide6.QtWidgets import QPushButton

        server.delay = 0.02  # a slow link (server side), so there is time to press Cancel
        src = panel.add_xyz(server.url)
        done = []
        dl = panel.start_download(src, panel.map.district_bbox(), 12, 17, done=lambda r, e: done.append(r))
        qtbot.waitUntil(lambda: dl.progress.value() >= 5, timeout=20000)
        assert dl.progress.maximum() > 100  # the total is known and shown
        qtbot.mouseClick(dl.progress.findChild(QPushButton), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(done), timeout=20000)
        report = done[0]
        assert report.cancelled and report.completeness.present < report.completeness.expected
        text = panel.report_text(report.completeness, cancelled=True)
        assert "下载已取消" in text and "缺失示例" in text
    finally:
        server.close()


def test_layer_choices_and_base_maps_are_remembered(qtbot, host, tmp_path):
    make_mbtiles(tmp_path / "keep.mbtiles", {(0, 0, 0): png("#ffffff")})
    first = MapPanel(host)
    qtbot.addWidget(first)
    first.add_mbtiles(str(tmp_path / "keep.mbtiles"))
    item = next(first.layer_list.item(i) for i in range(first.layer_list.count())
                if first.layer_list.item(i).data(Qt.ItemDataRole.UserRole + 1) == "team")
    item.setCheckState(Qt.CheckState.Unchecked)
    first.shutdown()
    second = MapPanel(host)
    qtbot.addWidget(second)
    assert not second.map.layers["team"].visible
    assert [str(s.path) for s in second.sources] == [str(tmp_path / "keep.mbtiles")]
    second.shutdown()


def test_mbtiles_import_reports_how_complete_it_is_over_the_district(panel, qtbot, tmp_path):
    bbox = panel.map.district_bbox()
    have = {t: png("#ffffff") for t in T.tiles_in_bbox(10, *bbox)}  # zoom 10 complete, zoom 11 claimed but absent
    make_mbtiles(tmp_path / "claims.mbtiles", have, {"minzoom": "10", "maxzoom": "11"})
    panel.add_mbtiles(str(tmp_path / "claims.mbtiles"))
    expected = len(have) + T.count_tiles(*bbox, 11, 11)
    pct = f"{100 * len(have) / expected:.1f}%"
    qtbot.waitUntil(lambda: pct in panel.map.as_of.text(), timeout=5000)
    assert "10–11" in panel.map.as_of.text()


def test_right_click_asks_for_the_point_under_the_mouse(panel, qtbot):
    panel.map.centre_on(*SPOT, span_m=1500)
    got = []
    panel.map.context_requested.connect(lambda lon, lat, pos: got.append((lon, lat)))
    qtbot.mouseClick(panel.map.gv.viewport(), Qt.MouseButton.RightButton,
                     pos=panel.map.gv.viewport().mapFrom(panel.map, pixel_of(panel.map, *SPOT)))
    assert got and got[0] == pytest.approx(SPOT, abs=3e-5)
    menu = panel.findChild(type(panel.context_menu(*SPOT)), "mapContextMenu")
    assert menu is not None
