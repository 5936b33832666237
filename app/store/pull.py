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
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from app.domain.entities import ENTITIES
from app.domain.validate import is_uuid
from app.store import index
from app.store.index import bulk_indexing
from app.store.kv import kv_get, kv_put
from app.store.outbox import IN_FLIGHT, PENDING
from app.store.schema import ENTITY_TABLES, outbox, pull_staging, sync_state

_BOOKKEEPING = ("server_rev", "field_rev", "deleted", "created_at", "updated_at", "created_by", "updated_by")


_NONE: dict = {}
_INTS = frozenset({int})  # type() is exact: a bool is not a revision


# A change-list item saying the row left this console's scope (docs/protocol.md "Scope changes").
SCOPE_REMOVED = "scope_removed"


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
        if "op" in row:
            if row["op"] != SCOPE_REMOVED:
                raise BadPage(f"unknown change op {row['op']!r}")
            continue  # a marker carries nothing more (entity, id and rev are checked above)
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


# Staged pages. Each page is kept whole, as one JSONB value in a pull_staging row under
# this sentinel entity (no entity is called that), keyed by its next_cursor: staging then costs
# one row a page instead of a Python dict, a JSON string and an index entry per change, and the
# swap reads every field straight out of the JSONB (SQLite's jsonb_each) with no JSON parsing.
PAGE = "#page"

# What the swap reads: one row per staged change, in revision order, so the latest revision of
# a row is written last and wins: pages in cursor order (their key, read from the primary key
# index, so nothing is sorted), the changes of a page in array order, which is revision order
# (check_page). Sorting by revision instead would sort every staged row: a third of the swap.
_STAGED = (
    "SELECT j.value AS v FROM pull_staging p, jsonb_each(p.data) j "
    "WHERE p.entity = '#page' ORDER BY p.id")
# The same, over only the pages that hold the entity (``:pages``, a JSON array of page keys):
# a few hundred reference rows need not walk a 100,000-row pull once per entity.
_STAGED_IN_PAGES = (
    "SELECT j.value AS v FROM pull_staging p, jsonb_each(p.data) j "
    "WHERE p.entity = '#page' AND p.id IN (SELECT value FROM json_each(:pages)) ORDER BY p.id")
_STAGED_IDS = (  # DISTINCT: a row staged by an interrupted round and again by this one is one row
    "SELECT DISTINCT j.value ->> '$.id' AS id FROM pull_staging p, jsonb_each(p.data) j "
    "WHERE p.entity = '#page' AND j.value ->> '$.entity' = :e")

_ENTITY_NAMES = ", ".join("'" + name + "'" for name in ENTITIES)  # fixed identifiers, no user text
_HEX = "[0-9a-fA-F]"
_UUID_GLOB = "-".join(_HEX * n for n in (8, 4, 4, 4, 12))

# The same rules as check_page, over what SQLite itself reads from the staged page. A raw body
# may repeat a key, and JSON parsers differ on which copy counts (Python's json keeps the last,
# SQLite the first): checking both readings means no unchecked value reaches the cache.
_CHECK_SQL = (  # only the fixed entity names and a fixed pattern are formatted in
    "SELECT j.key, CASE "  # noqa: S608
    "WHEN j.type <> 'object' THEN 'a change is not an object' "
    "WHEN json_type(j.value, '$.op') IS NOT NULL AND (json_type(j.value, '$.op') IS NOT 'text' "
    "OR j.value ->> '$.op' IS NOT 'scope_removed') THEN 'unknown change op' "
    f"WHEN json_type(j.value, '$.entity') IS NOT 'text' OR j.value ->> '$.entity' NOT IN ({_ENTITY_NAMES}) "
    "THEN 'unknown entity' "
    "WHEN json_type(j.value, '$.id') IS NOT 'text' OR length(j.value ->> '$.id') <> 36 "
    f"OR NOT (j.value ->> '$.id') GLOB '{_UUID_GLOB}' THEN 'a change has no valid id' "
    "WHEN json_type(j.value, '$.rev') IS NOT 'integer' OR j.value ->> '$.rev' <= :cursor "
    "OR j.value ->> '$.rev' > :next THEN 'revision out of order' "
    "WHEN coalesce(json_type(j.value, '$.deleted'), 'false') NOT IN ('true', 'false') "
    "THEN 'deleted is not true or false' "
    "WHEN coalesce(json_type(j.value, '$.data'), 'object') <> 'object' THEN 'change data is not an object' "
    "WHEN coalesce(json_type(j.value, '$.field_rev'), 'object') <> 'object' "
    "OR coalesce(json_type(j.value, '$.data.field_rev'), 'object') <> 'object' "
    "OR EXISTS (SELECT 1 FROM jsonb_each(j.value, '$.field_rev') f WHERE f.type <> 'integer') "
    "OR EXISTS (SELECT 1 FROM jsonb_each(j.value, '$.data.field_rev') f WHERE f.type <> 'integer') "
    "THEN 'field_rev is not a map of revisions' END AS problem "
    "FROM pull_staging p, jsonb_each(p.data) j WHERE p.entity = '#page' AND p.id = :key "
    "AND problem IS NOT NULL LIMIT 1")


