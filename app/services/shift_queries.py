"""The shift on watch now, for the status bar."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from app.domain import clock
from app.store.schema import table_for

# Shift status is free text on the wire (DOMAIN.md gives no enumeration yet); these mean "finished".
_FINISHED = ("closed", "handed_over", "cancelled")


@dataclasses.dataclass(frozen=True)
class ShiftInfo:
    id: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str | None
    leader_name: str | None


def current_shift(conn: sa.Connection, now: dt.datetime | None = None) -> ShiftInfo | None:
    """The shift on watch now.

    A shift is on watch from the handover that opens it (status ``open``) until the next
    handover, so an open shift wins: the open one whose hours contain ``now``, else the
    latest open one (a watch that overran because nobody took over yet, or one taken over a
    little before its hours). With no open shift at all, a rostered shift whose hours contain ``now``.
    """
    now = now or clock.now()
    shift, user = table_for("shift"), table_for("user")
    query = (sa.select(shift.c.id, shift.c.starts_at, shift.c.ends_at, shift.c.status,
                       user.c.name.label("leader_name"))
             .select_from(shift.outerjoin(user, user.c.id == shift.c.leader_id))
             .where(shift.c.deleted.is_(False),
                    sa.or_(shift.c.status.is_(None), shift.c.status.notin_(_FINISHED)))
             .order_by(sa.func.julianday(shift.c.starts_at).desc()).limit(50))
    open_now = open_latest = planned_now = None
    for r in conn.execute(query):
        starts, ends = clock.parse(r.starts_at), clock.parse(r.ends_at)
        if starts is None or ends is None:
            continue
        info = ShiftInfo(r.id, starts, ends, r.status, r.leader_name)
        contains = starts <= now < ends
        if r.status == "open":
            if contains and open_now is None:
                open_now = info
            if open_latest is None:
                open_latest = info
        elif contains and planned_now is None:
            planned_now = info
    return open_now or open_latest or planned_now
