"""Operator tasks: tombstone purge (the 410 horizon) and the restore runbook's epoch rotation."""

from __future__ import annotations

import sqlalchemy as sa

from app.server.db import meta, now_iso, rev_transaction, writer
from app.server.tables import device, record, refresh_token, sync_meta


def purge_tombstones(engine: sa.Engine, up_to_rev: int) -> int:
    """Drop tombstones with server_rev <= up_to_rev and move the 410 horizon there.

    A console whose cursor is below the horizon may have missed a purged tombstone, so it
    must resync from 0 (keeping its outbox) instead of pulling deltas.
    """
    with rev_transaction(engine) as (conn, rev):
        up_to_rev = min(up_to_rev, rev - 1)
        gone = conn.execute(record.delete().where(record.c.deleted.is_(True),
                                                  record.c.server_rev <= up_to_rev)).rowcount
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
