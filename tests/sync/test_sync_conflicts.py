"""Per-entity conflict policy, end to end: merges, status machine, dispatch, stock."""

from __future__ import annotations

import concurrent.futures

import sqlalchemy as sa

import sync_world as W
from app.server.audit import verify
from app.server.tables import audit_log, processed_mutation, stock_balance
from sync_live import incident, new_id


def _conflicts(rows, entity_id):
    return [
        r
        for (entity, _), r in rows.items()
        if entity == "sync_conflict" and r["data"]["entity_id"] == entity_id
    ]


def _shared_incident(a, b):
    iid = new_id()
    a.push_one("incident", iid, "create", incident(W.STREET1))
    rows, _ = b.pull_all()
    return iid, rows[("incident", iid)]["field_rev"]


def test_different_fields_merge_without_conflict(console):
    a, b = console("officer_s1"), console("officer_s1b")
    iid, seen = _shared_incident(a, b)
    ra = a.push_one("incident", iid, "patch", {"title": "北京路积水"}, {"title": seen["title"]})
    rb = b.push_one("incident", iid, "patch", {"summary": "积水 50 厘米"}, {"summary": seen["summary"]})
    assert ra["outcome"] == rb["outcome"] == "applied"
    rows, _ = a.pull_all()
    data = rows[("incident", iid)]["data"]
    assert (data["title"], data["summary"]) == ("北京路积水", "积水 50 厘米")
    assert _conflicts(rows, iid) == []


def test_same_field_later_arrival_wins_and_both_consoles_see_the_conflict(console):
    a, b = console("officer_s1"), console("officer_s1b")
    iid, seen = _shared_incident(a, b)
    a.push_one("incident", iid, "patch", {"dead": 1}, {"dead": 0})  # field never set: base 0
    a.push_one("incident", iid, "patch", {"summary": "A 的描述"}, {"summary": seen["summary"]})
    rb = b.push_one("incident", iid, "patch", {"summary": "B 的描述"}, {"summary": seen["summary"]})
    assert rb["outcome"] == "applied_with_conflict" and len(rb["conflict_ids"]) == 1
    for side in (a, b):
        rows, _ = side.pull_all()
        assert rows[("incident", iid)]["data"]["summary"] == "B 的描述"
        [conflict] = _conflicts(rows, iid)
        d = conflict["data"]
        assert conflict["id"] == rb["conflict_ids"][0]
        assert (d["kind"], d["field"], d["status"]) == ("concurrent_edit", "summary", "open")
        assert (d["winning_value"], d["losing_value"]) == ("B 的描述", "A 的描述")
        assert d["losing_device_id"] == a.device_id and d["losing_author_id"] == W.user_id("officer_s1")


def test_officer_acknowledges_and_leader_resolves_a_conflict(console):
    a, b, leader = console("officer_s1"), console("officer_s1b"), console("leader")
    iid, seen = _shared_incident(a, b)
    a.push_one("incident", iid, "patch", {"title": "A"}, {"title": seen["title"]})
    cid = b.push_one("incident", iid, "patch", {"title": "B"}, {"title": seen["title"]})["conflict_ids"][0]
    assert b.push_one("sync_conflict", cid, "patch", {"status": "resolved"})["code"] == "forbidden"
    assert b.push_one("sync_conflict", cid, "patch", {"status": "acknowledged"})["outcome"] == "applied"
    rows, _ = leader.pull_all()
    seen_rev = rows[("sync_conflict", cid)]["field_rev"]
    change = {"status": "resolved", "resolved_by": W.user_id("leader"), "resolution": {"keep": "B"}}
    blind = leader.push_one("sync_conflict", cid, "patch", change)  # no base_rev: a blind overwrite
    assert blind["outcome"] == "applied_with_conflict"
    again = leader.push_one(
        "sync_conflict",
        cid,
        "patch",
        {"resolution": {"keep": "A"}},
        {"resolution": leader.pull_all()[0][("sync_conflict", cid)]["field_rev"]["resolution"]},
    )
    assert again["outcome"] == "applied"
    assert seen_rev["status"] < blind["rev"]


