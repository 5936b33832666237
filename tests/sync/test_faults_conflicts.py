"""Conflicts under faults (SYNC_RESEARCH.md §4 T8, T10, T12): skewed clocks, two consoles on one
incident, concurrent stock movements with duplication, reordering and a negative balance.
One real server per module; each test works on its own incident or warehouse.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from app.domain import clock
from app.server.tables import audit_log
from app.store import records
from app.store.schema import table_for
from app.sync import transport as T
from console_harness import LiveConsole
from faults import (
    FaultTransport,
    assert_converged,
    assert_nothing_lost_exactly_once,
    drain,
    drop_response,
    duplicate,
    ledger,
    module_server,
    release_then_forward,
    split_reorder,
    sqlite_only,
    stock,
)
from sync_live import incident as incident_data
from sync_world import ITEM1, STREET1

database, server = module_server("conflict")


@pytest.fixture
def consoles(server, tmp_path):
    made = []

    def make(username, transport=None, folder=None):
        folder = folder or tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        c = LiveConsole(server, folder, username, transport)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def create(c, entity: str, data: dict) -> str:
    """A local write stamped with the console's own (possibly wrong) clock."""
    return c.store.write_sync(lambda conn: records.create(conn, entity, data, author_id=c.ctx.user.id,
                                                          now=clock.now_iso()))


def patch(c, entity: str, rid: str, changes: dict) -> None:
    c.store.write_sync(lambda conn: records.patch(conn, entity, rid, changes, author_id=c.ctx.user.id,
                                                  now=clock.now_iso()))


def conflicts_on(c, rid: str) -> list[dict]:
    t = table_for("sync_conflict")
    return c.store.read(lambda conn: [dict(r) for r in conn.execute(
        sa.select(t).where(t.c.entity_id == rid, t.c.deleted.is_(False)).order_by(t.c.id)).mappings()])


def notes_on(c, rid: str) -> set[str]:
    log = table_for("duty_log_entry")
    query = sa.select(log.c.id).where(log.c.incident_id == rid)
    return c.store.read(lambda conn: {r[0] for r in conn.execute(query)})


def new_incident(c, **over) -> str:
    return create(c, "incident", incident_data(STREET1, **over))


# ---------------------------------------------------------------------------------------------
# T10 two consoles edit the same incident


def test_t10_two_consoles_editing_one_incident(consoles):
    """Pass: same field -> the later arrival wins and exactly one sync_conflict row holds both
    values, on both consoles and the leader's; different fields -> merged, no conflict; a stale
    or illegal status change -> a conflict with the status unchanged; edit vs cancel -> both
    kept, no conflict; note appends -> all present on both."""
    a, b, lead = consoles("officer_s1"), consoles("officer_s1b"), consoles("leader")
    same, diff, illegal, cancel = (new_incident(a, title=t)
                                   for t in ("同字段", "不同字段", "非法状态", "编辑与取消"))
    a.sync()
    b.sync()

    patch(a, "incident", same, {"summary": "A：积水30厘米"})
    patch(b, "incident", same, {"summary": "B：积水50厘米，车辆被困"})
    patch(a, "incident", diff, {"dead": 1})
    patch(b, "incident", diff, {"injured": 2})
    patch(a, "incident", illegal, {"status": "cancelled"})
    patch(b, "incident", illegal, {"status": "responding"})  # decided on a picture that no longer holds
    patch(a, "incident", cancel, {"summary": "已疏散"})
    patch(b, "incident", cancel, {"status": "cancelled"})
    notes = [create(c, "duty_log_entry", {"kind": "note", "body": f"{c.ctx.user.username} 记录{i}",
                                          "occurred_at": clock.now_iso(), "incident_id": same,
                                          "org_unit_id": STREET1})
             for c in (a, b) for i in range(3)]
    a.sync()
    b.sync()  # B arrives later
    a.sync()
    lead.sync()

    for c in (a, b, lead):
        row = c.get("incident", same)
        assert row["summary"] == "B：积水50厘米，车辆被困"
        (conflict,) = conflicts_on(c, same)
        assert (conflict["kind"], conflict["field"]) == ("concurrent_edit", "summary")
        assert conflict["winning_value"] == "B：积水50厘米，车辆被困"
        assert conflict["losing_value"] == "A：积水30厘米"
        assert (c.get("incident", diff)["dead"], c.get("incident", diff)["injured"]) == (1, 2)
        assert conflicts_on(c, diff) == []
        assert c.get("incident", illegal)["status"] == "cancelled"
        assert [x["kind"] for x in conflicts_on(c, illegal)] == ["illegal_transition"]
        row = c.get("incident", cancel)
        assert (row["summary"], row["status"]) == ("已疏散", "cancelled")
        assert conflicts_on(c, cancel) == []
        assert notes_on(c, same) == set(notes)
    outcomes = {m["entity_id"]: m["status"] for m in b.outbox() if m["op"] == "patch"}
    assert outcomes[same] == "applied_with_conflict" and outcomes[diff] == "applied"
    assert b.engine.status.conflicts >= 2 and a.engine.status.conflicts >= 2