def _page_key(next_cursor: int) -> str:
    return f"{next_cursor:020d}"


def stage_page(conn: sa.Connection, changes: Sequence[Mapping[str, Any]], next_cursor: int,
               target: int | None, raw: bytes | None = None, cursor: int | None = None) -> int:
    """Keep one checked page in staging and remember how far we got.

    ``raw`` is the page's body as received (what the engine passes: no re-encoding);
    without it the page is built from ``changes``. Either way SQLite checks the rows as it
    reads them (``cursor``: the revision the page follows, 0 when not given).
    """
    if changes:
        key = _page_key(next_cursor)
        if raw is not None:
            value, param = "jsonb_extract(:page, '$.changes')", raw
        else:
            try:
                param = json.dumps(list(changes), ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError) as e:
                raise BadPage(f"a change holds a value that is not JSON: {e}") from e
            value = "jsonb(:page)"
        try:
            conn.execute(sa.text(  # value is one of the two fixed expressions above
                "INSERT INTO pull_staging (entity, id, rev, deleted, data) "  # noqa: S608
                f"VALUES ('#page', :key, :next, 0, {value}) "
                "ON CONFLICT (entity, id) DO UPDATE SET rev = excluded.rev, data = excluded.data"),
                {"key": key, "next": next_cursor, "page": param})
            bad = conn.execute(sa.text(_CHECK_SQL),
                               {"key": key, "cursor": cursor or 0, "next": next_cursor}).first()
        except sa.exc.OperationalError as e:
            if "json" not in str(e.orig).lower():
                raise  # disk full, I/O error: not the page's fault
            raise BadPage(f"the page is not JSON SQLite accepts: {e.orig}") from e
        if bad is not None:
            raise BadPage(f"change {bad[0]}: {bad[1]}")  # the write transaction rolls back
        # Whether any scope_removed marker waits in staging, so a swap without one never scans
        # the staged rows for them. (A repeated "op" key is present in both parsers' readings.)
        if any("op" in row for row in changes) and not kv_get(conn, MARKERS_KEY):
            kv_put(conn, MARKERS_KEY, True)
    conn.execute(sync_state.update().where(sync_state.c.id == 1).values(
        staging_cursor=next_cursor, staging_target=target))
    return len(changes)


def staged_changes(conn: sa.Connection) -> list[tuple[str, str, int]]:
    """(entity, id, rev) of every change waiting in staging (pages hold several each)."""
    return [tuple(r) for r in conn.execute(sa.text(
        "SELECT j.value ->> '$.entity', j.value ->> '$.id', j.value ->> '$.rev' "
        "FROM pull_staging p, jsonb_each(p.data) j WHERE p.entity = '#page'"))]


