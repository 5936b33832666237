"""A tiny district for the resource-service tests (imported by test_stock/test_dispatching/…).

Holds no tests of its own beyond checking that the seed is consistent.
"""

from __future__ import annotations

import dataclasses

from app.services.changes import ChangeBus
from app.services.context import AppContext, SignedInUser
from app.store import records
from app.store.device import ensure_device

NOW = "2026-05-01T09:00:00+08:00"
OFFICER = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zhangsan", name="张三", role="officer")
BOUNDARY = {"type": "Polygon", "coordinates": [[[113.23, 23.10], [113.32, 23.10], [113.32, 23.16],
                                                [113.23, 23.16], [113.23, 23.10]]]}


@dataclasses.dataclass
class Seed:
    ctx: AppContext
    district: str
    wh_a: str
    wh_b: str
    tents: str
    water: str
    fire_team: str
    flood_team: str
    busy_team: str
    shelter: str
    incident: str
    closed_incident: str
    experts: list[str]


def seed(store, published: list | None = None) -> Seed:
    bus = ChangeBus()
    if published is not None:
        bus.subscribe(published.append)
    ctx = AppContext(store=store, bus=bus, device_id=store.write_sync(ensure_device), user=OFFICER)

    def run(conn):
        def mk(entity, **data):
            return records.create(conn, entity, data, author_id=OFFICER.id, now=NOW)
        records.bulk_load(conn, [("user", {"id": OFFICER.id, "username": "zhangsan", "name": "张三",
                                           "role": "officer"})])
        district = records.new_id()
        records.bulk_load(conn, [("org_unit", {"id": district, "name": "越秀区", "kind": "district",
                                               "boundary": BOUNDARY})])
        wh_a = mk("warehouse", name="越秀区应急物资储备库", area_m2=360.0, lon=113.26, lat=23.12)
        wh_b = mk("warehouse", name="北京街储备点", area_m2=40.0, lon=113.27, lat=23.13)
        tents = mk("supply_item", name="帐篷", unit="顶", category="生活类", min_level=10)
        water = mk("supply_item", name="矿泉水", unit="箱", category="生活类", min_level=50)
        fire = mk("team", name="越秀区消防救援队", type="fire", headcount=40, status="standby",
                  specialities="火灾扑救、燃气泄漏处置", lon=113.24, lat=23.15)
        flood = mk("team", name="防汛抢险队", type="professional", headcount=30, status="standby",
                   specialities="防汛排涝、抢险救援", lon=113.27, lat=23.125)
        busy = mk("team", name="民兵应急分队", type="militia", headcount=20, status="unavailable",
                  lon=113.26, lat=23.12)
        shelter = mk("shelter", name="越秀公园避护场所", kind="outdoor", area_m2=1500.0, capacity=1000,
                     occupancy=0, status="closed", lon=113.27, lat=23.14)
        inc = mk("incident", title="越秀北路暴雨积水", category="natural", subtype="内涝", severity="III",
                 status="responding", occurred_at=NOW, lon=113.268, lat=23.128)
        closed = mk("incident", title="已结案火情", category="accident", severity="IV", status="closed",
                    occurred_at=NOW, lon=113.25, lat=23.12)
        experts = [mk("expert", name=f"专家{i}", category="natural_disaster", speciality="防汛抗旱")
                   for i in range(5)]
        experts.append(mk("expert", name="安全专家", category="work_safety", speciality="危化品"))
        return Seed(ctx, district, wh_a, wh_b, tents, water, fire, flood, busy, shelter, inc, closed, experts)

    return store.write_sync(run)


def test_seed_is_consistent(store):
    s = seed(store)
    assert s.ctx.read(lambda conn: records.get(conn, "team", s.fire_team))["status"] == "standby"
