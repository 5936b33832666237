"""Consultation sessions: schedule, start from an incident, minutes and decisions land in the duty log."""

from __future__ import annotations

import pytest

from app.domain.validate import ValidationError
from app.services import consultations as cs
from app.services.changes import ChangeSet
from app.store import records


def _log_rows(ctx, cid):
    return ctx.read(cs.call_log, cid)


def test_start_from_incident_minutes_and_decisions_land_in_the_duty_log(vctx):
    seen: list[ChangeSet] = []
    vctx.bus.subscribe(seen.append)
    cid = cs.start_from_incident(vctx, vctx.incident_id, participants=["登峰街应急办", "指挥车"])
    row = vctx.read(cs.get_consultation, cid)
    assert row["title"] == "越秀区东风路内涝 会商"
    assert row["incident_id"] == vctx.incident_id and row["started_at"]

    cs.add_minute(vctx, cid, "现场积水约 40 厘米，两辆车被困", call_time_s=75.0)
    cs.add_decision(vctx, cid, "调派区三防抢险队 2 个小组支援", call_time_s=130.5, owner="区三防办")
    cs.end(vctx, cid)

    log = _log_rows(vctx, cid)
    assert [e.action for e in log] == ["start", "minute", "decision", "end"]
    assert [e.kind for e in log] == ["handle", "note", "handle", "handle"]
    minute, decision = log[1], log[2]
    assert "两辆车被困" in minute.body and minute.call_time_s == 75.0
    assert "区三防抢险队" in decision.body and "区三防办" in decision.body and decision.call_time_s == 130.5
    assert "纪要 1 条，决定事项 1 项" in log[3].body

    entry = vctx.read(records.get, "duty_log_entry", minute.id)
    assert entry["incident_id"] == vctx.incident_id
    assert entry["details"]["consultation_id"] == cid
    assert entry["hash"] and entry["prev_hash"]  # chained like every other log line

    row = vctx.read(cs.get_consultation, cid)
    assert row["minutes"] == "[01:15] 现场积水约 40 厘米，两辆车被困"
    assert row["decisions"][0]["text"] == "调派区三防抢险队 2 个小组支援"
    assert row["decisions"][0]["log_entry_id"] == decision.id
    assert row["ended_at"]
    assert any(c.touches("duty_log_entry") for c in seen) and any(c.touches("consultation") for c in seen)


def test_schedule_validates_and_start_logs(vctx):
    with pytest.raises(ValidationError) as err:
        cs.schedule(vctx, title="  ", participants=["a"])
    assert err.value.problems[0].field == "title"
    problems = cs.check_schedule("会商", "2026-11-23 10:00", [])
    assert [p.field for p in problems] == ["scheduled_at"]  # a time without offset is refused, with a message
    assert problems[0].message_zh
    assert [p.field for p in cs.check_schedule("会商", None, ["a", "b", "c", "d", "e", "f"])] == ["participants"]

    cid = cs.schedule(vctx, title="汛期会商", incident_id=vctx.incident_id, scheduled_at="2026-11-23T10:00:00+08:00",
                      participants=[{"name": "华乐街", "kind": "console"}], agenda="1. 雨情 2. 部署")
    rows = vctx.read(cs.list_consultations)
    assert rows[0].id == cid and rows[0].status == "scheduled" and rows[0].incident_title == "越秀区东风路内涝"
    assert _log_rows(vctx, cid) == []  # scheduling leaves no log line
    cs.start(vctx, cid)
    assert vctx.read(cs.list_consultations)[0].status == "live"
    with pytest.raises(ValueError):
        cs.start(vctx, cid)
    with pytest.raises(ValidationError):
        cs.add_minute(vctx, cid, "   ")


def test_attendance_records_join_and_leave(vctx):
    cid = cs.start_from_incident(vctx, vctx.incident_id, participants=[{"name": "指挥车", "kind": "console",
                                                                       "ref_id": "peer-1"}])
    cs.record_attendance(vctx, cid, "指挥车", "joined", ref_id="peer-1")
    cs.record_attendance(vctx, cid, "无人机 1 号", "joined", kind="feed")
    cs.record_attendance(vctx, cid, "指挥车", "left", ref_id="peer-1")
    parts = {p["name"]: p for p in vctx.read(cs.get_consultation, cid)["participants"]}
    assert [e["event"] for e in parts["指挥车"]["events"]] == ["joined", "left"]
    assert parts["无人机 1 号"]["kind"] == "feed" and len(parts) == 2


def test_start_from_a_warning_in_one_step(vctx):
    from app.domain import clock

    now = clock.now_iso()
    wid = vctx.store.write_sync(lambda conn: records.create(conn, "warning", {
        "title": "越秀区暴雨橙色预警", "level": "orange", "status": "issued", "body": "未来3小时降雨量将达50毫米以上"},
        author_id=vctx.user.id, now=now))
    cid = cs.start_from_warning(vctx, wid, participants=["区三防办"])
    row = vctx.read(cs.get_consultation, cid)
    assert row["title"] == "越秀区暴雨橙色预警 会商" and row["started_at"]
    assert "未来3小时降雨量" in row["agenda"]
    start = vctx.read(cs.call_log, cid)[0]
    assert start.action == "start"
    assert vctx.read(records.get, "duty_log_entry", start.id)["details"]["warning_id"] == wid
