"""The map's queries over a real cache: layers, nearest, and "new incident here"."""

from __future__ import annotations

import sqlalchemy as sa

from app.services.maps import layers as L
from app.store import records
from app.store.schema import table_for

NOW = "2026-06-01T10:00:00+08:00"


def seed(store):
    def load(conn):
        records.bulk_load(conn, [
            ("incident", {"id": "i1", "title": "火情", "category": "accident", "severity": "II", "status": "responding",
                          "lon": 113.27, "lat": 23.13, "occurred_at": NOW}),
            ("incident", {"id": "i2", "title": "旧事", "category": "accident", "severity": "IV", "status": "closed",
                          "lon": 113.26, "lat": 23.12, "occurred_at": NOW}),
            ("incident", {"id": "i3", "title": "无坐标", "category": "accident", "severity": "IV",
                          "status": "reported", "occurred_at": NOW}),
            ("incident", {"id": "i4", "title": "演练", "category": "accident", "severity": "I", "status": "reported",
                          "lon": 113.27, "lat": 23.13, "occurred_at": NOW, "drill": True}),
            ("team", {"id": "t1", "name": "近队", "type": "fire", "headcount": 20, "status": "standby",
                      "lon": 113.271, "lat": 23.131}),
            ("team", {"id": "t2", "name": "远队", "type": "fire", "headcount": 20, "status": "standby",
                      "lon": 113.30, "lat": 23.15}),
            ("team", {"id": "t3", "name": "出动队", "type": "professional", "headcount": 9, "status": "dispatched",
                      "lon": 113.2701, "lat": 23.1301}),
            ("shelter", {"id": "s1", "name": "满了", "area_m2": 100.0, "capacity": 100, "occupancy": 100,
                         "status": "open", "lon": 113.2702, "lat": 23.1302}),
            ("shelter", {"id": "s2", "name": "有位", "area_m2": 100.0, "capacity": 100, "occupancy": 40,
                         "status": "open", "lon": 113.28, "lat": 23.14}),
            ("warehouse", {"id": "w1", "name": "一号库", "area_m2": 500.0, "lon": 113.29, "lat": 23.13}),
            ("warehouse", {"id": "w2", "name": "二号库", "area_m2": 500.0, "lon": 113.271, "lat": 23.13}),
            ("supply_item", {"id": "m1", "name": "救生衣", "unit": "件", "min_level": 50}),
            ("stock_movement", {"id": "sm1", "warehouse_id": "w1", "item_id": "m1", "delta": 80,
                                "reason": "purchase", "occurred_at": NOW}),
            ("stock_movement", {"id": "sm2", "warehouse_id": "w2", "item_id": "m1", "delta": 10,
                                "reason": "purchase", "occurred_at": NOW}),
            ("warning", {"id": "wa", "title": "暴雨黄色预警", "level": "yellow", "status": "issued",
                         "area": {"type": "Polygon", "coordinates": [[[113.2, 23.1], [113.3, 23.1], [113.3, 23.2],
                                                                      [113.2, 23.1]]]}}),
            ("warning", {"id": "wb", "title": "已解除", "level": "red", "status": "lifted",
                         "area": {"type": "Polygon", "coordinates": [[[113.2, 23.1], [113.3, 23.1], [113.3, 23.2],
                                                                      [113.2, 23.1]]]}}),
        ])
    store.write_sync(load)


def test_incident_layers_split_open_and_closed_without_drills(store):
    seed(store)
    open_ = store.read(L.read_point_layer, "incident")
    assert open_.ids == ["i1"] and open_.style == ["II"] and open_.label == ["火情"]
    assert open_.without_position == 1  # i3 has no coordinates: counted, not drawn
    closed = store.read(L.read_point_layer, "incident_closed")
    assert closed.ids == ["i2"]


def test_warehouse_layer_flags_low_stock(store):
    seed(store)
    wh = store.read(L.read_point_layer, "warehouse")
    styles = dict(zip(wh.ids, wh.style, strict=True))
    assert styles == {"w1": "ok", "w2": "alert"}  # w2 holds 10 of a 50 minimum


def test_warning_areas_are_only_active_ones(store):
    seed(store)
    areas = store.read(L.read_warning_areas)
    assert areas.ids == ["wa"] and areas.level == ["yellow"]


def test_nearest_teams_by_status_and_type(store):
    seed(store)
    got = store.read(lambda c: L.nearest(c, 113.27, 23.13, "team", team_status="standby"))
    assert [n.id for n in got] == ["t1", "t2"]
    assert got[0].distance_m < got[1].distance_m
    assert [n.id for n in store.read(lambda c: L.nearest(c, 113.27, 23.13, "team", team_type="professional"))] == ["t3"]


def test_nearest_shelters_with_room_and_warehouses_holding_an_item(store):
    seed(store)
    assert [n.id for n in store.read(L.nearest, 113.27, 23.13, "shelter")] == ["s2"]  # s1 is full
    assert [n.id for n in store.read(lambda c: L.nearest(c, 113.27, 23.13, "shelter", min_spare=61))] == []
    got = store.read(lambda c: L.nearest(c, 113.27, 23.13, "warehouse", item_name="救生"))
    assert [(n.id, n.detail) for n in got] == [("w2", "10"), ("w1", "80")]


def test_new_incident_here_writes_incident_log_and_outbox(store):
    rid = store.write_sync(lambda conn: L.create_incident_at(
        conn, lon=113.27, lat=23.13, title="地图上报", category="accident", severity="IV", place=None,
        author_id="00000000-0000-4000-8000-0000000000a1",
        device_id="00000000-0000-4000-8000-0000000000d1", now=NOW))
    row = store.read(records.get, "incident", rid)
    assert (row["status"], row["lon"], row["lat"]) == ("reported", 113.27, 23.13)
    log = table_for("duty_log_entry")
    entries = store.read(lambda c: c.execute(sa.select(log.c.kind, log.c.body).where(log.c.incident_id == rid)).all())
    assert len(entries) == 1 and entries[0].kind == "receive" and "地图上报" in entries[0].body
    out = store.read(lambda c: c.exec_driver_sql("SELECT entity FROM outbox ORDER BY device_seq").scalars().all())
    assert out == ["incident", "duty_log_entry"]
