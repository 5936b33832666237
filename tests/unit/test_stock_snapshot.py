"""Stocktakes are counted snapshots, right across consoles that were offline (issue 6).

Two real cache files play console A and console B. Rows travel between them the way a sync
moves them: the writer's row gets its server revision (the push is acknowledged) and the other
console inserts it as a confirmed row (``records.bulk_load`` with ``server_rev``, as a pull does).
After every step each console's kept summary must equal a full recompute and the SQL levels.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from test_stock_seed import seed

from app.services import stock
from app.services.changes import ChangeBus
from app.services.context import AppContext
from app.services.overview import stock_levels
from app.store import records
from app.store.db import Store
from app.store.device import ensure_device
from app.store.schema import table_for

TODAY = dt.date(2026, 5, 1)


def _t(hhmm: str) -> str:
    return f"2026-05-01T{hhmm}:00+08:00"


class Console:
    def __init__(self, store: Store, ctx: AppContext):
        self.store, self.ctx = store, ctx

    def move(self, wh: str, item: str, delta: int, reason: str, at: str) -> str:
        return self.store.write_sync(lambda c: stock.record_movement(
            c, warehouse_id=wh, item_id=item, delta=delta, reason=reason, author_id=None, now=at))

    def count(self, wh: str, item: str, counted: int, at: str) -> str:
        return self.store.write_sync(lambda c: stock.stocktake(
            c, warehouse_id=wh, item_id=item, counted=counted, author_id=None, now=at))

    def level(self, wh: str, item: str) -> int:
        """The level as every reader sees it; fails unless all of them agree."""
        summary = self.store.read(stock.levels)  # the kept summary (refreshed incrementally)
        fresh = self.store.read(lambda c: stock._rebuild(c, stock._fingerprint(c)).quantity)
        by_sql = {(r.warehouse_id, r.item_id): int(r.quantity)
                  for r in self.store.read(lambda c: c.execute(stock_levels(c)).all())}
        one_wh = self.store.read(stock.levels, wh)
        assert summary == fresh == by_sql, "kept summary, full recompute and SQL disagree"
        assert one_wh == {k: v for k, v in summary.items() if k[0] == wh}
        single = self.store.read(stock.level, wh, item)
        assert single == summary.get((wh, item), 0)
        alerts = {(a.item_id, a.quantity) for a in self.store.read(stock.stock_alerts, TODAY, None)
                  if a.warehouse_id == wh and a.item_id == item and a.kind in ("negative", "below_min")}
        assert all(q == single for _, q in alerts)
        return single


@pytest.fixture
def consoles(tmp_path):
    a_store, b_store = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    s = seed(a_store)
    # Console B starts as a copy of A's confirmed reference data (same warehouses and items).
    for entity in ("user", "org_unit", "warehouse", "supply_item"):
        t = table_for(entity)
        rows = a_store.read(lambda c, t=t: [dict(r) for r in c.execute(sa.select(t)).mappings()])
        b_store.write_sync(lambda c, rows=rows, entity=entity: records.bulk_load(c, [(entity, r) for r in rows]))
    b_ctx = AppContext(store=b_store, bus=ChangeBus(), device_id=b_store.write_sync(ensure_device), user=s.ctx.user)
    yield s, Console(a_store, s.ctx), Console(b_store, b_ctx)
    a_store.close()
    b_store.close()


class Server:
    """Hands out revisions; ``sync`` exchanges every unsynced movement between the consoles."""

    def __init__(self):
        self.rev = 0

    def sync(self, *consoles: Console) -> None:
        m = table_for("stock_movement")
        for src in consoles:
            rows = src.store.read(lambda c: [dict(r) for r in c.execute(
                sa.select(m).where(m.c.server_rev.is_(None)).order_by(sa.literal_column("rowid"))).mappings()])
            for row in rows:
                self.rev += 1
                row["server_rev"] = self.rev
                src.store.write_sync(lambda c, row=row: c.execute(
                    m.update().where(m.c.id == row["id"]).values(server_rev=row["server_rev"])))
                for dst in consoles:
                    if dst is not src:
                        dst.store.write_sync(lambda c, row=row: records.bulk_load(c, [("stock_movement", row)]))


def test_an_offline_shipment_and_a_count_on_another_console_leave_the_counted_shelf(consoles):
    s, a, b = consoles
    server = Server()
    a.move(s.wh_a, s.water, 500, "inbound", _t("08:00"))
    server.sync(a, b)
    assert a.level(s.wh_a, s.water) == b.level(s.wh_a, s.water) == 500

    a.move(s.wh_a, s.water, -100, "allocation", _t("10:00"))  # A ships 100 while offline
    count = b.count(s.wh_a, s.water, 400, _t("10:30"))  # B counts 400 on the shelf, its ledger says 500
    row = b.store.read(lambda c: records.get(c, "stock_movement", count))
    assert row["delta"] == -100 and stock.counted_in(row["reason"], row["note"]) == 400
    assert a.level(s.wh_a, s.water) == 400 and b.level(s.wh_a, s.water) == 400
    server.sync(a, b)
    # A plain sum would read 300 (500 − 100 − 100); the shelf holds 400.
    assert a.level(s.wh_a, s.water) == 400
    assert b.level(s.wh_a, s.water) == 400

    a.move(s.wh_a, s.water, -30, "allocation", _t("11:00"))  # a shipment after the count adds to it
    assert a.level(s.wh_a, s.water) == 370
    server.sync(a, b)
    assert a.level(s.wh_a, s.water) == b.level(s.wh_a, s.water) == 370
    a.move(s.wh_a, s.water, 20, "return", _t("11:10"))
    server.sync(a, b)
    assert a.level(s.wh_a, s.water) == b.level(s.wh_a, s.water) == 390


def test_of_two_stocktakes_the_newest_wins_whichever_syncs_last(consoles):
    s, a, b = consoles
    server = Server()
    a.move(s.wh_a, s.tents, 100, "inbound", _t("08:00"))
    server.sync(a, b)
    a.level(s.wh_a, s.tents), b.level(s.wh_a, s.tents)  # both summaries primed: the rest is incremental
    a.count(s.wh_a, s.tents, 90, _t("12:00"))  # the newer count
    b.move(s.wh_a, s.tents, -5, "allocation", _t("11:45"))  # before A's count: absorbed by it
    b.count(s.wh_a, s.tents, 80, _t("11:30"))  # older, written later and synced last
    b.move(s.wh_a, s.tents, -3, "allocation", _t("12:15"))  # after both counts: adds
    assert b.level(s.wh_a, s.tents) == 80 - 5 - 3  # what B knows before the sync
    server.sync(a, b)
    assert a.level(s.wh_a, s.tents) == b.level(s.wh_a, s.tents) == 87
    b.count(s.wh_a, s.tents, 50, _t("13:00"))  # a still newer count replaces it
    server.sync(b, a)
    assert a.level(s.wh_a, s.tents) == b.level(s.wh_a, s.tents) == 50


def test_ties_and_missing_times_are_ordered_the_same_way_everywhere(consoles):
    s, a, b = consoles
    server = Server()
    a.move(s.wh_b, s.water, 60, "inbound", _t("08:00"))
    a.move(s.wh_b, s.water, -10, "allocation", _t("09:00"))  # the same second as B's count: counted by it
    first = b.count(s.wh_b, s.water, 45, _t("09:00"))
    second = a.count(s.wh_b, s.water, 47, _t("09:00"))  # two counts in one second: the larger id wins
    server.sync(a, b)
    expected = 47 if second > first else 45
    assert a.level(s.wh_b, s.water) == b.level(s.wh_b, s.water) == expected
    # A row without occurred_at is placed by its created_at.
    late = {"id": records.new_id(), "warehouse_id": s.wh_b, "item_id": s.water, "delta": -4,
            "reason": "allocation", "created_at": _t("09:30"), "updated_at": _t("09:30"), "server_rev": 900,
            "deleted": False, "drill": False}
    early = dict(late, id=records.new_id(), delta=-6, created_at=_t("08:30"), updated_at=_t("08:30"), server_rev=901)
    for console in (a, b):
        console.store.write_sync(lambda c: records.bulk_load(c, [("stock_movement", late), ("stock_movement", early)]))
        assert console.level(s.wh_b, s.water) == expected - 4


def test_only_a_strict_count_prefix_makes_a_snapshot(consoles):
    s, a, _b = consoles
    a.move(s.wh_a, s.water, 100, "inbound", _t("08:00"))
    a.level(s.wh_a, s.water)
    for note in ("[count=12x] typo", "count=5", "[count=] empty", "[COUNT=7]", "盘点实有 93"):
        assert stock.counted_in("count_adjust", note) is None
        a.store.write_sync(lambda c, note=note: records.create(c, "stock_movement", {
            "warehouse_id": s.wh_a, "item_id": s.water, "delta": -1, "reason": "count_adjust",
            "occurred_at": _t("09:00"), "note": note, "drill": False}, author_id=None, now=_t("09:00")))
    assert a.level(s.wh_a, s.water) == 95  # old-style count_adjust rows are plain deltas
    assert stock.counted_in("inbound", "[count=5]") is None
    assert stock.counted_in("count_adjust", "[count=5] 盘点") == 5


def test_a_drill_or_deleted_stocktake_is_not_an_anchor(consoles):
    s, a, _b = consoles
    a.move(s.wh_a, s.water, 100, "inbound", _t("08:00"))
    mid = a.count(s.wh_a, s.water, 70, _t("09:00"))
    a.move(s.wh_a, s.water, -10, "allocation", _t("10:00"))
    assert a.level(s.wh_a, s.water) == 60
    m = table_for("stock_movement")
    a.store.write_sync(lambda c: c.execute(m.update().where(m.c.id == mid).values(deleted=True, server_rev=5)))
    assert a.level(s.wh_a, s.water) == 90


def test_the_server_accepts_a_count_that_agrees_but_no_other_zero_movement():
    from app.domain.entities import entity
    from app.domain.validate import check_record

    ent = entity("stock_movement")
    base = {"warehouse_id": records.new_id(), "item_id": records.new_id(), "delta": 0}
    assert check_record(ent, dict(base, reason="count_adjust", note=stock.count_note(40, "盘点"))) == []
    for data in (dict(base, reason="count_adjust", note="盘点实有 40"), dict(base, reason="inbound", note="[count=4]")):
        assert [p.code for p in check_record(ent, data)] == ["zero"]
