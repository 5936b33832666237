"""Apply one pushed mutation inside the caller's write transaction (rev already allocated).

This is the single service function through which client changes reach ``record``.
It reads and writes through :class:`app.server.state.BatchState` (never the connection),
so push.py can decide a whole batch in memory and write it in a few statements; a
mutation that raises has written nothing. push.py adds the ledger row and an audit row.
Outcomes:
``applied`` / ``applied_with_conflict`` (with sync_conflict rows, themselves synced) /
``rejected`` (raised as :class:`Reject`, nothing written but the ledger and audit).

Dispatch rule: one active dispatch per team (table active_dispatch). A second active
dispatch of a taken team is stored with ``state = "cancelled"`` (recorded, not active)
and a ``unit_taken`` conflict whose losing_value is the requested state, so a leader can
re-activate it once the team is free.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from app.domain.entities import APPEND_ONLY, ENTITIES, REFERENCE, Entity
from app.domain.enums import Role
from app.domain.stocktake import counted_in
from app.domain.validate import check_record
from app.server import policy
from app.server.auth import Principal
from app.server.scope import within
from app.server.state import BatchState, Rec
from app.sync.wire import Mutation

_CONFLICT_NS = uuid.UUID("6f1d3c2a-9b7e-4f51-8a43-2d0c5e7b9a10")


class Reject(Exception):
    def __init__(self, code: str, zh: str, en: str, problems: list[dict] | None = None):
        super().__init__(f"{code}: {en}")
        self.code, self.message, self.problems = code, f"{zh} / {en}", problems or []


@dataclasses.dataclass
class Tx:
    st: BatchState
    rev: int
    now: str
    who: Principal  # whose authority the mutation runs under
    device_id: str
    units: frozenset[str] | None  # allowed org units; None = all


@dataclasses.dataclass
class Effect:
    rev: int | None
    conflict_ids: list[str]


def apply_mutation(tx: Tx, m: Mutation) -> Effect:
    ent = ENTITIES.get(m.entity)
    if ent is None:
        raise Reject("unknown_entity", "未知的记录类型", f"unknown entity {m.entity[:64]!r}")
    payload = dict(m.payload)
    if "id" in payload and payload.pop("id") != m.entity_id:
        raise Reject("id_mismatch", "记录编号不一致", "payload id differs from entity_id")
    _authorise(tx.who, ent, m, payload)
    if m.op != "delete":
        problems = check_record(ent, payload, partial=m.op == "patch")
        if problems:
            codes = {p.code for p in problems}
            code = next((c for c in ("server_owned", "unknown_field") if c in codes), "invalid")
            raise Reject(code, "；".join(f"{p.field}：{p.message_zh}" for p in problems),
                         "; ".join(f"{p.field}: {p.message_en}" for p in problems),
                         [{"field": p.field, "code": p.code, "message": f"{p.message_zh} / {p.message_en}"}
                          for p in problems])
    row = tx.st.record(ent.name, m.entity_id)
    if row is not None and ent.scoped and not within(tx.units, row.scope_id):
        raise Reject("out_of_scope", "无权操作该辖区的记录", "record outside your org unit")
    if m.op == "delete":
        return _delete(tx, ent, m, row)
    if m.op == "patch":
        return _patch(tx, ent, m, row, payload)
    if ent.policy == APPEND_ONLY:
        return _append(tx, ent, m, row, payload)
    return _create(tx, ent, m, row, payload)


def _authorise(who: Principal, ent: Entity, m: Mutation, payload: dict) -> None:
    admin = who.role == Role.ADMIN.value
    if who.role == Role.VIEWER.value:
        raise Reject("forbidden", "只读账户不能修改", "read-only account")
    if (ent.policy == REFERENCE or m.op == "delete") and not admin:
        raise Reject("forbidden", "仅管理员可执行此操作", "administrators only")
    if ent.policy == APPEND_ONLY and m.op in ("patch", "delete"):
        raise Reject("append_only", "只能追加，不能修改", "append-only record cannot be changed")
    if ent.policy == APPEND_ONLY:
        allowed = {"create", "append", "delta"} if ent.name == "stock_movement" else {"create", "append"}
    else:
        allowed = {"create", "patch", "delete"}
    if m.op not in allowed:
        raise Reject("bad_op", "操作类型不适用于该记录", f"op {m.op!r} not valid for {ent.name}")
    if ent.name == "report_signoff" and (who.role not in (Role.LEADER.value, Role.ADMIN.value)
                                         or payload.get("signed_by") != who.user_id):
        raise Reject("forbidden", "只有带班领导可以本人名义签发报告", "only a leader signs a report off, as themself")
    if ent.name == "sync_conflict":
        if m.op == "create":
            raise Reject("forbidden", "冲突记录由服务器生成", "conflicts are raised by the server")
        if who.role == Role.OFFICER.value and payload != {"status": "acknowledged"}:
            raise Reject("forbidden", "值班员只能确认冲突", "officers may only acknowledge conflicts")


def _scope_for_new(tx: Tx, ent: Entity, data: dict) -> str | None:
    if not ent.scoped:
        return None
    if not data.get("org_unit_id") and tx.who.org_unit_id and "org_unit_id" in ent.field_names:
        data["org_unit_id"] = tx.who.org_unit_id  # default: the author's own unit
    scope_id = data.get("org_unit_id")
    if not within(tx.units, scope_id):
        raise Reject("out_of_scope", "无权在该辖区创建记录", "org unit outside your scope")
    return scope_id


def _insert(tx: Tx, ent: Entity, rid: str, scope_id: str | None, data: dict, mutation_id: str,
            track_fields: bool = True) -> None:
    fields = list(data) if track_fields else []
    tx.st.insert_record(ent.name, rid, Rec(
        scope_id, tx.rev, False, data, {f: tx.rev for f in fields}, {f: mutation_id for f in fields},
        tx.who.user_id, tx.who.user_id, tx.now))


def _create(tx: Tx, ent: Entity, m: Mutation, row: Any, payload: dict) -> Effect:
    if row is not None:
        if row.deleted:
            raise Reject("deleted", "该记录已被删除", "record was deleted")
        raise Reject("exists", "记录已存在", "record already exists")
    data = dict(payload)
    scope_id = _scope_for_new(tx, ent, data)
    conflicts: list[policy.Conflict] = []
    if ent.name == "dispatch":
        team = policy.active_team(data)
        holder = _slot_holder(tx, team) if team else None
        if holder is not None:
            conflicts.append(policy.Conflict(policy.UNIT_TAKEN, "state", {"dispatch_id": holder},
                                             data["state"], True))
            data["state"] = "cancelled"
        elif team:
            tx.st.take_slot(team, m.entity_id)
    _insert(tx, ent, m.entity_id, scope_id, data, m.mutation_id)
    return Effect(tx.rev, _raise_conflicts(tx, ent, m, scope_id, conflicts))


def _append(tx: Tx, ent: Entity, m: Mutation, row: Any, payload: dict) -> Effect:
    data = dict(payload)
    warehouse = _warehouse(tx, data) if ent.name == "stock_movement" else None
    if warehouse is not None and not data.get("org_unit_id"):
        data["org_unit_id"] = warehouse.scope_id  # a movement belongs where the goods are
    scope_id = _scope_for_new(tx, ent, data)
    if row is not None:  # insert-if-absent: the same entry again is a no-op
        if row.data == data and not row.deleted:
            return Effect(row.server_rev, [])
        raise Reject("append_only", "同一编号已有不同内容", "a different entry exists under this id")
    _insert(tx, ent, m.entity_id, scope_id, data, m.mutation_id, track_fields=False)
    conflicts: list[policy.Conflict] = []
    if warehouse is not None:
        counted = counted_in(data.get("reason"), data.get("note"))
        if counted is not None:  # a stocktake states the shelf: the balance is what was counted
            balance = _set_stock(tx, data["warehouse_id"], data["item_id"], counted)
        else:
            balance = _add_stock(tx, data["warehouse_id"], data["item_id"], data["delta"])
        if policy.negative_stock(balance):
            conflicts.append(policy.Conflict(policy.STOCK_NEGATIVE, "delta", {"balance": balance},
                                             data["delta"], True))
    return Effect(tx.rev, _raise_conflicts(tx, ent, m, scope_id, conflicts))


def _patch(tx: Tx, ent: Entity, m: Mutation, row: Any, payload: dict) -> Effect:
    if row is None:
        raise Reject("not_found", "记录不存在", "no such record")
    if row.deleted:
        c = policy.Conflict(policy.EDIT_AFTER_DELETE, None, None, payload, True)
        return Effect(tx.rev, _raise_conflicts(tx, ent, m, row.scope_id, [c]))
    scope_id = row.scope_id
    if ent.scoped and "org_unit_id" in payload and payload["org_unit_id"] != row.data.get("org_unit_id"):
        scope_id = payload["org_unit_id"]
        if not within(tx.units, scope_id):
            raise Reject("out_of_scope", "不能移交到辖区之外", "target org unit outside your scope")
    guard = policy.status_guard(tx.who.role) if ent.name == "incident" else None
    merged = policy.merge_patch(row.data, row.field_rev, row.field_src, payload, m.base_rev, tx.rev,
                                m.mutation_id, lambda src: _foreign(tx, src), guard)
    if ent.name == "dispatch":
        _check_dispatch_slot(tx, m.entity_id, row, merged)
    if merged.changed:
        tx.st.update_record(ent.name, m.entity_id, row.replace(
            data=merged.data, field_rev=merged.field_rev, field_src=merged.field_src, server_rev=tx.rev,
            scope_id=scope_id, updated_by=tx.who.user_id, updated_at=tx.now))
    elif merged.conflicts:
        # Refused as a whole (an illegal status move, a team already taken): the record is
        # unchanged, but it gets this revision so every console pulls it again and drops the
        # value it showed locally; otherwise the refused value would stay on screen for good.
        tx.st.update_record(ent.name, m.entity_id, row.replace(server_rev=tx.rev))
    else:
        # The values already stand: still a confirmation ("team still on standby at 14:00").
        # It gets who and when, and this revision, so the console that sent it pulls the
        # server's updated_by/updated_at back instead of keeping its own for good.
        tx.st.update_record(ent.name, m.entity_id, row.replace(
            server_rev=tx.rev, updated_by=tx.who.user_id, updated_at=tx.now))
    return Effect(tx.rev, _raise_conflicts(tx, ent, m, scope_id, merged.conflicts))


def _delete(tx: Tx, ent: Entity, m: Mutation, row: Any) -> Effect:
    if row is None:
        raise Reject("not_found", "记录不存在", "no such record")
    if row.deleted:
        return Effect(row.server_rev, [])
    if ent.name == "dispatch":
        tx.st.free_slot(m.entity_id)
    tx.st.update_record(ent.name, m.entity_id, row.replace(
        deleted=True, server_rev=tx.rev, updated_by=tx.who.user_id, updated_at=tx.now))
    return Effect(tx.rev, [])


# ---- dispatch slots and stock


def _slot_holder(tx: Tx, team_id: str) -> str | None:
    return tx.st.slot_holder(team_id)


def _check_dispatch_slot(tx: Tx, dispatch_id: str, row: Any, merged: policy.Merge) -> None:
    """Keep active_dispatch in step with the patched record, refusing a taken team."""
    before, after = policy.active_team(row.data), policy.active_team(merged.data)
    if after is not None and after != before:
        holder = _slot_holder(tx, after)
        if holder is not None and holder != dispatch_id:
            requested = {f: merged.data.get(f) for f in ("state", "team_id")}
            for field in ("state", "team_id"):  # leave the record as it was; a person decides
                if field in merged.changed:
                    merged.data[field] = row.data.get(field)
                    merged.field_rev[field] = row.field_rev.get(field, 0)
                    merged.field_src.pop(field, None)
                    if row.field_src.get(field):
                        merged.field_src[field] = row.field_src[field]
                    merged.changed.remove(field)
            merged.conflicts.append(policy.Conflict(policy.UNIT_TAKEN, "state", {"dispatch_id": holder},
                                                    requested, True))
            return
    if before is not None and before != after:
        tx.st.free_slot(dispatch_id)
    if after is not None and after != before:
        tx.st.take_slot(after, dispatch_id)


def _warehouse(tx: Tx, data: dict) -> Any:
    wh = tx.st.record("warehouse", data["warehouse_id"])
    if wh is None or wh.deleted:
        raise Reject("bad_reference", "仓库不存在", "no such warehouse")
    if not within(tx.units, wh.scope_id):
        raise Reject("out_of_scope", "无权操作该仓库", "warehouse outside your org unit")
    return wh


def _set_stock(tx: Tx, warehouse_id: str, item_id: str, counted: int) -> int:
    # An approximation of the consoles' rule (newest count + movements after it): the server keeps
    # one running balance in arrival order, and only warns on a negative one, so a count that
    # arrives after a movement made before it is taken as the newer truth.
    tx.st.set_stock(warehouse_id, item_id, counted)
    return counted


def _add_stock(tx: Tx, warehouse_id: str, item_id: str, delta: int) -> int:
    qty = tx.st.stock(warehouse_id, item_id)
    if qty is None:
        tx.st.set_stock(warehouse_id, item_id, delta)
        return delta
    tx.st.set_stock(warehouse_id, item_id, qty + delta)
    return qty + delta


# ---- conflicts


def _foreign(tx: Tx, mutation_id: str | None) -> bool:
    if mutation_id is None:
        return True
    entry = tx.st.ledger_entry(mutation_id)
    return (entry[0] if entry else None) != tx.device_id


def _raise_conflicts(tx: Tx, ent: Entity, m: Mutation, scope_id: str | None,
                     conflicts: list[policy.Conflict]) -> list[str]:
    ids = []
    for c in conflicts:
        cid = str(uuid.uuid5(_CONFLICT_NS, f"{m.mutation_id}|{c.kind}|{c.field}"))
        loser = _loser(tx, m, c)
        data = {"org_unit_id": scope_id, "entity": ent.name, "entity_id": m.entity_id, "field": c.field,
                "kind": c.kind, "winning_value": c.winning_value, "losing_value": c.losing_value,
                **loser, "status": "open", "resolved_by": None, "resolution": None}
        _insert(tx, ENTITIES["sync_conflict"], cid, scope_id, data, m.mutation_id)
        ids.append(cid)
    return ids


def _loser(tx: Tx, m: Mutation, c: policy.Conflict) -> dict[str, Any]:
    if c.loser_is_self:
        return {"losing_mutation_id": m.mutation_id, "losing_device_id": tx.device_id,
                "losing_author_id": m.author_id or tx.who.user_id}
    prev = tx.st.ledger_entry(c.loser_mutation_id) if c.loser_mutation_id else None
    return {"losing_mutation_id": c.loser_mutation_id,
            "losing_device_id": prev[0] if prev else None,
            "losing_author_id": prev[1] if prev else None}

