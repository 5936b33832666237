"""Reporting up (报): 速报/首报 → 续报一、续报二… → 终报, leader sign-off (签发), the daily report.

Qt-free. An officer's report is written to ``incident_report`` at once (synced,
append-only) with ``signed_by`` empty: it is "awaiting sign-off" on every console.
A leader on ANY console then approves (签发) or returns it with a comment: that writes
a ``report_signoff`` row and a 报 duty-log line in one transaction; the server refuses
a sign-off pushed by anyone but a leader (or administrator) signing in their own name.
A leader's own report is signed as it is written (the row carries ``signed_by``).
The deadline (report_deadlines.reports_due) is met only by a report signed one way or
the other; a returned report never counts and the officer revises and submits anew.

``followup_prefill`` drafts a 续报 from what the duty log recorded for the incident
since the previous report. ``report_html`` and ``daily_report_html`` lay out the plain
official documents that app/ui/incidents/pdf.py prints to A4 PDF.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections import Counter
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.entities import entity
from app.domain.enums import (
    DispatchState,
    IncidentCategory,
    IncidentStatus,
    LogKind,
    ReportKind,
    Severity,
    SignoffDecision,
)
from app.domain.validate import Problem, check_record
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.services.duty_log_writer import append_entry
from app.services.incidents import (
    LEADER_ROLES,
    CheckFailed,
    NotAllowed,
    load_incident,
)
from app.services.report_deadlines import ReportDue, reports_due
from app.store import records
from app.store.schema import table_for

DEFAULT_RECIPIENT = "区委区政府总值班室、市应急管理局指挥中心"
CN_NUMERALS = "零一二三四五六七八九十"

# A report's sign-off state.
SENT = "sent"  # signed as it was written (a leader's own report, or an older console's)
AWAITING = "awaiting"  # submitted by an officer, no leader has decided yet
APPROVED = "approved"  # 签发 by a leader (report_signoff)
RETURNED = "returned"  # returned to the officer with a comment (report_signoff)


def cn_number(n: int) -> str:
    if n <= 10:
        return CN_NUMERALS[n]
    if n < 20:
        return "十" + (CN_NUMERALS[n - 10] if n > 10 else "")
    tens, ones = divmod(n, 10)
    return CN_NUMERALS[tens] + "十" + (CN_NUMERALS[ones] if ones else "")


def report_label(kind: str, seq: int | None, lang: str = "zh") -> str:
    """首报, 续报一 (seq 2), 续报二 (seq 3) …, 终报; English "Follow-up 1"."""
    try:
        k = ReportKind(kind)
    except ValueError:
        return kind
    if k is ReportKind.FOLLOWUP and seq and seq > 1:
        return f"续报{cn_number(seq - 1)}" if lang == "zh" else f"Follow-up {seq - 1}"
    return k.label(lang)


@dataclasses.dataclass(frozen=True)
class ReportRow:
    id: str
    incident_id: str
    kind: str
    seq: int | None
    body: str
    due_at: str | None
    submitted_at: str | None
    signed_by: str | None  # who signed it off (the row's own signer or the approving leader)
    signed_by_name: str | None
    signed_at: str | None  # when it went upward
    recipient: str | None
    status: str = SENT
    author_id: str | None = None
    author_name: str | None = None
    incident_title: str | None = None
    decided_by_name: str | None = None  # the leader who approved or returned it
    comment: str | None = None  # the leader's comment (why it was returned)
    pending: bool = False  # written here, not yet confirmed by the server

    @property
    def awaiting(self) -> bool:
        return self.status == AWAITING

    @property
    def returned(self) -> bool:
        return self.status == RETURNED

    @property
    def counted(self) -> bool:
        """Went upward: meets the deadline."""
        return self.status in (SENT, APPROVED)

    @property
    def on_time(self) -> bool | None:
        due, sent = clock.parse(self.due_at), clock.parse(self.signed_at or self.submitted_at)
        return None if due is None or sent is None or not self.counted else sent <= due


def _user_names(conn: sa.Connection) -> dict[str, str]:
    u = table_for("user")
    return {r.id: r.name for r in conn.execute(sa.select(u.c.id, u.c.name))}


def _signoffs(conn: sa.Connection, report_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    so = table_for("report_signoff")
    out: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(report_ids), 500):
        chunk = report_ids[i:i + 500]
        for r in conn.execute(sa.select(so).where(so.c.report_id.in_(chunk), so.c.deleted.is_(False))
                              .order_by(so.c.signed_at)).mappings():
            out.setdefault(r["report_id"], []).append(dict(r))
    return out


def _rows(conn: sa.Connection, where: list[sa.ColumnElement[bool]]) -> list[ReportRow]:
    rep = table_for("incident_report")
    inc = table_for("incident")
    names = _user_names(conn)
    rows = conn.execute(sa.select(rep, inc.c.title.label("incident_title"))
                        .select_from(rep.outerjoin(inc, inc.c.id == rep.c.incident_id))
                        .where(rep.c.deleted.is_(False), *where)
                        .order_by(rep.c.seq, rep.c.created_at)).mappings().all()
    decisions = _signoffs(conn, [r["id"] for r in rows])
    out = []
    for r in rows:
        signed_by, signed_at, status, decider, comment = r["signed_by"], r["signed_at"], SENT, None, None
        if not signed_by:
            ds = decisions.get(r["id"], [])
            approved = next((d for d in ds if d["decision"] == SignoffDecision.APPROVED.value), None)
            last = approved or (ds[-1] if ds else None)
            status = APPROVED if approved else RETURNED if last else AWAITING
            if last is not None:
                decider, comment = names.get(last["signed_by"]), last["comment"]
            if approved is not None:
                signed_by, signed_at = approved["signed_by"], approved["signed_at"]
        out.append(ReportRow(r["id"], r["incident_id"], r["kind"], r["seq"], r["body"], r["due_at"],
                             r["submitted_at"], signed_by, names.get(signed_by) if signed_by else None, signed_at,
                             r["recipient"], status, r["created_by"], names.get(r["created_by"]),
                             r["incident_title"], decider, comment, r["server_rev"] is None))
    return out


def list_reports(conn: sa.Connection, incident_id: str) -> list[ReportRow]:
    """The incident's reports in the order they were written, whatever their sign-off state.

    The 续报 are numbered here, by when they were written, not by the stored ``seq``: two
    consoles writing offline may both have stored 续报二, and both land (reports are
    append-only). Shown in writing order they read 续报二, 续报三 — never two of one number.
    A returned report keeps its stored number and does not count.
    """
    rep = table_for("incident_report")
    rows = _rows(conn, [rep.c.incident_id == incident_id])
    rows.sort(key=lambda r: (r.submitted_at or "", r.id))
    out, followups = [], 0
    for r in rows:
        if r.kind == ReportKind.FOLLOWUP.value and r.status != RETURNED:
            followups += 1
            r = dataclasses.replace(r, seq=followups + 1)  # report_label: seq 2 is 续报一
        out.append(r)
    return out


def load_report(conn: sa.Connection, report_id: str) -> ReportRow | None:
    rep = table_for("incident_report")
    rows = _rows(conn, [rep.c.id == report_id])
    return rows[0] if rows else None


def _undecided(conn: sa.Connection) -> list[sa.ColumnElement[bool]]:
    rep = table_for("incident_report")
    so = table_for("report_signoff")
    return [rep.c.signed_by.is_(None),
            ~sa.exists().where(so.c.report_id == rep.c.id, so.c.deleted.is_(False))]


def awaiting_signoff(conn: sa.Connection) -> list[ReportRow]:
    """Every report in this console's scope waiting for a leader's 签发, the soonest due first."""
    rows = _rows(conn, _undecided(conn))
    return sorted(rows, key=lambda r: (r.due_at or "9999", r.submitted_at or ""))


def count_awaiting(conn: sa.Connection) -> int:
    rep = table_for("incident_report")
    return conn.execute(sa.select(sa.func.count()).select_from(rep)
                        .where(rep.c.deleted.is_(False), *_undecided(conn))).scalar() or 0


def next_due(conn: sa.Connection, incident_id: str) -> ReportDue | None:
    due = reports_due(conn, incident_ids=[incident_id])
    return due[0] if due else None


def _not_returned(conn: sa.Connection) -> sa.ColumnElement[bool]:
    rep = table_for("incident_report")
    so = table_for("report_signoff")
    returned = sa.and_(rep.c.signed_by.is_(None),
                       sa.exists().where(so.c.report_id == rep.c.id, so.c.deleted.is_(False),
                                         so.c.decision == SignoffDecision.RETURNED.value),
                       ~sa.exists().where(so.c.report_id == rep.c.id, so.c.deleted.is_(False),
                                          so.c.decision == SignoffDecision.APPROVED.value))
    return ~returned


def _next_seq(conn: sa.Connection, incident_id: str) -> int:
    """A returned report gives its number back: the revised one is 续报一 again, not 续报二."""
    rep = table_for("incident_report")
    n = conn.execute(sa.select(sa.func.max(rep.c.seq)).where(
        rep.c.incident_id == incident_id, rep.c.deleted.is_(False), _not_returned(conn))).scalar()
    return (n or 0) + 1


def _last_report_at(conn: sa.Connection, incident_id: str) -> str | None:
    rep = table_for("incident_report")
    return conn.execute(sa.select(sa.func.max(sa.func.coalesce(rep.c.submitted_at, rep.c.created_at)))
                        .where(rep.c.incident_id == incident_id, rep.c.deleted.is_(False),
                               _not_returned(conn))).scalar()


def _hhmm(value: str | None) -> str:
    t = clock.parse(value)
    return clock.to_beijing(t).strftime("%H:%M") if t else ""


def _casualty_sentence(inc: dict[str, Any]) -> str:
    parts = [(inc.get(k) or 0, w) for k, w in (("dead", "死亡"), ("injured", "受伤"), ("missing", "失踪"),
                                                ("trapped", "被困"))]
    said = [f"{w}{n}人" for n, w in parts if n]
    return "造成" + "、".join(said) + "。" if said else "暂无人员伤亡报告。"


def first_prefill(conn: sa.Connection, incident_id: str) -> str:
    inc = load_incident(conn, incident_id) or {}
    t = clock.parse(inc.get("occurred_at"))
    when = clock.to_beijing(t).strftime("%Y年%m月%d日%H:%M许") if t else ""
    summary = (inc.get("summary") or "").strip()
    what = inc.get("subtype") or "突发事件"
    return (f"关于{inc.get('title', '')}的报告：{when}，{inc.get('place') or ''}发生{what}。"
            f"{summary}{'' if summary.endswith('。') or not summary else '。'}{_casualty_sentence(inc)}"
            "接报后，区应急管理局立即通知属地街道和相关队伍赶赴现场处置。")


def followup_prefill(conn: sa.Connection, incident_id: str) -> str:
    """A 续报 draft: the current figures, then each log line recorded since the previous report."""
    inc = load_incident(conn, incident_id) or {}
    since = clock.parse(_last_report_at(conn, incident_id))
    log = table_for("duty_log_entry")
    rows = conn.execute(sa.select(log.c.occurred_at, log.c.kind, log.c.body)
                        .where(log.c.incident_id == incident_id, log.c.deleted.is_(False))
                        .order_by(log.c.occurred_at)).all()
    lines = []
    for r in rows:
        at = clock.parse(r.occurred_at)
        if since is not None and at is not None and at <= since:
            continue
        body = (r.body or "").strip()
        lines.append(body if body[:5].count(":") == 1 and body[:2].isdigit() else f"{_hhmm(r.occurred_at)} {body}")
    head = f"关于{inc.get('title', '')}的续报：截至{clock.now().strftime('%H:%M')}，"
    status = IncidentStatus(inc["status"]).zh if inc.get("status") in IncidentStatus.codes() else ""
    head += f"事件处于{status}阶段，{_casualty_sentence(inc)}"
    if inc.get("affected"):
        head += f"受影响群众{inc['affected']}人。"
    if not lines:
        return head + "\n自上次报告以来，值班日志未记录新的进展。"
    return head + "\n自上次报告以来：\n" + "\n".join(lines)


def final_prefill(conn: sa.Connection, incident_id: str) -> str:
    inc = load_incident(conn, incident_id) or {}
    closed = clock.parse(inc.get("closed_at"))
    when = clock.to_beijing(closed).strftime("%m月%d日%H:%M") if closed else ""
    return (f"关于{inc.get('title', '')}的终报：{inc.get('place') or ''}{inc.get('subtype') or '突发事件'}"
            f"已于{when}处置完毕，{_casualty_sentence(inc)}现场已恢复正常，事件结案。")


def prefill(conn: sa.Connection, incident_id: str, kind: str) -> str:
    if kind == "final":
        return final_prefill(conn, incident_id)
    if kind == "followup":
        return followup_prefill(conn, incident_id)
    return first_prefill(conn, incident_id)


def check_report(kind: str, body: str, recipient: str | None) -> list[Problem]:
    data = {"kind": kind, "body": body}
    if recipient:
        data["recipient"] = recipient
    problems = [p for p in check_record(entity("incident_report"), data, partial=True)]
    if not (body or "").strip():
        problems.append(Problem("body", "required", "请填写报告正文", "write the report's text"))
    if not (recipient or "").strip():
        problems.append(Problem("recipient", "required", "请填写报送对象", "say to whom it is sent"))
    return problems


def compose_report(ctx: AppContext, incident_id: str, kind: str, body: str,
                   recipient: str | None = DEFAULT_RECIPIENT) -> str:
    """Write the report row at once; a leader's is signed and sent, an officer's awaits 签发.

    Returns the report id.
    """
    if ctx.user is None:
        raise NotAllowed("请先登录。", "Sign in first.")
    if ctx.user.role not in (*LEADER_ROLES, "officer"):
        raise NotAllowed("只读账户不能报送。", "A read-only account cannot report.")
    problems = check_report(kind, body, recipient)
    if problems:
        raise CheckFailed(problems, [])
    due = ctx.read(next_due, incident_id)
    leader = ctx.user.role in LEADER_ROLES
    user = ctx.user

    def run(conn: sa.Connection) -> str:
        inc = load_incident(conn, incident_id)
        if inc is None:
            raise KeyError(incident_id)
        now = clock.now_iso()
        seq = _next_seq(conn, incident_id)
        k = "first" if kind == "followup" and seq == 1 else kind  # nothing reported yet: this is the 首报
        data = {"incident_id": incident_id, "kind": k, "seq": seq, "body": body,
                "due_at": clock.iso(due.due_at) if due else None, "submitted_at": now,
                "signed_by": user.id if leader else None, "signed_at": now if leader else None,
                "recipient": recipient, "org_unit_id": inc.get("org_unit_id"), "drill": bool(inc.get("drill"))}
        rid = records.create(conn, "incident_report", {k: v for k, v in data.items() if v is not None},
                             author_id=user.id, now=now)
        if leader:
            _log_sent(conn, ctx, inc, rid, k, seq, recipient, now)
        return rid

    rid = ctx.store.write_sync(run)
    ctx.publish(ChangeSet.of("incident_report", [rid]).merge(ChangeSet.of("duty_log_entry")))
    return rid


def _log_sent(conn, ctx: AppContext, inc: dict, rid: str, kind: str, seq: int | None, recipient: str | None,
              now: str, signoff_id: str | None = None) -> None:
    details = {"report_id": rid, "report_kind": kind, "seq": seq}
    if signoff_id:
        details["signoff_id"] = signoff_id
    append_entry(conn, kind="report", body=f"{inc['title']}：已向{recipient or '上级'}报送{report_label(kind, seq)}。",
                 author_id=ctx.user.id, device_id=ctx.device_id, now=now, org_unit_id=inc.get("org_unit_id"),
                 incident_id=inc["id"], drill=bool(inc.get("drill")), details=details)


def check_signoff(decision: str, comment: str | None) -> list[Problem]:
    problems = []
    if decision not in SignoffDecision.codes():
        problems.append(Problem("decision", "invalid", "请选择签发或退回", "choose approve or return"))
    if decision == SignoffDecision.RETURNED.value and not (comment or "").strip():
        problems.append(Problem("comment", "required", "退回时请写明原因", "say why the report is returned"))
    if len(comment or "") > 2000:
        problems.append(Problem("comment", "too_long", "意见不能超过2000字", "at most 2000 characters"))
    return problems


def sign_report(ctx: AppContext, report_id: str, decision: str = "approved", comment: str | None = None) -> str:
    """签发 (approve) or return a report awaiting sign-off: only a leader (or administrator) may.

    Writes a report_signoff row and a 报 log line in one transaction; returns the sign-off id.
    """
    if ctx.user is None or ctx.user.role not in LEADER_ROLES:
        raise NotAllowed("只有带班领导可以签发报告。", "Only the leader on duty can sign a report off.")
    problems = check_signoff(decision, comment)
    if problems:
        raise CheckFailed(problems, [])
    comment = (comment or "").strip() or None
    user = ctx.user

    def run(conn: sa.Connection) -> str:
        row = load_report(conn, report_id)
        if row is None:
            raise KeyError(report_id)
        if not row.awaiting:
            already = "已签发" if row.counted else "已退回"
            raise NotAllowed(f"该报告{already}，不能再次处理。", "This report was already decided.")
        inc = load_incident(conn, row.incident_id) or {"id": row.incident_id, "title": row.incident_title or ""}
        now = clock.now_iso()
        data = {"report_id": report_id, "incident_id": row.incident_id, "signed_by": user.id, "signed_at": now,
                "decision": decision, "comment": comment, "org_unit_id": inc.get("org_unit_id")}
        sid = records.create(conn, "report_signoff", {k: v for k, v in data.items() if v is not None},
                             author_id=user.id, now=now)
        if decision == SignoffDecision.APPROVED.value:
            _log_sent(conn, ctx, inc, report_id, row.kind, row.seq, row.recipient, now, sid)
        else:
            label = report_label(row.kind, row.seq)
            append_entry(conn, kind="report", body=f"{inc['title']}：{label}退回修改（{comment}）。",
                         author_id=user.id, device_id=ctx.device_id, now=now, org_unit_id=inc.get("org_unit_id"),
                         incident_id=row.incident_id, drill=bool(inc.get("drill")),
                         details={"report_id": report_id, "report_kind": row.kind, "seq": row.seq,
                                  "signoff_id": sid, "decision": decision})
        return sid

    sid = ctx.store.write_sync(run)
    ctx.publish(ChangeSet.of("report_signoff", [sid]).merge(ChangeSet.of("incident_report", [report_id]))
                .merge(ChangeSet.of("duty_log_entry")))
    return sid


# ---- Documents ---------------------------------------------------------------------------------

def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _paragraphs(text: str) -> str:
    return "".join(f"<p class='body'>{_e(line)}</p>" for line in (text or "").splitlines() if line.strip())


def _cn_time(value: str | None) -> str:
    t = clock.parse(value)
    return clock.to_beijing(t).strftime("%Y年%m月%d日 %H:%M") if t else "—"


def report_document(conn: sa.Connection, report_id: str) -> tuple[str, str]:
    """(title, html) of one report (sent, awaiting sign-off or returned) in a plain official layout."""
    rep = load_report(conn, report_id)
    if rep is None:
        raise KeyError(report_id)
    inc = load_incident(conn, rep.incident_id) or {}
    label = report_label(rep.kind, rep.seq)
    title = f"关于{inc.get('title', '')}的{label}"
    if rep.counted:
        signed = f"{rep.signed_by_name or '已签发'}（{_cn_time(rep.signed_at)}）"
    elif rep.returned:
        signed = f"已退回：{rep.comment or ''}"
    else:
        signed = "待签发"
    sent_at = rep.signed_at if rep.counted else rep.submitted_at
    meta = [("报送对象", rep.recipient or "—"),
            ("事件级别", Severity(inc["severity"]).zh if inc.get("severity") in Severity.codes() else "—"),
            ("报送时间" if rep.counted else "提交时间", _cn_time(sent_at)),
            ("签发", signed)]
    body = [f"<h1>{_e(title)}</h1>", "<table class='meta'>"]
    body += [f"<tr><td class='k'>{_e(k)}：</td><td>{_e(v)}</td></tr>" for k, v in meta]
    body += ["</table><hr/>", _paragraphs(rep.body or ""),
             f"<p class='sign'>越秀区应急管理局值班室<br/>{_e(_cn_time(sent_at))}</p>"]
    return title, _wrap("\n".join(body))


@dataclasses.dataclass
class DailyReport:
    day: dt.date
    incidents: list[dict[str, Any]]
    reports: list[dict[str, Any]]
    dispatches: list[dict[str, Any]]
    instructions: list[dict[str, Any]]
    log_counts: dict[str, int]
    log_lines: list[dict[str, Any]]


def _day_bounds(day: dt.date) -> tuple[str, str]:
    start = dt.datetime.combine(day, dt.time(), clock.BEIJING)
    return clock.iso(start), clock.iso(start + dt.timedelta(days=1))


def _in_day(col: sa.ColumnElement, day: dt.date) -> sa.ColumnElement[bool]:
    start, end = _day_bounds(day)
    return sa.and_(sa.func.julianday(col) >= sa.func.julianday(start), sa.func.julianday(col) < sa.func.julianday(end))


def daily_report(conn: sa.Connection, day: dt.date) -> DailyReport:
    """值班日报: the day's incidents (and those still open), reports, dispatches, instructions and log."""
    inc = table_for("incident")
    rep = table_for("incident_report")
    dis = table_for("dispatch")
    ins = table_for("instruction")
    log = table_for("duty_log_entry")
    team = table_for("team")
    real = sa.or_(inc.c.drill.is_(None), inc.c.drill.is_(False))
    incidents = [dict(r) for r in conn.execute(
        sa.select(inc).where(inc.c.deleted.is_(False), real, _in_day(inc.c.occurred_at, day))
        .order_by(inc.c.occurred_at)).mappings()]
    titles = {r["id"]: r["title"] for r in incidents}

    def title_of(iid: str | None) -> str:
        if iid and iid not in titles:
            titles[iid] = conn.execute(sa.select(inc.c.title).where(inc.c.id == iid)).scalar() or ""
        return titles.get(iid or "", "")

    so = table_for("report_signoff")
    approved = (sa.select(so.c.report_id, sa.func.min(so.c.signed_at).label("approved_at"))
                .where(so.c.deleted.is_(False), so.c.decision == SignoffDecision.APPROVED.value)
                .group_by(so.c.report_id).subquery())
    sent_at = sa.case((rep.c.signed_by.isnot(None), rep.c.submitted_at), else_=approved.c.approved_at)
    reports = [dict(r) | {"incident_title": title_of(r["incident_id"])} for r in conn.execute(  # only what went up
        sa.select(*[c for c in rep.c if c.name != "submitted_at"], sent_at.label("submitted_at"))
        .select_from(rep.outerjoin(approved, approved.c.report_id == rep.c.id))
        .where(rep.c.deleted.is_(False), _in_day(sent_at, day)).order_by(sent_at)).mappings()]
    dispatches = [dict(r) | {"incident_title": title_of(r["incident_id"])} for r in conn.execute(
        sa.select(dis, team.c.name.label("team_name")).select_from(dis.outerjoin(team, team.c.id == dis.c.team_id))
        .where(dis.c.deleted.is_(False), _in_day(dis.c.ordered_at, day)).order_by(dis.c.ordered_at)).mappings()]
    instructions = [dict(r) | {"incident_title": title_of(r["incident_id"])} for r in conn.execute(
        sa.select(ins).where(ins.c.deleted.is_(False), _in_day(ins.c.given_at, day))
        .order_by(ins.c.given_at)).mappings()]
    counts = Counter(dict(conn.execute(sa.select(log.c.kind, sa.func.count()).where(
        log.c.deleted.is_(False), _in_day(log.c.occurred_at, day)).group_by(log.c.kind)).all()))
    lines = [dict(r) for r in conn.execute(
        sa.select(log.c.occurred_at, log.c.kind, log.c.body).where(
            log.c.deleted.is_(False), _in_day(log.c.occurred_at, day), log.c.kind.in_(("receive", "report", "handle")))
        .order_by(log.c.occurred_at).limit(200)).mappings()]
    return DailyReport(day, incidents, reports, dispatches, instructions, dict(counts), lines)