def _apply_entity_sql(entity: str) -> str:
    table = ENTITY_TABLES[entity]
    own = [c.name for c in table.columns if c.name not in ("id", "server_rev", "deleted", "field_rev")]
    json_cols = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}

    def extract(col: str) -> str:
        path = f"'$.data.\"{col}\"'"
        if col in json_cols:
            # "->" keeps arrays, objects and strings as JSON text, which is what a JSON column stores.
            return f"CASE WHEN coalesce(json_type(s.v, {path}), 'null') = 'null' THEN NULL " \
                   f"ELSE s.v -> {path} END"
        return f"s.v ->> {path}"

    # field_rev travels beside data; a field_rev inside data (older servers) takes precedence.
    field_rev = ("CASE WHEN coalesce(json_type(s.v, '$.data.field_rev'), 'null') <> 'null' "
                 "THEN s.v -> '$.data.field_rev' "
                 "WHEN coalesce(json_type(s.v, '$.field_rev'), 'null') <> 'null' THEN s.v -> '$.field_rev' END")
    cols = ["id", "server_rev", "deleted", "field_rev", *own]
    values = ["s.v ->> '$.id'", "s.v ->> '$.rev'", "coalesce(s.v ->> '$.deleted', 0)", field_rev,
              *(extract(c) for c in own)]
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
    # Only whitelisted table and column names are formatted in; no value is.
    return (f"INSERT INTO {entity} ({', '.join(cols)}) SELECT {', '.join(values)} "  # noqa: S608
            f"FROM ({_STAGED_IN_PAGES}) s WHERE s.v ->> '$.entity' = '{entity}' AND s.v ->> '$.op' IS NULL "
            f"ON CONFLICT (id) DO UPDATE SET {updates}")


_APPLY_SQL = {name: _apply_entity_sql(name) for name in ENTITY_TABLES}

# Above this many rows the swap leaves the search texts to the catch-up (app/store/index.py).
DEFER_INDEX_ROWS = 5000


# Above this many staged rows of one entity the swap reports "any row of it" instead of the
# ids: a million ids held as Python strings cost ~130 MB, and publishing them stalled the GUI.
PUBLISH_IDS_MAX = 5000


def apply_staged(conn: sa.Connection) -> dict[str, set[str]]:
    """Copy staging into the entity tables, rebase pending local changes, move the cursor.

    Returns the touched ids per entity; an empty set means "any row" (a large pull).
    """
    counts: dict[str, int] = {}
    pages: dict[str, set[str]] = {}  # entity -> keys of the staged pages that hold it
    for entity, page, n in conn.execute(sa.text(
            "SELECT j.value ->> '$.entity', p.id, count(*) FROM pull_staging p, jsonb_each(p.data) j "
            "WHERE p.entity = '#page' GROUP BY 1, 2")):
        counts[entity] = counts.get(entity, 0) + n
        pages.setdefault(entity, set()).add(page)
    few = [e for e, n in counts.items() if n <= PUBLISH_IDS_MAX]
    touched: dict[str, set[str]] = {e: set() for e in counts}
    if few:
        for entity, rid in conn.execute(sa.text(
                "SELECT j.value ->> '$.entity', j.value ->> '$.id' FROM pull_staging p, jsonb_each(p.data) j "
                "WHERE p.entity = '#page' AND j.value ->> '$.entity' IN (SELECT value FROM json_each(:few))"),
                {"few": json.dumps(few)}):
            touched[entity].add(rid)
    also: dict[str, set[str]] = {}  # rows dropped here, beside the staged ones
    _drop_kept(conn, also)
    full = conn.execute(sa.select(sync_state.c.pull_cursor).where(sync_state.c.id == 1)).scalar() == 0
    if full:  # merge, not dict.update: that would forget the staged ids of an entity with a dropped row
        for entity, ids in _drop_rows_the_server_no_longer_has(conn).items():
            also.setdefault(entity, set()).update(ids)
    markers = bool(kv_get(conn, MARKERS_KEY))
    defer = sum(counts.values()) > DEFER_INDEX_ROWS
    first = last = None
    with bulk_indexing():
        for entity in [*counts, *(e for e in also if e not in counts)]:  # a stable order, run to run
            conn.execute(sa.text(_APPLY_SQL[entity]), {"pages": json.dumps(sorted(pages.get(entity, ())))})
            if markers:
                _apply_scope_removed(conn, entity)
            if not ENTITIES[entity].searchable:
                continue
            # Entries of changed and deleted rows go; live rows without one get a fresh rowid.
            index.drop_entries(conn, entity, _STAGED_IDS, {})
            # A large pull walks the table once; a small one probes just its rows.
            small = counts.get(entity, 0) <= DEFER_INDEX_ROWS
            lo, hi = index.add_refs(conn, entity, _STAGED_IDS if small else None)
            if defer:
                first = lo if first is None else first
                last = hi
            else:
                index.fill_texts(conn, entity, lo, hi)
    if defer and first is not None:
        index.defer_texts(conn, first, last)
    _rebase_pending(conn)
    for entity, ids in also.items():
        if entity not in counts:
            touched[entity] = set(ids)
        elif counts[entity] <= PUBLISH_IDS_MAX:
            touched[entity].update(ids)
        # else: already "any row"
    state = conn.execute(sa.select(sync_state.c.staging_cursor).where(sync_state.c.id == 1)).scalar()
    conn.execute(sync_state.update().where(sync_state.c.id == 1).values(
        pull_cursor=state, staging_target=None))
    conn.execute(pull_staging.delete())
    if markers:
        kv_put(conn, MARKERS_KEY, False)
    return touched


