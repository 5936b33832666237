"""What the sync panel lists and the one-click actions on it (SYNC_RESEARCH.md §3.14).

Every action is just a new local change through the outbox, so it syncs, and is
recorded, like anything else an officer does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.entities import ENTITIES
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.store import outbox as ob
from app.store import records
from app.store.schema import outbox, table_for

LEADER_ROLES = ("leader", "admin")


@dataclasses.dataclass(frozen=True)
class QueuedChange:
    mutation_id: str
    device_seq: int
    entity: str
    entity_id: str
    op: str
    status: str
    attempts: int
    last_error: str | None
    client_time: str
    summary: str


@dataclasses.dataclass(frozen=True)
class Conflict:
    id: str
    entity: str
    entity_id: str
    field: str | None
    kind: str
    status: str
    winning_value: Any
    losing_value: Any
    record_title: str


def _summary(payload: dict) -> str:
    for key in ("title", "name", "body", "summary", "status", "state"):
        if isinstance(payload.get(key), str):
            text = payload[key]
            return text if len(text) <= 60 else text[:59] + "…"
    return ", ".join(sorted(payload))[:60]


def list_outbox(conn: sa.Connection, statuses: tuple[str, ...] | None = None, limit: int = 5000
                ) -> list[QueuedChange]:
    q = sa.select(outbox).order_by(outbox.c.device_seq.desc()).limit(limit)
    if statuses:
        q = q.where(outbox.c.status.in_(statuses))
    return [QueuedChange(r.mutation_id, r.device_seq, r.entity, r.entity_id, r.op, r.status, r.attempts,
                         r.last_error, r.client_time, _summary(r.payload or {}))
            for r in conn.execute(q)]


def _title(conn: sa.Connection, entity: str, entity_id: str) -> str:
    if entity not in ENTITIES:
        return entity_id
    t = table_for(entity)
    col = next((c for c in ("title", "name", "body") if c in t.c), None)
    if col is None:
        return entity_id
    return conn.execute(sa.select(t.c[col]).where(t.c.id == entity_id)).scalar() or entity_id


def list_conflicts(conn: sa.Connection, open_only: bool = True) -> list[Conflict]:
    t = table_for("sync_conflict")
    q = sa.select(t).where(t.c.deleted.is_(False)).order_by(t.c.server_rev.desc())
    if open_only:
        q = q.where(t.c.status == "open")
    return [Conflict(r.id, r.entity, r.entity_id, r.field, r.kind, r.status, r.winning_value,
                     r.losing_value, _title(conn, r.entity, r.entity_id)) for r in conn.execute(q)]


def pending_ids(conn: sa.Connection, entity: str) -> set[str]:
    """Records with a change not yet confirmed: the pending mark every list shows."""
    return ob.pending_ids(conn, entity)


class NotAllowed(Exception):
    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh, self.message_en = message_zh, message_en


def _now_iso() -> str:
    return clock.now_iso()


def restore_losing_value(ctx: AppContext, conflict_id: str) -> None:
    """A leader's one click: put the overwritten value back and mark the conflict resolved."""
    if ctx.user is None or ctx.user.role not in LEADER_ROLES:
        raise NotAllowed("只有带班领导可以处理冲突。", "Only the leader on duty can resolve conflicts.")

    def run(conn: sa.Connection) -> ChangeSet:
        c = records.get(conn, "sync_conflict", conflict_id)
        if c is None:
            raise KeyError(conflict_id)
        now = _now_iso()
        touched = ChangeSet.of("sync_conflict", [conflict_id])
        if c["field"] and c["kind"] == "concurrent_edit" and c["entity"] in ENTITIES:
            records.patch(conn, c["entity"], c["entity_id"], {c["field"]: c["losing_value"]},
                          author_id=ctx.user.id, now=now)
            touched = touched.merge(ChangeSet.of(c["entity"], [c["entity_id"]]))
        records.patch(conn, "sync_conflict", conflict_id,
                      {"status": "resolved", "resolved_by": ctx.user.id,
                       "resolution": {"action": "restore_losing_value", "at": now}},
                      author_id=ctx.user.id, now=now)
        return touched

    ctx.publish(ctx.store.write_sync(run))


def keep_winning_value(ctx: AppContext, conflict_id: str) -> None:
    """Accept what the server kept: officers acknowledge, leaders resolve."""
    if ctx.user is None:
        raise NotAllowed("请先登录。", "Sign in first.")
    status = "resolved" if ctx.user.role in LEADER_ROLES else "acknowledged"

    def run(conn: sa.Connection) -> None:
        changes: dict[str, Any] = {"status": status}
        if status == "resolved":
            changes.update(resolved_by=ctx.user.id, resolution={"action": "keep_winning_value",
                                                                "at": _now_iso()})
        records.patch(conn, "sync_conflict", conflict_id, changes, author_id=ctx.user.id, now=_now_iso())

    ctx.store.write_sync(run)
    ctx.publish(ChangeSet.of("sync_conflict", [conflict_id]))


def resubmit(ctx: AppContext, mutation_id: str, payload: dict | None = None) -> str:
    """Queue a rejected change again as a NEW mutation (optionally corrected), keeping the old one."""
    def run(conn: sa.Connection) -> str:
        row = conn.execute(sa.select(outbox).where(outbox.c.mutation_id == mutation_id)).mappings().one()
        if row["status"] != "rejected":
            raise NotAllowed("只有被拒绝的变更可以重新提交。", "Only rejected changes can be resubmitted.")
        new_payload = payload if payload is not None else row["payload"]
        if payload is not None and row["op"] in ("create", "patch"):
            table = table_for(row["entity"])  # the corrected values are what the officer now sees
            conn.execute(table.update().where(table.c.id == row["entity_id"]).values(**payload))
        new_id = ob.enqueue(conn, entity=row["entity"], entity_id=row["entity_id"], op=row["op"],
                            payload=new_payload, base_rev=row["base_rev"],
                            author_id=ctx.user.id if ctx.user else row["author_id"], client_time=_now_iso())
        conn.execute(outbox.update().where(outbox.c.mutation_id == mutation_id).values(status="resubmitted"))
        return new_id

    new_id = ctx.store.write_sync(run)
    ctx.publish(ChangeSet.of("outbox", [new_id]))
    return new_id