def test_illegal_or_stale_status_transition_keeps_the_status(console):
    a, b, leader = console("officer_s1"), console("officer_s1b"), console("leader")
    iid, seen = _shared_incident(a, b)
    assert (
        a.push_one("incident", iid, "patch", {"status": "responding"}, {"status": seen["status"]})["outcome"]
        == "applied"
    )
    stale = b.push_one("incident", iid, "patch", {"status": "verified"}, {"status": seen["status"]})
    assert stale["outcome"] == "applied_with_conflict"
    rows, _ = b.pull_all()
    assert rows[("incident", iid)]["data"]["status"] == "responding"
    [c] = _conflicts(rows, iid)
    assert c["data"]["kind"] == "illegal_transition" and c["data"]["losing_value"] == "verified"
    closed = a.push_one(
        "incident",
        iid,
        "patch",
        {"status": "closed"},
        {"status": rows[("incident", iid)]["field_rev"]["status"]},
    )
    assert closed["outcome"] == "applied"
    reopen = a.push_one("incident", iid, "patch", {"status": "responding"}, {"status": closed["rev"]})
    assert reopen["outcome"] == "applied_with_conflict"  # officers cannot reopen
    by_leader = leader.push_one("incident", iid, "patch", {"status": "responding"}, {"status": closed["rev"]})
    assert by_leader["outcome"] == "applied"  # leaders may


def test_two_consoles_dispatching_one_team_gives_unit_taken(console):
    a, b = console("officer_s1"), console("officer_s1b")
    inc1, inc2 = new_id(), new_id()
    a.push_one("incident", inc1, "create", incident(W.STREET1))
    b.push_one("incident", inc2, "create", incident(W.STREET1))
    first, second = new_id(), new_id()
    order = {"team_id": W.TEAM1, "state": "ordered", "ordered_at": "2026-11-23T08:10:00+08:00"}
    ra = a.push_one("dispatch", first, "create", dict(order, incident_id=inc1, org_unit_id=W.STREET1))
    rb = b.push_one("dispatch", second, "create", dict(order, incident_id=inc2, org_unit_id=W.STREET1))
    assert ra["outcome"] == "applied" and rb["outcome"] == "applied_with_conflict"
    rows, _ = a.pull_all()
    assert rows[("dispatch", first)]["data"]["state"] == "ordered"
    assert rows[("dispatch", second)]["data"]["state"] == "cancelled"  # recorded, not active
    [c] = _conflicts(rows, second)
    assert c["data"]["kind"] == "unit_taken" and c["data"]["winning_value"] == {"dispatch_id": first}
    # once the first dispatch returns, the leader can activate the second one
    a.push_one("dispatch", first, "patch", {"state": "returned"}, {"state": ra["rev"]})
    leader = console("leader")
    again = leader.push_one("dispatch", second, "patch", {"state": "ordered"}, {"state": rb["rev"]})
    assert again["outcome"] == "applied"
    # and now the first one cannot be re-activated while the second holds the team
    back = a.push_one("dispatch", first, "patch", {"state": "en_route"}, {"state": rb["rev"] + 10**6})
    assert back["outcome"] == "applied_with_conflict"


