"""Which report each incident owes next, and by when."""

from __future__ import annotations

import datetime as dt

import pytest

from app.services.report_deadlines import load_rules, parse_rules, reports_due
from app.store import records

U = "00000000-0000-4000-8000-000000000001"
T0 = "2026-11-23T08:00:00+08:00"
BJ = dt.timezone(dt.timedelta(hours=8))


def _incident(store, severity="II", status="reported", closed_at=None, title="11·23越秀路火灾"):
    data = dict(title=title, category="accident", severity=severity, status=status, occurred_at=T0)
    if closed_at:
        data["closed_at"] = closed_at
    return store.write_sync(lambda c: records.create(c, "incident", data, author_id=U, now=T0))


def _report(store, incident_id, kind, at, signed=True):
    data = dict(incident_id=incident_id, kind=kind, body="报告", submitted_at=at)
    if signed:  # a leader's own report: signed as it is written
        data.update(signed_by=U, signed_at=at)
    return store.write_sync(lambda c: records.create(c, "incident_report", data, author_id=U, now=at))


def _signoff(store, report_id, decision, at):
    store.write_sync(lambda c: records.create(c, "report_signoff", dict(
        report_id=report_id, signed_by=U, signed_at=at, decision=decision, comment="意见"), author_id=U, now=at))


def test_shipped_rules_load_and_cover_every_severity():
    assert set(load_rules()) == {"I", "II", "III", "IV"}


def test_first_then_followups_then_final(store):
    rules = load_rules()
    iid = _incident(store)
    (due,) = store.read(reports_due, rules)
    assert (due.kind, due.seq) == ("first", 1)
    assert due.due_at == dt.datetime(2026, 11, 23, 8, 30, tzinfo=BJ)
    assert due.overdue(dt.datetime(2026, 11, 23, 8, 31, tzinfo=BJ))
    assert not due.overdue(dt.datetime(2026, 11, 23, 8, 29, tzinfo=BJ))

    _report(store, iid, "first", "2026-11-23T08:20:00+08:00")
    (due,) = store.read(reports_due, rules)
    assert (due.kind, due.seq) == ("followup", 2)
    assert due.due_at == dt.datetime(2026, 11, 23, 11, 20, tzinfo=BJ)  # II: every 180 min

    store.write_sync(lambda c: records.patch(c, "incident", iid, {"status": "closed",
                                                                  "closed_at": "2026-11-23T12:00:00+08:00"},
                                             author_id=U, now=T0))
    (due,) = store.read(reports_due, rules)
    assert (due.kind, due.seq) == ("final", 2)
    _report(store, iid, "final", "2026-11-23T13:00:00+08:00")
    assert store.read(reports_due, rules) == []


def test_cancelled_owes_nothing_and_soonest_comes_first(store):
    _incident(store, status="cancelled")
    slow = _incident(store, severity="IV", title="慢")
    fast = _incident(store, severity="I", title="快")
    assert [d.incident_id for d in store.read(reports_due, load_rules())] == [fast, slow]


def test_bad_rules_are_refused():
    with pytest.raises(ValueError):
        parse_rules({"I": {"first_minutes": 0, "followup_every_minutes": 1, "final_minutes_after_close": 1}})


def test_an_incident_closed_without_any_report_owes_nothing(store):
    _incident(store, status="closed", closed_at="2026-11-23T09:00:00+08:00", title="本地处置")
    assert store.read(reports_due, load_rules()) == []


def test_a_report_counts_only_once_approved_and_from_the_time_of_approval(store):
    rules = load_rules()
    iid = _incident(store)
    rid = _report(store, iid, "first", "2026-11-23T08:10:00+08:00", signed=False)  # awaiting 签发
    (due,) = store.read(reports_due, rules)
    assert (due.kind, due.seq) == ("first", 1)  # still owed: nothing went upward yet
    _signoff(store, rid, "approved", "2026-11-23T08:25:00+08:00")
    (due,) = store.read(reports_due, rules)
    assert (due.kind, due.seq) == ("followup", 2)
    assert due.due_at == dt.datetime(2026, 11, 23, 11, 25, tzinfo=BJ)  # 180 min after the approval


def test_a_returned_report_does_not_count_and_both_paths_mix(store):
    rules = load_rules()
    iid = _incident(store)
    returned = _report(store, iid, "first", "2026-11-23T08:10:00+08:00", signed=False)
    _signoff(store, returned, "returned", "2026-11-23T08:15:00+08:00")
    (due,) = store.read(reports_due, rules)
    assert (due.kind, due.seq) == ("first", 1)
    _report(store, iid, "first", "2026-11-23T08:20:00+08:00")  # the leader's own, signed as written
    approved = _report(store, iid, "followup", "2026-11-23T09:00:00+08:00", signed=False)
    (due,) = store.read(reports_due, rules)
    assert (due.kind, due.seq) == ("followup", 2)  # the 续报 awaiting 签发 does not count yet
    assert due.due_at == dt.datetime(2026, 11, 23, 11, 20, tzinfo=BJ)
    _signoff(store, approved, "approved", "2026-11-23T09:30:00+08:00")
    (due,) = store.read(reports_due, rules)
    assert (due.kind, due.seq) == ("followup", 3)
    assert due.due_at == dt.datetime(2026, 11, 23, 12, 30, tzinfo=BJ)


def test_a_final_awaiting_signoff_keeps_the_final_owed(store):
    iid = _incident(store)
    _report(store, iid, "first", "2026-11-23T08:20:00+08:00")
    store.write_sync(lambda c: records.patch(c, "incident", iid, {"status": "closed",
                                                                  "closed_at": "2026-11-23T12:00:00+08:00"},
                                             author_id=U, now=T0))
    final = _report(store, iid, "final", "2026-11-23T12:30:00+08:00", signed=False)
    assert [d.kind for d in store.read(reports_due, load_rules())] == ["final"]
    _signoff(store, final, "approved", "2026-11-23T12:40:00+08:00")
    assert store.read(reports_due, load_rules()) == []
