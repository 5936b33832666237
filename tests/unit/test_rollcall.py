"""Roll-calls: a 守 log entry with the response time, bad times questioned, the recent list."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.domain import clock
from app.domain.validate import ValidationError
from app.services import duty_log_writer, rollcall
from app.store import records
from app.store.schema import table_for

OFFICER = "00000000-0000-4000-8000-000000000101"
VIEWER = "00000000-0000-4000-8000-000000000301"
DEVICE = "00000000-0000-4000-8000-00000000000d"
NOW_T = clock.now().replace(microsecond=0)
NOW = clock.iso(NOW_T)


@pytest.fixture
def world(store):
    store.write_sync(lambda c: records.bulk_load(c, [
        ("user", {"id": OFFICER, "username": "officer", "name": "陈嘉欣", "role": "officer", "active": True}),
        ("user", {"id": VIEWER, "username": "viewer", "name": "大屏", "role": "viewer", "active": True}),
    ]))
    return store


def draft(called_ago_s=120, answered_after_s=14, by=OFFICER, caller="广州市应急管理局总值班室", channel="video"):
    called = NOW_T - dt.timedelta(seconds=called_ago_s)
    return rollcall.RollCallDraft(caller, channel, called, called + dt.timedelta(seconds=answered_after_s), by)


def record(store, d):
    return store.write_sync(lambda c: rollcall.record_rollcall(c, d, author_id=OFFICER, device_id=DEVICE, now=NOW))


def log_count(store):
    t = table_for("duty_log_entry")
    return store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t)).scalar())


def test_a_roll_call_is_a_chained_watch_entry_with_its_response_time(world):
    eid = record(world, draft(answered_after_s=75))
    e = world.read(records.get, "duty_log_entry", eid)
    assert e["kind"] == "watch"
    rc = e["details"]["rollcall"]
    assert rc["response_s"] == 75 and rc["channel"] == "video" and rc["answered_by"] == OFFICER
    assert rc["answered_by_name"] == "陈嘉欣" and rc["caller"] == "广州市应急管理局总值班室"
    assert e["occurred_at"] == rc["called_at"]
    assert "视频点名" in e["body"] and "1 分 15 秒" in e["body"] and "陈嘉欣" in e["body"]
    assert e["hash"] == world.read(duty_log_writer.chain_head, DEVICE)


@pytest.mark.parametrize("bad, field", [
    (dict(answered_after_s=-5), "answered_at"),          # answered before the call
    (dict(called_ago_s=-3600, answered_after_s=0), "called_at"),  # a call an hour in the future
    (dict(called_ago_s=2 * 86400), "called_at"),         # two days ago: questioned
    (dict(caller="   "), "caller"),
    (dict(channel="pigeon"), "channel"),
    (dict(by=VIEWER), "answered_by"),
    (dict(by=None), "answered_by"),
])
def test_bad_input_is_refused_beside_its_field_and_nothing_is_logged(world, bad, field):
    with pytest.raises(ValidationError) as e:
        record(world, draft(**bad))
    assert field in {p.field for p in e.value.problems}
    assert log_count(world) == 0


def test_recent_roll_calls_read_new_and_older_entries_newest_first(world):
    record(world, draft(called_ago_s=600, answered_after_s=9))
    record(world, draft(called_ago_s=60, answered_after_s=31, caller="广东省应急管理厅", channel="phone"))
    # An entry in the demo's older shape, synced from another console.
    world.write_sync(lambda c: records.bulk_load(c, [("duty_log_entry", {
        "id": records.new_id(), "kind": "watch", "body": "广州市应急管理局视频点名，15秒内应答。",
        "occurred_at": clock.iso(NOW_T - dt.timedelta(hours=3)), "author_id": OFFICER,
        "details": {"answered_in_s": 15, "by": "广州市应急管理局"}})]))
    world.write_sync(lambda c: duty_log_writer.append_entry(c, kind="watch", body="巡查视频监控，运行正常。",
                                                            author_id=OFFICER, device_id=DEVICE, now=NOW))
    rows = world.read(rollcall.recent_rollcalls)
    assert [r.caller for r in rows] == ["广东省应急管理厅", "广州市应急管理局总值班室", "广州市应急管理局"]
    assert [r.response_seconds for r in rows] == [31, 9, 15]
    assert rows[0].channel == "phone" and rows[2].channel == "video" and rows[2].answered_by == "陈嘉欣"
    assert rollcall.response_summary(rows) == (3, pytest.approx(55 / 3), 31)


def test_response_time_wording():
    assert rollcall.describe_seconds(9) == "9 秒"
    assert rollcall.describe_seconds(135, "en") == "2 min 15 s"
    assert rollcall.describe_seconds(None) == "—"