def test_concurrent_stock_deltas_sum_exactly_and_negative_raises_a_conflict(console, database):
    consoles = [console(u) for u in ("officer_s1", "officer_s1b", "leader")]
    deltas = [5, -2, 7, 11, -3, 1, 4, -6]

    def run(c):
        results = []
        for d in deltas:
            m = c.mutation(
                "stock_movement",
                new_id(),
                "delta",
                {
                    "warehouse_id": W.WAREHOUSE1,
                    "item_id": W.ITEM1,
                    "delta": d,
                    "reason": "inbound" if d > 0 else "allocation",
                },
            )
            results.append(c.push(m)["results"][0])
            c.push(m)  # a duplicate delivery must not count twice
        return results

    with concurrent.futures.ThreadPoolExecutor(len(consoles)) as pool:
        everything = [r for rs in pool.map(run, consoles) for r in rs]
    assert {r["outcome"] for r in everything} == {"applied"}
    expected = len(consoles) * sum(deltas)
    with database.engine.connect() as conn:
        qty = conn.execute(
            sa.select(stock_balance.c.quantity).where(
                stock_balance.c.warehouse_id == W.WAREHOUSE1, stock_balance.c.item_id == W.ITEM1
            )
        ).scalar()
    assert qty == expected
    rows, _ = consoles[0].pull_all()
    assert sum(r["data"]["delta"] for (e, _), r in rows.items() if e == "stock_movement") == expected
    out = consoles[0].push_one(
        "stock_movement",
        new_id(),
        "delta",
        {"warehouse_id": W.WAREHOUSE1, "item_id": W.ITEM1, "delta": -(expected + 5), "reason": "allocation"},
    )
    assert out["outcome"] == "applied_with_conflict"  # accepted: the goods physically left
    rows, _ = consoles[0].pull_all()
    negative = [
        r for (e, _), r in rows.items() if e == "sync_conflict" and r["data"]["kind"] == "stock_negative"
    ]
    assert len(negative) == 1 and negative[0]["data"]["winning_value"] == {"balance": -5}
    with database.engine.connect() as conn:  # one hash-chained audit row per mutation, chain intact
        pushes = conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                              .where(audit_log.c.mutation_id.is_not(None))).scalar()
        assert pushes == conn.execute(sa.select(sa.func.count()).select_from(processed_mutation)).scalar()
        assert verify(conn) is None


def test_stock_movement_into_another_streets_warehouse_is_rejected(console):
    c = console("officer_s1")
    r = c.push_one(
        "stock_movement",
        new_id(),
        "delta",
        {"warehouse_id": W.WAREHOUSE2, "item_id": W.ITEM1, "delta": 3, "reason": "inbound"},
    )
    assert r["outcome"] == "rejected" and r["code"] == "out_of_scope"


def test_append_only_entries_insert_once_and_refuse_changes(console):
    a, b = console("officer_s1"), console("officer_s1b")
    eid = new_id()
    entry = {
        "kind": "note",
        "body": "巡查完毕",
        "occurred_at": "2026-11-23T09:00:00+08:00",
        "org_unit_id": W.STREET1,
    }
    assert a.push_one("duty_log_entry", eid, "append", entry)["outcome"] == "applied"
    same = b.push_one("duty_log_entry", eid, "append", entry)
    assert same["outcome"] == "applied"  # insert-if-absent: the same entry is a no-op
    other = b.push_one("duty_log_entry", eid, "append", dict(entry, body="改写"))
    assert other["outcome"] == "rejected" and other["code"] == "append_only"
    patch = a.push_one("duty_log_entry", eid, "patch", {"body": "改写"})
    assert patch["code"] == "append_only"


def test_a_counted_stocktake_sets_the_servers_balance(console, database):
    # A stocktake states the shelf ("[count=N]"; its delta is only what that console's ledger
    # was off by). The server's running balance, which raises the negative-stock warning, is
    # then the counted figure, whatever was summed before.
    c = console("officer_s1")

    def move(delta, reason, note=None):
        data = {"warehouse_id": W.WAREHOUSE1, "item_id": W.ITEM1, "delta": delta, "reason": reason}
        if note:
            data["note"] = note
        return c.push_one("stock_movement", new_id(), "delta", data)

    def balance():
        with database.engine.connect() as conn:
            return conn.execute(sa.select(stock_balance.c.quantity).where(
                stock_balance.c.warehouse_id == W.WAREHOUSE1, stock_balance.c.item_id == W.ITEM1)).scalar()

    assert move(-100, "count_adjust", "[count=400] 盘点实有 400")["outcome"] == "applied"
    assert balance() == 400
    assert move(-100, "allocation")["outcome"] == "applied" and balance() == 300
    assert move(-300, "allocation")["outcome"] == "applied"  # down to zero: no warning
    assert move(-1, "allocation")["outcome"] == "applied_with_conflict"  # below the count: warned