def test_t10_a_refused_status_change_does_not_stay_on_the_console(consoles, server):
    """Pass: an officer's illegal transition (cancelled -> reported) is applied_with_conflict and
    leaves the status unchanged on the server; after the round the console shows the server's
    status again, not its refused edit (I4)."""
    b = consoles("officer_s1b")
    inc = new_incident(b, title="撤销后重开")
    b.sync()
    patch(b, "incident", inc, {"status": "cancelled"})
    b.sync()
    patch(b, "incident", inc, {"status": "reported"})  # not a legal transition from cancelled
    b.sync()
    assert b.outbox()[-1]["status"] == "applied_with_conflict"
    assert [x["kind"] for x in conflicts_on(b, inc)] == ["illegal_transition"]
    assert b.get("incident", inc)["status"] == "cancelled"


# ---------------------------------------------------------------------------------------------
# T8 clock skew


class SkewedClock:
    """Replace app.domain.clock.now for the console acting right now (consoles run in turn)."""

    def __init__(self, monkeypatch):
        self.real = clock.now
        self.offset = dt.timedelta(0)
        monkeypatch.setattr(clock, "now", lambda: self.real() + self.offset)

    def at(self, offset: dt.timedelta) -> SkewedClock:
        self.offset = offset
        return self


def play(consoles, folder, skews: dict[str, list[dt.timedelta]], clk: SkewedClock) -> dict:
    """One fixed scenario; each console's clock follows its list of offsets (a jump mid-run)."""
    a = consoles("officer_s1", folder=folder / "a")
    b = consoles("officer_s1b", folder=folder / "b")
    c = consoles("officer_d", folder=folder / "c")

    def on(console, step):
        offsets = skews[console.ctx.user.username]
        return clk.at(offsets[min(step, len(offsets) - 1)])

    on(a, 0)
    inc = new_incident(a, summary="初报")
    a.sync()
    for x in (b, c):
        on(x, 0)
        x.sync()
    on(a, 0)
    patch(a, "incident", inc, {"summary": "A改"})
    on(b, 0)
    patch(b, "incident", inc, {"summary": "B改"})
    on(c, 0)
    patch(c, "incident", inc, {"dead": 3})
    on(a, 1)
    patch(a, "incident", inc, {"status": "verified"})
    on(b, 1)
    patch(b, "incident", inc, {"status": "responding"})
    on(a, 1)
    log_a = create(a, "duty_log_entry", {"kind": "note", "body": "A 记录", "occurred_at": clock.now_iso(),
                                         "incident_id": inc, "org_unit_id": STREET1})
    on(c, 1)  # C's clock jumps (backwards in the skewed run)
    log_c = create(c, "duty_log_entry", {"kind": "note", "body": "C 记录", "occurred_at": clock.now_iso(),
                                         "incident_id": inc, "org_unit_id": STREET1})
    for x in (b, a, c, b, a, c):
        on(x, 1)
        x.sync()

    def outcomes(x):
        kinds = {r["id"]: r["kind"] for r in conflicts_on(x, inc)}
        return [(m["entity"], m["op"], m["status"],
                 sorted(kinds.get(i, "?") for i in m["result"]["conflict_ids"])) for m in x.outbox()]

    row = a.get("incident", inc)
    conflicts = sorted((r["kind"], r["field"], str(r["winning_value"]), str(r["losing_value"]))
                       for r in conflicts_on(a, inc))
    rev = {x: a.get("duty_log_entry", x)["server_rev"] for x in (log_a, log_c)}
    offsets = {x.ctx.user.username: x.engine.status.clock_offset_s for x in (a, b, c)}
    return {"outcomes": [outcomes(x) for x in (a, b, c)],
            "final": (row["summary"], row["dead"], row["status"]),
            "conflicts": conflicts, "same_everywhere": all(conflicts_on(x, inc) == conflicts_on(a, inc)
                                                           for x in (b, c)),
            "log_order": rev[log_a] < rev[log_c], "offsets": offsets}


