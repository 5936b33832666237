"""The server's audit trail: one hash-chained row per mutation, in the mutation's transaction.

``entry_hash = SHA-256(prev_hash ‖ canonical_json(entry))``. Writers are serialised by
the revision lock, so reading the chain head once per transaction is race-free. A push
batch buffers its rows (``buffered=True``) and writes them with one executemany before
it commits; the chain and every hash are exactly what row-by-row appends would give.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa

from app.domain.hashchain import GENESIS
from app.server.db import run_sql
from app.server.state import write_rows
from app.server.tables import audit_log

CHAINED = ("at", "actor_id", "device_id", "mutation_id", "action", "entity", "entity_id", "rev", "detail")

# Byte for byte app.domain.hashchain.canonical_json, without building an encoder per call.
_canonical = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
# Storage of the detail column: what SQLAlchemy's JSON type wrote before (NaN allowed), compact.
_store = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    content = {k: entry.get(k) for k in CHAINED}
    return hashlib.sha256((prev_hash + _canonical(content)).encode()).hexdigest()


class AuditChain:
    """Appends to audit_log; construct inside a write transaction that holds the rev lock."""

    def __init__(self, conn: sa.Connection, *, buffered: bool = False):
        self.conn = conn
        head = run_sql(conn, "SELECT entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        self.prev = head.scalar() or GENESIS
        self.rows: list[tuple] | None = [] if buffered else None

    def append(self, **entry: Any) -> None:
        if self.rows is None:
            digest = entry_hash(self.prev, entry)
            self.conn.execute(audit_log.insert().values(
                **{k: entry.get(k) for k in CHAINED}, prev_hash=self.prev, entry_hash=digest))
        else:
            # The detail (which holds the payload) is encoded once: its canonical text is both
            # spliced into the hashed entry and stored, instead of two encodings of it.
            detail = entry.get("detail")
            detail_text = _canonical(detail)
            head = {k: entry.get(k) for k in CHAINED}
            head["detail"] = None  # keys sort as in entry_hash; no other value can hold this text unescaped
            content = _canonical(head).replace('"detail":null', '"detail":' + detail_text, 1)
            digest = hashlib.sha256((self.prev + content).encode()).hexdigest()
            self.rows.append((*(entry.get(k) for k in CHAINED[:-1]),
                              None if detail is None else detail_text, self.prev, digest))
        self.prev = digest

    def flush(self) -> None:
        """Write the buffered rows, in chain order (seq follows insertion order)."""
        if self.rows:
            write_rows(self.conn, "insert_audit", self.rows)
            self.rows = []


def verify(conn: sa.Connection) -> int | None:
    """Walk the chain; return the seq of the first broken row, or None when it holds."""
    prev = GENESIS
    for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)):
        entry = {k: getattr(row, k) for k in CHAINED}
        if row.prev_hash != prev or entry_hash(prev, entry) != row.entry_hash:
            return row.seq
        prev = row.entry_hash
    return None
