"""Video consultations (视频会商): scheduling, starting, minutes, decisions, attendance.

Every step that matters leaves a duty-log line written in the same transaction as the
change to the consultation record (app.services.duty_log_writer.append_entry):

- start and end: kind ``handle`` (处);
- a minute (纪要): kind ``note`` (记); a decision (决定事项): kind ``handle``;

each with ``incident_id`` set and ``details`` = {"consultation_id", "call_time_s", "action"},
``call_time_s`` being seconds since the call started, so clicking the entry can seek the
recording to that moment (the start line also carries the video room's ``room_secret``, see
``room_secret``). Attendance (who joined/left when) goes into ``participants``
(json): ``[{"name", "kind", "ref_id", "events": [{"event": "joined"|"left", "at"}]}]``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.entities import entity
from app.domain.validate import Problem, ValidationError, check_record, parse_time
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.services.duty_log_writer import append_entry
from app.store import records
from app.store.schema import table_for

PARTICIPANT_KINDS = ("console", "contact", "feed")


@dataclasses.dataclass(frozen=True)
class ConsultationRow:
    id: str
    title: str
    incident_id: str | None
    incident_title: str | None
    scheduled_at: str | None
    started_at: str | None
    ended_at: str | None
    participant_count: int

    @property
    def status(self) -> str:
        """scheduled / live / ended"""
        if self.ended_at:
            return "ended"
        return "live" if self.started_at else "scheduled"


@dataclasses.dataclass(frozen=True)
class CallLogEntry:
    id: str
    occurred_at: str
    kind: str
    body: str
    action: str
    call_time_s: float | None


def _participant(p: Any) -> dict[str, Any]:
    if isinstance(p, str):
        p = {"name": p}
    name = str(p.get("name", "")).strip()
    if not name:
        raise ValidationError([Problem("participants", "required", "参会方名称不能为空",
                                       "a participant needs a name")])
    kind = p.get("kind", "contact")
    if kind not in PARTICIPANT_KINDS:
        kind = "contact"
    return {"name": name, "kind": kind, "ref_id": p.get("ref_id"), "events": list(p.get("events", []))}


def check_schedule(title: str, scheduled_at: str | None, participants: Iterable[Any]) -> list[Problem]:
    """Problems with a schedule form, per field, in Chinese and English (shown beside the field)."""
    data: dict[str, Any] = {"title": title}
    if scheduled_at:
        data["scheduled_at"] = scheduled_at
    problems = check_record(entity("consultation"), data)
    try:
        parts = [_participant(p) for p in participants]
    except ValidationError as e:
        return problems + e.problems
    if len(parts) > 5:
        problems.append(Problem("participants", "too_many", "视频会商最多 6 方（含本席位）",
                                "a video consultation holds at most 6 parties (this console included)"))
    return problems


# ---- reads ------------------------------------------------------------------------------------------

def list_consultations(conn: sa.Connection, limit: int = 500) -> list[ConsultationRow]:
    """Live first, then scheduled, then ended; newest first within each."""
    c, inc = table_for("consultation"), table_for("incident")
    q = (sa.select(c.c.id, c.c.title, c.c.incident_id, inc.c.title.label("incident_title"), c.c.scheduled_at,
                   c.c.started_at, c.c.ended_at, c.c.participants)
         .select_from(c.outerjoin(inc, inc.c.id == c.c.incident_id))
         .where(c.c.deleted.is_(False))
         .order_by(sa.case((c.c.ended_at.is_not(None), 2), (c.c.started_at.is_not(None), 0), else_=1),
                   sa.func.coalesce(c.c.started_at, c.c.scheduled_at, c.c.created_at).desc(), c.c.id)
         .limit(limit))
    return [ConsultationRow(r.id, r.title or "", r.incident_id, r.incident_title, r.scheduled_at, r.started_at,
                            r.ended_at, len(r.participants or [])) for r in conn.execute(q)]


def get_consultation(conn: sa.Connection, consultation_id: str) -> dict[str, Any] | None:
    return records.get(conn, "consultation", consultation_id)


def call_log(conn: sa.Connection, consultation_id: str) -> list[CallLogEntry]:
    """The duty-log lines written during this consultation, oldest first."""
    t = table_for("duty_log_entry")
    cid = sa.func.json_extract(t.c.details, "$.consultation_id")
    q = (sa.select(t.c.id, t.c.occurred_at, t.c.kind, t.c.body, t.c.details)
         .where(cid == consultation_id, t.c.deleted.is_(False))
         .order_by(t.c.occurred_at, sa.literal_column("duty_log_entry.rowid")))  # rowid: the write order
    out = []
    for r in conn.execute(q):
        d = r.details or {}
        out.append(CallLogEntry(r.id, r.occurred_at, r.kind, r.body, d.get("action", ""), d.get("call_time_s")))
    return out


def room_secret(conn: sa.Connection, consultation_id: str) -> str | None:
    """The consultation's video room secret (the LAN relay's room key is derived from it; app/video/signalling.py).

    Written as ``room_secret`` into the details of the start line (``_log``), so every console that has
    synced the consultation's log has it. The earliest start line wins (a restart writes another secret,
    ignored), ordered by time then id so every console picks the same one. A consultation started before
    room secrets existed falls back to fields every console has synced but no URL or log line shows.
    None: no such consultation here.
    """
    t = table_for("duty_log_entry")
    details = t.c.details
    q = (sa.select(sa.func.json_extract(details, "$.room_secret"))
         .where(sa.func.json_extract(details, "$.consultation_id") == consultation_id,
                sa.func.json_extract(details, "$.action") == "start",
                sa.func.json_extract(details, "$.room_secret").is_not(None), t.c.deleted.is_(False))
         .order_by(t.c.occurred_at, t.c.id).limit(1))
    secret = conn.execute(q).scalar()
    if secret:
        return str(secret)
    row = records.get(conn, "consultation", consultation_id)
    if row is None:
        return None
    return f"legacy|{row.get('created_at') or ''}|{row.get('created_by') or ''}"


def incident_title(conn: sa.Connection, incident_id: str) -> str | None:
    row = records.get(conn, "incident", incident_id)
    return row["title"] if row else None


# ---- writes -----------------------------------------------------------------------------------------

def _author(ctx: AppContext) -> str | None:
    return ctx.user.id if ctx.user else None


def _call_time(row: Mapping[str, Any], at: dt.datetime) -> float | None:
    if not row.get("started_at"):
        return None
    return round(max(0.0, (at - parse_time(row["started_at"])).total_seconds()), 3)


def _log(ctx: AppContext, conn: sa.Connection, row: Mapping[str, Any], *, kind: str, body: str, action: str,
         now: str, call_time_s: float | None, extra: Mapping[str, Any] | None = None) -> str:
    details = {"consultation_id": row["id"], "action": action, "call_time_s": call_time_s}
    if action == "start":  # the video room's secret, synced with the line (room_secret(), LAN relay room key)
        details["room_secret"] = secrets.token_hex(16)
    details.update(extra or {})
    return append_entry(conn, kind=kind, body=body, author_id=_author(ctx), device_id=ctx.device_id, now=now,
                        incident_id=row.get("incident_id"), org_unit_id=row.get("org_unit_id"), details=details)


def _publish(ctx: AppContext, cid: str, log_ids: Iterable[str] = ()) -> None:
    changes = ChangeSet.of("consultation", [cid])
    log_ids = [i for i in log_ids if i]
    if log_ids:
        changes = changes.merge(ChangeSet.of("duty_log_entry", log_ids))
    ctx.publish(changes)


def schedule(ctx: AppContext, *, title: str, incident_id: str | None = None, scheduled_at: str | None = None,
             participants: Iterable[Any] = (), agenda: str = "") -> str:
    """Create a scheduled consultation (no log line: nothing has happened yet)."""
    parts = list(participants)
    problems = check_schedule(title, scheduled_at, parts)
    if problems:
        raise ValidationError(problems)
    data = {"title": title.strip(), "incident_id": incident_id, "scheduled_at": scheduled_at,
            "participants": [_participant(p) for p in parts], "agenda": agenda.strip() or None,
            "decisions": [], "org_unit_id": ctx.user.org_unit_id if ctx.user else None}
    data = {k: v for k, v in data.items() if v is not None}
    now = clock.now_iso()
    cid = ctx.store.write_sync(lambda conn: records.create(conn, "consultation", data, author_id=_author(ctx),
                                                           now=now))
    _publish(ctx, cid)
    return cid


def start(ctx: AppContext, consultation_id: str) -> str:
    """Start the call now (kind 处 log line). Returns the log entry id."""
    at = clock.now()
    now = clock.iso(at)

    def run(conn: sa.Connection) -> str:
        row = records.get(conn, "consultation", consultation_id)
        if row is None:
            raise KeyError(consultation_id)
        if row.get("started_at") and not row.get("ended_at"):
            raise ValueError("the consultation is already in progress")
        records.patch(conn, "consultation", consultation_id, {"started_at": now, "ended_at": None},
                      author_id=_author(ctx), now=now)
        row = {**row, "started_at": now}
        return _log(ctx, conn, row, kind="handle", body=f"视频会商开始：{row['title']}", action="start", now=now,
                    call_time_s=0.0)

    log_id = ctx.store.write_sync(run)
    _publish(ctx, consultation_id, [log_id])
    return log_id


def start_from_incident(ctx: AppContext, incident_id: str, participants: Iterable[Any] = (),
                        agenda: str = "") -> str:
    """One step from a selected incident: create the consultation, start it, log it. Returns its id."""
    now = clock.now_iso()
    parts = [_participant(p) for p in participants]
    author = _author(ctx)

    def run(conn: sa.Connection) -> tuple[str, str]:
        inc = records.get(conn, "incident", incident_id)
        if inc is None:
            raise KeyError(incident_id)
        title = f"{inc['title'][:190]} 会商"  # the title field holds 200 characters
        data = {"title": title, "incident_id": incident_id, "started_at": now, "participants": parts,
                "agenda": agenda.strip() or None, "decisions": [], "org_unit_id": inc.get("org_unit_id")}
        data = {k: v for k, v in data.items() if v is not None}
        cid = records.create(conn, "consultation", data, author_id=author, now=now)
        log_id = _log(ctx, conn, {"id": cid, **data}, kind="handle", body=f"视频会商开始：{title}",
                      action="start", now=now, call_time_s=0.0)
        return cid, log_id

    cid, log_id = ctx.store.write_sync(run)
    _publish(ctx, cid, [log_id])
    return cid


def start_from_warning(ctx: AppContext, warning_id: str, participants: Iterable[Any] = ()) -> str:
    """One step from a selected warning (预警会商): create, start, log. Returns the consultation id.

    The consultation has no warning field (entities.py); the warning's id goes into the start
    line's details and its title and body into the title and agenda.
    """
    now = clock.now_iso()
    parts = [_participant(p) for p in participants]
    author = _author(ctx)

    def run(conn: sa.Connection) -> tuple[str, str]:
        w = records.get(conn, "warning", warning_id)
        if w is None:
            raise KeyError(warning_id)
        title = f"{w['title']} 会商"
        agenda = f"研判预警：{w['title']}" + (f"\n{w['body']}" if w.get("body") else "")
        data = {"title": title, "started_at": now, "participants": parts, "agenda": agenda[:4000],
                "decisions": [], "org_unit_id": w.get("org_unit_id")}
        data = {k: v for k, v in data.items() if v is not None}
        cid = records.create(conn, "consultation", data, author_id=author, now=now)
        log_id = _log(ctx, conn, {"id": cid, **data}, kind="handle", body=f"视频会商开始：{title}",
                      action="start", now=now, call_time_s=0.0, extra={"warning_id": warning_id})
        return cid, log_id

    cid, log_id = ctx.store.write_sync(run)
    _publish(ctx, cid, [log_id])
    return cid


def _in_call(conn: sa.Connection, consultation_id: str) -> dict[str, Any]:
    row = records.get(conn, "consultation", consultation_id)
    if row is None:
        raise KeyError(consultation_id)
    return row


def add_minute(ctx: AppContext, consultation_id: str, text: str, call_time_s: float | None = None) -> str:
    """A line of minutes (纪要): appended to ``minutes`` with its call time, logged as kind 记."""
    text = text.strip()
    if not text:
        raise ValidationError([Problem("minutes", "required", "纪要内容不能为空", "the minute is empty")])
    at = clock.now()
    now = clock.iso(at)

    def run(conn: sa.Connection) -> str:
        row = _in_call(conn, consultation_id)
        t = call_time_s if call_time_s is not None else _call_time(row, at)
        stamp = _fmt_call_time(t)
        line = f"[{stamp}] {text}" if stamp else text
        minutes = (row.get("minutes") or "").rstrip("\n")
        records.patch(conn, "consultation", consultation_id,
                      {"minutes": f"{minutes}\n{line}" if minutes else line}, author_id=_author(ctx), now=now)
        return _log(ctx, conn, row, kind="note", body=f"会商纪要（{row['title']}）：{text}", action="minute",
                    now=now, call_time_s=t)

    log_id = ctx.store.write_sync(run)
    _publish(ctx, consultation_id, [log_id])
    return log_id


def add_decision(ctx: AppContext, consultation_id: str, text: str, call_time_s: float | None = None,
                 owner: str = "") -> str:
    """A decision (决定事项): appended to ``decisions``, logged as kind 处."""
    text = text.strip()
    if not text:
        raise ValidationError([Problem("decisions", "required", "决定事项不能为空", "the decision is empty")])
    at = clock.now()
    now = clock.iso(at)

    def run(conn: sa.Connection) -> str:
        row = _in_call(conn, consultation_id)
        t = call_time_s if call_time_s is not None else _call_time(row, at)
        body = f"会商决定（{row['title']}）：{text}" + (f"；责任方：{owner}" if owner else "")
        log_id = _log(ctx, conn, row, kind="handle", body=body, action="decision", now=now, call_time_s=t,
                      extra={"owner": owner} if owner else None)
        decisions = list(row.get("decisions") or [])
        decisions.append({"text": text, "owner": owner or None, "at": now, "call_time_s": t,
                          "log_entry_id": log_id, "author_id": _author(ctx)})
        records.patch(conn, "consultation", consultation_id, {"decisions": decisions}, author_id=_author(ctx),
                      now=now)
        return log_id

    log_id = ctx.store.write_sync(run)
    _publish(ctx, consultation_id, [log_id])
    return log_id


def record_attendance(ctx: AppContext, consultation_id: str, name: str, event: str, *, kind: str = "console",
                      ref_id: str | None = None) -> None:
    """Who joined or left, and when (no log line: the call's start/end and minutes carry the story)."""
    if event not in ("joined", "left"):
        raise ValueError("event must be joined or left")
    now = clock.now_iso()

    def run(conn: sa.Connection) -> None:
        row = _in_call(conn, consultation_id)
        parts = [dict(p) for p in (row.get("participants") or [])]
        match = next((p for p in parts if (ref_id and p.get("ref_id") == ref_id) or p.get("name") == name), None)
        if match is None:
            match = _participant({"name": name, "kind": kind, "ref_id": ref_id})
            parts.append(match)
        match["events"] = list(match.get("events") or []) + [{"event": event, "at": now}]
        records.patch(conn, "consultation", consultation_id, {"participants": parts}, author_id=_author(ctx),
                      now=now)

    ctx.store.write_sync(run)
    _publish(ctx, consultation_id)


def end(ctx: AppContext, consultation_id: str, recording: str | None = None) -> str:
    """End the call (kind 处 log line, with the number of minutes and decisions)."""
    at = clock.now()
    now = clock.iso(at)

    def run(conn: sa.Connection) -> str:
        row = _in_call(conn, consultation_id)
        if not row.get("started_at") or row.get("ended_at"):
            raise ValueError("the consultation is not in progress")
        records.patch(conn, "consultation", consultation_id, {"ended_at": now}, author_id=_author(ctx), now=now)
        n_min = len([ln for ln in (row.get("minutes") or "").splitlines() if ln.strip()])
        n_dec = len(row.get("decisions") or [])
        body = f"视频会商结束：{row['title']}（纪要 {n_min} 条，决定事项 {n_dec} 项）"
        return _log(ctx, conn, row, kind="handle", body=body, action="end", now=now,
                    call_time_s=_call_time(row, at), extra={"recording": recording} if recording else None)

    log_id = ctx.store.write_sync(run)
    _publish(ctx, consultation_id, [log_id])
    return log_id


def log_feed_state(ctx: AppContext, *, feed_name: str, url: str, state: str, reason: str = "",
                   consultation_id: str | None = None, incident_id: str | None = None,
                   call_time_s: float | None = None) -> str:
    """A field feed went down or came back: one 记 line (the tile shows the same state)."""
    now = clock.now_iso()
    body = (f"图传中断：{feed_name}（{reason}），自动重试中" if state == "retrying"
            else f"图传恢复：{feed_name}")
    details = {"action": "feed_state", "feed": feed_name, "url": url, "state": state, "reason": reason,
               "consultation_id": consultation_id, "call_time_s": call_time_s}
    log_id = ctx.store.write_sync(lambda conn: append_entry(
        conn, kind="note", body=body, author_id=_author(ctx), device_id=ctx.device_id, now=now,
        incident_id=incident_id, details=details))
    ctx.publish(ChangeSet.of("duty_log_entry", [log_id]))
    return log_id


def _fmt_call_time(t: float | None) -> str:
    if t is None:
        return ""
    t = int(t)
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


fmt_call_time = _fmt_call_time
