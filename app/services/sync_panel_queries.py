"""Extra reads for the sync panel: rejected changes with their content, the conflict queue, sync facts.

Qt-free, like app.services.sync_queries (whose listings the panel also uses); every
function takes the read connection, so the UI calls them through ``ctx.read``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from app.services import sync_queries as Q
from app.store.device import read_state
from app.store.schema import outbox, table_for

# Outbox states as the panel groups them (the filter of the outbox tab).
WAITING = ("pending", "in_flight")
UPLOADED = ("applied", "applied_with_conflict")


@dataclasses.dataclass(frozen=True)
class FieldProblem:
    field: str
    message_zh: str
    message_en: str


@dataclasses.dataclass(frozen=True)
class RejectedChange:
    mutation_id: str
    device_seq: int
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any]
    client_time: str
    author_id: str | None
    code: str
    reason_zh: str
    reason_en: str
    problems: tuple[FieldProblem, ...]
    summary: str


@dataclasses.dataclass(frozen=True)
class SyncFacts:
    """What the status tab shows that the engine's SyncStatus does not carry."""

    device_id: str
    server_epoch: str | None
    pull_cursor: int
    states: dict[str, int]  # outbox rows per state


def split_message(message: str) -> tuple[str, str]:
    """The server words every refusal "中文 / English"; a message without the separator is both."""
    zh, sep, en = (message or "").partition(" / ")
    return (zh.strip(), en.strip()) if sep else (message or "", message or "")


def _reason(result: Any, last_error: str | None) -> tuple[str, str, str, tuple[FieldProblem, ...]]:
    result = result if isinstance(result, dict) else {}
    code = str(result.get("code") or "")
    message = result.get("message")
    if not isinstance(message, str) or not message:
        # Older rows keep only "code: message" in last_error.
        message = (last_error or "").split(": ", 1)[-1] if last_error else ""
    zh, en = split_message(message)
    problems = []
    for p in result.get("problems") or ():
        if isinstance(p, dict) and isinstance(p.get("field"), str):
            pzh, pen = split_message(str(p.get("message") or ""))
            problems.append(FieldProblem(p["field"], pzh, pen))
    return code, zh, en, tuple(problems)


def list_rejected(conn: sa.Connection) -> list[RejectedChange]:
    """Changes the server refused and nobody has resubmitted yet, newest first, with their content."""
    rows = conn.execute(sa.select(outbox).where(outbox.c.status == "rejected")
                        .order_by(outbox.c.device_seq.desc())).mappings()
    out = []
    for r in rows:
        payload = dict(r["payload"] or {})
        code, zh, en, problems = _reason(r["result"], r["last_error"])
        out.append(RejectedChange(r["mutation_id"], r["device_seq"], r["entity"], r["entity_id"], r["op"],
                                  payload, r["client_time"], r["author_id"], code, zh, en, problems,
                                  Q._summary(payload)))
    return out


def list_conflict_queue(conn: sa.Connection, include_acknowledged: bool) -> list[Q.Conflict]:
    """Open conflicts; for a leader also those an officer acknowledged but nobody resolved."""
    if not include_acknowledged:
        return Q.list_conflicts(conn)
    return [c for c in Q.list_conflicts(conn, open_only=False) if c.status in ("open", "acknowledged")]


def outbox_state_counts(conn: sa.Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
    return {status: n for status, n in rows}


def sync_facts(conn: sa.Connection) -> SyncFacts:
    state = read_state(conn)
    return SyncFacts(device_id=state.get("device_id") or "", server_epoch=state.get("server_epoch"),
                     pull_cursor=int(state.get("pull_cursor") or 0), states=outbox_state_counts(conn))


def org_unit_choices(conn: sa.Connection) -> list[tuple[str, str]]:
    """(id, name) of the org units in the cache, for picking one when correcting a change."""
    t = table_for("org_unit")
    rows = conn.execute(sa.select(t.c.id, t.c.name, t.c.kind).where(t.c.deleted.is_(False))
                        .order_by(t.c.kind, t.c.name))
    return [(r.id, r.name or r.id) for r in rows]