def _table(head: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p class='body'>无。</p>"
    out = ["<table class='grid' width='100%' cellspacing='0' cellpadding='4'><tr>"]
    out += [f"<th>{_e(h)}</th>" for h in head]
    out.append("</tr>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>")
    out.append("</table>")
    return "".join(out)


def daily_report_document(data: DailyReport) -> tuple[str, str]:
    title = f"越秀区应急管理局值班日报（{data.day.year}年{data.day.month}月{data.day.day}日）"

    def label(cls, code):
        return cls(code).zh if code in cls.codes() else (code or "—")

    body = [f"<h1>{_e(title)}</h1>"]
    total = sum(data.log_counts.values())
    kinds = "，".join(f"{LogKind(k).zh} {n} 条" for k, n in sorted(data.log_counts.items()) if k in LogKind.codes())
    body.append(f"<p class='body'>本日共接报突发事件 {len(data.incidents)} 起，上报 {len(data.reports)} 份，"
                f"调派 {len(data.dispatches)} 次，领导批示 {len(data.instructions)} 条；值班日志 {total} 条"
                f"{'（' + kinds + '）' if kinds else ''}。</p>")
    body.append("<h2>一、突发事件</h2>")
    body.append(_table(["时间", "事件", "类别", "级别", "状态", "伤亡"], [
        [_hhmm(r["occurred_at"]), r["title"], label(IncidentCategory, r["category"]),
         label(Severity, r["severity"]), label(IncidentStatus, r["status"]),
         f"亡{r.get('dead') or 0} 伤{r.get('injured') or 0} 失{r.get('missing') or 0} 困{r.get('trapped') or 0}"]
        for r in data.incidents]))
    body.append("<h2>二、信息报送</h2>")
    body.append(_table(["报送时间", "事件", "报告", "报送对象"], [
        [_hhmm(r["submitted_at"]), r["incident_title"], report_label(r["kind"], r["seq"]), r.get("recipient") or ""]
        for r in data.reports]))
    body.append("<h2>三、力量调派</h2>")
    body.append(_table(["调派时间", "事件", "队伍", "状态"], [
        [_hhmm(r["ordered_at"]), r["incident_title"], r.get("team_name") or "", label(DispatchState, r.get("state"))]
        for r in data.dispatches]))
    body.append("<h2>四、领导批示</h2>")
    body.append(_table(["时间", "批示人", "内容", "承办", "办理"], [
        [_hhmm(r["given_at"]), r.get("given_by") or "", r["body"], r.get("owner") or "",
         "已办结" if r.get("status") == "done" else "待办"] for r in data.instructions]))
    body.append("<h2>五、值班记录摘要</h2>")
    body.append(_table(["时间", "类型", "内容"], [
        [_hhmm(r["occurred_at"]), label(LogKind, r["kind"]), r["body"]] for r in data.log_lines]))
    return title, _wrap("\n".join(body))


def _wrap(inner: str) -> str:
    return ("<html><head><style>"
            "h1 { font-size: 16pt; text-align: center; font-weight: bold; margin-bottom: 12pt; }"
            "h2 { font-size: 12pt; font-weight: bold; margin-top: 10pt; }"
            "p.body { font-size: 11pt; line-height: 150%; text-indent: 2em; margin: 2pt 0; }"
            "p.sign { font-size: 11pt; text-align: right; margin-top: 24pt; }"
            "table.meta td { font-size: 10.5pt; padding: 1pt 4pt; } td.k { font-weight: bold; }"
            "table.grid { border-collapse: collapse; } table.grid th, table.grid td "
            "{ border: 1px solid #444; font-size: 9.5pt; }"
            "</style></head><body>" + inner + "</body></html>")


STALE_AFTER = dt.timedelta(days=7)  # a report overdue longer than this is history, not today's work


def current_dues(conn: sa.Connection, now: dt.datetime | None = None) -> list[ReportDue]:
    """Reports owed now: open incidents, and closed ones whose 终报 fell due within the last week."""
    now = now or clock.now()
    return [d for d in reports_due(conn) if d.kind != "final" or d.due_at > now - STALE_AFTER]
