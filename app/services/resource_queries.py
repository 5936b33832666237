"""The resource libraries (一网五库 + experts + contacts): lists, checks, saves and the expert draw.

One catalogue-driven shape serves every library: ``library_ids`` gives the ordered ids
(filter, Chinese search of any length through app/store/search.py, sort in SQL), and
``library_rows`` the rows for the ids a view shows. ``check`` adds the rules a single
record cannot see to the catalogue's validation: impossible shelter capacities,
duplicate names within a library, coordinates outside the district.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.entities import LIBRARIES, entity
from app.domain.enums import ExpertCategory
from app.domain.validate import Problem, ValidationError, check_record
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.services.duty_log_writer import append_entry
from app.store import records
from app.store.schema import table_for
from app.store.search import search

AREA_PER_PERSON_M2 = 1.5  # 人均避难面积 (SEED_REQUIREMENTS.md §1.6)

# The columns each library's table shows, in order (every field stays in the form and the export).
LIBRARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "team": ("name", "type", "tier", "headcount", "status", "leader", "phone", "specialities", "base"),
    "warehouse": ("name", "kind", "area_m2", "manager", "phone", "address"),
    "shelter": ("name", "kind", "area_m2", "capacity", "occupancy", "status", "manager", "phone", "address"),
    "equipment": ("name", "type", "quantity", "owner_unit", "status"),
    "risk_source": ("name", "grade", "sector", "status", "responsible_unit", "responsible_person", "phone"),
    "expert": ("name", "category", "speciality", "employer", "phone"),
    "contact": ("name", "unit", "title", "phone", "mobile", "radio_400", "radio_800", "sat_phone"),
}
# The enum field each library's filter box offers (None: no filter).
FILTER_FIELD: dict[str, str | None] = {
    "team": "status", "warehouse": None, "shelter": "status", "equipment": None,
    "risk_source": "status", "expert": "category", "contact": None,
}
# Fields the form and the import never offer (references chosen elsewhere).
HIDDEN_FIELDS = frozenset({"org_unit_id", "team_id", "warehouse_id"})
SEARCH_LIMIT = 100_000


def editable_fields(library: str) -> tuple[str, ...]:
    return tuple(f.name for f in entity(library).fields if f.name not in HIDDEN_FIELDS)


def _check_library(library: str) -> None:
    if library not in LIBRARIES:
        raise KeyError(f"{library!r} is not a resource library")


# ---- Reading ------------------------------------------------------------------------------

def library_ids(conn: sa.Connection, library: str, *, query: str = "", filter_value: str | None = None,
                sort_field: str = "name", descending: bool = False) -> list[str]:
    """Ids of a library's live rows, filtered, searched and sorted (all in SQL)."""
    _check_library(library)
    t = table_for(library)
    q = sa.select(t.c.id).where(t.c.deleted.is_(False))
    field = FILTER_FIELD.get(library)
    if filter_value and field:
        q = q.where(t.c[field] == filter_value)
    if query.strip():
        hits = {h.id for h in search(conn, query, [library], limit=SEARCH_LIMIT)}
        if not hits:
            return []
        q = q.where(t.c.id.in_(hits))
    column = t.c[sort_field] if sort_field in t.c else t.c.name
    order = column.desc() if descending else column.asc()
    q = q.order_by(order.nulls_last(), t.c.id)
    return list(conn.execute(q).scalars())


def user_names(conn: sa.Connection) -> dict[str, str]:
    u = table_for("user")
    return dict(conn.execute(sa.select(u.c.id, u.c.name)).all())