def test_t8_skewed_clocks_give_the_same_conflict_outcomes_as_correct_ones(consoles, database, tmp_path,
                                                                          monkeypatch):
    """Pass: consoles at +1 h, -1 day and +10 years (one jumping back to -1 day mid-run) get
    outcome-for-outcome the same results, final values and conflicts as with correct clocks;
    duty-log received order follows the server (A's entry before C's though C's clock says
    2036); each console's measured clock offset reveals its skew (for the skew banner)."""
    sqlite_only(database, "client clocks never reach the server's database (audit detail aside)")
    clk = SkewedClock(monkeypatch)
    zero = dt.timedelta(0)
    right = play(consoles, tmp_path / "right", {"officer_s1": [zero], "officer_s1b": [zero],
                                                "officer_d": [zero]}, clk)
    hour, day, decade = dt.timedelta(hours=1), dt.timedelta(days=1), dt.timedelta(days=3652)
    skewed = play(consoles, tmp_path / "skewed", {"officer_s1": [hour], "officer_s1b": [-day],
                                                  "officer_d": [decade, -day]}, clk)
    for key in ("outcomes", "final", "conflicts", "same_everywhere", "log_order"):
        assert skewed[key] == right[key], key
    # B syncs first; A arrives later: A's summary wins (a conflict), A's stale "verified" is refused.
    assert right["final"] == ("A改", 3, "responding")
    assert right["log_order"] is True
    for user, expected in (("officer_s1", -hour), ("officer_s1b", day), ("officer_d", day)):
        assert abs(skewed["offsets"][user] - expected.total_seconds()) < 120, (user, skewed["offsets"])
        assert abs(right["offsets"][user]) < 120


# ---------------------------------------------------------------------------------------------
# T12 concurrent stock movements


def test_t12_concurrent_stock_movements_with_duplication_reordering_and_a_negative_balance(
        consoles, database, server):
    """Pass: 3 consoles x 15 random deltas, one console's pushes duplicated concurrently, one's
    split and reordered, one's answers lost: final quantity = initial + Σ distinct deltas (the
    materialised balance and the sum of movements agree); every movement that took the balance
    below zero is applied_with_conflict (stock_negative), none rejected; I1-I3; I4."""
    rng = random.Random(12)
    ta, tb, tc = FaultTransport(""), FaultTransport(""), FaultTransport("")
    ta.faults.always("/sync/push", duplicate(2, concurrent=True))
    a = consoles("officer_s1", ta)
    b = consoles("officer_s1b", tb)
    c = consoles("officer_d", tc)
    wh = create(a, "warehouse", {"name": "T12仓库", "area_m2": 120.0, "org_unit_id": STREET1})
    create(a, "stock_movement", {"warehouse_id": wh, "item_id": ITEM1, "delta": 20, "reason": "inbound",
                                 "org_unit_id": STREET1})
    a.sync()
    deltas: list[int] = [20]
    for round_ in range(3):
        for x in (a, b, c):
            for _ in range(5):
                d = rng.choice([-9, -7, -5, -3, -2, -1, 1, 2, 4])
                deltas.append(d)
                create(x, "stock_movement", {"warehouse_id": wh, "item_id": ITEM1, "delta": d,
                                             "reason": "inbound" if d > 0 else "allocation"})
        tb.faults.once("/sync/push", split_reorder)
        tb.faults.once("/sync/push", release_then_forward)
        tc.faults.once("/sync/push", drop_response)
        with pytest.raises(T.Offline):
            c.sync()
        for x in (b, a, c) if round_ % 2 else (c, a, b):
            x.sync()
    drain([a, b, c])  # everyone holds everyone's last conflicts before the comparison

    qty, moved = stock(database, wh, ITEM1)
    assert qty == moved == sum(deltas), (qty, moved, sum(deltas))
    # Expected conflicts from the order the server actually applied the movements in.
    with database.engine.connect() as conn:
        applied = conn.execute(sa.select(audit_log.c.mutation_id, audit_log.c.detail)
                               .where(audit_log.c.entity == "stock_movement").order_by(audit_log.c.seq)).all()
    ours = {m["mutation_id"] for x in (a, b, c) for m in x.outbox() if m["entity"] == "stock_movement"}
    balance, negative = 0, set()
    for mid, detail in applied:
        if mid in ours:
            balance += detail["payload"]["delta"]
            if balance < 0:
                negative.add(mid)
    assert negative, "the scenario should have driven the balance below zero"
    for x in (a, b, c):
        for m in x.outbox():
            if m["entity"] != "stock_movement":
                continue
            assert m["status"] != "rejected"
            assert (m["status"] == "applied_with_conflict") == (m["mutation_id"] in negative), m
        assert_nothing_lost_exactly_once(database, x)
        assert_converged(x, server)
    ledgers = {r.mutation_id for x in (a, b, c) for r in ledger(database, x.ctx.device_id)}
    assert len(ledgers) == len(deltas) + 1
