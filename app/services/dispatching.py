"""调: sending teams, moving supplies, opening shelters. Each action logs its 调 entry atomically.

- A team dispatch moves ordered → en_route → on_scene → returned (or cancelled); a team has
  at most one active dispatch, and ``team.status`` follows the dispatch.
- An allocation order (调拨单) moves draft → approved → shipped → delivered (or cancelled);
  shipping appends one allocation movement per line to the stock ledger.
- A shelter is opened, closed or given its occupancy (full when it reaches capacity).

Every command runs in one write transaction with its duty-log entry (kind "dispatch",
incident_id set), so the action and its trace commit together or not at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.enums import ACTIVE_DISPATCH_STATES, AllocationStatus, DispatchState, TeamStatus
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.services.duty_log_writer import append_entry
from app.services.stock import record_movement
from app.store import records
from app.store.schema import table_for

DISPATCH_TRANSITIONS: dict[str, frozenset[str]] = {
    "ordered": frozenset({"en_route", "on_scene", "cancelled"}),
    "en_route": frozenset({"on_scene", "returned", "cancelled"}),
    "on_scene": frozenset({"returned"}),
    "returned": frozenset(),
    "cancelled": frozenset(),
}
TEAM_STATUS_FOR = {"ordered": "dispatched", "en_route": "dispatched", "on_scene": "on_scene",
                   "returned": "standby", "cancelled": "standby"}
ALLOCATION_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"approved", "cancelled"}),
    "approved": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "cancelled": frozenset(),
}
DISPATCHABLE_TEAM_STATUSES = ("standby", "prepositioned")


class DispatchRefused(Exception):
    """An action the rules refuse, said plainly in both languages."""

    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh, self.message_en = message_zh, message_en

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


@dataclasses.dataclass(frozen=True)
class ActiveDispatch:
    id: str
    team_id: str
    incident_id: str
    state: str
    ordered_at: str | None


def _author(ctx: AppContext) -> str | None:
    return ctx.user.id if ctx.user else None


def _title(conn: sa.Connection, incident_id: str | None) -> str:
    if not incident_id:
        return ""
    row = records.get(conn, "incident", incident_id)
    return (row or {}).get("title") or ""


def active_dispatch(conn: sa.Connection, team_id: str) -> ActiveDispatch | None:
    d = table_for("dispatch")
    r = conn.execute(sa.select(d.c.id, d.c.team_id, d.c.incident_id, d.c.state, d.c.ordered_at).where(
        d.c.deleted.is_(False), d.c.team_id == team_id, d.c.state.in_(ACTIVE_DISPATCH_STATES))
        .order_by(d.c.ordered_at.desc()).limit(1)).first()
    return ActiveDispatch(*r) if r else None


def dispatches_for_incident(conn: sa.Connection, incident_id: str) -> list[dict[str, Any]]:
    d, t = table_for("dispatch"), table_for("team")
    q = (sa.select(d.c.id, d.c.team_id, d.c.state, d.c.ordered_at, d.c.arrived_at, d.c.returned_at, d.c.note,
                   t.c.name.label("team_name"))
         .select_from(d.outerjoin(t, t.c.id == d.c.team_id))
         .where(d.c.deleted.is_(False), d.c.incident_id == incident_id).order_by(d.c.ordered_at.desc()))
    return [dict(r) for r in conn.execute(q).mappings()]


# ---- Teams ---------------------------------------------------------------------------------

def dispatch_team_in(conn: sa.Connection, *, team_id: str, incident_id: str, author_id: str | None,
                     device_id: str, note: str = "", reason: str = "", now: str | None = None) -> str:
    """Create the dispatch, set the team dispatched and log it (inside a write transaction)."""
    now = now or clock.now_iso()
    team = records.get(conn, "team", team_id)
    if team is None or team.get("deleted"):
        raise DispatchRefused("队伍不存在", "no such team")
    incident = records.get(conn, "incident", incident_id)
    if incident is None:
        raise DispatchRefused("事件不存在", "no such incident")
    if incident.get("status") in ("closed", "cancelled"):
        raise DispatchRefused("事件已结案或撤销，不能再调派", "the incident is closed or cancelled")
    busy = active_dispatch(conn, team_id)
    if busy is not None:
        where = _title(conn, busy.incident_id) or busy.incident_id
        state = DispatchState(busy.state).zh
        raise DispatchRefused(f"{team['name']} 已在执行任务（{where}，{state}），一支队伍同时只能有一个调派",
                              f"{team['name']} is already dispatched ({where}, {DispatchState(busy.state).en}); "
                              "a team has one active dispatch at a time")
    if team.get("status") not in DISPATCHABLE_TEAM_STATUSES:
        st = TeamStatus(team["status"]) if team.get("status") in TeamStatus.codes() else None
        raise DispatchRefused(f"{team['name']} 当前状态为“{st.zh if st else team.get('status')}”，不能调派",
                              f"{team['name']} is {st.en if st else team.get('status')} and cannot be dispatched")
    data = {"team_id": team_id, "incident_id": incident_id, "state": "ordered", "ordered_at": now,
            "note": note or None, "org_unit_id": team.get("org_unit_id"), "drill": bool(incident.get("drill"))}
    did = records.create(conn, "dispatch", {k: v for k, v in data.items() if v is not None},
                         author_id=author_id, now=now)
    records.patch(conn, "team", team_id, {"status": "dispatched"}, author_id=author_id, now=now)
    body = f"调派 {team['name']}（{team.get('headcount') or '?'} 人）前往：{incident.get('title')}"
    if note:
        body += f"。任务：{note}"
    if reason:
        body += f"。选择理由：{reason}"
    append_entry(conn, kind="dispatch", body=body, author_id=author_id, device_id=device_id, now=now,
                 incident_id=incident_id, details={"action": "team_dispatch", "dispatch_id": did,
                                                   "team_id": team_id, "state": "ordered", "reason": reason})
    return did


def dispatch_team(ctx: AppContext, team_id: str, incident_id: str, *, note: str = "", reason: str = "") -> str:
    did = ctx.store.write_sync(lambda conn: dispatch_team_in(
        conn, team_id=team_id, incident_id=incident_id, author_id=_author(ctx), device_id=ctx.device_id,
        note=note, reason=reason))
    ctx.publish(ChangeSet.of("dispatch", [did]).merge(ChangeSet.of("team", [team_id]))
                .merge(ChangeSet.of("duty_log_entry")))
    return did


def advance_dispatch_in(conn: sa.Connection, *, dispatch_id: str, state: str, author_id: str | None,
                        device_id: str, note: str = "", now: str | None = None) -> str:
    now = now or clock.now_iso()
    d = records.get(conn, "dispatch", dispatch_id)
    if d is None:
        raise DispatchRefused("调派记录不存在", "no such dispatch")
    if state not in DISPATCH_TRANSITIONS.get(d["state"], ()):
        raise DispatchRefused(f"不能从“{DispatchState(d['state']).zh}”改为“{DispatchState(state).zh}”",
                              f"cannot go from {DispatchState(d['state']).en} to {DispatchState(state).en}")
    changes: dict[str, Any] = {"state": state}
    if state == "on_scene":
        changes["arrived_at"] = now
    if state in ("returned", "cancelled"):
        changes["returned_at"] = now
    records.patch(conn, "dispatch", dispatch_id, changes, author_id=author_id, now=now)
    team = records.get(conn, "team", d["team_id"]) or {}
    if team:
        records.patch(conn, "team", d["team_id"], {"status": TEAM_STATUS_FOR[state]}, author_id=author_id, now=now)
    body = f"{team.get('name', '队伍')}：{DispatchState(state).zh}（{_title(conn, d['incident_id'])}）"
    if note:
        body += f"。{note}"
    append_entry(conn, kind="dispatch", body=body, author_id=author_id, device_id=device_id, now=now,
                 incident_id=d["incident_id"], details={"action": "dispatch_state", "dispatch_id": dispatch_id,
                                                        "team_id": d["team_id"], "state": state})
    return d["team_id"]


def advance_dispatch(ctx: AppContext, dispatch_id: str, state: str, note: str = "") -> None:
    team_id = ctx.store.write_sync(lambda conn: advance_dispatch_in(
        conn, dispatch_id=dispatch_id, state=state, author_id=_author(ctx), device_id=ctx.device_id, note=note))
    ctx.publish(ChangeSet.of("dispatch", [dispatch_id]).merge(ChangeSet.of("team", [team_id]))
                .merge(ChangeSet.of("duty_log_entry")))


# ---- Allocation orders (调拨单) -----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Line:
    item_id: str
    quantity: int


def create_allocation_in(conn: sa.Connection, *, from_warehouse_id: str, lines: Sequence[Line],
                         incident_id: str | None, to_place: str, author_id: str | None, device_id: str,
                         now: str | None = None) -> str:
    now = now or clock.now_iso()
    wh = records.get(conn, "warehouse", from_warehouse_id)
    if wh is None:
        raise DispatchRefused("仓库不存在", "no such warehouse")
    if not lines:
        raise DispatchRefused("调拨单至少要有一项物资", "an allocation order needs at least one item")
    if not (to_place.strip() or incident_id):
        raise DispatchRefused("请填写送往地点或选择事件", "give a destination or an incident")
    items = []
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity <= 0:
            raise DispatchRefused("调拨数量必须是正整数", "quantities must be positive whole numbers")
        it = records.get(conn, "supply_item", line.item_id)
        if it is None:
            raise DispatchRefused("物资品目不存在", "no such supply item")
        items.append({"item_id": line.item_id, "name": it["name"], "unit": it["unit"], "quantity": line.quantity})
    data = {"from_warehouse_id": from_warehouse_id, "items": items, "status": "draft", "ordered_at": now,
            "to_place": to_place.strip() or None, "incident_id": incident_id,
            "org_unit_id": wh.get("org_unit_id"), "drill": False}
    oid = records.create(conn, "allocation_order", {k: v for k, v in data.items() if v is not None},
                         author_id=author_id, now=now)
    what = "、".join(f"{i['name']}{i['quantity']}{i['unit']}" for i in items)
    append_entry(conn, kind="dispatch", body=f"草拟调拨单：从{wh['name']}调拨 {what} 至 "
                 f"{to_place.strip() or _title(conn, incident_id)}", author_id=author_id, device_id=device_id,
                 now=now, incident_id=incident_id, details={"action": "allocation", "order_id": oid,
                                                            "status": "draft"})
    return oid


def create_allocation(ctx: AppContext, from_warehouse_id: str, lines: Sequence[Line], *,
                      incident_id: str | None = None, to_place: str = "") -> str:
    oid = ctx.store.write_sync(lambda conn: create_allocation_in(
        conn, from_warehouse_id=from_warehouse_id, lines=lines, incident_id=incident_id, to_place=to_place,
        author_id=_author(ctx), device_id=ctx.device_id))
    ctx.publish(ChangeSet.of("allocation_order", [oid]).merge(ChangeSet.of("duty_log_entry")))
    return oid


def advance_allocation_in(conn: sa.Connection, *, order_id: str, status: str, author_id: str | None,
                          device_id: str, now: str | None = None) -> list[str]:
    """Move an order on; shipping appends the allocation movements. Returns the movement ids."""
    now = now or clock.now_iso()
    order = records.get(conn, "allocation_order", order_id)
    if order is None:
        raise DispatchRefused("调拨单不存在", "no such allocation order")
    if status not in ALLOCATION_TRANSITIONS.get(order["status"], ()):
        old_zh, new_zh = AllocationStatus(order["status"]).zh, AllocationStatus(status).zh
        raise DispatchRefused(f"调拨单不能从“{old_zh}”改为“{new_zh}”",
                              f"cannot go from {AllocationStatus(order['status']).en} to "
                              f"{AllocationStatus(status).en}")
    moved: list[str] = []
    if status == "shipped":
        for line in order["items"] or []:
            moved.append(record_movement(conn, warehouse_id=order["from_warehouse_id"], item_id=line["item_id"],
                                         delta=-int(line["quantity"]), reason="allocation", author_id=author_id,
                                         now=now, incident_id=order.get("incident_id"),
                                         note=f"调拨单出库 → {order.get('to_place') or ''}".strip()))
    changes: dict[str, Any] = {"status": status}
    if status == "delivered":
        changes["delivered_at"] = now
    records.patch(conn, "allocation_order", order_id, changes, author_id=author_id, now=now)
    wh = records.get(conn, "warehouse", order["from_warehouse_id"]) or {}
    what = "、".join(f"{i['name']}{i['quantity']}{i.get('unit', '')}" for i in order["items"] or [])
    append_entry(conn, kind="dispatch", body=f"调拨单{AllocationStatus(status).zh}：{wh.get('name', '')} {what}",
                 author_id=author_id, device_id=device_id, now=now, incident_id=order.get("incident_id"),
                 details={"action": "allocation", "order_id": order_id, "status": status, "movements": moved})
    return moved


def advance_allocation(ctx: AppContext, order_id: str, status: str) -> None:
    moved = ctx.store.write_sync(lambda conn: advance_allocation_in(
        conn, order_id=order_id, status=status, author_id=_author(ctx), device_id=ctx.device_id))
    cs = ChangeSet.of("allocation_order", [order_id]).merge(ChangeSet.of("duty_log_entry"))
    if moved:
        cs = cs.merge(ChangeSet.of("stock_movement", moved))
    ctx.publish(cs)


# ---- Shelters ------------------------------------------------------------------------------

def set_shelter_in(conn: sa.Connection, *, shelter_id: str, open_: bool | None = None,
                   occupancy: int | None = None, incident_id: str | None = None, author_id: str | None,
                   device_id: str, now: str | None = None) -> None:
    now = now or clock.now_iso()
    s = records.get(conn, "shelter", shelter_id)
    if s is None:
        raise DispatchRefused("避难场所不存在", "no such shelter")
    changes: dict[str, Any] = {}
    occ = s.get("occupancy") or 0
    if occupancy is not None:
        if isinstance(occupancy, bool) or not isinstance(occupancy, int) or occupancy < 0:
            raise DispatchRefused("安置人数必须是不小于 0 的整数", "occupancy must be a whole number ≥ 0")
        if occupancy > (s.get("capacity") or 0):
            raise DispatchRefused(f"安置人数超过容量（{s.get('capacity')} 人）",
                                  f"occupancy exceeds the capacity ({s.get('capacity')})")
        changes["occupancy"] = occ = occupancy
    is_open = s.get("status") in ("open", "full") if open_ is None else open_
    if not is_open and occ > 0 and open_ is False:
        raise DispatchRefused("场所内仍有安置人员，不能关闭", "people are still sheltered here; it cannot close")
    status = "closed" if not is_open else ("full" if occ >= (s.get("capacity") or 0) else "open")
    if status != s.get("status"):
        changes["status"] = status
    if not changes:
        return
    records.patch(conn, "shelter", shelter_id, changes, author_id=author_id, now=now)
    if "status" in changes and "occupancy" not in changes:
        body = f"{'开放' if is_open else '关闭'}避难场所：{s['name']}"
    else:
        body = f"{s['name']} 安置人数 {occ}/{s.get('capacity')}"
    append_entry(conn, kind="dispatch", body=body, author_id=author_id, device_id=device_id, now=now,
                 incident_id=incident_id, details={"action": "shelter", "shelter_id": shelter_id, **changes})


def set_shelter(ctx: AppContext, shelter_id: str, *, open_: bool | None = None, occupancy: int | None = None,
                incident_id: str | None = None) -> None:
    ctx.store.write_sync(lambda conn: set_shelter_in(
        conn, shelter_id=shelter_id, open_=open_, occupancy=occupancy, incident_id=incident_id,
        author_id=_author(ctx), device_id=ctx.device_id))
    ctx.publish(ChangeSet.of("shelter", [shelter_id]).merge(ChangeSet.of("duty_log_entry")))


def allocation_orders(conn: sa.Connection, warehouse_id: str | None = None, limit: int = 200
                      ) -> list[dict[str, Any]]:
    """Allocation orders (from one warehouse, or all), open ones first, newest first."""
    a = table_for("allocation_order")
    q = sa.select(a.c.id, a.c.incident_id, a.c.from_warehouse_id, a.c.to_place, a.c["items"], a.c.status,
                  a.c.ordered_at, a.c.delivered_at).where(a.c.deleted.is_(False))
    if warehouse_id is not None:
        q = q.where(a.c.from_warehouse_id == warehouse_id)
    closed = sa.case((a.c.status.in_(("delivered", "cancelled")), 1), else_=0)
    q = q.order_by(closed, a.c.ordered_at.desc()).limit(limit)
    return [dict(r) for r in conn.execute(q).mappings()]
