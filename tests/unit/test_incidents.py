"""The incident form's rules: legal status moves, 属地 from coordinates, only changed fields saved."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.domain import clock
from app.services import incidents as S
from app.services.changes import ChangeBus
from app.services.context import AppContext, SignedInUser
from app.store import records
from app.store.device import ensure_device
from app.store.schema import outbox, table_for

OFFICER = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zs", name="张三", role="officer")
LEADER = SignedInUser(id="00000000-0000-4000-8000-0000000000b1", username="lm", name="李明", role="leader")
SQUARE = {"type": "Polygon", "coordinates": [[[113.0, 23.0], [113.1, 23.0], [113.1, 23.1], [113.0, 23.1],
                                               [113.0, 23.0]]]}


@pytest.fixture
def ctx(store):
    context = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=OFFICER)
    return context


def _seed(ctx, **over):
    now = clock.now_iso()
    data = dict(title="11·23越秀北路内涝", category="natural", severity="III", status="reported",
                occurred_at=clock.iso(clock.now() - dt.timedelta(hours=1)), place="越秀北路", dead=0)
    data.update(over)

    def run(conn):
        street = records.create(conn, "org_unit", {"name": "北京街道", "kind": "street", "boundary": SQUARE},
                                author_id=None, now=now)
        return street, records.create(conn, "incident", data, author_id=OFFICER.id, now=now)
    return ctx.store.write_sync(run)


def _log_lines(ctx, incident_id):
    log = table_for("duty_log_entry")
    return ctx.read(lambda c: c.execute(sa.select(log.c.kind, log.c.body, log.c.details)
                                        .where(log.c.incident_id == incident_id)).all())


def test_only_legal_moves_are_offered():
    assert S.allowed_statuses("reported", "officer") == ["reported", "verified", "responding", "closed", "cancelled"]
    assert S.allowed_statuses("responding", "officer") == ["responding", "closed"]
    assert S.allowed_statuses("closed", "officer") == ["closed"]
    assert "responding" in S.allowed_statuses("closed", "leader")  # reopening is the leader's call


def test_suggested_name_follows_month_day_place_type():
    assert S.suggested_name("2026-11-23T08:15:00+08:00", "越秀北路", "内涝") == "11·23越秀北路内涝"
    # Beijing's date, not UTC's: 23:30 UTC on the 22nd is the 23rd in Guangzhou.
    assert S.suggested_name("2026-11-22T23:30:00+00:00", "环市东路", "火灾") == "11·23环市东路火灾"


def test_street_is_derived_from_the_coordinates(ctx):
    street, _ = _seed(ctx)
    assert ctx.read(S.street_for_point, 113.05, 23.05) == S.Street(street, "北京街道")
    assert ctx.read(S.street_for_point, 113.5, 23.05) is None


def test_save_patches_only_changed_fields_and_logs_the_status_move(ctx):
    street, iid = _seed(ctx)
    saved = S.save_incident(ctx, iid, {"title": "11·23越秀北路内涝", "status": "verified", "injured": 2,
                                       "lon": 113.05, "lat": 23.05})
    assert set(saved) == {"status", "injured", "lon", "lat", "org_unit_id"}
    assert saved["org_unit_id"] == street
    patch = ctx.read(lambda c: c.execute(sa.select(outbox.c.payload).where(outbox.c.op == "patch")).scalar_one())
    assert "title" not in patch and patch["status"] == "verified"
    (line,) = [r for r in _log_lines(ctx, iid) if r.kind == "handle"]
    assert "接报 → 核实" in line.body and line.details["status_to"] == "verified"


def test_illegal_move_is_refused_for_an_officer_and_allowed_for_the_leader(ctx):
    _, iid = _seed(ctx, status="closed")
    with pytest.raises(S.CheckFailed) as e:
        S.save_incident(ctx, iid, {"status": "responding"})
    assert [p.field for p in e.value.errors] == ["status"]
    ctx.user = LEADER
    assert S.save_incident(ctx, iid, {"status": "responding"})["status"] == "responding"


def test_negative_casualties_refused_and_nothing_written(ctx):
    _, iid = _seed(ctx)
    before = ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(outbox)).scalar())
    with pytest.raises(S.CheckFailed) as e:
        S.save_incident(ctx, iid, {"dead": -1, "status": "verified"})
    assert {p.field for p in e.value.errors} == {"dead"}
    assert ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(outbox)).scalar()) == before
    assert ctx.read(S.load_incident, iid)["status"] == "reported"


def test_future_time_is_questioned_then_accepted_when_confirmed(ctx):
    _, iid = _seed(ctx)
    future = clock.iso(clock.now() + dt.timedelta(hours=3))
    with pytest.raises(S.CheckFailed) as e:
        S.save_incident(ctx, iid, {"occurred_at": future})
    assert not e.value.errors and e.value.questions[0].field == "occurred_at"
    assert S.save_incident(ctx, iid, {"occurred_at": future}, confirmed=True) == {"occurred_at": future}


def test_closing_sets_closed_at(ctx):
    _, iid = _seed(ctx)
    S.save_incident(ctx, iid, {"status": "closed"})
    assert ctx.read(S.load_incident, iid)["closed_at"]


def test_drafts_round_trip(ctx):
    key = S.draft_key("x")
    S.save_draft(ctx, key, {"title": "未保存的标题", "dead": "3"}).result()
    assert ctx.read(S.load_draft, key) == {"title": "未保存的标题", "dead": "3"}
    S.clear_draft(ctx, key).result()
    assert ctx.read(S.load_draft, key) is None