# Rows whose latest staged item is a scope_removed marker: no change of the same row at a later
# revision is staged (pages hold revisions in order, so a later one is a newer state).
_REMOVED_IDS = (
    "SELECT j.value ->> '$.id' AS id FROM pull_staging p, jsonb_each(p.data) j "
    "WHERE p.entity = '#page' AND j.value ->> '$.entity' = :e AND j.value ->> '$.op' = 'scope_removed' "
    "AND NOT EXISTS (SELECT 1 FROM pull_staging p2, jsonb_each(p2.data) k "
    "WHERE p2.entity = '#page' AND k.value ->> '$.entity' = :e AND k.value ->> '$.id' = j.value ->> '$.id' "
    "AND k.value ->> '$.op' IS NULL AND k.value ->> '$.rev' > j.value ->> '$.rev')")


MARKERS_KEY = "scope_removed_staged"  # local_kv: true while a staged page holds a marker
_QUEUED = "(SELECT entity_id FROM outbox WHERE status IN (:pending, :in_flight))"
KEPT_KEY = "scope_removed_kept"  # local_kv: [entity, id] of rows that left scope with changes queued


def _apply_scope_removed(conn: sa.Connection, entity: str) -> None:
    """Drop the rows that left this console's scope, after the staged upserts of ``entity``.

    A row with queued or in-flight local changes stays for now: those changes go up as usual,
    the server refuses them (``out_of_scope``) and they are listed as rejected with their
    content, so the officer's work is never lost unseen. The row is remembered and dropped by
    the first swap after its changes settled (:func:`_drop_kept`).
    """
    params = {"e": entity, "pending": PENDING, "in_flight": IN_FLIGHT}
    # Only the whitelisted table name is formatted in.
    kept = [r[0] for r in conn.execute(sa.text(
        f"SELECT id FROM {entity} WHERE id IN ({_REMOVED_IDS}) AND id IN {_QUEUED}"), params)]  # noqa: S608
    conn.execute(sa.text(
        f"DELETE FROM {entity} WHERE id IN ({_REMOVED_IDS}) AND id NOT IN {_QUEUED}"), params)  # noqa: S608
    if kept:
        before = kv_get(conn, KEPT_KEY) or []
        kv_put(conn, KEPT_KEY, sorted({tuple(k) for k in before} | {(entity, rid) for rid in kept}))


