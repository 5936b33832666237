"""Operator tasks: tombstone purge (the 410 horizon), the restore runbook's epoch rotation, and
moving records and users between org units (``command-desk-server org …``)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from app.domain.entities import ENTITIES
from app.server.audit import AuditChain
from app.server.db import meta, now_iso, rev_transaction, writer
from app.server.state import dumps, statements
from app.server.tables import account, device, record, refresh_token, scope_move, sync_meta

SYSTEM = "00000000-0000-0000-0000-000000000000"  # actor of operator tasks (as seed.SYSTEM)


class MaintenanceError(Exception):
    """An operator task refused (unknown record, unit or user): nothing was written."""


class _Unchanged(Exception):
    """Already there: roll back, so not even a revision is spent."""


def purge_tombstones(engine: sa.Engine, up_to_rev: int) -> int:
    """Drop tombstones and scope_move rows at revisions <= up_to_rev; move the 410 horizon there.

    A console whose cursor is below the horizon may have missed a purged tombstone or
    ``scope_removed`` marker, so it must resync from 0 (keeping its outbox) instead of
    pulling deltas; a console at or above it never asks for those revisions again.
    """
    with rev_transaction(engine) as (conn, rev):
        up_to_rev = min(up_to_rev, rev - 1)
        gone = conn.execute(record.delete().where(record.c.deleted.is_(True),
                                                  record.c.server_rev <= up_to_rev)).rowcount
        conn.execute(scope_move.delete().where(scope_move.c.rev <= up_to_rev))
        current = meta(conn).min_valid_cursor
        conn.execute(sync_meta.update().where(sync_meta.c.id == 1)
                     .values(min_valid_cursor=max(current, up_to_rev)))
    return gone


def current_epoch(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return meta(conn).server_epoch


def revoke_device(engine: sa.Engine, device_id: str) -> bool:
    """A lost or stolen console: its tokens stop working and its pushes get 403 (queue kept)."""
    with writer(engine) as conn, conn.begin():
        found = conn.execute(device.update().where(device.c.device_id == device_id)
                             .values(revoked_at=now_iso())).rowcount
        conn.execute(refresh_token.update().where(refresh_token.c.device_id == device_id)
                     .values(revoked=True))
    return bool(found)


def _unit_exists(conn: sa.Connection, unit_id: str) -> bool:
    return conn.execute(sa.select(record.c.id).where(
        record.c.entity == "org_unit", record.c.id == unit_id, record.c.deleted.is_(False))).first() is not None


def _move_row(conn: sa.Connection, entity: str, row: Any, scope_id: str | None, unit_id: str, rev: int,
              change_id: str, now: str) -> None:
    """Write the record with org_unit_id = ``unit_id`` at revision ``rev``, as a push's patch would.

    Same statement and JSON encoding as the push path (state.py). field_rev/field_src move as for
    a pushed patch: a console's later patch of org_unit_id based on an older revision is then a
    concurrent edit (conflict), as after a leader's move.
    """
    data = dict(row.data)
    data["org_unit_id"] = unit_id
    field_rev = {**(row.field_rev or {}), "org_unit_id": rev}
    field_src = {**(row.field_src or {}), "org_unit_id": change_id}
    conn.exec_driver_sql(statements(conn)["update_record"], (
        scope_id, rev, False, dumps(data), dumps(field_rev), dumps(field_src), SYSTEM, now, entity, row.id))


def move_record(engine: sa.Engine, entity: str, record_id: str, unit_id: str) -> dict[str, Any]:
    """Move one scoped record to another org unit, in one transaction at a new revision.

    The record's ``org_unit_id`` (and scope) change, and a ``scope_move`` row notes the unit it
    left, so consoles of the old unit get a ``scope_removed`` marker on their next pull and
    consoles of the new one pull the row (its revision is new). Only this record moves: rows that
    point at it (dispatches, log lines) keep their own units, as after a leader's patch.
    """
    ent = ENTITIES.get(entity)
    if ent is None:
        raise MaintenanceError(f"unknown entity {entity!r}")
    if not ent.scoped or "org_unit_id" not in ent.field_names:
        raise MaintenanceError(f"{entity} rows belong to no org unit (reference data seen by all)")
    now = now_iso()
    try:
        return _move_record(engine, entity, record_id, unit_id, now)
    except _Unchanged:
        return {"rev": None, "from": unit_id, "to": unit_id}


def _move_record(engine: sa.Engine, entity: str, record_id: str, unit_id: str, now: str) -> dict[str, Any]:
    with rev_transaction(engine) as (conn, rev):
        if not _unit_exists(conn, unit_id):
            raise MaintenanceError(f"no org unit {unit_id}")
        key = (record.c.entity == entity) & (record.c.id == record_id)
        row = conn.execute(sa.select(record).where(key)).first()
        if row is None or row.deleted:
            raise MaintenanceError(f"no {entity} {record_id}")
        old = row.scope_id
        if old == unit_id:
            raise _Unchanged
        change_id = str(uuid.uuid4())
        _move_row(conn, entity, row, unit_id, unit_id, rev, change_id, now)
        if old is not None:
            conn.execute(scope_move.insert().values(entity=entity, id=record_id, rev=rev, from_scope=old))
        AuditChain(conn).append(at=now, actor_id=SYSTEM, mutation_id=change_id, action="scope_moved",
                                entity=entity, entity_id=record_id, rev=rev,
                                detail={"from": old, "to": unit_id, "by": "command-desk-server org move-record"})
    return {"rev": rev, "from": old, "to": unit_id}


def move_user(engine: sa.Engine, username: str, unit_id: str) -> dict[str, Any]:
    """Give an account another org unit: the account and its synced ``user`` record, one transaction.

    The user's scope changes with it: every console they sign in on sees a new ``scope_key``
    on its next pull and resyncs from 0 (outbox kept), dropping the old unit's rows and taking
    the new unit's. Tokens already issued stay valid: scope is read from the account on every
    request. ``user`` rows are reference data (no scope), so no scope_move row is needed.
    """
    try:
        return _move_user(engine, username, unit_id, now_iso())
    except _Unchanged:
        return {"rev": None, "from": unit_id, "to": unit_id}


def _move_user(engine: sa.Engine, username: str, unit_id: str, now: str) -> dict[str, Any]:
    with rev_transaction(engine) as (conn, rev):
        acc = conn.execute(sa.select(account).where(account.c.username == username)).first()
        if acc is None:
            raise MaintenanceError(f"no account {username!r}")
        if not _unit_exists(conn, unit_id):
            raise MaintenanceError(f"no org unit {unit_id}")
        old = acc.org_unit_id
        if old == unit_id:
            raise _Unchanged
        conn.execute(account.update().where(account.c.user_id == acc.user_id).values(org_unit_id=unit_id))
        key = (record.c.entity == "user") & (record.c.id == acc.user_id)
        row = conn.execute(sa.select(record).where(key)).first()
        change_id = str(uuid.uuid4())
        if row is not None and not row.deleted:
            _move_row(conn, "user", row, row.scope_id, unit_id, rev, change_id, now)
        AuditChain(conn).append(at=now, actor_id=SYSTEM, mutation_id=change_id, action="user_moved",
                                entity="user", entity_id=acc.user_id, rev=rev,
                                detail={"username": username, "from": old, "to": unit_id,
                                        "by": "command-desk-server org move-user"})
    return {"rev": rev, "from": old, "to": unit_id}
