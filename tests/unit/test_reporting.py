"""Reporting up: officers' reports wait for the leader's 签发; signing writes the row and a 报 line."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.domain import clock
from app.services import instructions as I
from app.services import reporting as R
from app.services.changes import ChangeBus
from app.services.context import AppContext, SignedInUser
from app.services.duty_log_writer import append_entry
from app.services.incidents import CheckFailed, NotAllowed
from app.services.report_deadlines import reports_due
from app.store import records
from app.store.device import ensure_device
from app.store.schema import table_for

OFFICER = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zs", name="张三", role="officer")
LEADER = SignedInUser(id="00000000-0000-4000-8000-0000000000b1", username="lm", name="李明", role="leader")


@pytest.fixture
def ctx(store):
    return AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=OFFICER)


def _incident(ctx, **over):
    t = clock.now() - dt.timedelta(hours=2)
    data = dict(title="11·23东风中路燃气泄漏", category="accident", subtype="燃气泄漏", severity="II",
                status="responding", occurred_at=clock.iso(t), place="东风中路", injured=1)
    data.update(over)
    return ctx.store.write_sync(lambda c: records.create(c, "incident", data, author_id=OFFICER.id,
                                                         now=clock.iso(t)))


def _log(ctx, iid, body, minutes_ago):
    at = clock.iso(clock.now() - dt.timedelta(minutes=minutes_ago))
    ctx.store.write_sync(lambda c: append_entry(c, kind="handle", body=body, author_id=OFFICER.id,
                                                device_id=ctx.device_id, now=at, incident_id=iid))


def _reports(ctx, iid):
    rep = table_for("incident_report")
    return ctx.read(lambda c: c.execute(sa.select(rep).where(rep.c.incident_id == iid).order_by(rep.c.seq))
                    .mappings().all())


def test_labels():
    assert R.report_label("first", 1) == "首报"
    assert R.report_label("followup", 2) == "续报一"
    assert R.report_label("followup", 12) == "续报十一"
    assert R.report_label("followup", 3, "en") == "Follow-up 2"
    assert R.report_label("final", 5) == "终报"


def _signoffs(ctx, rid):
    so = table_for("report_signoff")
    return ctx.read(lambda c: c.execute(sa.select(so).where(so.c.report_id == rid)).mappings().all())


def _queued(ctx, entity):
    from app.store.schema import outbox
    return ctx.read(lambda c: c.execute(sa.select(outbox.c.entity_id).where(outbox.c.entity == entity))
                    .scalars().all())


def test_officer_report_is_written_at_once_awaiting_signoff_and_the_deadline_keeps_counting(ctx):
    iid = _incident(ctx)
    rid = R.compose_report(ctx, iid, "first", "首报正文")
    (row,) = _reports(ctx, iid)
    assert row["id"] == rid and row["signed_by"] is None and row["signed_at"] is None and row["submitted_at"]
    assert rid in _queued(ctx, "incident_report")  # synced: a leader on any console sees it
    (listed,) = ctx.read(R.list_reports, iid)
    assert listed.awaiting and listed.status == R.AWAITING and listed.author_name is None  # no user row here
    assert [r.id for r in ctx.read(R.awaiting_signoff)] == [rid] and ctx.read(R.count_awaiting) == 1
    assert ctx.read(reports_due)[0].kind == "first"  # nothing went upward yet
    with pytest.raises(NotAllowed):
        R.sign_report(ctx, rid)
    log = table_for("duty_log_entry")
    assert ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(log)).scalar()) == 0


def test_leader_signs_writes_a_signoff_and_a_report_log_line(ctx):
    iid = _incident(ctx)
    rid = R.compose_report(ctx, iid, "first", "首报正文")
    ctx.user = LEADER
    sid = R.sign_report(ctx, rid)
    (row,) = _reports(ctx, iid)
    assert row["signed_by"] is None and row["created_by"] == OFFICER.id  # the row is append-only, untouched
    (so,) = _signoffs(ctx, rid)
    assert so["id"] == sid and so["signed_by"] == LEADER.id and so["decision"] == "approved"
    assert so["incident_id"] == iid and so["signed_at"] and sid in _queued(ctx, "report_signoff")
    (listed,) = ctx.read(R.list_reports, iid)
    assert listed.status == R.APPROVED and listed.signed_by == LEADER.id and listed.counted
    assert listed.signed_at == so["signed_at"] and listed.on_time is False  # due 30 min after intake, 2 h ago
    log = table_for("duty_log_entry")
    kinds = ctx.read(lambda c: c.execute(sa.select(log.c.kind, log.c.body, log.c.details)
                                         .where(log.c.incident_id == iid)).all())
    assert [k for k, _, _ in kinds] == ["report"] and "首报" in kinds[0][1]
    assert kinds[0][2]["signoff_id"] == sid and kinds[0][2]["report_id"] == rid
    assert ctx.read(reports_due)[0].kind == "followup"
    assert ctx.read(R.awaiting_signoff) == [] and ctx.read(R.count_awaiting) == 0
    with pytest.raises(NotAllowed):  # decided once, for good
        R.sign_report(ctx, rid, "returned", "再改")


def test_leader_returns_with_a_comment_and_the_revised_report_keeps_its_number(ctx):
    iid = _incident(ctx)
    ctx.user = LEADER
    R.compose_report(ctx, iid, "first", "首报")
    ctx.user = OFFICER
    rid = R.compose_report(ctx, iid, "followup", "续报初稿")
    assert _reports(ctx, iid)[1]["seq"] == 2
    ctx.user = LEADER
    with pytest.raises(CheckFailed) as e:
        R.sign_report(ctx, rid, "returned", "  ")
    assert [p.field for p in e.value.errors] == ["comment"] and not _signoffs(ctx, rid)
    R.sign_report(ctx, rid, "returned", "伤亡数字请与卫健核实")
    row = ctx.read(R.load_report, rid)
    assert row.returned and row.comment == "伤亡数字请与卫健核实" and row.decided_by_name is None
    assert not row.counted and row.on_time is None
    assert ctx.read(reports_due)[0].seq == 2  # the 续报 is still owed
    log = table_for("duty_log_entry")
    bodies = ctx.read(lambda c: c.execute(sa.select(log.c.body).where(log.c.kind == "report")
                                          .order_by(log.c.occurred_at)).scalars().all())
    assert "退回修改" in bodies[-1] and "伤亡数字" in bodies[-1]
    ctx.user = OFFICER
    again = R.compose_report(ctx, iid, "followup", "续报修改稿")
    assert ctx.read(R.load_report, again).seq == 2  # 续报一 again, not 续报二
    assert R.report_label("followup", 2) == "续报一"


def test_awaiting_signoff_lists_every_incident_soonest_due_first(ctx):
    slow = _incident(ctx, severity="IV", title="慢")
    fast = _incident(ctx, severity="I", title="快")
    r_slow = R.compose_report(ctx, slow, "first", "慢的首报")
    r_fast = R.compose_report(ctx, fast, "first", "快的首报")
    rows = ctx.read(R.awaiting_signoff)
    assert [r.id for r in rows] == [r_fast, r_slow] and [r.incident_title for r in rows] == ["快", "慢"]


def test_a_viewer_cannot_report_and_nobody_signs_an_unknown_report(ctx):
    iid = _incident(ctx)
    ctx.user = SignedInUser(id="00000000-0000-4000-8000-0000000000c1", username="v", name="大屏", role="viewer")
    with pytest.raises(NotAllowed):
        R.compose_report(ctx, iid, "first", "x")
    ctx.user = LEADER
    with pytest.raises(KeyError):
        R.sign_report(ctx, "00000000-0000-4000-8000-00000000dead")


def test_followup_prefill_has_only_log_lines_since_the_previous_report(ctx):
    iid = _incident(ctx)
    _log(ctx, iid, "关闭燃气总阀", 100)
    ctx.user = LEADER
    R.compose_report(ctx, iid, "first", "首报")
    _log(ctx, iid, "疏散群众30人", -1)  # a minute after the report (the report was sent "now")
    text = ctx.read(R.followup_prefill, iid)
    assert "疏散群众30人" in text and "关闭燃气总阀" not in text and "受伤1人" in text
    R.compose_report(ctx, iid, "followup", text)
    assert [r["kind"] for r in _reports(ctx, iid)] == ["first", "followup"]
    assert R.report_label(_reports(ctx, iid)[1]["kind"], _reports(ctx, iid)[1]["seq"]) == "续报一"


def test_empty_body_and_recipient_refused(ctx):
    iid = _incident(ctx)
    with pytest.raises(CheckFailed) as e:
        R.compose_report(ctx, iid, "first", "  ", recipient="")
    assert {p.field for p in e.value.errors} == {"body", "recipient"}


def test_daily_report_and_documents(ctx):
    iid = _incident(ctx, occurred_at=clock.now_iso())
    ctx.store.write_sync(lambda c: records.bulk_load(c, [("user", {"id": LEADER.id, "username": "lm", "name": "李明",
                                                                   "role": "leader"})]))
    ctx.user = LEADER
    rid = R.compose_report(ctx, iid, "first", "首报正文第一段\n第二段")
    title, html = ctx.read(R.report_document, rid)
    assert title == "关于11·23东风中路燃气泄漏的首报" and "李明" in html and "第二段" in html
    day = ctx.read(R.daily_report, clock.now().date())
    assert [r["id"] for r in day.incidents] == [iid] and len(day.reports) == 1
    title, html = R.daily_report_document(day)
    assert "值班日报" in title and "11·23东风中路燃气泄漏" in html
    ctx.user = OFFICER
    waiting = R.compose_report(ctx, iid, "followup", "续报待签发")
    assert "待签发" in ctx.read(R.report_document, waiting)[1]
    assert len(ctx.read(R.daily_report, clock.now().date()).reports) == 1  # only what went upward
    ctx.user = LEADER
    R.sign_report(ctx, waiting)
    assert len(ctx.read(R.daily_report, clock.now().date()).reports) == 2
    assert "李明" in ctx.read(R.report_document, waiting)[1]


def test_instruction_to_closure(ctx):
    iid = _incident(ctx)
    given = clock.iso(clock.now() - dt.timedelta(minutes=30))
    due = clock.iso(clock.now() - dt.timedelta(minutes=5))
    ins = I.add_instruction(ctx, iid, given_by="区长 卢家豪", given_at=given, body="全力搜救被困人员",
                            owner="东风街道", due_at=due)
    (row,) = ctx.read(I.list_instructions, iid)
    assert row.status == "open" and row.overdue(clock.now())
    I.close_instruction(ctx, ins, "已完成搜救")
    (row,) = ctx.read(I.list_instructions, iid)
    assert row.status == "done" and row.closed_at and not row.overdue(clock.now())
    log = table_for("duty_log_entry")
    bodies = ctx.read(lambda c: c.execute(sa.select(log.c.body).where(log.c.kind == "handle")).scalars().all())
    assert any("已办结" in b for b in bodies)
    with pytest.raises(NotAllowed):
        I.close_instruction(ctx, ins)


def test_instruction_times_questioned_and_due_before_given_refused(ctx):
    iid = _incident(ctx)
    before_intake = clock.iso(clock.now() - dt.timedelta(days=2))
    with pytest.raises(CheckFailed) as e:
        I.add_instruction(ctx, iid, given_by="区长", given_at=before_intake, body="x")
    assert [p.code for p in e.value.questions] == ["question"] and not e.value.errors
    now = clock.now()
    with pytest.raises(CheckFailed) as e:
        I.add_instruction(ctx, iid, given_by="区长", given_at=clock.iso(now), body="x",
                          due_at=clock.iso(now - dt.timedelta(hours=1)))
    assert [p.field for p in e.value.errors] == ["due_at"]
    with pytest.raises(CheckFailed) as e:
        I.add_instruction(ctx, iid, given_by="", given_at=clock.iso(now), body="")
    assert {p.field for p in e.value.errors} == {"given_by", "body"}


@pytest.mark.parametrize("role, own, allowed", [
    ("leader", True, True), ("admin", True, True), ("leader", False, False),
    ("officer", True, False), ("viewer", True, False),
])
def test_server_authorises_a_signoff_only_from_a_leader_in_their_own_name(role, own, allowed):
    import uuid

    from app.domain.entities import entity
    from app.server.apply import Reject, _authorise
    from app.server.auth import Principal
    from app.sync.wire import Mutation

    who = Principal(LEADER.id, "u", "某人", role, None, str(uuid.uuid4()))
    payload = {"report_id": str(uuid.uuid4()), "signed_by": LEADER.id if own else OFFICER.id,
               "signed_at": clock.now_iso(), "decision": "approved"}
    m = Mutation(mutation_id=str(uuid.uuid4()), device_seq=1, entity="report_signoff", entity_id=str(uuid.uuid4()),
                 op="append", payload=payload)
    if allowed:
        _authorise(who, entity("report_signoff"), m, dict(payload))
    else:
        with pytest.raises(Reject) as e:
            _authorise(who, entity("report_signoff"), m, dict(payload))
        assert e.value.code == "forbidden"
    # The report itself stays an officer's to write.
    rm = Mutation(mutation_id=str(uuid.uuid4()), device_seq=2, entity="incident_report", entity_id=str(uuid.uuid4()),
                  op="append", payload={"incident_id": str(uuid.uuid4()), "kind": "first", "body": "x"})
    if role != "viewer":
        _authorise(who, entity("incident_report"), rm, dict(rm.payload))


def test_two_consoles_offline_never_show_two_reports_of_one_number(ctx):
    # Both consoles stored 续报一 (seq 2) while offline; both rows land (append-only). The list numbers
    # the 续报 by when they were written.
    iid = _incident(ctx)
    base = clock.now() - dt.timedelta(hours=1)

    def write(kind, seq, minutes):
        at = clock.iso(base + dt.timedelta(minutes=minutes))
        ctx.store.write_sync(lambda c: records.create(c, "incident_report", dict(
            incident_id=iid, kind=kind, seq=seq, body="报告", submitted_at=at, signed_by=LEADER.id,
            signed_at=at), author_id=OFFICER.id, now=at))
    write("first", 1, 0)
    write("followup", 2, 20)  # console A's 续报一
    write("followup", 2, 25)  # console B's 续报一, written five minutes later
    labels = [R.report_label(r.kind, r.seq) for r in ctx.read(R.list_reports, iid)]
    assert labels == ["首报", "续报一", "续报二"]
