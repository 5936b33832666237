"""outbox_chain: prev_hash/hash on every outbox row (the device's signed push chain)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Each queued mutation is linked to the one before it (docs/protocol.md "Device signatures
and the push hash chain"). Rows already in the outbox are chained here, in device_seq
order from GENESIS, so a console upgraded with changes still queued pushes them signed.
Written out here, frozen: the chain rule is copied, not imported.
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_FIELDS = ("mutation_id", "device_seq", "entity", "entity_id", "op", "payload", "base_rev", "client_time",
           "author_id")
_canonical = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def upgrade() -> None:
    op.add_column("outbox", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("outbox", sa.Column("hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    prev = "0" * 64
    rows = conn.exec_driver_sql("SELECT mutation_id, device_seq, entity, entity_id, op, payload, base_rev, "
                                "client_time, author_id FROM outbox ORDER BY device_seq").all()
    links = []
    for r in rows:
        m = dict(r._mapping)
        m["payload"] = json.loads(m["payload"]) if m["payload"] is not None else {}
        base = json.loads(m["base_rev"]) if m["base_rev"] is not None else None
        m["base_rev"] = base or None  # as sent: an empty base_rev is left out of the wire mutation
        m["author_id"] = m["author_id"] or None
        digest = hashlib.sha256((prev + _canonical({k: m.get(k) for k in _FIELDS})).encode()).hexdigest()
        links.append((prev, digest, m["mutation_id"]))
        prev = digest
    if links:
        conn.exec_driver_sql("UPDATE outbox SET prev_hash = ?, hash = ? WHERE mutation_id = ?", links)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
