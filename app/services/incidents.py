"""The incident form's use cases: read one incident, check an edit, save only what changed.

Qt-free. The workspace (app/ui/incidents) keeps each tab's unsaved edits here too, in
the store's ``draft`` table, so a crash or a power cut loses nothing typed.

- ``street_for_point``: the 属地 street is the org unit of kind "street" whose boundary
  holds the incident's coordinates.
- ``suggested_name``: the "M·D + place + type" naming convention (11·23泰康公寓火情).
- ``check_edit``: errors (refused) and questions (asked once, then accepted): a time in
  the future or one before the incident was taken in is questioned, not silently kept.
- ``save_incident``: a patch of the changed fields only (field-level conflict policy),
  with a 处 (handle) log line in the same transaction when the status moves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.entities import entity
from app.domain.enums import INCIDENT_TRANSITIONS, IncidentStatus
from app.domain.validate import Problem, check_record
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.services.duty_log_writer import append_entry
from app.services.places import Street, street_at
from app.store import records
from app.store.schema import draft, table_for

# Sub-types are data (DOMAIN.md): the district's configurable list, by category.
SUBTYPES: dict[str, tuple[str, ...]] = {
    "natural": ("内涝", "暴雨", "台风", "三防", "地质灾害", "树木倒伏", "森林火灾", "地震", "高温"),
    "accident": ("火灾", "道路交通事故", "电梯困人", "燃气泄漏", "供水管道爆裂", "停电", "房屋险情",
                 "建筑施工事故", "危险化学品泄漏", "城市生命线"),
    "public_health": ("食物中毒", "传染病聚集性疫情", "职业中毒"),
    "social_security": ("人员聚集", "群体性事件", "涉外突发事件"),
}

CASUALTY_FIELDS = ("dead", "injured", "missing", "trapped", "affected")
FORM_FIELDS = ("title", "category", "subtype", "severity", "response_level", "status", "place", "lon", "lat",
               "org_unit_id", "occurred_at", "summary", *CASUALTY_FIELDS, "commander", "drill")
LEADER_ROLES = ("leader",)
FUTURE_SLACK = dt.timedelta(minutes=5)  # clocks of two consoles never agree to the second


class NotAllowed(Exception):
    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh, self.message_en = message_zh, message_en

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


class CheckFailed(Exception):
    """The edit was not saved: ``errors`` are refused, ``questions`` need the officer's confirmation."""

    def __init__(self, errors: list[Problem], questions: list[Problem]):
        super().__init__("; ".join(f"{p.field}: {p.message_en}" for p in errors + questions))
        self.errors, self.questions = errors, questions


def load_incident(conn: sa.Connection, incident_id: str) -> dict[str, Any] | None:
    row = records.get(conn, "incident", incident_id)
    return row if row and not row.get("deleted") else None


def street_for_point(conn: sa.Connection, lon: float | None, lat: float | None,
                     scope_id: str | None = None) -> Street | None:
    """The street (街道) whose boundary contains the point, among those in ``scope_id`` when given."""
    return street_at(conn, lon, lat, scope_id)


def org_unit_name(conn: sa.Connection, org_unit_id: str | None) -> str | None:
    if not org_unit_id:
        return None
    org = table_for("org_unit")
    return conn.execute(sa.select(org.c.name).where(org.c.id == org_unit_id)).scalar()


def suggested_name(occurred_at: str | None, place: str | None, subtype: str | None) -> str:
    """"M·D + place + type": 11·23越秀北路内涝 (Beijing date of occurrence)."""
    t = clock.parse(occurred_at) or clock.now()
    t = clock.to_beijing(t)
    return f"{t.month}·{t.day}{(place or '').strip()}{(subtype or '').strip()}"


def allowed_statuses(current: str, role: str | None) -> list[str]:
    """The statuses the form offers: the current one, then the legal moves (a leader may also reopen)."""
    moves = set(INCIDENT_TRANSITIONS.get(current, frozenset()))
    if role in LEADER_ROLES:
        moves |= set(IncidentStatus.codes())
    moves.discard(current)
    return [current] + [c for c in IncidentStatus.codes() if c in moves]


def _question(field: str, zh: str, en: str) -> Problem:
    return Problem(field, "question", zh, en)


