"""调: team dispatch, allocation orders, shelters — each with its duty-log entry in the same transaction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_stock_seed import seed

from app.services import dispatching as dsp
from app.services.dispatching import DispatchRefused, Line
from app.services.stock import StockLedger
from app.store import records
from app.store.schema import table_for


def _log(store):
    t = table_for("duty_log_entry")
    return store.read(lambda c: [dict(r) for r in c.execute(sa.select(t).order_by(sa.literal_column("rowid")))
                                 .mappings()])


def _get(store, entity, rid):
    return store.read(records.get, entity, rid)


def test_dispatching_a_team_follows_the_states_and_logs_each_step(store):
    published = []
    s = seed(store, published)
    did = dsp.dispatch_team(s.ctx, s.flood_team, s.incident, note="排水")
    assert _get(store, "dispatch", did)["state"] == "ordered"
    assert _get(store, "team", s.flood_team)["status"] == "dispatched"
    for state, team_status in (("en_route", "dispatched"), ("on_scene", "on_scene"), ("returned", "standby")):
        dsp.advance_dispatch(s.ctx, did, state)
        assert _get(store, "dispatch", did)["state"] == state
        assert _get(store, "team", s.flood_team)["status"] == team_status
    d = _get(store, "dispatch", did)
    assert d["arrived_at"] and d["returned_at"]
    log = _log(store)
    assert len(log) == 4
    assert all(e["kind"] == "dispatch" and e["incident_id"] == s.incident for e in log)
    assert "防汛抢险队" in log[0]["body"] and "越秀北路暴雨积水" in log[0]["body"]
    assert any(cs.touches("dispatch", "team") for cs in published)


def test_a_team_has_one_active_dispatch(store):
    s = seed(store)
    dsp.dispatch_team(s.ctx, s.flood_team, s.incident)
    with pytest.raises(DispatchRefused) as err:
        dsp.dispatch_team(s.ctx, s.flood_team, s.incident)
    assert "已在执行任务" in err.value.message("zh") and "one active dispatch" in err.value.message("en")
    assert len(_log(store)) == 1  # the refused order left no trace and no half-written dispatch
    t = table_for("dispatch")
    assert store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t)).scalar()) == 1


def test_unavailable_teams_closed_incidents_and_backward_moves_are_refused(store):
    s = seed(store)
    with pytest.raises(DispatchRefused, match="cannot be dispatched"):
        dsp.dispatch_team(s.ctx, s.busy_team, s.incident)
    with pytest.raises(DispatchRefused, match="closed"):
        dsp.dispatch_team(s.ctx, s.fire_team, s.closed_incident)
    did = dsp.dispatch_team(s.ctx, s.fire_team, s.incident)
    dsp.advance_dispatch(s.ctx, did, "on_scene")
    with pytest.raises(DispatchRefused):
        dsp.advance_dispatch(s.ctx, did, "ordered")
    assert _get(store, "dispatch", did)["state"] == "on_scene"


def test_allocation_order_ships_from_the_ledger_and_is_logged(store):
    s = seed(store)
    ledger = StockLedger(s.ctx)
    ledger.move(s.wh_a, s.tents, 50, "inbound")
    oid = dsp.create_allocation(s.ctx, s.wh_a, [Line(s.tents, 20)], incident_id=s.incident, to_place="越秀北路")
    assert _get(store, "allocation_order", oid)["items"][0]["quantity"] == 20
    assert ledger.levels()[(s.wh_a, s.tents)] == 50  # a draft moves nothing
    dsp.advance_allocation(s.ctx, oid, "approved")
    dsp.advance_allocation(s.ctx, oid, "shipped")
    assert ledger.levels()[(s.wh_a, s.tents)] == 30
    dsp.advance_allocation(s.ctx, oid, "delivered")
    order = _get(store, "allocation_order", oid)
    assert order["status"] == "delivered" and order["delivered_at"]
    with pytest.raises(DispatchRefused):
        dsp.advance_allocation(s.ctx, oid, "shipped")
    assert ledger.levels()[(s.wh_a, s.tents)] == 30  # shipped once only
    log = _log(store)
    assert [e["details"]["status"] for e in log] == ["draft", "approved", "shipped", "delivered"]
    assert all(e["incident_id"] == s.incident for e in log)


def test_allocation_with_bad_quantities_writes_nothing(store):
    s = seed(store)
    with pytest.raises(DispatchRefused):
        dsp.create_allocation(s.ctx, s.wh_a, [Line(s.tents, 5), Line(s.water, -3)], to_place="X")
    with pytest.raises(DispatchRefused):
        dsp.create_allocation(s.ctx, s.wh_a, [], to_place="X")
    t = table_for("allocation_order")
    assert store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t)).scalar()) == 0
    assert _log(store) == []


def test_shelter_opens_fills_and_refuses_overfilling(store):
    s = seed(store)
    dsp.set_shelter(s.ctx, s.shelter, open_=True, incident_id=s.incident)
    assert _get(store, "shelter", s.shelter)["status"] == "open"
    dsp.set_shelter(s.ctx, s.shelter, occupancy=400)
    with pytest.raises(DispatchRefused, match="exceeds"):
        dsp.set_shelter(s.ctx, s.shelter, occupancy=1001)
    with pytest.raises(DispatchRefused):
        dsp.set_shelter(s.ctx, s.shelter, open_=False)  # people are still there
    dsp.set_shelter(s.ctx, s.shelter, occupancy=1000)
    assert _get(store, "shelter", s.shelter)["status"] == "full"
    dsp.set_shelter(s.ctx, s.shelter, occupancy=0)
    dsp.set_shelter(s.ctx, s.shelter, open_=False)
    row = _get(store, "shelter", s.shelter)
    assert (row["status"], row["occupancy"]) == ("closed", 0)
    assert len(_log(store)) == 5
