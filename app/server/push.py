"""Push: the idempotency ledger and per-device order around apply.apply_mutation.

One write transaction per batch (one revision for everything it writes), a savepoint
per mutation so each is all-or-nothing. Per mutation, in device_seq order:

* known (device_id, mutation_id), same payload hash → the stored result, verbatim;
* known id, different payload → stop, 422 ``idempotency_key_reuse``;
* device_seq ≠ last_device_seq + 1 → stop, 409 ``sequence_gap`` with expected_device_seq;
* otherwise apply, then write the ledger row and an audit row.

Mutations before a stop are committed and their results travel beside the error.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from app.domain.hashchain import canonical_json
from app.server.apply import Reject, Tx, apply_mutation
from app.server.audit import AuditChain
from app.server.auth import Principal
from app.server.db import allocate_rev, meta, now_iso, writer
from app.server.errors import ApiError
from app.server.scope import allowed_units
from app.server.tables import device, processed_mutation
from app.sync.wire import Mutation

log = logging.getLogger("command_desk.server.push")


def payload_sha256(m: Mutation) -> str:
    # Hash the parsed model, not the bytes: key order and whitespace of a retry don't matter.
    return hashlib.sha256(canonical_json(m.model_dump(mode="json")).encode()).hexdigest()


def _result(m: Mutation, outcome: str, rev: int | None = None, code: str | None = None,
            message: str | None = None, conflict_ids: Sequence[str] = (), problems: Sequence = ()) -> dict:
    return {"mutation_id": m.mutation_id, "outcome": outcome, "rev": rev, "code": code, "message": message,
            "conflict_ids": list(conflict_ids), "problems": list(problems)}


def _apply_one(tx: Tx, m: Mutation) -> dict:
    savepoint = tx.conn.begin_nested()
    try:
        effect = apply_mutation(tx, m)
    except Reject as r:
        savepoint.rollback()
        return _result(m, "rejected", code=r.code, message=r.message, problems=r.problems)
    except Exception:  # a server bug must not wedge the device's queue; it is logged and visible
        savepoint.rollback()
        log.exception("mutation %s failed", m.mutation_id)
        return _result(m, "rejected", code="server_error",
                       message="服务器处理出错，请联系管理员 / server error, contact the administrator")
    savepoint.commit()
    outcome = "applied_with_conflict" if effect.conflict_ids else "applied"
    return _result(m, outcome, effect.rev, conflict_ids=effect.conflict_ids)


def push_batch(engine: sa.Engine, who: Principal, device_id: str, mutations: Sequence[Mutation],
               *, via: str = "push", actor_id: str | None = None) -> dict[str, Any]:
    """Apply a batch; returns the push response body (without epoch/time) and the new rev."""
    ordered = sorted(mutations, key=lambda m: m.device_seq)
    results: list[dict] = []
    stop: ApiError | None = None
    with writer(engine) as conn:
        trans = conn.begin()
        try:
            rev = allocate_rev(conn)
            dev = conn.execute(sa.select(device).where(device.c.device_id == device_id)).first()
            if dev is None or dev.revoked_at is not None:
                raise ApiError(403, "device_revoked", "终端未登记或已停用 / device unknown or revoked")
            last = dev.last_device_seq
            tx = Tx(conn, rev, now_iso(), who, device_id, allowed_units(conn, who.role, who.org_unit_id))
            audit: AuditChain | None = None
            for m in ordered:
                known = conn.execute(sa.select(processed_mutation).where(
                    processed_mutation.c.device_id == device_id,
                    processed_mutation.c.mutation_id == m.mutation_id)).first()
                if known is not None:
                    if known.payload_sha256 != payload_sha256(m):
                        stop = ApiError(422, "idempotency_key_reuse",
                                        "同一变更编号内容不同 / mutation id reused with another payload",
                                        mutation_id=m.mutation_id)
                        break
                    results.append(known.result)
                    continue
                if m.device_seq != last + 1:
                    stop = ApiError(409, "sequence_gap",
                                    f"变更序号不连续，应为 {last + 1} / expected device_seq {last + 1}, "
                                    f"got {m.device_seq}", expected_device_seq=last + 1)
                    break
                result = _apply_one(tx, m)
                conn.execute(processed_mutation.insert().values(
                    device_id=device_id, mutation_id=m.mutation_id, device_seq=m.device_seq,
                    payload_sha256=payload_sha256(m), outcome=result["outcome"], result=result,
                    applied_rev=result["rev"], author_id=who.user_id, received_at=tx.now))
                audit = audit or AuditChain(conn)
                audit.append(at=tx.now, actor_id=actor_id or who.user_id, device_id=device_id,
                             mutation_id=m.mutation_id, action=f"{via}:{m.op}", entity=m.entity,
                             entity_id=m.entity_id, rev=result["rev"],
                             detail={"device_seq": m.device_seq, "outcome": result["outcome"],
                                     "code": result["code"], "payload": m.payload, "base_rev": m.base_rev,
                                     "client_time": m.client_time, "claimed_author": m.author_id,
                                     "conflict_ids": result["conflict_ids"]})
                results.append(result)
                last = m.device_seq
            if audit is not None:  # something new was written: keep it
                conn.execute(device.update().where(device.c.device_id == device_id)
                             .values(last_device_seq=last, last_seen=tx.now))
                trans.commit()
                wrote = rev
            else:  # only replays: give the revision back, nothing changed
                trans.rollback()
                wrote = None
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
    with engine.connect() as conn:
        current = meta(conn)
    body = {"results": results, "server_rev": current.current_rev, "last_device_seq": last,
            "server_epoch": current.server_epoch, "server_time": now_iso()}
    if stop is not None:
        stop.extra["_top"] = body
        raise StopBatch(stop, wrote)
    return {"body": body, "committed_rev": wrote}


class StopBatch(Exception):
    """The batch stopped early; ``error`` carries the partial results, ``committed_rev`` may be set."""

    def __init__(self, error: ApiError, committed_rev: int | None):
        super().__init__(error.code)
        self.error, self.committed_rev = error, committed_rev
