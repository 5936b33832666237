"""The transactional outbox: every local change queues one mutation in the same transaction.

Callers pass the open write connection, so the change and its outbox row commit
or vanish together (SYNC_PROTOCOL.md invariant 1).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.outbox_chain import GENESIS, chain_hash
from app.store.schema import outbox, table_for

SCHEMA_VERSION = 1

PENDING = "pending"
IN_FLIGHT = "in_flight"
QUARANTINED = "quarantined"  # held on the server for a shift leader (docs/protocol.md "Quarantine")
# Outcomes that settle a push: a quarantined mutation has consumed its device_seq, so the
# rest of the queue goes on; it is asked about again by later rounds (next_batch).
TERMINAL = ("applied", "applied_with_conflict", "rejected", QUARANTINED)
REASK_LIMIT = 100  # quarantined mutations asked about again per round
REASK_AFTER_S = 25.0  # ...and each no more often than this (the engine's idle round is every 30 s)


def next_device_seq(conn: sa.Connection) -> int:
    # Runs on the single writer inside BEGIN IMMEDIATE, so MAX+1 cannot race.
    return (conn.execute(sa.select(sa.func.max(outbox.c.device_seq))).scalar() or 0) + 1


def enqueue(conn: sa.Connection, *, entity: str, entity_id: str, op: str, payload: dict[str, Any],
            base_rev: dict[str, int] | None, author_id: str | None, client_time: str) -> str:
    mutation_id = str(uuid.uuid4())
    # The tail of the chain and the next device_seq in one read, in the same transaction.
    try:
        tail = conn.exec_driver_sql("SELECT device_seq, hash FROM outbox ORDER BY device_seq DESC LIMIT 1").first()
    except sa.exc.OperationalError:  # a cache not yet at migration 0005 (tools and tests write one): as then,
        conn.execute(outbox.insert().values(  # unchained; 0005 links these rows when the cache is opened
            mutation_id=mutation_id, device_seq=next_device_seq(conn), entity=entity, entity_id=entity_id, op=op,
            payload=payload, base_rev=base_rev, author_id=author_id, client_time=client_time,
            schema_version=SCHEMA_VERSION, status=PENDING))
        return mutation_id
    seq = (tail[0] if tail else 0) + 1
    prev = GENESIS if tail is None else (tail[1] or rechain(conn))
    m = {"mutation_id": mutation_id, "device_seq": seq, "entity": entity, "entity_id": entity_id, "op": op,
         "payload": payload, "base_rev": base_rev or None, "client_time": client_time, "author_id": author_id or None}
    conn.execute(outbox.insert().values(
        mutation_id=mutation_id, device_seq=seq, entity=entity,
        entity_id=entity_id, op=op, payload=payload, base_rev=base_rev, author_id=author_id,
        client_time=client_time, schema_version=SCHEMA_VERSION, status=PENDING,
        prev_hash=prev, hash=chain_hash(prev, m)))
    return mutation_id


def _links(conn: sa.Connection, from_seq: int | None = None) -> list[tuple[str, str, str]]:
    """(prev_hash, hash, mutation_id) for every row from the first one without a hash (or from
    ``from_seq``) to the end, linked from the hashed row before it: what rechain writes."""
    first = from_seq
    if first is None:
        first = conn.exec_driver_sql("SELECT MIN(device_seq) FROM outbox WHERE hash IS NULL").scalar()
        if first is None:
            return []
    before = conn.exec_driver_sql("SELECT hash FROM outbox WHERE device_seq < ? ORDER BY device_seq DESC LIMIT 1",
                                  (first,)).first()
    if before is not None and before[0] is None:  # an older gap: start there
        return _links(conn, conn.exec_driver_sql("SELECT MIN(device_seq) FROM outbox WHERE hash IS NULL").scalar())
    prev = before[0] if before is not None else GENESIS
    out = []
    for r in conn.execute(sa.select(outbox).where(outbox.c.device_seq >= first).order_by(outbox.c.device_seq)
                          ).mappings():
        digest = chain_hash(prev, to_wire(dict(r), chained=False) | {"base_rev": r["base_rev"] or None,
                                                                   "author_id": r["author_id"] or None})
        out.append((prev, digest, r["mutation_id"]))
        prev = digest
    return out


def rechain(conn: sa.Connection) -> str:
    """Link rows queued without a hash (by an older version, or a bulk writer) into the chain;
    returns the hash of the last row. Inside a write transaction."""
    links = _links(conn)
    if links:
        conn.exec_driver_sql("UPDATE outbox SET prev_hash = ?, hash = ? WHERE mutation_id = ?", links)
    tail = conn.exec_driver_sql("SELECT hash FROM outbox ORDER BY device_seq DESC LIMIT 1").scalar()
    return tail or GENESIS


def waiting_count(conn: sa.Connection) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(outbox)
                        .where(outbox.c.status.in_((PENDING, IN_FLIGHT)))).scalar()


def pending_ids(conn: sa.Connection, entity: str) -> set[str]:
    """Ids of records with changes not yet confirmed by the server (the pending mark in lists)."""
    rows = conn.execute(sa.select(outbox.c.entity_id).where(
        outbox.c.entity == entity, outbox.c.status.in_((PENDING, IN_FLIGHT))))
    return {r[0] for r in rows}


def next_batch(conn: sa.Connection, limit: int, after_seq: int = 0) -> list[dict[str, Any]]:
    """The oldest unsent mutations after ``after_seq``, in device_seq order (the server applies
    them in that order). ``after_seq`` lets the engine read batch k+1 while batch k is in flight.

    A batch read from the start (``after_seq == 0``) also carries up to REASK_LIMIT quarantined
    mutations last answered more than REASK_AFTER_S ago: sent again, the server answers with
    its ledger's current verdict (still held, or applied / declined by a leader). The answer
    stamps ``acked_at``, so a round asks about each at most once, and idle rounds (every 30 s)
    learn a leader's decision without any new request type.
    """
    rows = [dict(r) for r in conn.execute(sa.select(outbox).where(outbox.c.status.in_((PENDING, IN_FLIGHT)),
                                                                  outbox.c.device_seq > after_seq)
                                          .order_by(outbox.c.device_seq).limit(limit)).mappings()]
    if after_seq == 0:
        asked_before = clock.iso(clock.now() - dt.timedelta(seconds=REASK_AFTER_S))  # as record_results stamps
        held = [dict(r) for r in conn.execute(
            sa.select(outbox).where(outbox.c.status == QUARANTINED,
                                    sa.or_(outbox.c.acked_at.is_(None), outbox.c.acked_at < asked_before))
            .order_by(outbox.c.device_seq).limit(min(REASK_LIMIT, limit))).mappings()]
        if held:
            rows = sorted(held + rows, key=lambda r: r["device_seq"])[:limit]
    if rows and rows[-1].get("hash") is None:  # queued without a hash: link them as rechain will
        links = {mid: (prev, digest) for prev, digest, mid in _links(conn)}
        for r in rows:
            if r["mutation_id"] in links:
                r["prev_hash"], r["hash"] = links[r["mutation_id"]]
    return rows


def to_wire(row: dict[str, Any], chained: bool = True) -> dict[str, Any]:
    m = {"mutation_id": row["mutation_id"], "device_seq": row["device_seq"], "entity": row["entity"],
         "entity_id": row["entity_id"], "op": row["op"], "payload": row["payload"],
         "client_time": row["client_time"]}
    if row.get("base_rev"):
        m["base_rev"] = row["base_rev"]
    if row.get("author_id"):
        m["author_id"] = row["author_id"]
    if chained and row.get("hash"):
        m["prev_hash"], m["hash"] = row["prev_hash"], row["hash"]
    return m


def record_results(conn: sa.Connection, results: list[dict[str, Any]], now: str) -> int:
    """Store the server's verdict on each mutation; unknown ids in the answer are ignored.

    One executemany at the driver: with 500 results a batch, a statement per result cost
    more than the server's whole work on the batch.
    """
    params = []
    for r in results:
        if not isinstance(r, dict) or r.get("outcome") not in TERMINAL:
            continue
        rev = r.get("rev") if isinstance(r.get("rev"), int) and not isinstance(r.get("rev"), bool) else None
        err = None
        if r["outcome"] in ("rejected", QUARANTINED):
            err = f"{r.get('code') or ''}: {r.get('message') or ''}".strip(": ")
        params.append((r["outcome"], rev, json.dumps(r, ensure_ascii=False), now, err, str(r.get("mutation_id"))))
    if not params:
        return 0
    before = conn.exec_driver_sql("SELECT total_changes()").scalar()
    conn.exec_driver_sql("UPDATE outbox SET status = ?, applied_rev = ?, result = ?, acked_at = ?, "
                         "last_error = ?, attempts = attempts + 1 WHERE mutation_id = ?", params)
    settled = conn.exec_driver_sql("SELECT total_changes()").scalar() - before
    for r in results:
        if isinstance(r, dict) and r.get("outcome") == "rejected" and isinstance(r.get("current"), dict):
            restore_rejected(conn, str(r.get("mutation_id")), r["current"])
    return settled


def restore_rejected(conn: sa.Connection, mutation_id: str, current: dict[str, Any]) -> tuple[str, str] | None:
    """Put back the server's record after it refused a patch or delete outright.

    The refused value was shown from the moment it was typed; the server wrote nothing, so
    no pull would ever bring the record again. The server's copy (``current``) replaces the
    row, the officer's later changes still queued for it are laid on top again, and the
    refused change stays in the outbox as ``rejected`` for "correct and resubmit". A copy
    older than the row (the console has pulled since) or one that does not check out is
    ignored. Returns (entity, id) when the row was restored.
    """
    from app.store import index
    from app.store.pull import BadPage, check_page

    m = conn.execute(sa.select(outbox.c.entity, outbox.c.entity_id, outbox.c.op, outbox.c.device_seq)
                     .where(outbox.c.mutation_id == mutation_id)).first()
    if m is None or m.op not in ("patch", "delete"):
        return None
    change = {"entity": m.entity, "id": m.entity_id, "rev": current.get("rev"),
              "deleted": current.get("deleted", False), "data": current.get("data", {}),
              "field_rev": current.get("field_rev", {})}
    try:
        check_page({"changes": [change], "next_cursor": change["rev"], "has_more": False}, 0)
    except (BadPage, TypeError):
        return None
    table = table_for(m.entity)
    local = conn.execute(sa.select(table.c.server_rev).where(table.c.id == m.entity_id)).first()
    if local is None or (local.server_rev or 0) > change["rev"]:
        return None
    known = {c.name for c in table.columns} - {"id", "server_rev", "deleted", "field_rev"}
    data = change["data"]
    values = {c: data.get(c) for c in known}  # every column: a field the server lacks is empty there
    values.update(server_rev=change["rev"], deleted=change["deleted"],
                  field_rev=data.get("field_rev", change["field_rev"]))
    later = conn.execute(sa.select(outbox.c.payload).where(
        outbox.c.entity == m.entity, outbox.c.entity_id == m.entity_id, outbox.c.op == "patch",
        outbox.c.status.in_((PENDING, IN_FLIGHT))).order_by(outbox.c.device_seq)).all()
    with index.bulk_indexing():
        conn.execute(table.update().where(table.c.id == m.entity_id).values(**values))
        for (payload,) in later:
            payload = {k: v for k, v in (payload or {}).items() if k in known}
            if payload:
                conn.execute(table.update().where(table.c.id == m.entity_id).values(**payload))
        index.reindex_row(conn, m.entity, m.entity_id)
    return m.entity, m.entity_id


def requeue_from(conn: sa.Connection, device_seq: int) -> int:
    """Send again every mutation from ``device_seq`` on (the server lost them, e.g. a restore).

    Returns how many this console still holds from that point; 0 means it cannot
    supply what the server asks for, which the engine must report, never ignore.
    """
    held = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.device_seq == device_seq)
    if not conn.execute(held).scalar():
        return 0
    return conn.execute(outbox.update().where(outbox.c.device_seq >= device_seq)
                        .values(status=PENDING)).rowcount


def status_counts(conn: sa.Connection) -> dict[str, int]:
    conflict = table_for("sync_conflict")
    rejected = conn.execute(sa.select(sa.func.count()).select_from(outbox)
                            .where(outbox.c.status == "rejected")).scalar()
    conflicts = conn.execute(sa.select(sa.func.count()).select_from(conflict)
                             .where(conflict.c.status == "open", conflict.c.deleted.is_(False))).scalar()
    return {"waiting": waiting_count(conn), "rejected": rejected or 0, "conflicts": conflicts or 0}
