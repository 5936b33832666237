"""Live counts for the overview panel and the briefing screen, read from the cache."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from app.domain.enums import OPEN_INCIDENT_STATUSES
from app.services.stock import levels_query, stock_alerts
from app.store.schema import table_for

WATCHED_ENTITIES = ("incident", "team", "shelter", "stock_movement", "supply_item", "dispatch",
                    "warning", "risk_source")


@dataclasses.dataclass(frozen=True)
class Overview:
    open_incidents: int
    responding_incidents: int
    teams_standby: int
    teams_dispatched: int
    shelters_open: int
    shelter_spare: int
    stock_below_min: int
    stock_expiring: int
    warnings_active: int
    risk_major: int

    @property
    def stock_alerts(self) -> int:
        return self.stock_below_min + self.stock_expiring


def _count(conn: sa.Connection, table: sa.Table, *where: sa.ColumnElement) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)
                        .where(table.c.deleted.is_(False), *where)).scalar() or 0


def stock_levels(conn: sa.Connection) -> sa.Select:
    """Quantity per (warehouse, item) from the ledger, under its stocktake rule (newest count + later)."""
    return levels_query()


def read_overview(conn: sa.Connection, today: dt.date | None = None) -> Overview:
    today = today or dt.date.today()
    inc, team, shelter = table_for("incident"), table_for("team"), table_for("shelter")
    warning, risk = table_for("warning"), table_for("risk_source")
    real = sa.or_(inc.c.drill.is_(None), inc.c.drill.is_(False))
    # The ledger's own alerts (app/services/stock.py): its summary is kept incrementally, so the
    # overview does not re-sum a million movements on every refresh; expiry follows FEFO, so a
    # batch already issued raises nothing.
    alerts = [a.kind for a in stock_alerts(conn, today)]
    below = sum(1 for k in alerts if k in ("below_min", "negative"))
    expiring = sum(1 for k in alerts if k in ("expiring", "expired"))
    spare = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(shelter.c.capacity - sa.func.coalesce(shelter.c.occupancy, 0)), 0))
        .where(shelter.c.deleted.is_(False), shelter.c.status == "open")).scalar() or 0
    return Overview(
        open_incidents=_count(conn, inc, inc.c.status.in_(OPEN_INCIDENT_STATUSES), real),
        responding_incidents=_count(conn, inc, inc.c.status == "responding", real),
        teams_standby=_count(conn, team, team.c.status == "standby"),
        teams_dispatched=_count(conn, team, team.c.status.in_(("dispatched", "on_scene", "returning"))),
        shelters_open=_count(conn, shelter, shelter.c.status.in_(("open", "full"))),
        shelter_spare=int(spare),
        stock_below_min=int(below),
        stock_expiring=expiring,
        warnings_active=_count(conn, warning, warning.c.status.in_(("issued", "updated"))),
        risk_major=_count(conn, risk, risk.c.grade.in_(("red", "orange"))),
    )


