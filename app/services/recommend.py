"""推荐: nearest suitable teams, stocked warehouses, shelters with room and experts for an incident.

Ranking is explainable on purpose (the officer must be able to say why they overrode it):

- teams: only those free to go (standby or prepositioned, no active dispatch); ranked by
  straight-line distance plus a penalty for a poorer fit of type and speciality to the
  incident's category and subtype;
- warehouses: those holding the requested items (more of the list covered first), then distance;
- shelters: spare capacity (capacity − occupancy) > 0 and not full, by distance;
- experts: the incident category's expert category first, then general, speciality matches first.

ETAs are road estimates (straight line × 1.4 at 30 km/h in town), marked as estimates in the UI.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.enums import ACTIVE_DISPATCH_STATES
from app.domain.geo import haversine_m
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.services.dispatching import DISPATCHABLE_TEAM_STATUSES, dispatch_team_in
from app.services.duty_log_writer import append_entry
from app.services.maps.stale import thresholds as stale_thresholds
from app.services.stock import levels
from app.store import records
from app.store.schema import table_for

ROAD_FACTOR = 1.4
SPEED_KMH = 30.0
FIT_PENALTY_KM = 3.0  # one step poorer fit weighs as much as 3 km further away

TEAM_TYPES_FOR: dict[str, tuple[str, ...]] = {
    "natural": ("professional", "fire", "part_time", "militia", "aviation"),
    "accident": ("fire", "professional", "enterprise"),
    "public_health": ("professional", "volunteer", "social"),
    "social_security": ("militia", "professional", "volunteer"),
}
KEYWORDS_FOR: dict[str, tuple[str, ...]] = {
    "natural": ("防汛", "抢险", "排涝", "地质", "搜救", "救援", "滑坡", "台风"),
    "accident": ("火灾", "消防", "危化", "燃气", "抢险", "救援", "电梯", "高空"),
    "public_health": ("医疗", "卫生", "防疫", "救护", "急救"),
    "social_security": ("安保", "巡逻", "疏散", "治安"),
}
EXPERT_CATEGORY_FOR = {"natural": "natural_disaster", "accident": "work_safety",
                       "public_health": "public_health", "social_security": "social_security"}


@dataclasses.dataclass(frozen=True)
class Candidate:
    kind: str  # team · warehouse · shelter · expert
    id: str
    name: str
    score: float  # lower is better
    distance_m: float | None
    detail_zh: str
    detail_en: str
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def eta_min(self) -> float | None:
        if self.distance_m is None:
            return None
        return self.distance_m / 1000 * ROAD_FACTOR / SPEED_KMH * 60

    def detail(self, lang: str = "zh") -> str:
        return self.detail_zh if lang == "zh" else self.detail_en


@dataclasses.dataclass(frozen=True)
class Recommendation:
    incident_id: str | None
    lon: float
    lat: float
    category: str
    teams: list[Candidate]
    warehouses: list[Candidate]
    shelters: list[Candidate]
    experts: list[Candidate]


def _dist(lon: float, lat: float, rlon: Any, rlat: Any) -> float | None:
    if rlon is None or rlat is None:
        return None
    return haversine_m(lon, lat, rlon, rlat)


def _flat_km(lon: float, lat: float):
    """A fast distance for ranking (equirectangular: within 0.1 % of haversine over a district)."""
    kx, ky = 111.320 * math.cos(math.radians(lat)), 110.574

    def km(rlon: Any, rlat: Any) -> float:
        if rlon is None or rlat is None:
            return UNKNOWN_KM
        return math.hypot((rlon - lon) * kx, (rlat - lat) * ky)
    return km


UNKNOWN_KM = 50.0  # a resource without coordinates ranks as if 50 km away


def _fit(category: str, subtype: str, type_: str | None, specialities: str | None) -> int:
    """0 = best fit … 2 = poorest."""
    types = TEAM_TYPES_FOR.get(category, ())
    text = specialities or ""
    words = KEYWORDS_FOR.get(category, ()) + ((subtype,) if subtype else ())
    hit = any(w and w in text for w in words)
    type_ok = type_ in types
    return 0 if (type_ok and hit) else 1 if (type_ok or hit) else 2


STALE_PENALTY_KM = 5.0  # a team whose standby status is old news ranks as if 5 km further


def _stale_since(updated_at: str | None, now: dt.datetime, minutes: float) -> dt.datetime | None:
    """When the record was last true, if that is longer ago than ``minutes`` (ANCHORS 4.9); else None."""
    try:
        t = dt.datetime.fromisoformat(updated_at) if updated_at else None
    except ValueError:
        return None
    if t is None or t.tzinfo is None:
        return None  # no update time (bulk-loaded library data): nothing says when it was true
    return t if (now - t).total_seconds() > minutes * 60 else None


def rank_teams(conn: sa.Connection, lon: float, lat: float, category: str, subtype: str = "",
               limit: int = 10, now: dt.datetime | None = None) -> list[Candidate]:
    t, d = table_for("team"), table_for("dispatch")
    busy = set(conn.execute(sa.select(d.c.team_id).where(d.c.deleted.is_(False),
                                                         d.c.state.in_(ACTIVE_DISPATCH_STATES))).scalars())
    rows = conn.execute(sa.select(t.c.id, t.c.name, t.c.type, t.c.status, t.c.headcount, t.c.specialities,
                                  t.c.lon, t.c.lat, t.c.updated_at)
                        .where(t.c.deleted.is_(False), t.c.status.in_(DISPATCHABLE_TEAM_STATUSES))).all()
    km = _flat_km(lon, lat)
    now = now or clock.now()
    minutes = stale_thresholds()["team"]
    scored = []
    for r in rows:
        if r.id in busy:
            continue
        fit = _fit(category, subtype, r.type, r.specialities)
        stale = _stale_since(r.updated_at, now, minutes)
        score = (km(r.lon, r.lat) + FIT_PENALTY_KM * fit + (0.5 if r.status == "prepositioned" else 0.0)
                 + (STALE_PENALTY_KM if stale else 0.0))
        scored.append((score, r.name, fit, stale, r))
    scored.sort(key=lambda x: (x[0], x[1]))
    out = []
    for score, _name, fit, stale, r in scored[:limit]:
        fit_zh, fit_en = (("对口", "matching"), ("部分对口", "partly matching"), ("不对口", "not matching"))[fit]
        as_of_zh = f" · 状态截至 {clock.to_beijing(stale):%H:%M}（过时，先核实）" if stale else ""
        as_of_en = f" · status as of {clock.to_beijing(stale):%H:%M} (stale: check first)" if stale else ""
        out.append(Candidate("team", r.id, r.name, score, _dist(lon, lat, r.lon, r.lat),
                             f"{fit_zh} · {r.headcount or '?'} 人 · {r.specialities or ''}{as_of_zh}",
                             f"{fit_en} · {r.headcount or '?'} people · {r.specialities or ''}{as_of_en}",
                             {"fit": fit, "status": r.status, "type": r.type, "stale": stale is not None}))
    return out


def rank_warehouses(conn: sa.Connection, lon: float, lat: float, item_ids: Sequence[str] = (),
                    limit: int = 10) -> list[Candidate]:
    w, it = table_for("warehouse"), table_for("supply_item")
    wanted_items = set(item_ids)
    held: dict[str, dict[str, int]] = {}
    for (wid, iid), qty in levels(conn).items():  # the ledger summary, kept incrementally
        if qty > 0 and (not wanted_items or iid in wanted_items):
            held.setdefault(wid, {})[iid] = qty
    km = _flat_km(lon, lat)
    scored = []
    for r in conn.execute(sa.select(w.c.id, w.c.name, w.c.lon, w.c.lat).where(w.c.deleted.is_(False))).all():
        stock = held.get(r.id)
        if not stock:
            continue
        covered = len(stock) if item_ids else 0
        scored.append((km(r.lon, r.lat) - 100.0 * covered, r.name, covered, stock, r))
    scored.sort(key=lambda x: (x[0], x[1]))
    top = scored[:limit]
    wanted = {i for *_, stock, _r in top for i in stock}
    items = {r.id: (r.name, r.unit or "") for r in conn.execute(
        sa.select(it.c.id, it.c.name, it.c.unit).where(it.c.id.in_(list(wanted)))).all()} if wanted else {}
    out = []
    for score, _name, covered, stock, r in top:
        shown = sorted(stock.items(), key=lambda kv: -kv[1])[:4] if not item_ids else list(stock.items())
        parts = [f"{items.get(i, (i, ''))[0]} {q}{items.get(i, ('', ''))[1]}" for i, q in shown]
        cov_zh = f"有 {covered}/{len(item_ids)} 种所需物资 · " if item_ids else ""
        cov_en = f"holds {covered}/{len(item_ids)} items asked for · " if item_ids else ""
        out.append(Candidate("warehouse", r.id, r.name, score, _dist(lon, lat, r.lon, r.lat),
                             cov_zh + "、".join(parts), cov_en + ", ".join(parts),
                             {"stock": stock, "covered": covered}))
    return out


def rank_shelters(conn: sa.Connection, lon: float, lat: float, limit: int = 10) -> list[Candidate]:
    s = table_for("shelter")
    km = _flat_km(lon, lat)
    scored = []
    for r in conn.execute(sa.select(s.c.id, s.c.name, s.c.capacity, s.c.occupancy, s.c.status, s.c.lon, s.c.lat)
                          .where(s.c.deleted.is_(False), s.c.status != "full")).all():
        spare = (r.capacity or 0) - (r.occupancy or 0)
        if spare > 0:
            scored.append((km(r.lon, r.lat) + (1.0 if r.status == "closed" else 0.0), r.name, spare, r))
    scored.sort(key=lambda x: (x[0], x[1]))
    out = []
    for score, _name, spare, r in scored[:limit]:
        st_zh, st_en = ("已开放", "open") if r.status == "open" else ("未开放，需先开放", "closed: open it first")
        out.append(Candidate("shelter", r.id, r.name, score, _dist(lon, lat, r.lon, r.lat),
                             f"可再安置 {spare} 人 · {st_zh}", f"room for {spare} more · {st_en}",
                             {"spare": spare, "status": r.status}))
    return out


def rank_experts(conn: sa.Connection, category: str, subtype: str = "", limit: int = 10) -> list[Candidate]:
    e = table_for("expert")
    wanted = EXPERT_CATEGORY_FOR.get(category, "general")
    words = KEYWORDS_FOR.get(category, ()) + ((subtype,) if subtype else ())
    out = []
    for r in conn.execute(sa.select(e.c.id, e.c.name, e.c.category, e.c.speciality, e.c.employer, e.c.phone)
                          .where(e.c.deleted.is_(False), e.c.category.in_((wanted, "general")))):
        match = any(w and w in (r.speciality or "") for w in words)
        score = (0 if r.category == wanted else 2) + (0 if match else 1)
        out.append(Candidate("expert", r.id, r.name, float(score), None,
                             f"{r.speciality or ''} · {r.employer or ''} · {r.phone or ''}",
                             f"{r.speciality or ''} · {r.employer or ''} · {r.phone or ''}",
                             {"category": r.category, "phone": r.phone}))
    out.sort(key=lambda c: (c.score, c.name))
    return out[:limit]


def recommend(conn: sa.Connection, *, incident_id: str | None = None, lon: float | None = None,
              lat: float | None = None, category: str | None = None, subtype: str = "",
              item_ids: Sequence[str] = (), limit: int = 10) -> Recommendation:
    """Rank every kind of resource for an incident (or a bare point and category)."""
    if incident_id is not None:
        inc = records.get(conn, "incident", incident_id)
        if inc is None:
            raise KeyError(incident_id)
        lon = inc.get("lon") if lon is None else lon
        lat = inc.get("lat") if lat is None else lat
        category = category or inc.get("category")
        subtype = subtype or inc.get("subtype") or ""
    if lon is None or lat is None:
        raise ValueError("the incident has no location")
    category = category or "natural"
    return Recommendation(incident_id, lon, lat, category,
                          rank_teams(conn, lon, lat, category, subtype, limit),
                          rank_warehouses(conn, lon, lat, item_ids, limit),
                          rank_shelters(conn, lon, lat, limit),
                          rank_experts(conn, category, subtype, limit))


def incident_title(conn: sa.Connection, incident_id: str) -> str:
    return (records.get(conn, "incident", incident_id) or {}).get("title") or ""


def choose(ctx: AppContext, incident_id: str, candidate: Candidate, rank: int, reason: str = "",
           note: str = "") -> str:
    """The officer's pick. A team is dispatched; anything else is logged. An override (not the first
    suggestion) needs a reason. Returns the dispatch id (team) or the log entry id."""
    if rank > 0 and not reason.strip():
        raise ValueError("overriding the recommendation needs a reason")
    author = ctx.user.id if ctx.user else None
    why = f"推荐第 {rank + 1} 位" + (f"；理由：{reason.strip()}" if reason.strip() else "")

    def run(conn: sa.Connection) -> str:
        now = clock.now_iso()
        if candidate.kind == "team":
            return dispatch_team_in(conn, team_id=candidate.id, incident_id=incident_id, author_id=author,
                                    device_id=ctx.device_id, note=note, reason=why, now=now)
        kinds = {"warehouse": "物资仓库", "shelter": "避难场所", "expert": "专家"}
        title = (records.get(conn, "incident", incident_id) or {}).get("title", "")
        return append_entry(conn, kind="dispatch", body=f"选定{kinds.get(candidate.kind, '')}：{candidate.name}"
                            f"（{title}）。{why}", author_id=author, device_id=ctx.device_id, now=now,
                            incident_id=incident_id,
                            details={"action": "recommend_choice", "kind": candidate.kind, "id": candidate.id,
                                     "rank": rank + 1, "reason": reason.strip()})

    rid = ctx.store.write_sync(run)
    cs = ChangeSet.of("duty_log_entry")
    if candidate.kind == "team":
        cs = cs.merge(ChangeSet.of("dispatch", [rid])).merge(ChangeSet.of("team", [candidate.id]))
    ctx.publish(cs)
    return rid