def _drop_kept(conn: sa.Connection, touched: dict[str, set[str]]) -> None:
    """Drop the rows kept back from a scope_removed marker whose local changes have all settled.

    Runs before the staged upserts, so a row that came back into scope meanwhile is written again.
    """
    kept = kv_get(conn, KEPT_KEY)
    if not kept:
        return
    queued = {(e, i) for e, i in conn.execute(sa.text(
        "SELECT entity, entity_id FROM outbox WHERE status IN (:pending, :in_flight)"),
        {"pending": PENDING, "in_flight": IN_FLIGHT})}
    ready: dict[str, list[str]] = {}
    still = []
    for entity, rid in kept:
        if entity not in ENTITY_TABLES:
            continue
        if (entity, rid) in queued:
            still.append([entity, rid])
        else:
            ready.setdefault(entity, []).append(rid)
    for entity, ids in ready.items():
        table = ENTITY_TABLES[entity]
        index.drop_entries(conn, entity, "SELECT value AS id FROM json_each(:ids)", {"ids": json.dumps(ids)})
        conn.execute(table.delete().where(table.c.id.in_(ids)))
        touched.setdefault(entity, set()).update(ids)
    kv_put(conn, KEPT_KEY, still)


def _drop_rows_the_server_no_longer_has(conn: sa.Connection) -> dict[str, set[str]]:
    """On a full resync, confirmed rows absent from the server's answer are gone for good.

    Rows never confirmed (server_rev NULL) and rows with queued changes stay.
    """
    dropped: dict[str, set[str]] = {}
    for entity in ENTITY_TABLES:
        # Only the whitelisted table name is formatted in.
        gone = (f"SELECT t.id FROM {entity} t WHERE t.server_rev IS NOT NULL "  # noqa: S608
                f"AND t.id NOT IN ({_STAGED_IDS}) AND t.id NOT IN "
                "(SELECT entity_id FROM outbox WHERE status IN (:pending, :in_flight))")
        ids = {r[0] for r in conn.execute(sa.text(gone), {"e": entity, "pending": PENDING, "in_flight": IN_FLIGHT})}
        if ids:
            table = ENTITY_TABLES[entity]
            conn.execute(table.delete().where(table.c.id.in_(ids)))
            dropped[entity] = ids
    return dropped


def _rebase_pending(conn: sa.Connection) -> None:
    """Lay this console's queued patches back over the rows the swap just overwrote."""
    pending = conn.execute(
        sa.select(outbox.c.entity, outbox.c.entity_id, outbox.c.op, outbox.c.payload)
        .where(outbox.c.status.in_((PENDING, IN_FLIGHT)), outbox.c.op == "patch")
        .order_by(outbox.c.device_seq)).all()
    if not pending:
        return
    # Which of them the swap overwrote: one pass over staging for all queued ids.
    overwritten = {(e, i) for e, i in conn.execute(sa.text(
        "SELECT j.value ->> '$.entity', j.value ->> '$.id' FROM pull_staging p, jsonb_each(p.data) j "
        "WHERE p.entity = '#page' AND j.value ->> '$.id' IN (SELECT value FROM json_each(:ids))"),
        {"ids": json.dumps(sorted({rid for _e, rid, _o, _p in pending}))})}
    for entity, rid, _op, payload in pending:
        if (entity, rid) in overwritten:
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


SCOPE_KEY = "sync_scope_key"  # local_kv: the server's fingerprint of the scope this cache holds


def stored_scope_key(conn: sa.Connection) -> str | None:
    value = kv_get(conn, SCOPE_KEY)  # the column is JSON: read back decoded
    return value if isinstance(value, str) else None


def note_scope(conn: sa.Connection, key: str, epoch: str | None) -> bool:
    """Remember the scope the pulls come from; True when it changed and a full resync began.

    The signed-in user's org unit moved (or the org tree did): rows of units no longer in scope
    must go, rows of new units come in at revisions the cursor may have passed. A pull from 0
    does both (:func:`apply_staged` drops confirmed rows the answer lacks; queued changes stay).
    """
    before = stored_scope_key(conn)
    kv_put(conn, SCOPE_KEY, key)
    if before is None or before == key:
        return False  # first answer with a key (a new or an upgraded cache): nothing to redo
    start_full_resync(conn, epoch)
    return True
