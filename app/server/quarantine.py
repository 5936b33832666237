"""Quarantine: mutations held for a shift leader instead of being applied or refused.

A push holds a mutation (outcome ``quarantined``, code from wire.QUARANTINE_CODES) when it
names another author than the pusher and that author never signed in on the device, holds
a read-only role, or wrote it outside the device's offline window (push._Authors,
devices.doubt). Nothing of it is written; it has consumed its device_seq, so the device's
later mutations go on. The ledger row says ``quarantined`` and a replay answers the same.

A leader (or administrator) whose scope holds the mutation's org unit lists the held
mutations and decides:

* approve: the mutation is applied now as its author (role and scope as they are now), in
  one transaction with a revision of its own; the ledger row takes the real outcome
  (applied, applied_with_conflict, or rejected with the apply's code) and the audit row
  names the approving leader;
* decline: the ledger row becomes ``rejected`` / ``quarantine_declined``.

The console learns either by sending the mutation again (a replay gets the ledger's answer).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from app.domain.enums import Role
from app.server.apply import Tx
from app.server.audit import AuditChain
from app.server.auth import Principal
from app.server.db import now_iso, reader, rev_transaction
from app.server.errors import ApiError
from app.server.scope import allowed_units, within
from app.server.state import BatchState
from app.server.tables import account, processed_mutation, quarantine
from app.sync.wire import Mutation

HELD, APPROVED, DECLINED = "held", "approved", "declined"

# "中文 / English", one separator each, as every server message (the console shows one half).
MESSAGES = {
    "author_unverified": "待带班领导审核：录入人未在本终端登录过 / held for shift-leader approval: the author "
                         "never signed in on this console",
    "author_role": "待带班领导审核：录入人的角色无权修改 / held for shift-leader approval: the author's role may "
                   "not make changes",
    "client_time_outside_window": "待带班领导审核：录入时间超出终端离线时段 / held for shift-leader approval: "
                                  "written outside the console's offline window",
}
_HOLD = "待带班领导审核 / held for shift-leader approval"
DECLINED_MESSAGE = "带班领导未批准该变更，未予记录 / a shift leader declined this change: not recorded"


def held_row(st: BatchState, who: Principal, device_id: str, m: Mutation, code: str, now: str) -> dict:
    """The quarantine row of a mutation held during a push (written with the batch)."""
    scope = m.payload.get("org_unit_id") if isinstance(m.payload.get("org_unit_id"), str) else None
    if scope is None:
        row = st.record(m.entity, m.entity_id) if len(m.entity) <= 64 else None
        scope = row.scope_id if row is not None else who.org_unit_id
    mutation = m.model_dump(mode="json", exclude={"prev_hash", "hash"})
    return {"device_id": device_id, "mutation_id": m.mutation_id, "device_seq": m.device_seq, "mutation": mutation,
            "author_id": m.author_id, "pushed_by": who.user_id, "scope_id": scope, "code": code, "received_at": now,
            "status": HELD}


def write_held(conn: sa.Connection, rows: list[dict]) -> None:
    """Rare (a push holding something): a Core insert, so the JSON column is bound right on both backends."""
    if rows:
        conn.execute(quarantine.insert(), rows)


def _may_decide(who: Principal) -> None:
    if who.role not in (Role.LEADER.value, Role.ADMIN.value):
        raise ApiError(403, "forbidden", "仅带班领导或管理员可审核 / shift leaders and administrators only")


def _item(row: Any, names: dict[str, str]) -> dict[str, Any]:
    m = row.mutation if isinstance(row.mutation, dict) else json.loads(row.mutation)
    return {"device_id": row.device_id, "mutation_id": row.mutation_id, "device_seq": row.device_seq,
            "entity": m.get("entity"), "entity_id": m.get("entity_id"), "op": m.get("op"),
            "payload": m.get("payload") or {}, "author_id": row.author_id, "author_name": names.get(row.author_id),
            "pushed_by": row.pushed_by, "pushed_by_name": names.get(row.pushed_by), "code": row.code,
            "message": MESSAGES.get(row.code, _HOLD), "client_time": m.get("client_time"),
            "received_at": row.received_at, "status": row.status, "decided_by": row.decided_by,
            "decided_at": row.decided_at}


def list_items(engine: sa.Engine, who: Principal, status: str | None = HELD) -> list[dict[str, Any]]:
    """The quarantined mutations in the caller's scope, oldest first (leaders and admins only)."""
    _may_decide(who)
    with reader(engine) as conn, conn.begin():
        units = allowed_units(conn, who.role, who.org_unit_id)
        q = sa.select(quarantine).order_by(quarantine.c.received_at, quarantine.c.device_seq)
        if status is not None:
            q = q.where(quarantine.c.status == status)
        rows = [r for r in conn.execute(q) if within(units, r.scope_id)]
        ids = {r.author_id for r in rows} | {r.pushed_by for r in rows}
        names = dict(conn.execute(sa.select(account.c.user_id, account.c.name)
                                  .where(account.c.user_id.in_(sorted(i for i in ids if i)))).all()) if ids else {}
    return [_item(r, names) for r in rows]


