"""Pull: rows changed after a cursor, within the caller's scope, never splitting a rev group.

Read in one snapshot (REPEATABLE READ on PostgreSQL; one read transaction on SQLite),
so high_watermark, the rows and has_more agree. When nothing more is visible the cursor
moves to high_watermark, so revisions holding only out-of-scope rows are skipped once.

Each change row leaves the database as finished JSON, assembled as text around the stored
``data`` (its JSON text on SQLite, its JSONB printed on PostgreSQL), and the page is those
rows joined, so the server never decodes and re-encodes a row. The wire shape is the one of
:func:`change_row` (app.sync.wire ``ChangeRow``); ``data`` gains created_by, updated_by
and updated_at at its end, and is ``{}`` for a tombstone. (Pushes can never store those three
keys in ``data``: two are server-owned, the third is no entity's field. Were one there, the
parsed object would still equal ``dict.update``'s: a JSON parser keeps a repeated key in its
first place with its last value.)

The scan runs down the revision index and filters scope row by row (on SQLite the scope
column is kept out of index selection with a unary ``+``): a page then costs the rows
after the cursor up to ``limit`` visible ones, where the per-unit index made every page
sort everything left after the cursor. Rows of one revision come in no particular order
(the protocol orders revisions only); a page that would end inside a revision is finished
with the rest of that revision, in the same snapshot.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa

from app.server.auth import Principal
from app.server.db import meta, now_iso, reader
from app.server.errors import ApiError
from app.server.scope import allowed_units


def change_row(r: Any) -> dict[str, Any]:
    """The wire shape of one change (the SQL below builds exactly this, as text)."""
    if r.deleted:
        data: dict[str, Any] = {}
    else:
        data = dict(r.data)
        data.update(created_by=r.created_by, updated_by=r.updated_by, updated_at=r.updated_at)
    return {"entity": r.entity, "id": r.id, "rev": r.server_rev, "deleted": bool(r.deleted),
            "data": data, "field_rev": dict(r.field_rev or {})}


# SQLite: string assembly around the stored JSON text (no JSON parsing at all); stored objects
# come from json.dumps, so they are "{...}" with no trailing space. json_quote escapes names.
_SQLITE_ROW = (
    "CAST('{\"entity\":' || json_quote(entity) || ',\"id\":' || json_quote(id) || ',\"rev\":' || server_rev"
    " || CASE WHEN deleted THEN ',\"deleted\":true,\"data\":{}' ELSE ',\"deleted\":false,\"data\":'"
    " || CASE WHEN data = '{}' THEN '{' ELSE substr(data, 1, length(data) - 1) || ',' END"
    " || '\"created_by\":' || json_quote(created_by) || ',\"updated_by\":' || json_quote(updated_by)"
    " || ',\"updated_at\":' || json_quote(updated_at) || '}' END"
    " || ',\"field_rev\":' || CASE WHEN field_rev IS NULL OR field_rev = 'null' THEN '{}' ELSE field_rev END"
    " || '}' AS BLOB)"
)
_SQLITE_SCOPE = "(+scope_id IS NULL OR +scope_id IN (SELECT value FROM json_each(?)))"

# PostgreSQL: the same assembly around the JSONB's text form ('{"k": v, ...}'); printing JSONB
# and splicing is twice as fast as json_build_object over a merged JSONB.
_PG_ROW = (
    "'{\"entity\":' || to_json(entity)::text || ',\"id\":' || to_json(id)::text || ',\"rev\":' || server_rev"
    " || CASE WHEN deleted THEN ',\"deleted\":true,\"data\":{}' ELSE ',\"deleted\":false,\"data\":'"
    " || CASE WHEN data = '{}'::jsonb THEN '{' ELSE left(data::text, -1) || ',' END"
    " || '\"created_by\":' || coalesce(to_json(created_by)::text, 'null')"
    " || ',\"updated_by\":' || coalesce(to_json(updated_by)::text, 'null')"
    " || ',\"updated_at\":' || coalesce(to_json(updated_at)::text, 'null') || '}' END"
    " || ',\"field_rev\":' || CASE WHEN jsonb_typeof(field_rev) = 'object' THEN field_rev::text ELSE '{}' END"
    " || '}'"
)
_PG_SCOPE = "(scope_id IS NULL OR scope_id = ANY(%s))"


def _statements(row: str, mark: str, scope: str | None, keys: str, after: str) -> dict[str, str]:
    """``keys`` order the rows of one revision; ``after`` continues a revision after the given keys."""
    visible = f" AND {scope}" if scope else ""
    # Only module constants are formatted in; every value is a bound parameter.
    return {
        "page": f"SELECT server_rev, {keys}, {row} FROM record WHERE server_rev > {mark}{visible} "  # noqa: S608
                f"ORDER BY server_rev, {keys} LIMIT {mark}",
        "rest_of_group": f"SELECT server_rev, {keys}, {row} FROM record WHERE server_rev = {mark}"  # noqa: S608
                         f"{visible} AND {after} ORDER BY {keys}",
        "more": f"SELECT 1 FROM record WHERE server_rev > {mark}{visible} LIMIT 1",  # noqa: S608
    }


# Within one revision, SQLite orders by rowid: the revision index holds (server_rev, rowid), so
# pages need no sort (a sort of whole rows cost ~3/4 of the query); rowids are stable within the
# read transaction, which is all a page needs. PostgreSQL orders by the primary key.
_SQLITE = dict(row=_SQLITE_ROW, mark="?", keys="rowid", after="rowid > ?")
_PG = dict(row=_PG_ROW, mark="%s", keys="entity, id", after="(entity > %s OR (entity = %s AND id > %s))")
_SQL = {
    ("sqlite", True): _statements(scope=_SQLITE_SCOPE, **_SQLITE),
    ("sqlite", False): _statements(scope=None, **_SQLITE),
    ("postgresql", True): _statements(scope=_PG_SCOPE, **_PG),
    ("postgresql", False): _statements(scope=None, **_PG),
}


# scope_removed markers (docs/protocol.md "Scope changes"): records that left an org unit of the
# caller's scope at a revision in (cursor, next_cursor] and whose current unit is outside it.
# One marker per record, at its latest such move. Only the fixed placeholders are formatted in.
_MOVES = ("SELECT m.entity, m.id, max(m.rev) FROM scope_move m JOIN record r ON r.entity = m.entity "
          "AND r.id = m.id WHERE m.rev > {p} AND m.rev <= {p} AND {from_in} AND r.scope_id IS NOT NULL "
          "AND NOT ({cur_in}) GROUP BY m.entity, m.id ORDER BY max(m.rev), m.entity, m.id")
_MOVES_SQL = {
    True: _MOVES.format(p="?", from_in="m.from_scope IN (SELECT value FROM json_each(?))",
                        cur_in="r.scope_id IN (SELECT value FROM json_each(?))"),
    False: _MOVES.format(p="%s", from_in="m.from_scope = ANY(%s)", cur_in="r.scope_id = ANY(%s)"),
}


def scope_key(units: frozenset[str] | None) -> str:
    """A fingerprint of the org units a caller may see: a console resyncs fully when it changes."""
    if units is None:
        return "*"
    return hashlib.sha256("\n".join(sorted(units)).encode()).hexdigest()[:32]


def _marker(entity: str, rid: str, rev: int) -> bytes:
    return json.dumps({"op": "scope_removed", "entity": entity, "id": rid, "rev": rev},
                      ensure_ascii=False, separators=(",", ":")).encode()


def _bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def pull_json(engine: sa.Engine, who: Principal, cursor: int, limit: int) -> bytes:
    """The pull response body, as UTF-8 JSON bytes."""
    with reader(engine) as conn, conn.begin():
        m = meta(conn)
        if cursor != 0 and cursor < m.min_valid_cursor:
            raise ApiError(410, "cursor_too_old", "离线过久，需完整重新同步（未上传的变更会保留） / "
                           "cursor older than the tombstone horizon: full resync, keep the outbox",
                           min_valid_cursor=m.min_valid_cursor)
        units = allowed_units(conn, who.role, who.org_unit_id)
        sqlite = conn.dialect.name == "sqlite"
        sql = _SQL[("sqlite" if sqlite else "postgresql", units is not None)]
        scope: tuple = ()
        if units is not None:
            scope = (json.dumps(sorted(units)) if sqlite else sorted(units),)

        # The driver's own cursor, in this transaction: plain tuples, no SQLAlchemy row per change.
        cur = conn.connection.cursor()
        try:
            def run(name: str, *args: Any) -> list:
                first, rest = args[:1], args[1:]  # the scope parameter follows the revision one
                cur.execute(sql[name], (*first, *scope, *rest))
                return cur.fetchall()

            rows = run("page", cursor, limit + 1)
            has_more = len(rows) > limit
            page = rows[:limit]
            if has_more:
                last = page[-1]
                if rows[limit][0] == last[0]:  # finish the rev group
                    after = (last[1],) if sqlite else (last[1], last[1], last[2])
                    page += run("rest_of_group", last[0], *after)
                    has_more = bool(run("more", last[0]))
        finally:
            cur.close()
        if has_more:
            next_cursor = page[-1][0]
        else:  # everything up to the watermark that this caller may see has been sent
            next_cursor = max(cursor, m.current_rev)
        items = [(r[0], _bytes(r[-1])) for r in page]
        if units is not None and cursor > 0 and next_cursor > cursor:
            # A pull from 0 is a full (re)sync: the console drops what the answer lacks anyway.
            moved = run_sql_raw(conn, _MOVES_SQL[sqlite], (cursor, next_cursor, *scope, *scope))
            if moved:
                items = sorted(items + [(rev, _marker(e, rid, rev)) for e, rid, rev in moved],
                               key=lambda item: item[0])  # stable: the page keeps its order
        tail = json.dumps({"next_cursor": next_cursor, "has_more": has_more, "high_watermark": m.current_rev,
                           "min_valid_cursor": m.min_valid_cursor, "server_epoch": m.server_epoch,
                           "scope_key": scope_key(units), "server_time": now_iso()},
                          ensure_ascii=False, separators=(",", ":"))
    return b"".join((b'{"changes":[', b",".join(item for _rev, item in items), b"],", tail[1:].encode()))


def run_sql_raw(conn: sa.Connection, sql: str, params: tuple) -> list:
    cur = conn.connection.cursor()
    try:
        cur.execute(sql, params)
        return cur.fetchall()
    finally:
        cur.close()


def pull(engine: sa.Engine, who: Principal, cursor: int, limit: int) -> dict[str, Any]:
    """The pull response as a dict (tests and tools; the route sends :func:`pull_json` as is)."""
    return json.loads(pull_json(engine, who, cursor, limit))
