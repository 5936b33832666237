"""The stock ledger: quantities are sums of movements; stocktakes are deltas; alerts."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from test_stock_seed import seed

from app.services import stock
from app.services.stock import StockError, StockLedger
from app.store import records
from app.store.schema import outbox, table_for

TODAY = dt.date(2026, 5, 1)


def _movements(store) -> int:
    t = table_for("stock_movement")
    return store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t)).scalar())


def test_level_is_the_sum_of_movements_and_nothing_is_overwritten(store):
    s = seed(store)
    ledger = StockLedger(s.ctx)
    ledger.move(s.wh_a, s.tents, 30, "inbound")
    ledger.move(s.wh_a, s.tents, -12, "allocation")
    ledger.move(s.wh_a, s.tents, 2, "return")
    ledger.move(s.wh_a, s.tents, -1, "writeoff")
    assert ledger.levels()[(s.wh_a, s.tents)] == 19
    assert store.read(stock.level, s.wh_a, s.tents) == 19
    assert _movements(store) == 4  # four rows, none rewritten


def test_stocktake_appends_a_counted_snapshot_with_the_local_difference(store):
    s = seed(store)
    ledger = StockLedger(s.ctx)
    ledger.move(s.wh_a, s.water, 100, "inbound")
    mid = ledger.stocktake(s.wh_a, s.water, 93)
    row = store.read(lambda c: c.execute(sa.select(table_for("stock_movement")).where(
        table_for("stock_movement").c.id == mid)).mappings().one())
    assert row["delta"] == -7 and row["reason"] == "count_adjust"
    assert stock.counted_in(row["reason"], row["note"]) == 93 and row["note"].startswith("[count=93]")
    assert ledger.levels()[(s.wh_a, s.water)] == 93
    # A count that agrees is still recorded (delta 0): it absorbs other consoles' unsynced movements.
    again = ledger.stocktake(s.wh_a, s.water, 93)
    assert store.read(stock.level, s.wh_a, s.water) == 93
    assert store.read(lambda c: records.get(c, "stock_movement", again))["delta"] == 0
    assert _movements(store) == 3
    with pytest.raises(StockError):
        ledger.stocktake(s.wh_a, s.water, -5)


@pytest.mark.parametrize(("delta", "reason"), [(-5, "inbound"), (5, "allocation"), (0, "inbound"),
                                               (3, "borrowed")])
def test_a_movement_whose_sign_does_not_match_its_reason_is_refused(store, delta, reason):
    s = seed(store)
    with pytest.raises(StockError):
        StockLedger(s.ctx).move(s.wh_a, s.tents, delta, reason)
    assert _movements(store) == 0


def test_two_offline_allocations_both_land_and_a_negative_balance_raises_an_alert(store):
    s = seed(store)
    ledger = StockLedger(s.ctx)
    ledger.move(s.wh_b, s.water, 60, "inbound")
    # Two consoles each issued 50 while apart; both movements are appended, none overwrites the other.
    ledger.move(s.wh_b, s.water, -50, "allocation", note="console A")
    ledger.move(s.wh_b, s.water, -50, "allocation", note="console B")
    assert ledger.levels()[(s.wh_b, s.water)] == -40
    queued = store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(outbox).where(
        outbox.c.entity == "stock_movement")).scalar())
    assert queued == 3
    alerts = ledger.alerts(TODAY)
    assert [(a.kind, a.quantity) for a in alerts if a.item_id == s.water] == [("negative", -40)]
    assert "账面为负" in alerts[0].message("zh")


def test_minimum_levels_and_expiry_raise_alerts(store):
    s = seed(store)
    ledger = StockLedger(s.ctx)
    ledger.move(s.wh_a, s.tents, 4, "inbound")  # min 10
    ledger.move(s.wh_a, s.water, 40, "inbound", expires_on="2026-05-20")  # within 30 days
    ledger.move(s.wh_a, s.water, 30, "inbound", expires_on="2026-04-01")  # already expired
    ledger.move(s.wh_a, s.water, 100, "inbound", expires_on="2027-01-01")  # fine
    kinds = {(a.kind, a.item_id, a.expires_on, a.batch_quantity) for a in ledger.alerts(TODAY)}
    assert ("below_min", s.tents, None, None) in kinds
    assert ("expiring", s.water, "2026-05-20", 40) in kinds
    assert ("expired", s.water, "2026-04-01", 30) in kinds
    assert not any(a.kind == "below_min" and a.item_id == s.water for a in ledger.alerts(TODAY))


def test_an_expired_batch_already_issued_raises_no_alert(store):
    s = seed(store)
    ledger = StockLedger(s.ctx)
    ledger.move(s.wh_a, s.water, 30, "inbound", expires_on="2026-04-01")
    ledger.move(s.wh_a, s.water, 100, "inbound", expires_on="2027-01-01")
    ledger.move(s.wh_a, s.water, -30, "allocation")  # first expired, first out
    assert [a for a in ledger.alerts(TODAY) if a.kind in ("expired", "expiring")] == []
    stock_rows = ledger.warehouse_stock(s.wh_a)
    assert [(r.item_name, r.quantity, r.next_expiry) for r in stock_rows] == [("矿泉水", 100, "2027-01-01")]


def test_on_shelf_keeps_the_latest_batches():
    assert stock.on_shelf(50, [("2026-01-01", 40), ("2026-06-01", 30)], 70) == [("2026-01-01", 20),
                                                                                 ("2026-06-01", 30)]
    assert stock.on_shelf(10, [("2026-01-01", 40)], 100) == []  # undated stock is what is left


def _raw_levels(store) -> dict:
    t = table_for("stock_movement")
    q = (sa.select(t.c.warehouse_id, t.c.item_id, sa.func.sum(t.c.delta)).where(t.c.deleted.is_(False))
         .group_by(t.c.warehouse_id, t.c.item_id))
    return store.read(lambda c: {(w, i): q_ for w, i, q_ in c.execute(q)})


def test_the_incremental_ledger_summary_matches_a_full_sum_after_adds_pulls_and_drops(store):
    s = seed(store)
    ledger = StockLedger(s.ctx)
    t = table_for("stock_movement")
    first = ledger.move(s.wh_a, s.tents, 30, "inbound", expires_on="2026-05-10")
    assert ledger.levels() == _raw_levels(store) == {(s.wh_a, s.tents): 30}
    ledger.move(s.wh_a, s.tents, -4, "allocation")  # a local append: counted incrementally
    ledger.move(s.wh_b, s.water, 9, "inbound")
    assert ledger.levels() == _raw_levels(store)
    # A pull confirms the first row and another console's row arrives (server_rev set, in place).
    store.write_sync(lambda c: c.execute(t.update().where(t.c.id == first).values(server_rev=7, delta=30)))
    store.write_sync(lambda c: c.execute(t.insert().values(id="x-remote", warehouse_id=s.wh_a, item_id=s.tents,
                                                           delta=-50, reason="allocation", server_rev=8,
                                                           deleted=False, drill=False)))
    assert ledger.levels() == _raw_levels(store) and ledger.levels()[(s.wh_a, s.tents)] == -24
    # The server deleted a row (a tombstone applied in place): its pair is recounted.
    store.write_sync(lambda c: c.execute(t.update().where(t.c.id == "x-remote").values(server_rev=9, deleted=True)))
    assert ledger.levels()[(s.wh_a, s.tents)] == 26
    # A full resync dropped a row: the count no longer adds up, and the summary is rebuilt.
    store.write_sync(lambda c: c.execute(t.delete().where(t.c.id == first)))
    assert ledger.levels() == _raw_levels(store) and ledger.levels()[(s.wh_a, s.tents)] == -4
    assert [a.kind for a in ledger.alerts(TODAY) if a.item_id == s.tents] == ["negative"]
