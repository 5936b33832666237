"""The duty roster (排班): shifts by day, who stands them, and the rules a shift must keep.

A shift names its duty officers (``officer_ids``), the leader on duty (带班领导, ``leader_id``)
and the phones to reach them. Rules checked before anything is written, each problem
given beside its field in Chinese and English:

- the shift ends after it starts (and lasts at most ``MAX_HOURS``);
- it does not overlap another live shift of the same org unit;
- every officer is an active user with role officer or leader, the leader has role leader;
- a shift already handed over is history and is not edited.

Status codes (free text on the wire): ``planned`` (rostered, not yet on watch), ``open``
(on watch: taken over at a handover), ``handed_over``, ``cancelled``. Qt-free.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.validate import Problem, ValidationError
from app.store import records
from app.store.schema import table_for

PLANNED, OPEN, HANDED_OVER, CANCELLED = "planned", "open", "handed_over", "cancelled"
FINISHED = ("closed", HANDED_OVER, CANCELLED)
DUTY_ROLES = ("officer", "leader")
MAX_HOURS = 48


@dataclasses.dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    phone: str | None


@dataclasses.dataclass(frozen=True)
class ShiftRow:
    id: str
    org_unit_id: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    officer_ids: tuple[str, ...]
    officer_names: tuple[str, ...]
    leader_id: str | None
    leader_name: str | None
    officer_phone: str | None
    leader_phone: str | None
    status: str | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def contains(self, t: dt.datetime) -> bool:
        return self.starts_at <= t < self.ends_at


@dataclasses.dataclass
class ShiftDraft:
    """What the shift form holds: times as aware datetimes, people as user ids."""

    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    officer_ids: list[str] = dataclasses.field(default_factory=list)
    leader_id: str | None = None
    officer_phone: str = ""
    leader_phone: str = ""
    org_unit_id: str | None = None

    def record(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "starts_at": clock.iso(self.starts_at) if self.starts_at else None,
            "ends_at": clock.iso(self.ends_at) if self.ends_at else None,
            "officer_ids": list(self.officer_ids), "leader_id": self.leader_id,
            "officer_phone": self.officer_phone.strip() or None, "leader_phone": self.leader_phone.strip() or None,
            "org_unit_id": self.org_unit_id,
        }
        return data


def duty_people(conn: sa.Connection) -> list[Person]:
    """Active users who can stand a watch (officers) or lead one (leaders), by role then name."""
    u = table_for("user")
    q = (sa.select(u.c.id, u.c.name, u.c.role, u.c.phone)
         .where(u.c.deleted.is_(False), u.c.role.in_(DUTY_ROLES), sa.or_(u.c.active.is_(None), u.c.active.is_(True)))
         .order_by(u.c.role.desc(), u.c.name))
    return [Person(r.id, r.name, r.role, r.phone) for r in conn.execute(q)]


def user_names(conn: sa.Connection, ids: Sequence[str] | None = None) -> dict[str, str]:
    u = table_for("user")
    q = sa.select(u.c.id, u.c.name)
    if ids is not None:
        q = q.where(u.c.id.in_(list(ids)))
    return {r.id: r.name for r in conn.execute(q)}


def _rows(conn: sa.Connection, query) -> list[ShiftRow]:
    raw = list(conn.execute(query))
    people: set[str] = set()
    for r in raw:
        people.update(r.officer_ids or [])
        if r.leader_id:
            people.add(r.leader_id)
    names = user_names(conn, sorted(people)) if people else {}
    out = []
    for r in raw:
        starts, ends = clock.parse(r.starts_at), clock.parse(r.ends_at)
        if starts is None or ends is None:
            continue
        officers = tuple(r.officer_ids or ())
        out.append(ShiftRow(r.id, r.org_unit_id, starts, ends, officers,
                            tuple(names.get(i, "?") for i in officers), r.leader_id,
                            names.get(r.leader_id) if r.leader_id else None, r.officer_phone, r.leader_phone,
                            r.status))
    return out


def _shift_select():
    s = table_for("shift")
    return s, sa.select(s.c.id, s.c.org_unit_id, s.c.starts_at, s.c.ends_at, s.c.officer_ids, s.c.leader_id,
                        s.c.officer_phone, s.c.leader_phone, s.c.status).where(s.c.deleted.is_(False))


def shifts_between(conn: sa.Connection, start: dt.datetime, end: dt.datetime) -> list[ShiftRow]:
    """Shifts whose hours overlap [start, end), earliest first."""
    s, q = _shift_select()
    q = (q.where(sa.func.julianday(s.c.starts_at) < sa.func.julianday(clock.iso(end)),
                 sa.func.julianday(s.c.ends_at) > sa.func.julianday(clock.iso(start)))
         .order_by(sa.func.julianday(s.c.starts_at), s.c.id))
    return _rows(conn, q)


def get_shift(conn: sa.Connection, shift_id: str) -> ShiftRow | None:
    s, q = _shift_select()
    rows = _rows(conn, q.where(s.c.id == shift_id))
    return rows[0] if rows else None


def upcoming_shifts(conn: sa.Connection, after: ShiftRow | None, limit: int = 10) -> list[ShiftRow]:
    """Live shifts that start at or after ``after`` starts (other than it), soonest first: who takes over."""
    s, q = _shift_select()
    q = q.where(sa.or_(s.c.status.is_(None), s.c.status.notin_(FINISHED)))
    if after is not None:
        q = q.where(s.c.id != after.id,
                    sa.func.julianday(s.c.starts_at) >= sa.func.julianday(clock.iso(after.starts_at)))
    return _rows(conn, q.order_by(sa.func.julianday(s.c.starts_at), s.c.id).limit(limit))


# ---- Checking --------------------------------------------------------------------------------

def _p(field: str, code: str, zh: str, en: str) -> Problem:
    return Problem(field, code, zh, en)


def check_shift(conn: sa.Connection, draft: ShiftDraft, shift_id: str | None = None) -> list[Problem]:
    """Every problem with the draft, each tied to the form field it is about."""
    problems: list[Problem] = []
    if shift_id is not None:
        existing = get_shift(conn, shift_id)
        if existing is not None and existing.finished:
            problems.append(_p("starts_at", "finished", "该班次已交班或撤销，不能再修改",
                               "this shift has been handed over or cancelled and can no longer be changed"))
            return problems
    if draft.starts_at is None:
        problems.append(_p("starts_at", "required", "请填写开始时间", "enter the start time"))
    if draft.ends_at is None:
        problems.append(_p("ends_at", "required", "请填写结束时间", "enter the end time"))
    if draft.starts_at and draft.ends_at:
        if draft.ends_at <= draft.starts_at:
            problems.append(_p("ends_at", "order", "结束时间必须晚于开始时间", "the shift must end after it starts"))
        elif draft.ends_at - draft.starts_at > dt.timedelta(hours=MAX_HOURS):
            problems.append(_p("ends_at", "too_long", f"班次不能超过 {MAX_HOURS} 小时",
                               f"a shift cannot last more than {MAX_HOURS} hours"))
        else:
            clash = overlapping(conn, draft.starts_at, draft.ends_at, draft.org_unit_id, exclude_id=shift_id)
            if clash is not None:
                problems.append(_p(
                    "starts_at", "overlap",
                    f"与已排班次 {clash.starts_at:%m-%d %H:%M}–{clash.ends_at:%m-%d %H:%M} 时间重叠",
                    f"overlaps the shift {clash.starts_at:%m-%d %H:%M}–{clash.ends_at:%m-%d %H:%M}"))
    people = {p.id: p for p in duty_people(conn)}
    if not draft.officer_ids:
        problems.append(_p("officer_ids", "required", "至少安排一名值班员", "roster at least one duty officer"))
    elif any(i not in people for i in draft.officer_ids):
        problems.append(_p("officer_ids", "role", "值班员必须是角色为值班员或带班领导的在岗用户",
                           "duty officers must be active users with the officer or leader role"))
    elif len(set(draft.officer_ids)) != len(draft.officer_ids):
        problems.append(_p("officer_ids", "duplicate", "同一人不能重复安排", "the same person is listed twice"))
    if draft.leader_id is None:
        problems.append(_p("leader_id", "required", "请选择带班领导", "choose the leader on duty"))
    elif draft.leader_id not in people or people[draft.leader_id].role != "leader":
        problems.append(_p("leader_id", "role", "带班领导必须是角色为带班领导的用户",
                           "the leader on duty must be a user with the leader role"))
    for name in ("officer_phone", "leader_phone"):
        phone = getattr(draft, name).strip()
        if phone and (len(phone) > 32 or not all(c.isdigit() or c in "-+() " for c in phone)):
            problems.append(_p(name, "format", "电话号码只能包含数字、空格和 - + ( )",
                               "a phone number may contain only digits, spaces and - + ( )"))
    return problems


def overlapping(conn: sa.Connection, start: dt.datetime, end: dt.datetime, org_unit_id: str | None,
                exclude_id: str | None = None) -> ShiftRow | None:
    """A live shift of the same org unit whose hours overlap [start, end), if any."""
    s, q = _shift_select()
    q = q.where(sa.or_(s.c.status.is_(None), s.c.status != CANCELLED),
                s.c.org_unit_id.is_(org_unit_id) if org_unit_id is None else s.c.org_unit_id == org_unit_id,
                sa.func.julianday(s.c.starts_at) < sa.func.julianday(clock.iso(end)),
                sa.func.julianday(s.c.ends_at) > sa.func.julianday(clock.iso(start)))
    if exclude_id is not None:
        q = q.where(s.c.id != exclude_id)
    rows = _rows(conn, q.order_by(sa.func.julianday(s.c.starts_at)).limit(1))
    return rows[0] if rows else None


# ---- Writing (inside ctx.store.write_sync) -----------------------------------------------------

def save_shift(conn: sa.Connection, draft: ShiftDraft, *, shift_id: str | None, author_id: str | None,
               now: str) -> str:
    """Create (``shift_id`` None) or change a shift; raises ValidationError and writes nothing if it is wrong."""
    problems = check_shift(conn, draft, shift_id)
    if problems:
        raise ValidationError(problems)
    data = {k: v for k, v in draft.record().items() if v is not None or shift_id is not None}
    if shift_id is None:
        data["status"] = PLANNED
        data = {k: v for k, v in data.items() if v is not None}
        return records.create(conn, "shift", data, author_id=author_id, now=now)
    current = records.get(conn, "shift", shift_id) or {}
    changes = {k: v for k, v in data.items() if current.get(k) != v}
    if changes:
        records.patch(conn, "shift", shift_id, changes, author_id=author_id, now=now)
    return shift_id


def cancel_shift(conn: sa.Connection, shift_id: str, *, author_id: str | None, now: str) -> None:
    row = get_shift(conn, shift_id)
    if row is None:
        raise KeyError(shift_id)
    if row.status == OPEN or row.finished:
        raise ValidationError([_p("status", "on_watch", "正在值守或已交班的班次不能撤销",
                                  "a shift on watch or handed over cannot be cancelled")])
    records.patch(conn, "shift", shift_id, {"status": CANCELLED}, author_id=author_id, now=now)


@dataclasses.dataclass(frozen=True)
class CopyResult:
    created: tuple[str, ...]
    skipped: int  # shifts of last week whose copy would overlap one already rostered


def copy_week(conn: sa.Connection, week_start: dt.date, *, author_id: str | None, now: str) -> CopyResult:
    """Copy the shifts of the week before ``week_start`` one week later; clashing copies are skipped."""
    start = dt.datetime.combine(week_start, dt.time(), clock.BEIJING)
    source = [r for r in shifts_between(conn, start - dt.timedelta(days=7), start)
              if r.status != CANCELLED and r.starts_at >= start - dt.timedelta(days=7)]
    created: list[str] = []
    skipped = 0
    week = dt.timedelta(days=7)
    for r in source:
        draft = ShiftDraft(r.starts_at + week, r.ends_at + week, list(r.officer_ids), r.leader_id,
                           r.officer_phone or "", r.leader_phone or "", r.org_unit_id)
        if check_shift(conn, draft):
            skipped += 1
            continue
        created.append(save_shift(conn, draft, shift_id=None, author_id=author_id, now=now))
    return CopyResult(tuple(created), skipped)
