"""Stock levels under the stocktake (snapshot) rule, against a plain SUM … GROUP BY.

Seeds N movements over 200 warehouses × 50 items (tests/bench/bench_resources.py's seeder) and
then a counted stocktake ("[count=N]") for one pair in ten, so the anchors, the join and the
recount of counted pairs all have work to do. Run: ``.venv/bin/python -m tests.bench.bench_stocktake [N]``.
"""

from __future__ import annotations

import random
import sys
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa
from pysqlite3 import dbapi2 as sqlite3

from app.services import stock
from app.store.db import Store
from app.store.schema import table_for
from tests.bench.bench_resources import seed_movements
from tests.bench.common import median_of, report, timed

COUNT_AT = "2026-05-01T09:00:00+08:00"  # the seeder's movements are all at this second: all absorbed
LATER = "2026-05-01T10:00:00+08:00"
RAW = ("SELECT warehouse_id, item_id, SUM(delta) FROM stock_movement "
       "WHERE deleted = 0 AND (drill IS NULL OR drill != 1) GROUP BY warehouse_id, item_id")


def add_stocktakes(store: Store, share: float = 0.1) -> int:
    m = table_for("stock_movement")
    pairs = store.read(lambda c: c.execute(sa.select(m.c.warehouse_id, m.c.item_id).distinct()).all())
    rng = random.Random(2)
    counted = [p for p in pairs if rng.random() < share]
    rows = [{"id": str(uuid.uuid4()), "warehouse_id": w, "item_id": i, "delta": 0, "reason": "count_adjust",
             "occurred_at": COUNT_AT, "created_at": COUNT_AT, "note": stock.count_note(rng.randint(0, 500)),
             "drill": False, "deleted": False, "server_rev": 1} for w, i in counted]
    store.write_sync(lambda c: c.execute(m.insert(), rows))
    return len(rows)


def run(movements: int = 300_000) -> list[str]:
    out = []
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "stock.db"
        store = Store(db)
        t_seed = timed(lambda: seed_movements(store, movements))
        n_counts = add_stocktakes(store)
        print(f"(seeded {movements:,} movements in {t_seed:.1f} s, {n_counts} pairs counted)", flush=True)
        raw = sqlite3.connect(db)
        t_raw = median_of(lambda: raw.execute(RAW).fetchall(), 3)

        def cold():
            stock._summaries.clear()
            return store.read(stock.levels)
        t_cold = median_of(cold, 3)
        out.append(report(f"snapshot levels, {movements:,} mv, cold summary", t_cold * 1000, t_raw * 1000,
                          "ms", "raw SQL SUM … GROUP BY"))

        t_sql = median_of(lambda: store.read(lambda c: c.execute(stock.levels_query()).all()), 3)
        by_sql = {(r.warehouse_id, r.item_id): int(r.quantity)
                  for r in store.read(lambda c: c.execute(stock.levels_query()).all())}
        assert by_sql == store.read(stock.levels), "summary and SQL disagree"
        out.append(report("snapshot levels, SQL (overview/map subquery)", t_sql * 1000, t_raw * 1000, "ms",
                          "raw SQL SUM … GROUP BY"))

        m = table_for("stock_movement")
        wid, iid = store.read(lambda c: c.execute(sa.select(m.c.warehouse_id, m.c.item_id).where(
            m.c.reason == "count_adjust").limit(1)).one())
        raw_wh = ("SELECT item_id, SUM(delta) FROM stock_movement WHERE warehouse_id = ? AND deleted = 0 "
                  "AND (drill IS NULL OR drill != 1) GROUP BY item_id")
        t_raw_wh = median_of(lambda: raw.execute(raw_wh, (wid,)).fetchall(), 5)
        t_wh = median_of(lambda: store.read(stock.levels, wid), 5)
        out.append(report("snapshot levels, one warehouse (SQL)", t_wh * 1000, t_raw_wh * 1000, "ms",
                          "raw SQL one-warehouse SUM"))

        def after_one_movement_on_a_counted_pair():
            store.write_sync(lambda c: stock.record_movement(c, warehouse_id=wid, item_id=iid, delta=-1,
                                                             reason="allocation", author_id=None, now=LATER))
            return timed(lambda: store.read(stock.levels))
        store.read(stock.levels)
        t_warm = sorted(after_one_movement_on_a_counted_pair() for _ in range(5))[2]
        fresh = store.read(lambda c: stock._rebuild(c, stock._fingerprint(c)).quantity)
        assert store.read(stock.levels) == fresh, "kept summary drifted from a full recompute"
        out.append(report("kept summary after 1 movement on a counted pair", t_warm * 1000, t_raw * 1000, "ms",
                          "raw SQL SUM … GROUP BY"))
        raw.close()
        store.close()
    return out


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
