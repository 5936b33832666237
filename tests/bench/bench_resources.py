"""Resources: stock levels over 1,000,000 movements, a recommendation over 10,000 resources, a
10,000-row XLSX import — each next to a baseline measured in the same run.

    .venv/bin/python -m tests.bench.bench_resources [--movements N]

Baselines: raw SQL (pysqlite3, no SQLAlchemy, no Python work) over the same rows in the same
file, and openpyxl just reading the workbook.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import uuid
from pathlib import Path

import openpyxl
import sqlalchemy as sa
from pysqlite3 import dbapi2 as sqlite3

from app.domain import clock
from app.services import library_io as io
from app.services import recommend as rec
from app.services import stock
from app.services.changes import ChangeBus
from app.services.context import AppContext, SignedInUser
from app.store import records
from app.store.db import Store
from app.store.device import ensure_device
from app.store.schema import table_for
from tests.bench.common import median_of, report, timed

NOW = "2026-05-01T09:00:00+08:00"
OFFICER = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zhangsan", name="张三", role="officer")
BOUNDARY = {"type": "Polygon", "coordinates": [[[113.23, 23.10], [113.32, 23.10], [113.32, 23.16],
                                                [113.23, 23.16], [113.23, 23.10]]]}
TEAM_TYPES = ("professional", "part_time", "fire", "militia", "enterprise", "social", "volunteer")


def _id() -> str:
    return str(uuid.uuid4())


def _pt(rng: random.Random) -> tuple[float, float]:
    return round(rng.uniform(113.235, 113.315), 6), round(rng.uniform(23.105, 23.155), 6)


def seed_movements(store: Store, n: int, warehouses: int = 200, items: int = 50) -> None:
    rng = random.Random(1)
    wids, iids = [_id() for _ in range(warehouses)], [_id() for _ in range(items)]

    def run(conn):
        records.bulk_load(conn, [("warehouse", {"id": w, "name": f"仓库{i}", "area_m2": 100.0})
                                 for i, w in enumerate(wids)])
        records.bulk_load(conn, [("supply_item", {"id": it, "name": f"物资{i}", "unit": "件", "min_level": 50})
                                 for i, it in enumerate(iids)])
        t = table_for("stock_movement")
        batch = []
        for k in range(n):
            inbound = k % 3 != 0
            batch.append({"id": _id(), "warehouse_id": rng.choice(wids), "item_id": rng.choice(iids),
                          "delta": rng.randint(1, 40) if inbound else -rng.randint(1, 20),
                          "reason": "inbound" if inbound else "allocation", "occurred_at": NOW,
                          "expires_on": "2026-05-20" if inbound and k % 97 == 0 else None,
                          "drill": False, "deleted": False})
            if len(batch) == 20_000:
                conn.execute(t.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(t.insert(), batch)
    store.write_sync(run)


def seed_resources(store: Store, n: int = 10_000) -> str:
    """n resources: 40 % teams, 20 % warehouses, 30 % shelters, 10 % experts; returns an incident id."""
    rng = random.Random(2)
    out = []
    items = [_id() for _ in range(40)]
    out += [("supply_item", {"id": it, "name": f"物资{i}", "unit": "件"}) for i, it in enumerate(items)]
    wids = []
    for i in range(n * 2 // 10):
        lon, lat = _pt(rng)
        wids.append(_id())
        out.append(("warehouse", {"id": wids[-1], "name": f"储备点{i}", "area_m2": 50.0, "lon": lon, "lat": lat}))
    for i in range(n * 4 // 10):
        lon, lat = _pt(rng)
        out.append(("team", {"id": _id(), "name": f"队伍{i}", "type": rng.choice(TEAM_TYPES), "headcount": 12,
                             "status": "standby" if i % 5 else "dispatched", "lon": lon, "lat": lat,
                             "specialities": rng.choice(("防汛排涝、抢险救援", "火灾扑救", "医疗救护", "巡逻"))}))
    for i in range(n * 3 // 10):
        lon, lat = _pt(rng)
        out.append(("shelter", {"id": _id(), "name": f"场所{i}", "area_m2": 1500.0, "capacity": 1000,
                                "occupancy": rng.randint(0, 1000), "status": "open", "lon": lon, "lat": lat}))
    for i in range(n // 10):
        out.append(("expert", {"id": _id(), "name": f"专家{i}", "category": rng.choice(
            ("natural_disaster", "work_safety", "general")), "speciality": "防汛抗旱"}))
    for w in wids:
        for it in rng.sample(items, 5):
            out.append(("stock_movement", {"id": _id(), "warehouse_id": w, "item_id": it, "delta": 30,
                                           "reason": "inbound", "drill": False}))
    incident = _id()
    out.append(("incident", {"id": incident, "title": "暴雨积水", "category": "natural", "severity": "III",
                             "status": "responding", "occurred_at": NOW, "lon": 113.27, "lat": 23.13}))
    store.write_sync(lambda conn: records.bulk_load(conn, out))
    return incident


def write_xlsx(path: Path, n: int) -> None:
    rng = random.Random(3)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(["名称", "类型", "层级", "人数", "负责人", "电话", "专长", "状态", "经度", "纬度"])
    for i in range(n):
        lon, lat = _pt(rng)
        ws.append([f"导入队伍{i}", "兼职队伍", "社区级", rng.randint(5, 40), "王五", f"1380013{i:04d}",
                   "先期处置、人员转移", "备勤", lon, lat])
    wb.save(path)


def run(movements: int = 1_000_000, reuse: Path | None = None) -> list[str]:
    out = []
    with tempfile.TemporaryDirectory() as d:
        # ---- 1. stock levels over a million movements ----------------------------------------
        db = Path(d) / "stock.db"
        if reuse is not None:  # a file seeded by an earlier run (seeding 1M rows takes minutes)
            shutil.copy(reuse, db)
            store = Store(db)
        else:
            store = Store(db)
            t_seed = timed(lambda: seed_movements(store, movements))
            print(f"(seeded {movements:,} movements in {t_seed:.1f} s)", flush=True)
        movements = store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(
            table_for("stock_movement"))).scalar())
        raw = sqlite3.connect(db)
        sql = ("SELECT warehouse_id, item_id, SUM(delta) FROM stock_movement "
               "WHERE deleted = 0 AND (drill IS NULL OR drill != 1) GROUP BY warehouse_id, item_id")
        n_raw = len(raw.execute(sql).fetchall())
        t_raw = median_of(lambda: raw.execute(sql).fetchall(), 3)

        def cold():
            stock._summaries.clear()
            return store.read(stock.levels)
        n_ours = len(cold())
        assert n_raw == n_ours, (n_raw, n_ours)
        t_cold = median_of(cold, 3)
        out.append(report(f"stock levels, {movements:,} movements, cold", t_cold * 1000, t_raw * 1000,
                          "ms", "raw SQL SUM … GROUP BY"))
        wid, iid = store.read(lambda c: c.execute(sa.text(
            "SELECT warehouse_id, item_id FROM stock_movement LIMIT 1")).one())

        def after_one_new_movement():
            store.write_sync(lambda c: stock.record_movement(c, warehouse_id=wid, item_id=iid, delta=1,
                                                             reason="inbound", author_id=None, now=NOW))
            return timed(lambda: store.read(stock.levels))
        t_warm = sorted(after_one_new_movement() for _ in range(5))[2]
        assert store.read(stock.levels) == {(w, i): q for w, i, q in raw.execute(sql).fetchall()}
        out.append(report("stock levels after one new movement (kept)", t_warm * 1000, t_raw * 1000, "ms",
                          "raw SQL SUM … GROUP BY"))
        t_alerts = median_of(lambda: store.read(stock.stock_alerts, clock.now().date()), 3)
        out.append(report("stock alerts (min level + expiry, FEFO), kept", t_alerts * 1000, t_raw * 1000, "ms",
                          "raw SQL SUM … GROUP BY"))
        raw.close()
        store.close()

        # ---- 2. recommendation over 10,000 resources -----------------------------------------
        store = Store(Path(d) / "rec.db")
        incident = seed_resources(store)
        raw = sqlite3.connect(Path(d) / "rec.db")

        def raw_select():
            raw.execute("SELECT id, name, type, status, headcount, specialities, lon, lat FROM team "
                        "WHERE deleted = 0 AND status IN ('standby', 'prepositioned')").fetchall()
            raw.execute("SELECT team_id FROM dispatch WHERE deleted = 0 "
                        "AND state IN ('ordered', 'en_route', 'on_scene')").fetchall()
            raw.execute("SELECT id, name, lon, lat FROM warehouse WHERE deleted = 0").fetchall()
            raw.execute("SELECT warehouse_id, item_id, SUM(delta) FROM stock_movement WHERE deleted = 0 "
                        "GROUP BY warehouse_id, item_id").fetchall()
            raw.execute("SELECT id, name, capacity, occupancy, status, lon, lat FROM shelter "
                        "WHERE deleted = 0 AND status != 'full'").fetchall()
            raw.execute("SELECT id, name, category, speciality FROM expert WHERE deleted = 0").fetchall()
        t_raw = median_of(raw_select, 5)
        t_ours = median_of(lambda: store.read(lambda c: rec.recommend(c, incident_id=incident)), 5)
        out.append(report("recommend over 10,000 resources", t_ours * 1000, t_raw * 1000, "ms",
                          "raw SQL select of the same rows"))
        raw.close()
        store.close()

        # ---- 3. importing a 10,000-row XLSX ---------------------------------------------------
        path = Path(d) / "teams.xlsx"
        write_xlsx(path, 10_000)

        def openpyxl_read():
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            rows = list(wb.worksheets[0].iter_rows(values_only=True))
            wb.close()
            return rows
        t_read = median_of(openpyxl_read, 3)
        store = Store(Path(d) / "import.db")
        store.write_sync(lambda conn: records.bulk_load(conn, [("org_unit", {
            "id": _id(), "name": "越秀区", "kind": "district", "boundary": BOUNDARY})]))
        ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=OFFICER)
        holder = {}
        t_check = timed(lambda: holder.setdefault("check", store.read(io.check_file, "team", path)))
        check = holder["check"]
        assert len(check.good) == 10_000, check.problems[:3]
        t_write = timed(lambda: io.write_rows(ctx, check))
        n = store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(table_for("team"))).scalar())
        assert n == 10_000
        out.append(report("XLSX import 10,000 rows: read + check", t_check * 1000, t_read * 1000, "ms",
                          "openpyxl read only"))
        out.append(report("XLSX import 10,000 rows: check + write (1 txn)", (t_check + t_write) * 1000,
                          t_read * 1000, "ms", "openpyxl read only"))
        store.close()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--movements", type=int, default=1_000_000)
    parser.add_argument("--reuse", type=Path, help="a cache already seeded with movements (skips seeding)")
    args = parser.parse_args()
    run(args.movements, args.reuse)
