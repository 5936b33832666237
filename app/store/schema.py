"""Tables of the console's local cache, built from the entity catalogue.

Every synced entity gets one table whose columns carry the wire names, so the
pull applier writes server data straight in and the outbox reads it straight out.
Synced tables carry no FOREIGN KEY constraints between each other on purpose:
rows arrive in server-revision order and a parent may lie outside the console's
scope; references are checked by the services and by the server instead.
Local-only tables (outbox, drafts, search) do use foreign keys where they apply.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.entities import ENTITIES, Entity, Field

metadata = sa.MetaData()

# PRAGMA application_id of every cache this program creates ("CDK1"): a SQLite
# file without it, holding other tables, is someone else's file and left alone.
APPLICATION_ID = 0x43444B31

_KIND_TYPES: dict[str, sa.types.TypeEngine] = {
    "str": sa.String(), "text": sa.Text(), "int": sa.Integer(), "float": sa.Float(),
    "bool": sa.Boolean(create_constraint=False), "time": sa.String(40), "date": sa.String(10),
    "id": sa.String(36), "json": sa.JSON(),
}


def _column(f: Field) -> sa.Column:
    kind = "str" if f.enum is not None else f.kind
    return sa.Column(f.name, _KIND_TYPES[kind], index=f.indexed)


def _entity_table(ent: Entity) -> sa.Table:
    return sa.Table(
        ent.name, metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        *(_column(f) for f in ent.fields),
        # Bookkeeping shared by every synced table.
        sa.Column("server_rev", sa.Integer, index=True),  # None until the server confirms
        sa.Column("field_rev", sa.JSON),  # per-field server revisions, sent back as base_rev
        sa.Column("deleted", sa.Boolean(create_constraint=False), nullable=False, server_default="0"),
        sa.Column("created_at", sa.String(40)),
        sa.Column("updated_at", sa.String(40)),
        sa.Column("created_by", sa.String(36)),
        sa.Column("updated_by", sa.String(36)),
    )


ENTITY_TABLES: dict[str, sa.Table] = {name: _entity_table(ent) for name, ent in ENTITIES.items()}

# Indexes beyond one column each (migration 0003 creates the same).
_log = ENTITY_TABLES["duty_log_entry"]
sa.Index("ix_duty_log_entry_corrects_id", _log.c.corrects_id, sqlite_where=_log.c.corrects_id.isnot(None))
sa.Index("ix_duty_log_entry_kind_time", _log.c.kind, _log.c.occurred_at)
sa.Index("ix_duty_log_entry_author_time", _log.c.author_id, _log.c.occurred_at)

# One row per user intent, written in the same transaction as the change itself
# (SYNC_RESEARCH.md §3.3-3.4). device_seq is gap-free: MAX+1 inside the writer.
outbox = sa.Table(
    "outbox", metadata,
    sa.Column("mutation_id", sa.String(36), primary_key=True),
    sa.Column("device_seq", sa.Integer, nullable=False, unique=True),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(36), nullable=False, index=True),
    sa.Column("op", sa.String(16), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("base_rev", sa.JSON),
    sa.Column("author_id", sa.String(36)),
    sa.Column("client_time", sa.String(40), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(24), nullable=False, server_default="pending", index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("applied_rev", sa.Integer),
    sa.Column("result", sa.JSON),
    sa.Column("acked_at", sa.String(40)),
    # The device's hash chain (migration 0005, app.domain.outbox_chain), set when the row is queued.
    sa.Column("prev_hash", sa.String(64)),
    sa.Column("hash", sa.String(64)),
)

sync_state = sa.Table(
    "sync_state", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("device_id", sa.String(36), nullable=False),
    sa.Column("server_url", sa.Text),
    sa.Column("server_epoch", sa.String(36)),
    sa.Column("pull_cursor", sa.Integer, nullable=False, server_default="0"),
    sa.Column("staging_cursor", sa.Integer, nullable=False, server_default="0"),
    sa.Column("staging_target", sa.Integer),
    sa.Column("last_push_ok_at", sa.String(40)),
    sa.Column("last_pull_ok_at", sa.String(40)),
    sa.Column("clock_offset_ms", sa.Integer),
    sa.Column("auth_state", sa.String(24), nullable=False, server_default="ok"),
    sa.CheckConstraint("id = 1", name="single_row"),
)

pull_staging = sa.Table(
    "pull_staging", metadata,
    sa.Column("entity", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("rev", sa.Integer, nullable=False),
    sa.Column("deleted", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("data", sa.JSON),
)

# Whatever the officer has typed into a form and not yet saved, written as they
# type, so a crash or a power cut loses nothing (restored on the next start).
draft = sa.Table(
    "draft", metadata,
    sa.Column("form_key", sa.String(128), primary_key=True),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("saved_at", sa.String(40), nullable=False),
)

# Small local settings and cached facts (offline sign-in verifiers, layouts).
local_kv = sa.Table(
    "local_kv", metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.JSON),
)


def table_for(entity_name: str) -> sa.Table:
    """Whitelisted lookup: an unknown entity name is a KeyError, never a dynamic attribute."""
    return ENTITY_TABLES[entity_name]