def decide(engine: sa.Engine, who: Principal, mutation_id: str, approve: bool,
           comment: str | None = None) -> dict[str, Any]:
    """Approve or decline one held mutation; returns {"result": ledger result, "committed_rev"}."""
    from app.server import push  # push imports this module

    _may_decide(who)
    with rev_transaction(engine) as (conn, rev):
        row = conn.execute(sa.select(quarantine).where(quarantine.c.mutation_id == mutation_id)).first()
        units = allowed_units(conn, who.role, who.org_unit_id)
        if row is None or not within(units, row.scope_id):
            raise ApiError(404, "not_found", "没有该待审核变更 / no such quarantined change")
        if row.status != HELD:
            raise ApiError(409, "already_decided", "该变更已审核 / this change was already decided",
                           status=row.status)
        now = now_iso()
        m = Mutation.model_validate(row.mutation if isinstance(row.mutation, dict) else json.loads(row.mutation))
        author = None
        if approve:
            acc = conn.execute(sa.select(account).where(account.c.user_id == (m.author_id or row.pushed_by))).first()
            if acc is None or not acc.active:
                raise ApiError(409, "author_inactive", "录入人账户不存在或已停用，只能不批准 / the author's account "
                               "is gone or disabled: decline it instead")
            author = Principal(acc.user_id, acc.username, acc.name, acc.role, acc.org_unit_id, row.device_id)
            st = BatchState(conn)
            tx = Tx(st, rev, now, author, row.device_id, allowed_units(conn, acc.role, acc.org_unit_id))
            result = push._apply_one(tx, m, careful=True)
            result = {k: v for k, v in result.items() if k != "current"}
        else:
            result = {"mutation_id": m.mutation_id, "outcome": "rejected", "rev": None,
                      "code": "quarantine_declined", "message": DECLINED_MESSAGE, "conflict_ids": [],
                      "problems": []}
        conn.execute(processed_mutation.update().where(processed_mutation.c.device_id == row.device_id,
                                                       processed_mutation.c.mutation_id == mutation_id)
                     .values(outcome=result["outcome"], result=result, applied_rev=result["rev"],
                             author_id=author.user_id if author is not None else row.pushed_by))
        conn.execute(quarantine.update().where(quarantine.c.device_id == row.device_id,
                                               quarantine.c.mutation_id == mutation_id)
                     .values(status=APPROVED if approve else DECLINED, decided_by=who.user_id, decided_at=now))
        AuditChain(conn).append(
            at=now, actor_id=who.user_id, device_id=row.device_id, mutation_id=mutation_id,
            action=f"quarantine:{'approve' if approve else 'decline'}", entity=m.entity, entity_id=m.entity_id,
            rev=result["rev"], detail={"device_seq": m.device_seq, "outcome": result["outcome"],
                                       "code": result["code"], "author": m.author_id, "pushed_by": row.pushed_by,
                                       "payload": m.payload, "client_time": m.client_time, "comment": comment})
    return {"result": result, "committed_rev": rev}
