"""Writing and reading synced records in the cache, each local write with its outbox row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from app.domain.entities import APPEND_ONLY, entity
from app.domain.validate import validate_record
from app.store import outbox
from app.store.index import bulk_indexing, index_entity_rows
from app.store.schema import table_for


def new_id() -> str:
    return str(uuid.uuid4())


def create(conn: sa.Connection, entity_name: str, data: Mapping[str, Any], *,
           author_id: str | None, now: str, record_id: str | None = None) -> str:
    """Insert a new record and queue its create (or append) mutation."""
    ent = entity(entity_name)
    fields = {k: v for k, v in data.items() if k != "id"}
    validate_record(ent, fields)
    rid = record_id or data.get("id") or new_id()
    conn.execute(table_for(entity_name).insert().values(
        id=rid, **fields, created_at=now, updated_at=now, created_by=author_id, updated_by=author_id))
    op = "append" if ent.policy == APPEND_ONLY else "create"
    outbox.enqueue(conn, entity=entity_name, entity_id=rid, op=op, payload=fields, base_rev=None,
                   author_id=author_id, client_time=now)
    return rid


def patch(conn: sa.Connection, entity_name: str, record_id: str, changes: Mapping[str, Any], *,
          author_id: str | None, now: str) -> None:
    """Change some fields; the outbox records the server revision of each field as seen here."""
    ent = entity(entity_name)
    if ent.policy == APPEND_ONLY:
        raise ValueError(f"{entity_name} is append-only; write a correction instead")
    validate_record(ent, changes, partial=True)
    table = table_for(entity_name)
    row = conn.execute(sa.select(table.c.field_rev, table.c.server_rev).where(table.c.id == record_id)).one()
    field_rev = row.field_rev or {}
    base = {k: field_rev.get(k, row.server_rev or 0) for k in changes}
    conn.execute(table.update().where(table.c.id == record_id).values(
        **changes, updated_at=now, updated_by=author_id))
    outbox.enqueue(conn, entity=entity_name, entity_id=record_id, op="patch", payload=dict(changes),
                   base_rev=base, author_id=author_id, client_time=now)


def get(conn: sa.Connection, entity_name: str, record_id: str) -> dict[str, Any] | None:
    table = table_for(entity_name)
    row = conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
    return dict(row) if row else None


def bulk_load(conn: sa.Connection, rows: Iterable[tuple[str, Mapping[str, Any]]], *,
              chunk: int = 5000) -> int:
    """Insert confirmed records (from a snapshot or the demo) without queuing mutations."""
    n = 0
    batch: dict[str, list[dict]] = {}
    seen: set[str] = set()
    with bulk_indexing():
        for entity_name, data in rows:
            batch.setdefault(entity_name, []).append(dict(data))
            seen.add(entity_name)
            n += 1
            if n % chunk == 0:
                _flush(conn, batch)
        _flush(conn, batch)
        for entity_name in seen:
            index_entity_rows(conn, entity_name, staged_only=False)
    return n


def _flush(conn: sa.Connection, batch: dict[str, list[dict]]) -> None:
    for entity_name, items in batch.items():
        if items:
            # executemany needs every row to bind the same columns.
            keys = set().union(*items)
            conn.execute(table_for(entity_name).insert(), [{k: r.get(k) for k in keys} for r in items])
    batch.clear()
