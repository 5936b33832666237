"""Where a new record belongs (属地): the street containing its point, within the officer's scope.

The server refuses a record filed under an org unit outside the author's scope
(``out_of_scope``). A street console taking a call about the next street must
therefore not file it there: the record stays in the officer's own unit (the
district or neighbouring street is told through the report chain, not by
writing into their books). One rule here for intake, the incident form and the map.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from app.domain.geo import point_in_geometry
from app.store.schema import table_for


@dataclasses.dataclass(frozen=True)
class Street:
    id: str
    name: str


def units_within(conn: sa.Connection, root_id: str) -> set[str]:
    """``root_id`` and every unit below it (the scope the server grants that unit's users)."""
    org = table_for("org_unit")
    below = (sa.select(org.c.id).where(org.c.id == root_id).cte("below", recursive=True))
    below = below.union(sa.select(org.c.id).where(org.c.parent_id == below.c.id))
    return {r[0] for r in conn.execute(sa.select(below.c.id))}


def street_at(conn: sa.Connection, lon: float | None, lat: float | None,
              scope_id: str | None = None) -> Street | None:
    """The street whose boundary contains the point — only among streets in ``scope_id`` when given."""
    if lon is None or lat is None:
        return None
    org = table_for("org_unit")
    q = sa.select(org.c.id, org.c.name, org.c.boundary).where(
        org.c.kind == "street", org.c.deleted.is_(False), org.c.boundary.is_not(None))
    if scope_id is not None:
        q = q.where(org.c.id.in_(units_within(conn, scope_id)))
    for r in conn.execute(q):
        boundary = r.boundary
        geom = boundary.get("geometry") if isinstance(boundary, dict) and boundary.get("type") == "Feature" \
            else boundary
        if isinstance(geom, dict) and point_in_geometry(lon, lat, geom):
            return Street(r.id, r.name)
    return None


def unit_for_new_record(conn: sa.Connection, lon: float | None, lat: float | None,
                        scope_id: str | None) -> str | None:
    """The org unit to file a new record under: the street at the point if in scope, else the officer's unit."""
    street = street_at(conn, lon, lat, scope_id)
    return street.id if street is not None else scope_id
