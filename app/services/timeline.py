"""An incident's timeline: its log entries, reports, dispatches, instructions and status changes.

Qt-free. Five indexed look-ups by ``incident_id`` (each table carries an index on it),
merged in time order in Python, so opening the timeline costs the same with ten or
ten thousand incidents in the cache. Status changes are the 处 log lines whose
``details`` carry ``status_from``/``status_to`` (app/services/incidents.save_incident).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import sqlalchemy as sa

from app.domain import clock
from app.domain.enums import DispatchState, IncidentStatus
from app.store.schema import table_for

# Item kinds, in the order they sort when two share a time.
KINDS = ("incident", "log", "status", "report", "dispatch", "instruction")
_ORDER = {k: i for i, k in enumerate(KINDS)}
_FAR_PAST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class TimelineItem:
    at: str  # ISO-8601 with offset
    kind: str  # one of KINDS
    sub: str  # log kind / report kind / dispatch state / instruction status / status code
    text: str  # what happened, as recorded (Chinese, verbatim)
    entity: str
    record_id: str

    @property
    def when(self) -> dt.datetime:
        return _when(self.at)


def _when(value: str | None) -> dt.datetime:
    return clock.parse(value) or _FAR_PAST


@functools.cache
def _statements() -> tuple[sa.Select, ...]:
    """The five look-ups, built once with a bound incident id (SQLAlchemy then skips re-coercion)."""
    inc = table_for("incident")
    log = table_for("duty_log_entry")
    rep = table_for("incident_report")
    dis = table_for("dispatch")
    ins = table_for("instruction")
    team = table_for("team")
    iid = sa.bindparam("iid")
    return (
        sa.select(inc.c.id, inc.c.title, inc.c.occurred_at, inc.c.created_at).where(inc.c.id == iid),
        sa.select(log.c.id, log.c.occurred_at, log.c.kind, log.c.body, log.c.details)
        .where(log.c.incident_id == iid, log.c.deleted.is_(False)),
        sa.select(rep.c.id, rep.c.kind, rep.c.seq, rep.c.body, rep.c.submitted_at, rep.c.created_at)
        .where(rep.c.incident_id == iid, rep.c.deleted.is_(False)),
        sa.select(dis.c.id, dis.c.state, dis.c.ordered_at, dis.c.created_at, dis.c.note, team.c.name.label("team"))
        .select_from(dis.outerjoin(team, team.c.id == dis.c.team_id))
        .where(dis.c.incident_id == iid, dis.c.deleted.is_(False)),
        sa.select(ins.c.id, ins.c.given_at, ins.c.given_by, ins.c.body, ins.c.status, ins.c.owner, ins.c.closed_at)
        .where(ins.c.incident_id == iid, ins.c.deleted.is_(False)),
    )


def timeline(conn: sa.Connection, incident_id: str) -> list[TimelineItem]:
    """Everything recorded about one incident, oldest first."""
    q_head, q_log, q_rep, q_dis, q_ins = _statements()
    arg = {"iid": incident_id}
    items: list[TimelineItem] = []
    head = conn.execute(q_head, arg).first()
    if head is None:
        return []
    items.append(TimelineItem(head.occurred_at or head.created_at, "incident", "occurred", head.title or "",
                              "incident", head.id))
    for r in conn.execute(q_log, arg):
        details = r.details if isinstance(r.details, dict) else {}
        if details.get("status_to"):
            items.append(TimelineItem(r.occurred_at, "status", details["status_to"], r.body or "",
                                      "duty_log_entry", r.id))
        else:
            items.append(TimelineItem(r.occurred_at, "log", r.kind or "", r.body or "", "duty_log_entry", r.id))
    for r in conn.execute(q_rep, arg):
        items.append(TimelineItem(r.submitted_at or r.created_at, "report", r.kind or "", r.body or "",
                                  "incident_report", r.id))
    for r in conn.execute(q_dis, arg):
        state = DispatchState(r.state).zh if r.state in DispatchState.codes() else (r.state or "")
        text = f"{r.team or ''} {state}" + (f"：{r.note}" if r.note else "")
        items.append(TimelineItem(r.ordered_at or r.created_at, "dispatch", r.state or "", text.strip(),
                                  "dispatch", r.id))
    for r in conn.execute(q_ins, arg):
        who = f"{r.given_by}：" if r.given_by else ""
        items.append(TimelineItem(r.given_at, "instruction", r.status or "", f"{who}{r.body}", "instruction", r.id))
    items.sort(key=lambda it: (it.when, _ORDER.get(it.kind, 9), it.record_id))
    return items


def status_label(code: str, lang: str = "zh") -> str:
    return IncidentStatus(code).label(lang) if code in IncidentStatus.codes() else code
