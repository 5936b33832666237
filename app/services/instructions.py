"""Leader instructions (批示): who, when, what, owner and due time, tracked to closure (处).

Qt-free. An instruction is a task: ``open`` until the owner reports it done, then
``done`` with ``closed_at`` and a 处 (handle) log line written in the same transaction.
A time in the future, or one before the incident was taken in, is questioned; a due
time before the instruction was given is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.entities import entity
from app.domain.validate import Problem, check_record
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.services.duty_log_writer import append_entry
from app.services.incidents import FUTURE_SLACK, CheckFailed, NotAllowed, load_incident
from app.store import records
from app.store.schema import table_for


@dataclasses.dataclass(frozen=True)
class InstructionRow:
    id: str
    incident_id: str | None
    incident_title: str | None
    given_by: str | None
    given_at: str
    body: str
    owner: str | None
    due_at: str | None
    status: str
    closed_at: str | None

    def overdue(self, now: dt.datetime) -> bool:
        due = clock.parse(self.due_at)
        return self.status == "open" and due is not None and due <= now


def list_instructions(conn: sa.Connection, incident_id: str | None = None,
                      open_only: bool = False) -> list[InstructionRow]:
    """Instructions (of one incident, or all), open ones first, soonest due first."""
    ins = table_for("instruction")
    inc = table_for("incident")
    q = (sa.select(ins, inc.c.title.label("incident_title"))
         .select_from(ins.outerjoin(inc, inc.c.id == ins.c.incident_id)).where(ins.c.deleted.is_(False)))
    if incident_id is not None:
        q = q.where(ins.c.incident_id == incident_id)
    if open_only:
        q = q.where(ins.c.status == "open")
    q = q.order_by(sa.case((ins.c.status == "open", 0), else_=1), sa.func.coalesce(ins.c.due_at, "9999"),
                   ins.c.given_at.desc())
    return [InstructionRow(r["id"], r["incident_id"], r["incident_title"], r["given_by"], r["given_at"], r["body"],
                           r["owner"], r["due_at"], r["status"], r["closed_at"])
            for r in conn.execute(q).mappings()]


def check_instruction(data: dict[str, Any], intake_at: str | None,
                      now: dt.datetime | None = None) -> tuple[list[Problem], list[Problem]]:
    now = now or clock.now()
    errors = list(check_record(entity("instruction"), data, partial=True))
    for name, zh, en in (("given_by", "请填写批示领导", "say which leader gave it"),
                         ("body", "请填写批示内容", "write what the instruction says"),
                         ("given_at", "请填写批示时间", "give the time it was given")):
        if not (data.get(name) or "").strip() and not any(p.field == name for p in errors):
            errors.append(Problem(name, "required", zh, en))
    questions: list[Problem] = []
    given, due = clock.parse(data.get("given_at")), clock.parse(data.get("due_at"))
    if given is not None:
        if given > now + FUTURE_SLACK:
            questions.append(Problem("given_at", "question", "批示时间在将来，请核实",
                                     "the time given is in the future"))
        intake = clock.parse(intake_at)
        if intake is not None and given < intake - FUTURE_SLACK:
            questions.append(Problem("given_at", "question", "批示时间早于事件接报时间，请核实",
                                     "the instruction is dated before the incident was reported"))
        if due is not None and due < given:
            errors.append(Problem("due_at", "order", "办理时限不能早于批示时间", "the due time is before it was given"))
    return errors, questions


def add_instruction(ctx: AppContext, incident_id: str | None, *, given_by: str, given_at: str, body: str,
                    owner: str | None = None, due_at: str | None = None, confirmed: bool = False) -> str:
    """Record a 批示 as an open task; a 处 log line says it was received."""
    if ctx.user is None:
        raise NotAllowed("请先登录。", "Sign in first.")
    data = {"incident_id": incident_id, "given_by": given_by.strip(), "given_at": given_at, "body": body,
            "owner": (owner or "").strip() or None, "due_at": due_at or None, "status": "open"}
    data = {k: v for k, v in data.items() if v is not None}

    def run(conn: sa.Connection) -> str:
        inc = load_incident(conn, incident_id) if incident_id else None
        errors, questions = check_instruction(data, (inc or {}).get("created_at") or (inc or {}).get("occurred_at"))
        if errors or (questions and not confirmed):
            raise CheckFailed(errors, questions)
        now = clock.now_iso()
        org = (inc or {}).get("org_unit_id")
        iid = records.create(conn, "instruction", {**data, **({"org_unit_id": org} if org else {})},
                             author_id=ctx.user.id, now=now)
        owner_text = f"，由{data['owner']}承办" if data.get("owner") else ""
        append_entry(conn, kind="handle", body=f"{data['given_by']}批示：{body.strip()}{owner_text}。",
                     author_id=ctx.user.id, device_id=ctx.device_id, now=now, occurred_at=given_at,
                     org_unit_id=org, incident_id=incident_id, drill=bool((inc or {}).get("drill")),
                     details={"instruction_id": iid, "action": "instruction_received"})
        return iid

    iid = ctx.store.write_sync(run)
    ctx.publish(ChangeSet.of("instruction", [iid]).merge(ChangeSet.of("duty_log_entry")))
    return iid


def close_instruction(ctx: AppContext, instruction_id: str, note: str = "") -> None:
    """Mark an instruction done (办结) with closed_at, and write the 处 log line."""
    if ctx.user is None:
        raise NotAllowed("请先登录。", "Sign in first.")

    def run(conn: sa.Connection) -> None:
        row = records.get(conn, "instruction", instruction_id)
        if row is None:
            raise KeyError(instruction_id)
        if row["status"] == "done":
            raise NotAllowed("该批示已办结。", "This instruction is already done.")
        now = clock.now_iso()
        records.patch(conn, "instruction", instruction_id, {"status": "done", "closed_at": now},
                      author_id=ctx.user.id, now=now)
        text = f"{row.get('given_by') or '领导'}批示已办结：{row['body']}"
        if note.strip():
            text += f"（{note.strip()}）"
        append_entry(conn, kind="handle", body=text, author_id=ctx.user.id, device_id=ctx.device_id, now=now,
                     org_unit_id=row.get("org_unit_id"), incident_id=row.get("incident_id"),
                     details={"instruction_id": instruction_id, "action": "instruction_closed"})

    ctx.store.write_sync(run)
    ctx.publish(ChangeSet.of("instruction", [instruction_id]).merge(ChangeSet.of("duty_log_entry")))
