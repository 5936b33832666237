"""The server's audit trail: one hash-chained row per mutation, in the mutation's transaction.

``entry_hash = SHA-256(prev_hash ‖ canonical_json(entry))``. Writers are serialised by
the revision lock, so reading the chain head once per transaction is race-free.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from app.domain.hashchain import GENESIS, canonical_json
from app.server.tables import audit_log

CHAINED = ("at", "actor_id", "device_id", "mutation_id", "action", "entity", "entity_id", "rev", "detail")


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    content = {k: entry.get(k) for k in CHAINED}
    return hashlib.sha256((prev_hash + canonical_json(content)).encode()).hexdigest()


class AuditChain:
    """Appends to audit_log; construct inside a write transaction that holds the rev lock."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        head = conn.execute(sa.select(audit_log.c.entry_hash).order_by(audit_log.c.seq.desc()).limit(1))
        self.prev = head.scalar() or GENESIS

    def append(self, **entry: Any) -> None:
        digest = entry_hash(self.prev, entry)
        self.conn.execute(audit_log.insert().values(
            **{k: entry.get(k) for k in CHAINED}, prev_hash=self.prev, entry_hash=digest))
        self.prev = digest


def verify(conn: sa.Connection) -> int | None:
    """Walk the chain; return the seq of the first broken row, or None when it holds."""
    prev = GENESIS
    for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)):
        entry = {k: getattr(row, k) for k in CHAINED}
        if row.prev_hash != prev or entry_hash(prev, entry) != row.entry_hash:
            return row.seq
        prev = row.entry_hash
    return None