def library_rows(conn: sa.Connection, library: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Full rows for these ids, each with ``updated_by_name`` (missing ids were deleted meanwhile)."""
    _check_library(library)
    if not ids:
        return {}
    t = table_for(library)
    names = user_names(conn)
    out = {}
    for r in conn.execute(sa.select(t).where(t.c.id.in_(list(ids)))).mappings():
        row = dict(r)
        row["updated_by_name"] = names.get(row.get("updated_by") or "", row.get("updated_by") or "")
        out[row["id"]] = row
    return out


def library_counts(conn: sa.Connection) -> dict[str, int]:
    out = {}
    for lib in LIBRARIES:
        t = table_for(lib)
        out[lib] = conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.deleted.is_(False))).scalar() or 0
    return out


# ---- Checking -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Box:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, lon: float, lat: float) -> bool:
        return self.min_lon <= lon <= self.max_lon and self.min_lat <= lat <= self.max_lat


def _ring_points(geometry: Any) -> list[Sequence[float]]:
    if not isinstance(geometry, dict):
        return []
    coords = geometry.get("coordinates") or []
    polys = [coords] if geometry.get("type") == "Polygon" else coords
    return [pt for poly in polys for ring in poly[:1] for pt in ring]


def district_box(conn: sa.Connection) -> Box | None:
    """The bounding box of the district(s) in the cache (None: no boundary known)."""
    o = table_for("org_unit")
    pts = []
    for (boundary,) in conn.execute(sa.select(o.c.boundary).where(o.c.kind == "district", o.c.deleted.is_(False))):
        pts.extend(_ring_points(boundary))
    if not pts:
        return None
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    return Box(min(lons), min(lats), max(lons), max(lats))


def max_capacity(area_m2: float) -> int:
    return int(math.floor(area_m2 / AREA_PER_PERSON_M2 + 1e-9))


def cross_rules(library: str, data: Mapping[str, Any], box: Box | None) -> list[Problem]:
    """Rules over several fields of one record (no database needed)."""
    out: list[Problem] = []
    if library == "shelter":
        area, cap, occ = data.get("area_m2"), data.get("capacity"), data.get("occupancy")
        if isinstance(area, (int, float)) and area > 0 and isinstance(cap, int) and cap > max_capacity(area):
            out.append(Problem("capacity", "impossible",
                               f"容量超出面积所能容纳的人数（{area:g}㎡ ÷ 1.5㎡ = {max_capacity(area)} 人）",
                               f"more than the area can hold ({area:g} m² ÷ 1.5 m² = {max_capacity(area)} people)"))
        if isinstance(cap, int) and isinstance(occ, int) and cap >= 0 and occ > cap:
            out.append(Problem("occupancy", "over_capacity", "安置人数超过容量", "occupancy exceeds the capacity"))
    if library == "team" and data.get("headcount") == 0:
        out.append(Problem("headcount", "range", "队伍人数必须大于 0", "a team needs at least one member"))
    lon, lat = data.get("lon"), data.get("lat")
    if (lon is None) != (lat is None):
        out.append(Problem("lat" if lat is None else "lon", "pair", "经度和纬度需同时填写",
                           "give both longitude and latitude"))
    elif box is not None and isinstance(lon, (int, float)) and isinstance(lat, (int, float)) \
            and -180 <= lon <= 180 and -90 <= lat <= 90 and not box.contains(lon, lat):
        out.append(Problem("lon", "outside", "坐标不在本区范围内", "the coordinates are outside the district"))
    return out


def name_taken(conn: sa.Connection, library: str, name: str, record_id: str | None = None) -> bool:
    t = table_for(library)
    q = sa.select(t.c.id).where(t.c.deleted.is_(False), t.c.name == name.strip())
    if record_id:
        q = q.where(t.c.id != record_id)
    return conn.execute(q.limit(1)).first() is not None


def check(conn: sa.Connection, library: str, data: Mapping[str, Any], record_id: str | None = None
          ) -> list[Problem]:
    """Every problem with a library record (the whole record as it would be after saving)."""
    _check_library(library)
    problems = check_record(entity(library), data)
    problems += cross_rules(library, data, district_box(conn))
    name = data.get("name")
    if isinstance(name, str) and name.strip() and name_taken(conn, library, name, record_id):
        problems.append(Problem("name", "duplicate", "同名记录已存在", "a record with this name already exists"))
    return problems


# ---- Writing ------------------------------------------------------------------------------

def save(ctx: AppContext, library: str, data: Mapping[str, Any], record_id: str | None = None) -> str:
    """Create (record_id None) or patch a library record after every check; raises ValidationError."""
    _check_library(library)
    author = ctx.user.id if ctx.user else None

    def run(conn: sa.Connection) -> str:
        now = clock.now_iso()
        if record_id is None:
            merged = {k: v for k, v in data.items() if v is not None}
            problems = check(conn, library, merged)
            if problems:
                raise ValidationError(problems)
            return records.create(conn, library, merged, author_id=author, now=now)
        old = records.get(conn, library, record_id)
        if old is None:
            raise ValidationError([Problem("id", "missing", "记录已不存在", "the record no longer exists")])
        fields = set(entity(library).field_names)
        merged = {k: v for k, v in old.items() if k in fields and v is not None}
        merged.update(data)
        merged = {k: v for k, v in merged.items() if v is not None}
        problems = check(conn, library, merged, record_id)
        if problems:
            raise ValidationError(problems)
        changes = {k: v for k, v in data.items() if old.get(k) != v}
        if changes:
            records.patch(conn, library, record_id, changes, author_id=author, now=now)
        return record_id

    rid = ctx.store.write_sync(run)
    ctx.publish(ChangeSet.of(library, [rid]))
    return rid


# ---- The expert draw (信息系统随机抽取专家, seed 003:117) ---------------------------------

@dataclasses.dataclass(frozen=True)
class Draw:
    expert_ids: tuple[str, ...]
    names: tuple[str, ...]
    log_entry_id: str


def expert_pool(conn: sa.Connection, category: str) -> list[tuple[str, str]]:
    t = table_for("expert")
    return [(r.id, r.name) for r in conn.execute(
        sa.select(t.c.id, t.c.name).where(t.c.deleted.is_(False), t.c.category == category).order_by(t.c.id))]


def draw_experts(ctx: AppContext, category: str, count: int, *, incident_id: str | None = None,
                 purpose: str = "", rng: random.Random | None = None) -> Draw:
    """Draw ``count`` experts of a category at random and log the draw (kind 调) in the same transaction."""
    if category not in ExpertCategory.codes():
        raise ValueError(f"unknown expert category {category!r}")
    if count < 1:
        raise ValueError("draw at least one expert")
    rng = rng or random.SystemRandom()
    author = ctx.user.id if ctx.user else None

    def run(conn: sa.Connection) -> Draw:
        pool = expert_pool(conn, category)
        if len(pool) < count:
            raise ValueError(f"only {len(pool)} experts in {category}")
        picked = rng.sample(pool, count)
        label = ExpertCategory(category).zh
        names = "、".join(n for _, n in picked)
        body = f"随机抽取{label}专家 {count} 名（共 {len(pool)} 名）：{names}"
        if purpose:
            body += f"。用途：{purpose}"
        entry = append_entry(conn, kind="dispatch", body=body, author_id=author, device_id=ctx.device_id,
                             now=clock.now_iso(), incident_id=incident_id,
                             details={"action": "expert_draw", "category": category, "pool": len(pool),
                                      "expert_ids": [i for i, _ in picked], "purpose": purpose})
        return Draw(tuple(i for i, _ in picked), tuple(n for _, n in picked), entry)

    draw = ctx.store.write_sync(run)
    ctx.publish(ChangeSet.of("duty_log_entry", [draw.log_entry_id]))
    return draw
