"""Open incidents for the overview list: ordered ids first, then rows for the ids on screen.

The split (ids, then rows by id) lets the Qt model hold only ids and a small row
cache, as Anki's browser model does, so a long list never materialises at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import sqlalchemy as sa

from app.domain.enums import OPEN_INCIDENT_STATUSES
from app.store.schema import table_for


@dataclasses.dataclass(frozen=True)
class IncidentRow:
    id: str
    title: str
    severity: str
    status: str
    occurred_at: str  # ISO-8601 with offset, as stored
    place: str | None = None
    category: str | None = None


def _open_real(inc: sa.Table) -> sa.ColumnElement[bool]:
    # Same rule as read_overview's open_incidents count: drills never count as real work.
    return sa.and_(inc.c.deleted.is_(False), inc.c.status.in_(OPEN_INCIDENT_STATUSES),
                   sa.or_(inc.c.drill.is_(None), inc.c.drill.is_(False)))


def open_incident_ids(conn: sa.Connection) -> list[str]:
    """Ids of open (non-drill) incidents, newest first."""
    inc = table_for("incident")
    # julianday() understands the "+08:00" offsets, so rows synced with another offset still sort right.
    query = (sa.select(inc.c.id).where(_open_real(inc))
             .order_by(sa.func.julianday(inc.c.occurred_at).desc(), inc.c.id))
    return list(conn.execute(query).scalars())


def incident_rows(conn: sa.Connection, ids: Sequence[str]) -> dict[str, IncidentRow]:
    """The rows for these ids (missing ids were deleted meanwhile and are simply absent)."""
    if not ids:
        return {}
    inc = table_for("incident")
    query = sa.select(inc.c.id, inc.c.title, inc.c.severity, inc.c.status, inc.c.occurred_at,
                      inc.c.place, inc.c.category).where(inc.c.id.in_(list(ids)))
    return {r.id: IncidentRow(r.id, r.title or "", r.severity or "", r.status or "", r.occurred_at or "",
                              r.place, r.category)
            for r in conn.execute(query)}
