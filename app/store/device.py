"""This console's identity and sync bookkeeping (the single sync_state row)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from app.store.schema import sync_state


def ensure_device(conn: sa.Connection) -> str:
    """Return this cache's device id, creating it on first use."""
    row = conn.execute(sa.select(sync_state.c.device_id).where(sync_state.c.id == 1)).first()
    if row:
        return row[0]
    device_id = str(uuid.uuid4())
    conn.execute(sync_state.insert().values(id=1, device_id=device_id))
    return device_id


def read_state(conn: sa.Connection) -> dict:
    row = conn.execute(sa.select(sync_state).where(sync_state.c.id == 1)).mappings().first()
    return dict(row) if row else {}
