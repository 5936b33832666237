"""An incident's timeline merges log, reports, dispatches, instructions and status moves in time order."""

from __future__ import annotations

import datetime as dt

from app.domain import clock
from app.services.duty_log_writer import append_entry
from app.services.timeline import timeline
from app.store import records

U = "00000000-0000-4000-8000-000000000001"
T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=clock.BEIJING)


def _t(minutes: int) -> str:
    return clock.iso(T0 + dt.timedelta(minutes=minutes))


def test_items_merge_in_time_order_across_offsets(store):
    def run(c):
        team = records.create(c, "team", dict(name="区消防救援站", type="fire", headcount=30, status="standby"),
                              author_id=U, now=_t(0))
        iid = records.create(c, "incident", dict(title="11·23环市东路火灾", category="accident", severity="IV",
                                                 status="reported", occurred_at=_t(0)), author_id=U, now=_t(1))
        other = records.create(c, "incident", dict(title="别的事件", category="accident", severity="IV",
                                                   status="reported", occurred_at=_t(0)), author_id=U, now=_t(1))
        append_entry(c, kind="receive", body="接报", author_id=U, device_id=U, now=_t(2), incident_id=iid)
        append_entry(c, kind="note", body="别的", author_id=U, device_id=U, now=_t(3), incident_id=other)
        records.create(c, "dispatch", dict(team_id=team, incident_id=iid, state="ordered", ordered_at=_t(5)),
                       author_id=U, now=_t(5))
        # 08:40 Beijing written as UTC: must sort after 08:30, not before 08:02.
        records.create(c, "incident_report", dict(incident_id=iid, kind="first", seq=1, body="首报",
                                                  submitted_at="2026-11-23T00:40:00+00:00"), author_id=U, now=_t(40))
        records.create(c, "instruction", dict(incident_id=iid, given_at=_t(30), given_by="区长", body="全力处置",
                                              status="open"), author_id=U, now=_t(30))
        append_entry(c, kind="handle", body="状态 接报 → 响应", author_id=U, device_id=U, now=_t(50),
                     incident_id=iid, details={"status_from": "reported", "status_to": "responding"})
        return iid

    iid = store.write_sync(run)
    items = store.read(timeline, iid)
    assert [i.kind for i in items] == ["incident", "log", "dispatch", "instruction", "report", "status"]
    assert items[2].text.startswith("区消防救援站")
    assert items[-1].sub == "responding"
    assert all("别的" not in i.text for i in items)


def test_unknown_incident_is_empty(store):
    assert store.read(timeline, "00000000-0000-4000-8000-00000000dead") == []
