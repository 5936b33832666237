"""Appending to the duty log: the one way any part of the console writes a log entry.

Every panel that acts (intake, dispatch, report, handover, consultation minutes,
an expert draw) records what it did through ``append_entry`` inside its own write
transaction, so the action and its log line commit together or not at all.

Each console keeps its own hash chain (hashchain.py): the entry's ``prev_hash`` is
this device's chain head, kept in ``local_kv`` in the same transaction. If the head
is missing (a fresh cache after a full resync) it is recovered from this device's
entries by following the links.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from app.domain.hashchain import GENESIS, entry_hash
from app.store import records
from app.store.kv import kv_get, kv_put
from app.store.schema import table_for


def chain_head_key(device_id: str) -> str:
    return f"duty_log.chain_head:{device_id}"


def chain_head(conn: sa.Connection, device_id: str) -> str:
    """This device's newest hash (GENESIS when it has written nothing)."""
    raw = kv_get(conn, chain_head_key(device_id))
    if raw:
        return raw
    return _recover_head(conn, device_id)


def _recover_head(conn: sa.Connection, device_id: str) -> str:
    t = table_for("duty_log_entry")
    rows = conn.execute(sa.select(t.c.prev_hash, t.c.hash).where(t.c.device_id == device_id)).all()
    if not rows:
        return GENESIS
    successor = {r.prev_hash: r.hash for r in rows}
    head = GENESIS
    while head in successor:
        head = successor[head]
    return head


def append_entry(conn: sa.Connection, *, kind: str, body: str, author_id: str | None, device_id: str,
                 now: str, occurred_at: str | None = None, org_unit_id: str | None = None,
                 incident_id: str | None = None, corrects_id: str | None = None,
                 shift_id: str | None = None, details: Mapping[str, Any] | None = None,
                 drill: bool = False, entry_id: str | None = None) -> str:
    """Write one chained, append-only entry (with its outbox row); returns its id."""
    eid = entry_id or records.new_id()
    entry: dict[str, Any] = {
        "id": eid, "kind": kind, "body": body, "occurred_at": occurred_at or now,
        "incident_id": incident_id, "corrects_id": corrects_id, "author_id": author_id,
        "device_id": device_id, "details": dict(details) if details is not None else None,
    }
    prev = chain_head(conn, device_id)
    entry["prev_hash"] = prev
    entry["hash"] = entry_hash(prev, entry)
    data = {k: v for k, v in entry.items() if k != "id" and v is not None}
    data.update(org_unit_id=org_unit_id, shift_id=shift_id, drill=drill)
    data = {k: v for k, v in data.items() if v is not None}
    records.create(conn, "duty_log_entry", data, author_id=author_id, now=now, record_id=eid)
    kv_put(conn, chain_head_key(device_id), entry["hash"])
    return eid
