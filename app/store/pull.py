"""Applying pulled pages: stage each page, then swap everything in one transaction.

Pages are staged as they arrive (resumable after a crash); only when the console
has caught up to the server's high-watermark are the staged rows copied into the
entity tables, the cursor moved and staging cleared, all in ONE transaction
(SYNC_PROTOCOL.md invariant 4). The copy runs inside SQLite (json_extract over
the staged JSON) because a Python loop over 100,000 rows would cost seconds.
Local changes the server has not yet confirmed are re-applied on top of the
pulled state, so an officer's unconfirmed edit is never reverted by a pull.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from app.domain.entities import ENTITIES
from app.domain.validate import is_uuid
from app.store.index import bulk_indexing, index_entity_rows
from app.store.outbox import IN_FLIGHT, PENDING
from app.store.schema import ENTITY_TABLES, outbox, pull_staging, sync_state

_BOOKKEEPING = ("server_rev", "field_rev", "deleted", "created_at", "updated_at", "created_by", "updated_by")


_NONE: dict = {}
_INTS = frozenset({int})  # type() is exact: a bool is not a revision


class BadPage(ValueError):
    """The server sent something the console will not apply; nothing was written."""


def check_page(page: Any, cursor: int) -> list[Mapping[str, Any]]:
    """Validate a pull page's shape before any of it touches the cache."""
    if not isinstance(page, dict) or not isinstance(page.get("changes"), list):
        raise BadPage("page is not an object with a list of changes")
    nxt = page.get("next_cursor")
    if not isinstance(nxt, int) or isinstance(nxt, bool) or nxt < cursor:
        raise BadPage(f"next_cursor {nxt!r} moves backwards from {cursor}")
    has_more = page.get("has_more", False)
    if not isinstance(has_more, bool) or (has_more and nxt == cursor):
        # "more" without moving the cursor would have the console ask for the same page forever.
        raise BadPage(f"has_more {has_more!r} without progress past cursor {cursor}")
    last = cursor
    for row in page["changes"]:
        if not isinstance(row, dict):
            raise BadPage("a change is not an object")
        if not isinstance(row.get("entity"), str) or row["entity"] not in ENTITIES:
            raise BadPage(f"unknown entity {row.get('entity')!r}")
        if not is_uuid(row.get("id")):
            raise BadPage("a change has no valid id")
        rev = row.get("rev")
        if not isinstance(rev, int) or isinstance(rev, bool) or rev <= cursor or rev > nxt or rev < last:
            raise BadPage(f"revision {rev!r} out of order (cursor {cursor}, next {nxt})")
        last = rev
        if not isinstance(row.get("deleted", False), bool):
            raise BadPage("deleted is not true or false")
        data = row.get("data", {})
        if not isinstance(data, dict):
            raise BadPage("change data is not an object")
        # field_rev comes back as base_rev on the next edit: anything but {field: revision}
        # would make that edit fail, or the server refuse the whole push.
        for revs in (row.get("field_rev", _NONE), data.get("field_rev", _NONE)):
            if type(revs) is not dict or (revs and not _INTS.issuperset(map(type, revs.values()))):
                raise BadPage("field_rev is not a map of revisions")
    return page["changes"]


def stage_page(conn: sa.Connection, changes: Iterable[Mapping[str, Any]], next_cursor: int,
               target: int | None) -> int:
    """Upsert one page into staging (latest revision per row wins) and remember how far we got."""
    rows = [{"entity": c["entity"], "id": c["id"], "rev": c["rev"], "deleted": bool(c.get("deleted")),
             "data": _row_data(c)} for c in changes]
    if rows:
        conn.execute(sa.text(
            "INSERT INTO pull_staging (entity, id, rev, deleted, data) "
            "VALUES (:entity, :id, :rev, :deleted, :data) "
            "ON CONFLICT (entity, id) DO UPDATE SET rev = excluded.rev, deleted = excluded.deleted, "
            "data = excluded.data WHERE excluded.rev >= pull_staging.rev"), rows)
    conn.execute(sync_state.update().where(sync_state.c.id == 1).values(
        staging_cursor=next_cursor, staging_target=target))
    return len(rows)


def _row_data(change: Mapping[str, Any]) -> str:
    data = dict(change.get("data") or {})
    if "field_rev" in change and "field_rev" not in data:
        data["field_rev"] = change["field_rev"]
    return json.dumps(data, ensure_ascii=False)


