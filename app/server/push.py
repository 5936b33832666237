"""Push: the idempotency ledger and per-device order around apply.apply_mutation.

One write transaction per batch (one revision for everything it writes, one fsync at
commit), each mutation all-or-nothing. Per mutation, in device_seq order:

* known (device_id, mutation_id), same payload hash → the stored result, verbatim;
* known id, different payload → stop, 422 ``idempotency_key_reuse``;
* device_seq ≠ last_device_seq + 1 → stop, 409 ``sequence_gap`` with expected_device_seq;
* otherwise apply, then write the ledger row and an audit row.

Mutations before a stop are committed and their results travel beside the error.

How it stays fast: the batch is decided in memory (app.server.state) after one query
for the device's ledger rows and one per entity for the records it names; a rejected
mutation's writes are simply dropped, so it needs no savepoint. The records, ledger rows
and audit rows then go to the database as one statement each, before the commit.
Should anything unexpected happen on that fast path (an error other than a rejection,
a constraint or a value the database refuses), the transaction is rolled back and the
batch is run again carefully: every mutation in its own savepoint with its writes issued
at once, so a failing mutation ends ``rejected`` (server_error) and the rest go through.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from app.domain.entities import ENTITIES
from app.server import devices, quarantine
from app.server.apply import Reject, Tx, apply_mutation
from app.server.audit import AuditChain
from app.server.auth import Principal
from app.server.db import allocate, now_iso, run_sql, writer
from app.server.errors import ApiError
from app.server.scope import allowed_units, within
from app.server.state import BatchState, write_rows
from app.sync.wire import Mutation

log = logging.getLogger("command_desk.server.push")

# Byte for byte app.domain.hashchain.canonical_json (stored hashes must keep matching).
_canonical = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
_store = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

SERVER_ERROR = "服务器处理出错，请联系管理员 / server error, contact the administrator"


_CHAIN_ONLY = frozenset(("prev_hash", "hash"))  # carried beside the mutation, not part of what it says


def canonical(m: Mutation) -> str:
    """The mutation's canonical text: the ledger's payload hash and the device chain both hash it."""
    return _canonical(m.model_dump(mode="json", exclude=_CHAIN_ONLY))


def payload_sha256(m: Mutation) -> str:
    # Hash the parsed model, not the bytes: key order and whitespace of a retry don't matter.
    return hashlib.sha256(canonical(m).encode()).hexdigest()


def _result(m: Mutation, outcome: str, rev: int | None = None, code: str | None = None,
            message: str | None = None, conflict_ids: Sequence[str] = (), problems: Sequence = ()) -> dict:
    return {"mutation_id": m.mutation_id, "outcome": outcome, "rev": rev, "code": code, "message": message,
            "conflict_ids": list(conflict_ids), "problems": list(problems)}


def _with_current(tx: Tx, m: Mutation, result: dict) -> dict:
    """A refused patch or delete comes back with the record as the server has it (``current``).

    The console showed the refused value from the moment it was typed; with nothing written
    on the server the record never reaches a pull again, so this is how the console learns
    what to put back. Only for a record the caller may see (the pull's scope rule), and only
    in the answer: the ledger keeps the verdict alone, so a replay answers with the record as
    it is at the time of the replay.
    """
    if result.get("outcome") != "rejected" or m.op not in ("patch", "delete"):
        return result
    ent = ENTITIES.get(m.entity)
    row = tx.st.record(m.entity, m.entity_id) if ent is not None else None
    if row is None or (row.scope_id is not None and not within(tx.units, row.scope_id)):
        return result
    data: dict[str, Any] = {}
    if not row.deleted:
        data = dict(row.data, created_by=row.created_by, updated_by=row.updated_by, updated_at=row.updated_at)
    current = {"rev": row.server_rev, "deleted": bool(row.deleted), "data": data,
               "field_rev": dict(row.field_rev or {})}
    return dict(result, current=current)


class _Authors:
    """Whose mutation is it? The author it names, when that officer is known on this device.

    A console queues changes while offline under whoever is signed in locally (each outbox
    row carries its ``author_id``) and pushes them later under whatever token it holds then,
    maybe the next shift's. A mutation naming another author is applied under that author's
    account (role and scope as they are now) when that account is active and has signed in
    on this device before (a refresh token was issued to the pair: the only way the console
    could hold an offline verifier for that officer), its role may write and its client_time
    lies in the device's offline window (devices.doubt). Otherwise it is quarantined
    (app/server/quarantine.py): never recorded as the pusher's, never dropped, held until a
    shift leader approves it (applied as its author) or declines it (SYNC_RESEARCH.md §3.13).
    """

    def __init__(self, conn: sa.Connection, who: Principal, device_id: str):
        self.conn, self.who, self.device_id = conn, who, device_id
        self.known: dict[str, Principal | None] = {}

    def of(self, m: Mutation) -> Principal | None:
        author = m.author_id
        if not author or author == self.who.user_id:
            return self.who
        if author not in self.known:
            self.known[author] = self._look_up(author)
        return self.known[author]

    def _look_up(self, user_id: str) -> Principal | None:
        from app.server.tables import account, refresh_token

        seen = self.conn.execute(sa.select(refresh_token.c.user_id).where(
            refresh_token.c.device_id == self.device_id, refresh_token.c.user_id == user_id).limit(1)).first()
        acc = self.conn.execute(sa.select(account).where(account.c.user_id == user_id)).first()
        if seen is None or acc is None or not acc.active:
            return None
        return Principal(acc.user_id, acc.username, acc.name, acc.role, acc.org_unit_id, self.device_id)


def _held(m: Mutation, code: str) -> dict:
    return _result(m, "quarantined", code=code, message=quarantine.MESSAGES[code])


class _Replay(Exception):
    """The fast path met something unexpected: run the batch again, mutation by mutation."""


def _apply_one(tx: Tx, m: Mutation, careful: bool) -> dict:
    st = tx.st
    if careful:
        savepoint = st.conn.begin_nested()
        try:
            effect = apply_mutation(tx, m)
            st.keep_layer(write_now=True)
        except Reject as r:
            st.drop_layer()
            savepoint.rollback()
            return _result(m, "rejected", code=r.code, message=r.message, problems=r.problems)
        except Exception:  # a server bug must not wedge the device's queue; it is logged and visible
            st.drop_layer()
            savepoint.rollback()
            log.exception("mutation %s failed", m.mutation_id)
            return _result(m, "rejected", code="server_error", message=SERVER_ERROR)
        savepoint.commit()
    else:
        try:
            effect = apply_mutation(tx, m)
        except Reject as r:  # decided before anything was written: drop what it meant to write
            st.drop_layer()
            return _result(m, "rejected", code=r.code, message=r.message, problems=r.problems)
        except Exception as exc:
            raise _Replay(f"mutation {m.mutation_id}") from exc
        st.keep_layer(write_now=False)
    outcome = "applied_with_conflict" if effect.conflict_ids else "applied"
    return _result(m, outcome, effect.rev, conflict_ids=effect.conflict_ids)


def _ledger(st: BatchState, device_id: str, mutation_ids: list[str]) -> dict[str, tuple[str, Any]]:
    """This device's ledger rows for the batch's mutation ids: id -> (payload hash, stored result)."""
    found: dict[str, tuple[str, Any]] = {}
    ids = sorted(set(mutation_ids))
    sqlite = st.conn.dialect.name == "sqlite"
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        for mid, sha, result in st.conn.exec_driver_sql(st.sql["ledger_in"],
                                                        (_store(chunk) if sqlite else chunk, device_id)):
            found[mid] = (sha, json.loads(result) if isinstance(result, str) else result)
    return found


def _prefetch(st: BatchState, ordered: Sequence[Mutation]) -> None:
    """One query per entity for every record the batch names (a miss later is a point read)."""
    wanted: dict[str, list[str]] = collections.defaultdict(list)
    for m in ordered:
        wanted[m.entity].append(m.entity_id)
        if m.entity == "stock_movement" and isinstance(m.payload.get("warehouse_id"), str):
            wanted["warehouse"].append(m.payload["warehouse_id"])
    for entity, ids in wanted.items():
        if len(entity) <= 64:
            st.prefetch_records(entity, ids)


def push_batch(engine: sa.Engine, who: Principal, device_id: str, mutations: Sequence[Mutation],
               *, via: str = "push", actor_id: str | None = None, batch_sig: str | None = None) -> dict[str, Any]:
    """Apply a batch; returns the push response body (without epoch/time) and the new rev."""
    ordered = sorted(mutations, key=lambda m: m.device_seq)
    texts = [canonical(m) for m in ordered]
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    try:
        try:
            return _push(engine, who, device_id, ordered, hashes, via, actor_id, careful=False, texts=texts,
                         batch_sig=batch_sig)
        except _Replay as replay:
            log.warning("push of device %s replayed mutation by mutation (%s: %r)", device_id, replay,
                        replay.__cause__)
            return _push(engine, who, device_id, ordered, hashes, via, actor_id, careful=True, texts=texts,
                         batch_sig=batch_sig)
    except ApiError as refused:
        if refused.code in devices.REFUSALS:  # rolled back: only the audit row remains
            devices.audit_refusal(engine, actor_id or who.user_id, device_id, refused, ordered, via)
        raise


def _push(engine: sa.Engine, who: Principal, device_id: str, ordered: Sequence[Mutation], hashes: list[str],
          via: str, actor_id: str | None, *, careful: bool, texts: list[str] | None = None,
          batch_sig: str | None = None) -> dict[str, Any]:
    results: list[dict] = []
    answered: list[Mutation] = []
    stop: ApiError | None = None
    with writer(engine) as conn:
        trans = conn.begin()
        try:
            rev, epoch = allocate(conn)
            dev = run_sql(conn, "SELECT last_device_seq, revoked_at, public_key, last_hash FROM device "
                                "WHERE device_id = ?", (device_id,)).first()
            if dev is None or dev.revoked_at is not None:
                raise ApiError(403, "device_revoked", "终端未登记或已停用 / device unknown or revoked")
            last = dev.last_device_seq
            chain = None
            if dev.public_key is not None:  # enrolled: signed batches, an unbroken chain (devices.py)
                chain = devices.ChainGuard(device_id, dev.public_key, dev.last_hash,
                                           require_signature=via == "push")
                chain.check_signature(ordered, batch_sig)
                texts = texts or [canonical(m) for m in ordered]
            held: list[dict] = []
            st = BatchState(conn)
            tx = Tx(st, rev, now_iso(), who, device_id, allowed_units(conn, who.role, who.org_unit_id))
            known = _ledger(st, device_id, [m.mutation_id for m in ordered])
            authors = _Authors(conn, who, device_id)
            _prefetch(st, ordered)
            ledger_rows: list[tuple] = []
            audit: AuditChain | None = None
            for i, (m, sha) in enumerate(zip(ordered, hashes, strict=True)):
                seen = known.get(m.mutation_id)
                if seen is not None:
                    if seen[0] != sha:
                        stop = ApiError(422, "idempotency_key_reuse",
                                        "同一变更编号内容不同 / mutation id reused with another payload",
                                        mutation_id=m.mutation_id)
                        break
                    results.append(seen[1])
                    answered.append(m)
                    continue
                if m.device_seq != last + 1:
                    stop = ApiError(409, "sequence_gap",
                                    f"变更序号不连续，应为 {last + 1} / expected device_seq {last + 1}, "
                                    f"got {m.device_seq}", expected_device_seq=last + 1)
                    break
                if chain is not None:
                    chain.take(m, texts[i])
                author = authors.of(m)
                doubt = "author_unverified" if author is None else (
                    None if author is who else devices.doubt(m, author.role))
                if doubt is not None:  # held for a shift leader, nothing written (quarantine.py)
                    result = _held(m, doubt)
                    held.append(quarantine.held_row(st, who, device_id, m, doubt, tx.now))
                    author = who
                elif author is who:
                    result = _apply_one(tx, m, careful)
                else:  # written by another officer signed in on this console earlier: theirs
                    units = allowed_units(conn, author.role, author.org_unit_id)
                    result = _apply_one(dataclasses.replace(tx, who=author, units=units), m, careful)
                known[m.mutation_id] = (sha, result)  # the same id again in this batch is a replay
                st.ledger_new[m.mutation_id] = (device_id, author.user_id)
                ledger_rows.append((device_id, m.mutation_id, m.device_seq, sha, result["outcome"],
                                    _store(result), result["rev"], author.user_id, tx.now))
                audit = audit or AuditChain(conn, buffered=True)
                audit.append(at=tx.now, actor_id=actor_id or who.user_id, device_id=device_id,
                             mutation_id=m.mutation_id, action=f"{via}:{m.op}", entity=m.entity,
                             entity_id=m.entity_id, rev=result["rev"],
                             detail={"device_seq": m.device_seq, "outcome": result["outcome"],
                                     "code": result["code"], "payload": m.payload, "base_rev": m.base_rev,
                                     "client_time": m.client_time, "claimed_author": m.author_id,
                                     "conflict_ids": result["conflict_ids"]})
                results.append(result)
                answered.append(m)
                last = m.device_seq
            # After the whole batch: a later mutation of the batch may have changed the record.
            results = [_with_current(tx, m, r) for m, r in zip(answered, results, strict=True)]
            if audit is not None:  # something new was written: keep it
                st.flush()
                write_rows(conn, "insert_ledger", ledger_rows)
                audit.flush()
                quarantine.write_held(conn, held)
                if chain is not None and chain.moved:
                    run_sql(conn, "UPDATE device SET last_device_seq = ?, last_seen = ?, last_hash = ? "
                                  "WHERE device_id = ?", (last, tx.now, chain.head, device_id))
                else:
                    run_sql(conn, "UPDATE device SET last_device_seq = ?, last_seen = ? WHERE device_id = ?",
                            (last, tx.now, device_id))
                trans.commit()
                wrote, current_rev = rev, rev
            else:  # only replays: give the revision back, nothing changed
                trans.rollback()
                wrote, current_rev = None, rev - 1
        except (ApiError, _Replay):
            if trans.is_active:
                trans.rollback()
            raise
        except Exception as exc:
            if trans.is_active:
                trans.rollback()
            if careful:
                raise
            raise _Replay("flush") from exc
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
    # current_rev as of our commit (we held the revision lock until then).
    body = {"results": results, "server_rev": current_rev, "last_device_seq": last,
            "server_epoch": epoch, "server_time": now_iso()}
    if stop is not None:
        stop.extra["_top"] = body
        raise StopBatch(stop, wrote)
    return {"body": body, "committed_rev": wrote}


class StopBatch(Exception):
    """The batch stopped early; ``error`` carries the partial results, ``committed_rev`` may be set."""

    def __init__(self, error: ApiError, committed_rev: int | None):
        super().__init__(error.code)
        self.error, self.committed_rev = error, committed_rev
