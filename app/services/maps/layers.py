"""What the map draws from the cache: one query per layer, columns (not objects), read in a snapshot.

A layer read returns parallel lists (ids, lon, lat, style key, label, ...); the UI turns them
into arrays once. Rows without coordinates are left out and counted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from app.domain import geo
from app.domain.enums import OPEN_INCIDENT_STATUSES
from app.services.overview import stock_levels
from app.store import records
from app.store.schema import table_for

# layer key -> the entity whose rows it shows
LAYER_ENTITY = {
    "incident": "incident", "incident_closed": "incident", "team": "team", "warehouse": "warehouse",
    "shelter": "shelter", "risk_source": "risk_source", "warning": "warning",
    "feed": "feed",  # not a store entity: the video panel's field feeds (app/services/maps/feeds.py)
}
# ChangeSet entities that make a layer stale
LAYER_WATCH = {
    "incident": ("incident",), "incident_closed": ("incident",), "team": ("team",),
    "warehouse": ("warehouse", "stock_movement", "supply_item"), "shelter": ("shelter",),
    "risk_source": ("risk_source",), "warning": ("warning",),
}
ACTIVE_WARNING = ("issued", "updated")


@dataclasses.dataclass
class PointLayer:
    key: str
    ids: list[str]
    lon: list[float]
    lat: list[float]
    style: list[str]  # the style key (severity, status, grade, "alert"…)
    label: list[str]
    extra: list[Any]  # per row: open? (incidents), spare capacity (shelters), …
    without_position: int = 0
    latest_change: str | None = None
    updated: list[str | None] = dataclasses.field(default_factory=list)  # per row updated_at (team, shelter…)


@dataclasses.dataclass
class AreaLayer:
    key: str
    ids: list[str]
    title: list[str]
    level: list[str]
    geometry: list[dict]
    latest_change: str | None = None


def _alive(t: sa.Table) -> sa.ColumnElement[bool]:
    return t.c.deleted.is_(False)


def _not_drill(t: sa.Table) -> sa.ColumnElement[bool]:
    return sa.or_(t.c.drill.is_(None), t.c.drill.is_(False))


def _points(conn: sa.Connection, key: str, query: sa.Select, t: sa.Table, where: list) -> PointLayer:
    rows = conn.execute(query).all()
    latest = conn.execute(sa.select(sa.func.max(t.c.updated_at)).where(*where)).scalar()
    layer = PointLayer(key, [], [], [], [], [], [], latest_change=latest)
    has_updated = "updated_at" in query.selected_columns  # only layers that can go stale carry it
    for r in rows:
        if r.lon is None or r.lat is None:
            layer.without_position += 1
            continue
        layer.ids.append(r.id)
        layer.lon.append(r.lon)
        layer.lat.append(r.lat)
        layer.style.append(r.style or "")
        layer.label.append(r.label or "")
        layer.extra.append(r.extra)
        if has_updated:
            layer.updated.append(r.updated_at)
    return layer


def read_point_layer(conn: sa.Connection, key: str) -> PointLayer:
    if key in ("incident", "incident_closed"):
        t = table_for("incident")
        is_open = t.c.status.in_(OPEN_INCIDENT_STATUSES)
        where = [_alive(t), _not_drill(t), is_open if key == "incident" else sa.not_(is_open)]
        q = sa.select(t.c.id, t.c.lon, t.c.lat, t.c.severity.label("style"), t.c.title.label("label"),
                      t.c.status.label("extra")).where(*where).order_by(t.c.severity.desc())
        return _points(conn, key, q, t, where)
    if key == "team":
        t = table_for("team")
        where = [_alive(t)]
        q = sa.select(t.c.id, t.c.lon, t.c.lat, t.c.status.label("style"), t.c.name.label("label"),
                      t.c.type.label("extra"), t.c.updated_at).where(*where)
        return _points(conn, key, q, t, where)
    if key == "warehouse":
        t, item = table_for("warehouse"), table_for("supply_item")
        levels = stock_levels(conn).subquery()
        low = (sa.select(sa.func.count()).select_from(levels.join(item, item.c.id == levels.c.item_id))
               .where(levels.c.warehouse_id == t.c.id, item.c.min_level.isnot(None),
                      levels.c.quantity < item.c.min_level).scalar_subquery())
        where = [_alive(t)]
        q = sa.select(t.c.id, t.c.lon, t.c.lat, sa.case((low > 0, "alert"), else_="ok").label("style"),
                      t.c.name.label("label"), low.label("extra"), t.c.updated_at).where(*where)
        return _points(conn, key, q, t, where)
    if key == "shelter":
        t = table_for("shelter")
        where = [_alive(t)]
        spare = t.c.capacity - sa.func.coalesce(t.c.occupancy, 0)
        q = sa.select(t.c.id, t.c.lon, t.c.lat, t.c.status.label("style"), t.c.name.label("label"),
                      spare.label("extra"), t.c.updated_at).where(*where)
        return _points(conn, key, q, t, where)
    if key == "risk_source":
        t = table_for("risk_source")
        where = [_alive(t)]
        q = sa.select(t.c.id, t.c.lon, t.c.lat, t.c.grade.label("style"), t.c.name.label("label"),
                      t.c.status.label("extra")).where(*where)
        return _points(conn, key, q, t, where)
    raise KeyError(key)


def read_warning_areas(conn: sa.Connection) -> AreaLayer:
    """Active warnings (issued or updated) that carry an ``area`` polygon."""
    t = table_for("warning")
    where = [_alive(t), t.c.status.in_(ACTIVE_WARNING)]
    rows = conn.execute(sa.select(t.c.id, t.c.title, t.c.level, t.c.area).where(*where, t.c.area.isnot(None))).all()
    latest = conn.execute(sa.select(sa.func.max(t.c.updated_at)).where(*where)).scalar()
    layer = AreaLayer("warning", [], [], [], [], latest)
    for r in rows:
        area = r.area
        if isinstance(area, dict) and area.get("type") in ("Polygon", "MultiPolygon"):
            layer.ids.append(r.id)
            layer.title.append(r.title or "")
            layer.level.append(r.level or "")
            layer.geometry.append(area)
    return layer


def read_record(conn: sa.Connection, entity: str, record_id: str) -> dict | None:
    return records.get(conn, entity, record_id)


@dataclasses.dataclass(frozen=True)
class Nearby:
    entity: str
    id: str
    name: str
    distance_m: float
    detail: str  # status / spare capacity / quantity, already a code or number as text
    lon: float
    lat: float


def nearest(conn: sa.Connection, lon: float, lat: float, what: str, *, limit: int = 10,
            team_type: str | None = None, team_status: str | None = None, item_name: str | None = None,
            min_spare: int = 1) -> list[Nearby]:
    """Straight-line nearest teams / warehouses (holding an item) / shelters with spare capacity."""
    if what == "team":
        t = table_for("team")
        q = sa.select(t.c.id, t.c.name, t.c.lon, t.c.lat, t.c.status.label("detail")).where(_alive(t))
        if team_type:
            q = q.where(t.c.type == team_type)
        if team_status:
            q = q.where(t.c.status == team_status)
    elif what == "warehouse":
        t = table_for("warehouse")
        if item_name:
            item = table_for("supply_item")
            levels = stock_levels(conn).subquery()
            q = (sa.select(t.c.id, t.c.name, t.c.lon, t.c.lat, levels.c.quantity.label("detail"))
                 .select_from(t.join(levels, levels.c.warehouse_id == t.c.id)
                              .join(item, item.c.id == levels.c.item_id))
                 .where(_alive(t), item.c.name.contains(item_name, autoescape=True), levels.c.quantity > 0))
        else:
            q = sa.select(t.c.id, t.c.name, t.c.lon, t.c.lat, t.c.kind.label("detail")).where(_alive(t))
    elif what == "shelter":
        t = table_for("shelter")
        spare = t.c.capacity - sa.func.coalesce(t.c.occupancy, 0)
        q = (sa.select(t.c.id, t.c.name, t.c.lon, t.c.lat, spare.label("detail"))
             .where(_alive(t), t.c.status == "open", spare >= min_spare))
    else:
        raise KeyError(what)
    found = [Nearby(what, r.id, r.name or "", geo.haversine_m(lon, lat, r.lon, r.lat), str(r.detail or ""),
                    r.lon, r.lat)
             for r in conn.execute(q) if r.lon is not None and r.lat is not None]
    found.sort(key=lambda n: n.distance_m)
    return found[:limit]


def supply_item_names(conn: sa.Connection) -> list[str]:
    t = table_for("supply_item")
    return list(conn.execute(sa.select(t.c.name).where(_alive(t)).order_by(t.c.name)).scalars())


def create_incident_at(conn: sa.Connection, *, lon: float, lat: float, title: str, category: str,
                       severity: str, place: str | None, author_id: str | None, device_id: str, now: str) -> str:
    """A new incident (status "reported") at a point on the map, with its 接报 line in the duty log."""
    from app.services.duty_log_writer import append_entry

    rid = records.create(conn, "incident", {
        "title": title, "category": category, "severity": severity, "status": "reported",
        "lon": lon, "lat": lat, "place": place, "occurred_at": now, "drill": False,
    }, author_id=author_id, now=now)
    body = f"接报：{title}（{place or f'{lon:.5f}, {lat:.5f}'}），地图标绘。"
    append_entry(conn, kind="receive", body=body, author_id=author_id, device_id=device_id, now=now,
                 incident_id=rid, details={"source": "map", "lon": lon, "lat": lat})
    return rid


