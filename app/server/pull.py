"""Pull: rows changed after a cursor, within the caller's scope, never splitting a rev group.

Read in one snapshot (REPEATABLE READ on PostgreSQL; one read transaction on SQLite),
so high_watermark, the rows and has_more agree. When nothing more is visible the cursor
moves to high_watermark, so revisions holding only out-of-scope rows are skipped once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.server.auth import Principal
from app.server.db import meta, now_iso, reader
from app.server.errors import ApiError
from app.server.scope import allowed_units
from app.server.tables import record

_COLUMNS = (record.c.entity, record.c.id, record.c.server_rev, record.c.deleted, record.c.data,
            record.c.field_rev, record.c.created_by, record.c.updated_by, record.c.updated_at)


def change_row(r: Any) -> dict[str, Any]:
    if r.deleted:
        data: dict[str, Any] = {}
    else:
        data = dict(r.data)
        data.update(created_by=r.created_by, updated_by=r.updated_by, updated_at=r.updated_at)
    return {"entity": r.entity, "id": r.id, "rev": r.server_rev, "deleted": bool(r.deleted),
            "data": data, "field_rev": dict(r.field_rev or {})}


def pull(engine: sa.Engine, who: Principal, cursor: int, limit: int) -> dict[str, Any]:
    with reader(engine) as conn, conn.begin():
        m = meta(conn)
        if cursor != 0 and cursor < m.min_valid_cursor:
            raise ApiError(410, "cursor_too_old", "离线过久，需完整重新同步（未上传的变更会保留） / "
                           "cursor older than the tombstone horizon: full resync, keep the outbox",
                           min_valid_cursor=m.min_valid_cursor)
        units = allowed_units(conn, who.role, who.org_unit_id)
        visible = sa.true() if units is None else sa.or_(record.c.scope_id.is_(None),
                                                         record.c.scope_id.in_(sorted(units)))
        order = (record.c.server_rev, record.c.entity, record.c.id)
        rows = conn.execute(sa.select(*_COLUMNS).where(record.c.server_rev > cursor, visible)
                            .order_by(*order).limit(limit + 1)).all()
        has_more = len(rows) > limit
        page = rows[:limit]
        if has_more:
            last = page[-1]
            if rows[limit].server_rev == last.server_rev:  # finish the rev group
                page += conn.execute(sa.select(*_COLUMNS).where(
                    record.c.server_rev == last.server_rev, visible,
                    sa.tuple_(record.c.entity, record.c.id) > sa.tuple_(last.entity, last.id))
                    .order_by(*order)).all()
                has_more = conn.execute(sa.select(record.c.id).where(
                    record.c.server_rev > last.server_rev, visible).limit(1)).first() is not None
        if has_more:
            next_cursor = page[-1].server_rev
        else:  # everything up to the watermark that this caller may see has been sent
            next_cursor = max(cursor, m.current_rev)
        return {"changes": [change_row(r) for r in page], "next_cursor": next_cursor, "has_more": has_more,
                "high_watermark": m.current_rev, "min_valid_cursor": m.min_valid_cursor,
                "server_epoch": m.server_epoch, "server_time": now_iso()}
