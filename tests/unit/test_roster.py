"""The roster: shift rules (order, overlap, roles), copy last week, and which shift is on watch."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.domain import clock
from app.domain.validate import ValidationError
from app.services import roster
from app.services.shift_queries import current_shift
from app.store import records
from app.store.schema import outbox, table_for

ORG = "00000000-0000-4000-8000-0000000000f1"
OTHER_ORG = "00000000-0000-4000-8000-0000000000f2"
OFFICER = "00000000-0000-4000-8000-000000000101"
OFFICER2 = "00000000-0000-4000-8000-000000000102"
LEADER = "00000000-0000-4000-8000-000000000201"
VIEWER = "00000000-0000-4000-8000-000000000301"
T0 = dt.datetime(2026, 11, 23, 8, 30, tzinfo=clock.BEIJING)  # a Monday
NOW = clock.iso(T0)


@pytest.fixture
def world(store):
    users = [(OFFICER, "officer", "陈嘉欣", "officer"), (OFFICER2, "officer2", "黄志明", "officer"),
             (LEADER, "leader", "王建国", "leader"), (VIEWER, "viewer", "大屏", "viewer")]
    store.write_sync(lambda c: records.bulk_load(c, [
        ("user", {"id": i, "username": u, "name": n, "role": r, "active": True, "phone": "13900000000"})
        for i, u, n, r in users]))
    return store


def draft(start: dt.datetime, hours: float = 24, officers=(OFFICER, OFFICER2), leader=LEADER, org=ORG, **kw):
    return roster.ShiftDraft(start, start + dt.timedelta(hours=hours), list(officers), leader, org_unit_id=org, **kw)


def save(store, d, shift_id=None):
    return store.write_sync(lambda c: roster.save_shift(c, d, shift_id=shift_id, author_id=OFFICER, now=NOW))


def counts(store):
    s = table_for("shift")
    return store.read(lambda c: (c.execute(sa.select(sa.func.count()).select_from(s)).scalar(),
                                 c.execute(sa.select(sa.func.count()).select_from(outbox)).scalar()))


def fields(exc: pytest.ExceptionInfo) -> set[str]:
    return {p.field for p in exc.value.problems}


def test_a_valid_shift_is_saved_planned_with_its_outbox_row(world):
    sid = save(world, draft(T0, officer_phone="020-83000110"))
    row = world.read(roster.get_shift, sid)
    assert row.status == roster.PLANNED
    assert row.officer_names == ("陈嘉欣", "黄志明") and row.leader_name == "王建国"
    assert row.officer_phone == "020-83000110"
    assert counts(world) == (1, 1)


def test_end_before_start_is_refused_beside_the_end_and_nothing_is_written(world):
    with pytest.raises(ValidationError) as e:
        save(world, draft(T0, hours=-2))
    assert fields(e) == {"ends_at"}
    assert "晚于" in e.value.problems[0].message_zh
    assert counts(world) == (0, 0)


def test_an_overlapping_shift_of_the_same_unit_is_refused(world):
    save(world, draft(T0))
    with pytest.raises(ValidationError) as e:
        save(world, draft(T0 + dt.timedelta(hours=23)))
    assert fields(e) == {"starts_at"}
    assert "重叠" in e.value.problems[0].message_zh
    # Back to back is fine, and another org unit's shift may share the hours.
    save(world, draft(T0 + dt.timedelta(hours=24)))
    save(world, draft(T0, org=OTHER_ORG))
    assert counts(world)[0] == 3


def test_a_cancelled_shift_no_longer_blocks_its_hours(world):
    sid = save(world, draft(T0))
    world.write_sync(lambda c: roster.cancel_shift(c, sid, author_id=OFFICER, now=NOW))
    save(world, draft(T0))


def test_officers_must_be_officers_or_leaders_and_the_leader_a_leader(world):
    with pytest.raises(ValidationError) as e:
        save(world, draft(T0, officers=(OFFICER, VIEWER), leader=OFFICER2))
    assert fields(e) == {"officer_ids", "leader_id"}
    with pytest.raises(ValidationError) as e:
        save(world, draft(T0, officers=()))
    assert fields(e) == {"officer_ids"}
    with pytest.raises(ValidationError) as e:
        save(world, draft(T0, officers=(OFFICER, "not-a-user")))
    assert fields(e) == {"officer_ids"}
    assert counts(world) == (0, 0)


def test_phone_format_and_overlong_shift_are_questioned(world):
    with pytest.raises(ValidationError) as e:
        save(world, draft(T0, hours=72, leader_phone="call 王"))
    assert fields(e) == {"ends_at", "leader_phone"}


def test_editing_keeps_its_own_hours_out_of_the_overlap_check_and_patches_only_changes(world):
    sid = save(world, draft(T0))
    save(world, draft(T0 + dt.timedelta(hours=1), officers=(OFFICER,)), shift_id=sid)
    row = world.read(roster.get_shift, sid)
    assert row.starts_at == T0 + dt.timedelta(hours=1) and row.officer_ids == (OFFICER,)
    patch = world.read(lambda c: c.execute(sa.select(outbox.c.payload).where(outbox.c.op == "patch")).scalar())
    assert set(patch) == {"starts_at", "ends_at", "officer_ids"}


def test_a_handed_over_shift_cannot_be_edited(world):
    sid = save(world, draft(T0))
    world.write_sync(lambda c: records.patch(c, "shift", sid, {"status": roster.HANDED_OVER}, author_id=None, now=NOW))
    with pytest.raises(ValidationError) as e:
        save(world, draft(T0 + dt.timedelta(hours=1)), shift_id=sid)
    assert "已交班" in e.value.problems[0].message_zh


def test_copy_last_week_copies_each_shift_a_week_later_and_skips_clashes(world):
    last_monday = T0 - dt.timedelta(days=7)
    for day in range(3):
        save(world, draft(last_monday + dt.timedelta(days=day)))
    save(world, draft(T0 + dt.timedelta(days=1, hours=2)))  # already rostered: clashes with day 1 and day 2's copies
    result = world.write_sync(lambda c: roster.copy_week(c, T0.date(), author_id=OFFICER, now=NOW))
    assert len(result.created) == 1 and result.skipped == 2
    week = world.read(roster.shifts_between, T0 - dt.timedelta(hours=8, minutes=30), T0 + dt.timedelta(days=7))
    assert [r.starts_at for r in week] == [T0, T0 + dt.timedelta(days=1, hours=2)]


def test_the_open_shift_is_on_watch_until_handed_over_even_past_its_hours(world):
    open_id = save(world, draft(T0 - dt.timedelta(hours=24)))
    world.write_sync(lambda c: records.patch(c, "shift", open_id, {"status": "open"}, author_id=None, now=NOW))
    planned = save(world, draft(T0))
    later = T0 + dt.timedelta(hours=2)
    assert world.read(current_shift, later).id == open_id  # overran: nobody has taken over yet
    world.write_sync(lambda c: records.patch(c, "shift", open_id, {"status": roster.HANDED_OVER}, author_id=None,
                                             now=NOW))
    assert world.read(current_shift, later).id == planned  # no open shift: the rostered one for these hours
    assert world.read(current_shift, T0 + dt.timedelta(days=3)) is None


def test_duty_people_are_active_officers_and_leaders(world):
    assert {p.id for p in world.read(roster.duty_people)} == {OFFICER, OFFICER2, LEADER}
