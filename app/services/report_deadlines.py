"""When each incident's next report upward (报) is due: 首报 → 续报一、二… → 终报.

The rules are data (resources/settings/report_rules.json, overridable by a file of
the same name in the user's data directory) because the deadlines are set by
regulation and change; the code only applies them:

- an incident with no 速报/首报 yet owes a first report ``first_minutes`` after intake
  (the incident's ``created_at``, falling back to ``occurred_at``);
- while it is open, a 续报 is owed ``followup_every_minutes`` after the latest report;
- once closed (结案) without a 终报, the final report is owed
  ``final_minutes_after_close`` after ``closed_at`` — but only by an incident that was
  reported upward at all: one closed with no report was handled locally (most 一般
  incidents are) and owes nothing, otherwise years of minor incidents would bury the
  reports that are really due.

A report counts only once it is signed: the row carries ``signed_by`` (a leader's own
report), or a leader approved it later on any console (an ``approved`` report_signoff,
counted from the time of that approval). One awaiting sign-off, or returned, does not.

Cancelled incidents owe nothing. Qt-free: the overview, the incident workspace and
the handover all ask ``reports_due``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.paths import resources_dir, user_data_dir
from app.store.schema import table_for

RULES_FILE = "report_rules.json"


@dataclasses.dataclass(frozen=True)
class DeadlineRule:
    first_minutes: int
    followup_every_minutes: int
    final_minutes_after_close: int


@dataclasses.dataclass(frozen=True)
class ReportDue:
    incident_id: str
    title: str
    severity: str
    kind: str  # ReportKind code owed next: "first", "followup" or "final"
    seq: int  # 1 for the first report, 2.. for 续报 (续报一 is seq 2), the final's own number
    due_at: dt.datetime
    drill: bool

    def seconds_left(self, now: dt.datetime) -> float:
        return (self.due_at - now).total_seconds()

    def overdue(self, now: dt.datetime) -> bool:
        return self.due_at <= now


def load_rules(path: Path | None = None) -> dict[str, DeadlineRule]:
    """The rules by severity code; a user override file wins over the shipped defaults."""
    candidates = [path] if path else [user_data_dir() / RULES_FILE, resources_dir() / "settings" / RULES_FILE]
    for p in candidates:
        if p is not None and p.is_file():
            return parse_rules(json.loads(p.read_text(encoding="utf-8")))
    raise FileNotFoundError(RULES_FILE)


def parse_rules(raw: Mapping[str, Any]) -> dict[str, DeadlineRule]:
    rules = {}
    for severity, r in raw.items():
        if severity.startswith("_"):
            continue
        values = [int(r[k]) for k in ("first_minutes", "followup_every_minutes", "final_minutes_after_close")]
        if any(v <= 0 for v in values):
            raise ValueError(f"report rule for {severity}: every deadline must be a positive number of minutes")
        rules[severity] = DeadlineRule(*values)
    return rules


def reports_due(conn: sa.Connection, rules: Mapping[str, DeadlineRule] | None = None,
                incident_ids: list[str] | None = None) -> list[ReportDue]:
    """The next report owed by every incident that owes one, soonest first."""
    rules = rules if rules is not None else load_rules()
    inc = table_for("incident")
    rep = table_for("incident_report")
    so = table_for("report_signoff")
    # A report counts once it went upward: signed as it was written (the row carries signed_by),
    # or approved later by a leader (a report_signoff row), at the time of that approval.
    approved = (sa.select(so.c.report_id, sa.func.min(so.c.signed_at).label("approved_at"))
                .where(so.c.deleted.is_(False), so.c.decision == "approved")
                .group_by(so.c.report_id).subquery())
    sent_at = sa.case((rep.c.signed_by.isnot(None), sa.func.coalesce(rep.c.submitted_at, rep.c.created_at)),
                      else_=approved.c.approved_at)
    latest = (sa.select(rep.c.incident_id,
                        sa.func.count().label("n"),
                        sa.func.max(sent_at).label("last_at"),
                        sa.func.max(sa.case((rep.c.kind.in_(("flash", "first")), 1), else_=0)).label("has_first"),
                        sa.func.max(sa.case((rep.c.kind == "final", 1), else_=0)).label("has_final"))
              .select_from(rep.outerjoin(approved, approved.c.report_id == rep.c.id))
              .where(rep.c.deleted.is_(False), sa.or_(rep.c.signed_by.isnot(None), approved.c.approved_at.isnot(None)))
              .group_by(rep.c.incident_id).subquery())
    q = (sa.select(inc.c.id, inc.c.title, inc.c.severity, inc.c.status, inc.c.created_at, inc.c.occurred_at,
                   inc.c.closed_at, inc.c.drill, latest.c.n, latest.c.last_at, latest.c.has_first,
                   latest.c.has_final)
         .select_from(inc.outerjoin(latest, latest.c.incident_id == inc.c.id))
         .where(inc.c.deleted.is_(False), inc.c.status != "cancelled",
                sa.or_(latest.c.has_final.is_(None), latest.c.has_final == 0),
                sa.or_(inc.c.status != "closed", latest.c.n.isnot(None))))
    if incident_ids is not None:
        q = q.where(inc.c.id.in_(incident_ids))
    out = []
    for r in conn.execute(q):
        rule = rules.get(r.severity)
        if rule is None:
            continue
        n = r.n or 0
        if r.status == "closed":
            closed = clock.parse(r.closed_at) or clock.parse(r.last_at) or clock.parse(r.occurred_at)
            kind, seq, due = "final", n + 1, closed + dt.timedelta(minutes=rule.final_minutes_after_close)
        elif not r.has_first:
            start = clock.parse(r.created_at) or clock.parse(r.occurred_at)
            kind, seq, due = "first", 1, start + dt.timedelta(minutes=rule.first_minutes)
        else:
            kind, seq = "followup", n + 1
            due = clock.parse(r.last_at) + dt.timedelta(minutes=rule.followup_every_minutes)
        out.append(ReportDue(r.id, r.title, r.severity, kind, seq, due, bool(r.drill)))
    out.sort(key=lambda d: (d.due_at, d.incident_id))
    return out