def _apply_entity_sql(entity: str) -> str:
    table = ENTITY_TABLES[entity]
    own = [c.name for c in table.columns if c.name not in ("id", "server_rev", "deleted")]
    json_cols = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}

    def extract(col: str) -> str:
        path = f"'$.\"{col}\"'"
        if col in json_cols:
            # "->" keeps arrays, objects and strings as JSON text, which is what a JSON column stores.
            return f"CASE WHEN coalesce(json_type(s.data, {path}), 'null') = 'null' THEN NULL " \
                   f"ELSE s.data -> {path} END"
        return f"s.data ->> {path}"

    cols = ["id", "server_rev", "deleted", *own]
    values = ["s.id", "s.rev", "s.deleted", *(extract(c) for c in own)]
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
    # Only whitelisted table and column names are formatted in; no value is.
    return (f"INSERT INTO {entity} ({', '.join(cols)}) SELECT {', '.join(values)} "  # noqa: S608
            f"FROM pull_staging s WHERE s.entity = '{entity}' "
            f"ON CONFLICT (id) DO UPDATE SET {updates}")


_APPLY_SQL = {name: _apply_entity_sql(name) for name in ENTITY_TABLES}


def apply_staged(conn: sa.Connection) -> dict[str, set[str]]:
    """Copy staging into the entity tables, rebase pending local changes, move the cursor."""
    touched: dict[str, set[str]] = {}
    for entity, rid in conn.execute(sa.select(pull_staging.c.entity, pull_staging.c.id)):
        touched.setdefault(entity, set()).add(rid)
    full = conn.execute(sa.select(sync_state.c.pull_cursor).where(sync_state.c.id == 1)).scalar() == 0
    if full:  # merge, not dict.update: that would forget the staged ids of an entity with a dropped row
        for entity, ids in _drop_rows_the_server_no_longer_has(conn).items():
            touched.setdefault(entity, set()).update(ids)
    with bulk_indexing():
        for entity in touched:
            conn.execute(sa.text(_APPLY_SQL[entity]))
            index_entity_rows(conn, entity, staged_only=True)
    _rebase_pending(conn, touched)
    state = conn.execute(sa.select(sync_state.c.staging_cursor).where(sync_state.c.id == 1)).scalar()
    conn.execute(sync_state.update().where(sync_state.c.id == 1).values(
        pull_cursor=state, staging_target=None))
    conn.execute(pull_staging.delete())
    return touched


def _drop_rows_the_server_no_longer_has(conn: sa.Connection) -> dict[str, set[str]]:
    """On a full resync, confirmed rows absent from the server's answer are gone for good.

    Rows never confirmed (server_rev NULL) and rows with queued changes stay.
    """
    dropped: dict[str, set[str]] = {}
    unsent = sa.select(outbox.c.entity_id).where(outbox.c.status.in_((PENDING, IN_FLIGHT)))
    for entity, table in ENTITY_TABLES.items():
        staged = sa.select(pull_staging.c.id).where(pull_staging.c.entity == entity)
        gone = sa.select(table.c.id).where(table.c.server_rev.isnot(None), table.c.id.not_in(staged),
                                           table.c.id.not_in(unsent))
        ids = {r[0] for r in conn.execute(gone)}
        if ids:
            conn.execute(table.delete().where(table.c.id.in_(ids)))
            dropped[entity] = ids
    return dropped


def _rebase_pending(conn: sa.Connection, touched: Mapping[str, set[str]]) -> None:
    pending = conn.execute(
        sa.select(outbox.c.entity, outbox.c.entity_id, outbox.c.op, outbox.c.payload)
        .where(outbox.c.status.in_((PENDING, IN_FLIGHT)), outbox.c.op == "patch")
        .order_by(outbox.c.device_seq)).all()
    for entity, rid, _op, payload in pending:
        if rid in touched.get(entity, ()):
            table = ENTITY_TABLES[entity]
            conn.execute(table.update().where(table.c.id == rid).values(**payload))


def reset_staging(conn: sa.Connection) -> None:
    """Forget a half-downloaded catch-up (e.g. after the server's epoch changed)."""
    conn.execute(pull_staging.delete())
    conn.execute(sync_state.update().where(sync_state.c.id == 1).values(staging_cursor=0, staging_target=None))


def set_epoch(conn: sa.Connection, epoch: str) -> None:
    conn.execute(sync_state.update().where(sync_state.c.id == 1).values(server_epoch=epoch))


def start_full_resync(conn: sa.Connection, epoch: str) -> None:
    """Pull everything again from revision 0; the outbox is kept untouched."""
    conn.execute(pull_staging.delete())
    conn.execute(sync_state.update().where(sync_state.c.id == 1).values(
        server_epoch=epoch, pull_cursor=0, staging_cursor=0, staging_target=None))
