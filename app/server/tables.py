"""Server tables (SQLAlchemy Core): a generic record store plus the sync bookkeeping.

Every synced entity lives in ``record``: its fields are in ``data`` (JSON, JSONB on
PostgreSQL) under their wire names, so a new field in app.domain.entities needs no
migration. ``field_rev`` holds the revision at which each field last changed, and
``field_src`` who changed it (server-side only), which is what field-level conflict
detection compares against.

Schema creation: ``metadata.create_all`` at start-up (first version; Alembic later).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

Json = sa.JSON().with_variant(JSONB(), "postgresql")
# SQLite only autoincrements an INTEGER PRIMARY KEY, PostgreSQL wants a BIGINT identity.
SeqKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Id = sa.String(36)
Time = sa.String(40)  # ISO-8601 with offset, as on the wire

record = sa.Table(
    "record", metadata,
    sa.Column("entity", sa.String(64), primary_key=True),
    sa.Column("id", Id, primary_key=True),
    sa.Column("scope_id", Id),  # org unit the row belongs to; NULL = reference data seen by all
    sa.Column("server_rev", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("field_rev", Json, nullable=False),
    sa.Column("field_src", Json, nullable=False),  # field -> mutation_id of its last write
    sa.Column("created_by", Id),
    sa.Column("updated_by", Id),
    sa.Column("updated_at", Time, nullable=False),
    sa.Index("ix_record_rev", "server_rev"),
    sa.Index("ix_record_scope_rev", "scope_id", "server_rev"),
)

sync_meta = sa.Table(
    "sync_meta", metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("server_epoch", Id, nullable=False),
    sa.Column("current_rev", sa.BigInteger, nullable=False),
    sa.Column("min_valid_cursor", sa.BigInteger, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),  # used when COMMAND_DESK_SECRET is unset
    sa.CheckConstraint("id = 1", name="ck_sync_meta_single_row"),
)

account = sa.Table(
    "account", metadata,
    sa.Column("user_id", Id, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("org_unit_id", Id),
    sa.Column("failed_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.Float),  # unix time
    sa.Column("active", sa.Boolean, nullable=False, default=True),
)

device = sa.Table(
    "device", metadata,
    sa.Column("device_id", Id, primary_key=True),
    sa.Column("user_id", Id, nullable=False),  # the account that last signed in on it
    sa.Column("last_device_seq", sa.BigInteger, nullable=False, default=0),
    sa.Column("first_seen", Time, nullable=False),
    sa.Column("last_seen", Time, nullable=False),
    sa.Column("revoked_at", Time),
    # Device signatures (app/server/devices.py). Added to an existing database by
    # devices.add_missing_columns at start-up (create_all does not alter tables).
    sa.Column("public_key", sa.String(64)),  # Ed25519, raw 32 bytes in base64; NULL = not enrolled
    sa.Column("key_enrolled_at", Time),
    sa.Column("last_hash", sa.String(64)),  # hash of the last mutation taken from its chain
)

processed_mutation = sa.Table(
    "processed_mutation", metadata,
    sa.Column("device_id", Id, primary_key=True),
    sa.Column("mutation_id", Id, primary_key=True),
    sa.Column("device_seq", sa.BigInteger, nullable=False),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("result", Json, nullable=False),  # replayed verbatim on a retry
    sa.Column("applied_rev", sa.BigInteger),
    sa.Column("author_id", Id, nullable=False),
    sa.Column("received_at", Time, nullable=False),
    sa.UniqueConstraint("device_id", "device_seq", name="uq_ledger_device_seq"),
    sa.Index("ix_ledger_mutation", "mutation_id"),  # field_src points at a mutation id
)

refresh_token = sa.Table(
    "refresh_token", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", Id, nullable=False, index=True),
    sa.Column("device_id", Id, nullable=False, index=True),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("seq", SeqKey, primary_key=True, autoincrement=True),
    sa.Column("at", Time, nullable=False),
    sa.Column("actor_id", Id),
    sa.Column("device_id", Id),
    sa.Column("mutation_id", Id),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(64)),
    sa.Column("entity_id", Id),
    sa.Column("rev", sa.BigInteger),
    sa.Column("detail", Json),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
)

# Materialised per-warehouse stock, updated in the same transaction as each movement.
stock_balance = sa.Table(
    "stock_balance", metadata,
    sa.Column("warehouse_id", Id, primary_key=True),
    sa.Column("item_id", Id, primary_key=True),
    sa.Column("quantity", sa.BigInteger, nullable=False),
)

# The "one active dispatch per team" constraint as a table, portable to SQLite and PostgreSQL.
active_dispatch = sa.Table(
    "active_dispatch", metadata,
    sa.Column("team_id", Id, primary_key=True),
    sa.Column("dispatch_id", Id, nullable=False, unique=True),
)

blob = sa.Table(
    "blob", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("uploaded_by", Id),
    sa.Column("uploaded_at", Time, nullable=False),
)

# A record leaving an org unit: each (record, revision, unit it left). The pull turns these into
# ``scope_removed`` markers for consoles whose scope held the unit left but not the record's
# current unit (docs/protocol.md "Scope changes"). Written with the move, in its transaction.
scope_move = sa.Table(
    "scope_move", metadata,
    sa.Column("entity", sa.String(64), primary_key=True),
    sa.Column("id", Id, primary_key=True),
    sa.Column("rev", sa.BigInteger, primary_key=True),
    sa.Column("from_scope", Id, primary_key=True),
    sa.Index("ix_scope_move_rev", "rev"),
)

# Mutations held for a shift leader (app/server/quarantine.py). The ledger row of each says
# ``quarantined`` until a leader approves (the ledger then holds the real outcome) or declines.
quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("device_id", Id, primary_key=True),
    sa.Column("mutation_id", Id, primary_key=True),
    sa.Column("device_seq", sa.BigInteger, nullable=False),
    sa.Column("mutation", Json, nullable=False),  # the wire mutation, as pushed
    sa.Column("author_id", Id),  # the officer the mutation names
    sa.Column("pushed_by", Id, nullable=False),  # whose token pushed it
    sa.Column("scope_id", Id),  # the org unit it would be written in (who may decide)
    sa.Column("code", sa.String(32), nullable=False),  # wire.QUARANTINE_CODES
    sa.Column("received_at", Time, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # held | approved | declined
    sa.Column("decided_by", Id),
    sa.Column("decided_at", Time),
    sa.Index("ix_quarantine_status", "status"),
)