def check_edit(before: Mapping[str, Any] | None, changes: Mapping[str, Any], *, role: str | None,
               now: dt.datetime | None = None) -> tuple[list[Problem], list[Problem]]:
    """(errors, questions) for ``changes`` applied over ``before`` (None: a new incident)."""
    now = now or clock.now()
    merged = {**(before or {}), **changes}
    errors = list(check_record(entity("incident"), changes, partial=before is not None))
    for name in ("title", "category", "severity", "status", "occurred_at"):
        value = merged.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if not any(p.field == name for p in errors):
                errors.append(Problem(name, "required", "必填", "required"))
    for name in CASUALTY_FIELDS:
        v = changes.get(name)
        if isinstance(v, int) and not isinstance(v, bool) and v < 0 and not any(p.field == name for p in errors):
            errors.append(Problem(name, "negative", "不能为负数", "cannot be negative"))
    if (merged.get("lon") is None) != (merged.get("lat") is None):
        errors.append(Problem("lat" if merged.get("lat") is None else "lon", "pair",
                              "经度和纬度需同时填写", "give both longitude and latitude"))
    if before is not None and "status" in changes and changes["status"] != before.get("status"):
        if changes["status"] not in allowed_statuses(before.get("status") or "reported", role):
            errors.append(Problem("status", "transition", "此状态变更需由带班领导决定",
                                  "only the leader on duty can make this status change"))
    occurred = clock.parse(changes.get("occurred_at")) if "occurred_at" in changes else None
    if occurred is not None:
        if occurred > now + FUTURE_SLACK:
            questions = [_question("occurred_at", "发生时间在将来，请核实", "the time of occurrence is in the future")]
        else:
            questions = []
        intake = clock.parse((before or {}).get("created_at"))
        if intake is not None and occurred > intake + FUTURE_SLACK:
            questions.append(_question("occurred_at", "发生时间晚于接报时间，请核实",
                                       "the time of occurrence is after the incident was reported"))
    else:
        questions = []
    return errors, questions


def diff(before: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields the officer changed (so the field-level conflict policy sees just those)."""
    return {k: v for k, v in form.items() if k in FORM_FIELDS and before.get(k) != v}


def _status_line(before: str, after: str, title: str) -> tuple[str, str]:
    zh = f"{title}：状态 {IncidentStatus(before).zh} → {IncidentStatus(after).zh}"
    return zh, f"{IncidentStatus(before).en} → {IncidentStatus(after).en}"


def save_incident(ctx: AppContext, incident_id: str, form: Mapping[str, Any], *,
                  confirmed: bool = False) -> dict[str, Any]:
    """Patch the changed fields; a status move also writes a 处 log line. Returns the fields saved.

    Raises CheckFailed (nothing written) with errors, or with questions when not ``confirmed``.
    """
    if ctx.user is None:
        raise NotAllowed("请先登录。", "Sign in first.")
    role = ctx.user.role

    def run(conn: sa.Connection) -> dict[str, Any]:
        before = load_incident(conn, incident_id)
        if before is None:
            raise KeyError(incident_id)
        changes = diff(before, form)
        if not changes:
            return {}
        if ("lon" in changes or "lat" in changes) and changes.get("org_unit_id") is None:
            lon, lat = form.get("lon", before.get("lon")), form.get("lat", before.get("lat"))
            street = street_for_point(conn, lon, lat, ctx.user.org_unit_id)
            if street is not None and street.id != before.get("org_unit_id"):
                changes["org_unit_id"] = street.id
        errors, questions = check_edit(before, changes, role=role)
        if errors or (questions and not confirmed):
            raise CheckFailed(errors, questions)
        now = clock.now_iso()
        status_from, status_to = before.get("status"), changes.get("status")
        if status_to in ("closed", "cancelled") and not before.get("closed_at"):
            changes["closed_at"] = now
        elif status_to in IncidentStatus.codes() and status_to not in ("closed", "cancelled") \
                and before.get("closed_at"):
            changes["closed_at"] = None  # a leader reopened it
        records.patch(conn, "incident", incident_id, changes, author_id=ctx.user.id, now=now)
        if status_to and status_to != status_from:
            body, _ = _status_line(status_from or "reported", status_to, changes.get("title", before["title"]))
            append_entry(conn, kind="handle", body=body, author_id=ctx.user.id, device_id=ctx.device_id, now=now,
                         org_unit_id=changes.get("org_unit_id", before.get("org_unit_id")),
                         incident_id=incident_id, drill=bool(before.get("drill")),
                         details={"status_from": status_from, "status_to": status_to})
        return changes

    saved = ctx.store.write_sync(run)
    if saved:
        changes = ChangeSet.of("incident", [incident_id])
        if "status" in saved:
            changes = changes.merge(ChangeSet.of("duty_log_entry"))
        ctx.publish(changes)
    return saved


# ---- Drafts: what is typed and not yet saved ---------------------------------------------------

def draft_key(incident_id: str, part: str = "form") -> str:
    return f"incident:{incident_id}:{part}"


def save_draft(ctx: AppContext, key: str, fields: Mapping[str, Any]) -> Any:
    """Queue the draft on the writer (returns its Future; the GUI never waits on fsync)."""
    payload = dict(fields)
    saved_at = clock.now_iso()

    def run(conn: sa.Connection) -> None:
        conn.execute(draft.delete().where(draft.c.form_key == key))
        conn.execute(draft.insert().values(form_key=key, fields=payload, saved_at=saved_at))
    return ctx.store.write(run)


def load_draft(conn: sa.Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(draft.c.fields).where(draft.c.form_key == key)).first()
    return dict(row.fields) if row else None


def drafts_with_prefix(conn: sa.Connection, prefix: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(sa.select(draft.c.form_key, draft.c.fields)
                        .where(draft.c.form_key.startswith(prefix, autoescape=True)))
    return {r.form_key: dict(r.fields) for r in rows}


def clear_draft(ctx: AppContext, key: str) -> Any:
    return ctx.store.write(lambda conn: conn.execute(draft.delete().where(draft.c.form_key == key)))
