"""What one push batch reads and writes, held in memory and written in a few statements.

apply.py decides every mutation against a :class:`BatchState` instead of the connection:
reads go through the batch's own writes first, then rows already read, then the database
(point reads, or one ``IN (...)`` query per entity for the whole batch); writes go to the
current mutation's layer. When the mutation is decided its layer is either dropped
(rejected: nothing of it was ever written) or merged, and the merged writes reach the
database at the end of the batch (:meth:`flush`) as one statement per kind of write: an
``executemany`` on SQLite, a COPY (new rows) or a pipelined executemany on PostgreSQL.

The in-memory view mirrors the constraints the tables enforce (record primary key, one
row per team and per dispatch in active_dispatch), raising :class:`Violation` where the
database would have raised, so a batch decided in memory ends exactly as the same batch
run statement by statement. push.py treats any unexpected exception, here or in the
flush, as "replay this batch carefully": every mutation in its own savepoint, its writes
flushed at once (``careful=True``), which is the original one-mutation-at-a-time path.

Everything here runs inside the batch's write transaction, which holds the revision lock,
so nothing read can change underneath: pushes are serialised on both databases.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from app.server.tables import active_dispatch, processed_mutation, stock_balance

# Compact, non-ASCII kept, NaN/Infinity refused (PostgreSQL's JSONB would refuse them later).
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

RecordKey = tuple[str, str]
_ABSENT = object()  # a key not looked up yet (None means "looked up: no such row")


class Violation(Exception):
    """A write the database would refuse (duplicate key); the batch is replayed carefully."""


class Rec:
    """One ``record`` row as apply.py sees it (attribute names are the column names)."""

    __slots__ = ("scope_id", "server_rev", "deleted", "data", "field_rev", "field_src", "created_by",
                 "updated_by", "updated_at")

    def __init__(self, scope_id: str | None, server_rev: int, deleted: bool, data: dict[str, Any],
                 field_rev: dict[str, int], field_src: dict[str, str], created_by: str | None,
                 updated_by: str | None, updated_at: str):
        self.scope_id, self.server_rev, self.deleted = scope_id, server_rev, deleted
        self.data, self.field_rev, self.field_src = data, field_rev, field_src
        self.created_by, self.updated_by, self.updated_at = created_by, updated_by, updated_at

    def replace(self, **changes: Any) -> Rec:
        values = {k: getattr(self, k) for k in self.__slots__}
        values.update(changes)
        return Rec(**values)


class Changes:
    """Writes keyed by row: the value is the row's state after them (last write wins)."""

    __slots__ = ("records", "teams", "dispatches", "stock", "moves")

    def __init__(self) -> None:
        self.records: dict[RecordKey, Rec] = {}
        self.moves: dict[RecordKey, set[str]] = {}  # org units a record left (scope_move rows)
        self.teams: dict[str, str | None] = {}  # team -> active dispatch (None: free)
        self.dispatches: dict[str, str | None] = {}  # dispatch -> team it holds (None: none)
        self.stock: dict[tuple[str, str], int] = {}

    def merge(self, other: Changes) -> None:
        self.records.update(other.records)
        self.teams.update(other.teams)
        self.dispatches.update(other.dispatches)
        self.stock.update(other.stock)
        for key, units in other.moves.items():
            self.moves.setdefault(key, set()).update(units)

    def __bool__(self) -> bool:
        return bool(self.records or self.teams or self.dispatches or self.stock)


# The batch's new rows: table, then the columns in the order of the row tuples.
_ROWS = {
    "insert_record": ("record", ("entity", "id", "scope_id", "server_rev", "deleted", "data", "field_rev",
                                 "field_src", "created_by", "updated_by", "updated_at")),
    "insert_ledger": ("processed_mutation", ("device_id", "mutation_id", "device_seq", "payload_sha256", "outcome",
                                             "result", "applied_rev", "author_id", "received_at")),
    "insert_audit": ("audit_log", ("at", "actor_id", "device_id", "mutation_id", "action", "entity", "entity_id",
                                   "rev", "detail", "prev_hash", "entry_hash")),
}

# Only the constants above are formatted into SQL; every value is a bound parameter.
_SQLITE_SQL = {
    name: f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"  # noqa: S608
    for name, (table, cols) in _ROWS.items()
} | {
    "update_record": "UPDATE record SET scope_id = ?, server_rev = ?, deleted = ?, data = ?, field_rev = ?, "
                     "field_src = ?, updated_by = ?, updated_at = ? WHERE entity = ? AND id = ?",
    # (ids, key): the ids as one JSON array, so the statement text never varies with their number.
    "records_in": "SELECT id, scope_id, server_rev, deleted, data, field_rev, field_src, created_by, updated_by, "
                  "updated_at FROM record WHERE id IN (SELECT value FROM json_each(?)) AND entity = ?",
    "ledger_in": "SELECT mutation_id, payload_sha256, result FROM processed_mutation "
                 "WHERE mutation_id IN (SELECT value FROM json_each(?)) AND device_id = ?",
    "free_team": "DELETE FROM active_dispatch WHERE team_id = ?",
    "free_dispatch": "DELETE FROM active_dispatch WHERE dispatch_id = ?",
    "take_slot": "INSERT INTO active_dispatch (team_id, dispatch_id) VALUES (?, ?)",
    "insert_move": "INSERT INTO scope_move (entity, id, rev, from_scope) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT DO NOTHING",
    "insert_stock": "INSERT INTO stock_balance (warehouse_id, item_id, quantity) VALUES (?, ?, ?)",
    "update_stock": "UPDATE stock_balance SET quantity = ? WHERE warehouse_id = ? AND item_id = ?",
}


# PostgreSQL: the batch's new rows go in by COPY (a third of the time of 500 pipelined INSERTs,
# which were still ahead of one INSERT over column arrays); rows keep their order (audit seq).
_PG_COPY = {name: f"COPY {table} ({', '.join(cols)}) FROM STDIN" for name, (table, cols) in _ROWS.items()}
_PG_SQL = {name: sql.replace("?", "%s") for name, sql in _SQLITE_SQL.items()} | {
    # A join, not "= ANY(array)": that is compared element by element against every row of a
    # sequential scan, which the planner picks while the table's statistics still say "small".
    "records_in": "SELECT r.id, r.scope_id, r.server_rev, r.deleted, r.data, r.field_rev, r.field_src, "
                  "r.created_by, r.updated_by, r.updated_at FROM record AS r "
                  "JOIN unnest(%s::text[]) AS k(id) ON r.entity = %s AND r.id = k.id",
    "ledger_in": "SELECT p.mutation_id, p.payload_sha256, p.result FROM processed_mutation AS p "
                 "JOIN unnest(%s::text[]) AS k(id) ON p.device_id = %s AND p.mutation_id = k.id",
    "update_record": "UPDATE record SET scope_id = %s, server_rev = %s, deleted = %s, data = %s::jsonb, "
                     "field_rev = %s::jsonb, field_src = %s::jsonb, updated_by = %s, updated_at = %s "
                     "WHERE entity = %s AND id = %s",
}


def statements(conn: sa.Connection) -> dict[str, str]:
    return _SQLITE_SQL if conn.dialect.name == "sqlite" else _PG_SQL


def write_rows(conn: sa.Connection, name: str, rows: list[tuple], *, each_hits_one: bool = False) -> None:
    """Write ``rows`` with statement ``name``: executemany (pipelined by psycopg), or COPY for new rows
    on PostgreSQL. Driver level either way: no per-row SQLAlchemy statement building.
    """
    if not rows:
        return
    if name in _PG_COPY and conn.dialect.name != "sqlite":
        with conn.connection.cursor() as cur, cur.copy(_PG_COPY[name]) as copy:
            for row in rows:
                copy.write_row(row)
        return
    done = conn.exec_driver_sql(statements(conn)[name], rows)
    if each_hits_one and done.rowcount not in (-1, len(rows)):  # an UPDATE must never miss silently
        raise Violation(f"{done.rowcount} of {len(rows)} rows updated")


class BatchState:
    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.sql = statements(conn)
        self.view = Changes()  # known rows: read from the database or written by this batch
        self.known_records: dict[RecordKey, Rec | None] = {}  # read from the database (None: absent)
        self.known_teams: dict[str, str | None] = {}
        self.known_dispatches: dict[str, str | None] = {}
        self.known_stock: dict[tuple[str, str], int | None] = {}
        self.layer = Changes()  # the mutation being decided
        self.pending = Changes()  # decided, not yet flushed
        self.records_in_db: set[RecordKey] = set()
        self.stock_in_db: set[tuple[str, str]] = set()
        self.ledger_db: dict[str, tuple[str, str] | None] = {}  # mutation_id -> (device, author)
        self.ledger_new: dict[str, tuple[str, str]] = {}  # this batch's own ledger rows

    # ---- reads (layer, then this batch, then the database) ---------------------------------

    def record(self, entity: str, rid: str) -> Rec | None:
        key = (entity, rid)
        hit = self.layer.records.get(key) or self.view.records.get(key)
        if hit is not None:
            return hit
        found = self.known_records.get(key, _ABSENT)
        if found is _ABSENT:
            self.prefetch_records(entity, [rid])
            found = self.known_records[key]
        return found  # type: ignore[return-value]

    def prefetch_records(self, entity: str, ids: Iterable[str]) -> None:
        """Read the rows of ``ids`` not seen yet in one query (absent ones are remembered too)."""
        wanted = sorted({i for i in ids if isinstance(i, str) and (entity, i) not in self.known_records})
        if not wanted:
            return
        sqlite = self.conn.dialect.name == "sqlite"
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start:start + 1000]
            # One constant statement whatever the number of ids (a JSON array, a PostgreSQL array).
            rows = self.conn.exec_driver_sql(self.sql["records_in"], (dumps(chunk) if sqlite else chunk, entity))
            for rid, scope_id, server_rev, deleted, data, field_rev, field_src, c_by, u_by, u_at in rows:
                if sqlite:
                    data, field_rev, field_src = json.loads(data), json.loads(field_rev), json.loads(field_src)
                key = (entity, rid)
                self.known_records[key] = Rec(scope_id, server_rev, bool(deleted), data, field_rev or {},
                                              field_src or {}, c_by, u_by, u_at)
                self.records_in_db.add(key)
            for i in chunk:
                self.known_records.setdefault((entity, i), None)

    def slot_holder(self, team_id: str) -> str | None:
        """The dispatch holding ``team_id`` (active_dispatch by team)."""
        for source in (self.layer.teams, self.view.teams, self.known_teams):
            if team_id in source:
                return source[team_id]
        holder = self.conn.execute(sa.select(active_dispatch.c.dispatch_id)
                                   .where(active_dispatch.c.team_id == team_id)).scalar()
        self.known_teams[team_id] = holder
        return holder

    def slot_of(self, dispatch_id: str) -> str | None:
        """The team ``dispatch_id`` holds (active_dispatch by dispatch)."""
        for source in (self.layer.dispatches, self.view.dispatches, self.known_dispatches):
            if dispatch_id in source:
                return source[dispatch_id]
        team = self.conn.execute(sa.select(active_dispatch.c.team_id)
                                 .where(active_dispatch.c.dispatch_id == dispatch_id)).scalar()
        self.known_dispatches[dispatch_id] = team
        return team

    def stock(self, warehouse_id: str, item_id: str) -> int | None:
        key = (warehouse_id, item_id)
        for source in (self.layer.stock, self.view.stock):
            if key in source:
                return source[key]
        if key not in self.known_stock:
            qty = self.conn.execute(sa.select(stock_balance.c.quantity).where(
                stock_balance.c.warehouse_id == warehouse_id, stock_balance.c.item_id == item_id)).scalar()
            self.known_stock[key] = qty
            if qty is not None:
                self.stock_in_db.add(key)
        return self.known_stock[key]

    def ledger_entry(self, mutation_id: str) -> tuple[str, str] | None:
        """(device_id, author_id) of a processed mutation; earlier batches first, as an index scan."""
        if mutation_id not in self.ledger_db:
            row = self.conn.execute(sa.select(processed_mutation.c.device_id, processed_mutation.c.author_id)
                                    .where(processed_mutation.c.mutation_id == mutation_id)).first()
            self.ledger_db[mutation_id] = None if row is None else (row.device_id, row.author_id)
        return self.ledger_db[mutation_id] or self.ledger_new.get(mutation_id)

    # ---- writes (to the layer; checked like the tables' constraints) ------------------------

    def insert_record(self, entity: str, rid: str, rec: Rec) -> None:
        if self.record(entity, rid) is not None:
            raise Violation(f"record {entity}/{rid} exists")
        self.layer.records[(entity, rid)] = rec

    def update_record(self, entity: str, rid: str, rec: Rec) -> None:
        old = self.record(entity, rid)
        if old is None:
            raise Violation(f"record {entity}/{rid} missing")
        if old.scope_id is not None and old.scope_id != rec.scope_id:  # it leaves that org unit
            self.layer.moves.setdefault((entity, rid), set()).add(old.scope_id)
        self.layer.records[(entity, rid)] = rec

    def take_slot(self, team_id: str, dispatch_id: str) -> None:
        if self.slot_holder(team_id) is not None or self.slot_of(dispatch_id) is not None:
            raise Violation(f"active_dispatch {team_id}/{dispatch_id} taken")
        self.layer.teams[team_id] = dispatch_id
        self.layer.dispatches[dispatch_id] = team_id

    def free_slot(self, dispatch_id: str) -> None:
        team = self.slot_of(dispatch_id)
        if team is not None:
            self.layer.teams[team] = None
            self.layer.dispatches[dispatch_id] = None

    def set_stock(self, warehouse_id: str, item_id: str, quantity: int) -> None:
        self.layer.stock[(warehouse_id, item_id)] = quantity

    # ---- deciding a mutation ----------------------------------------------------------------

    def drop_layer(self) -> None:
        self.layer = Changes()

    def keep_layer(self, *, write_now: bool) -> None:
        """The mutation stands: its writes join the batch (and reach the database now if asked)."""
        layer, self.layer = self.layer, Changes()
        if write_now:
            self._write(layer)
        else:
            self.pending.merge(layer)
        self.view.merge(layer)

    def flush(self) -> None:
        pending, self.pending = self.pending, Changes()
        self._write(pending)

    def _write(self, ch: Changes) -> None:
        if not ch:
            return
        conn = self.conn
        inserts, updates = [], []
        for (entity, rid), r in ch.records.items():
            data = dumps(r.data)
            field_rev = dumps(r.field_rev) if r.field_rev else "{}"
            field_src = dumps(r.field_src) if r.field_src else "{}"
            if (entity, rid) in self.records_in_db:
                updates.append((r.scope_id, r.server_rev, r.deleted, data, field_rev, field_src, r.updated_by,
                                r.updated_at, entity, rid))
            else:
                inserts.append((entity, rid, r.scope_id, r.server_rev, r.deleted, data, field_rev, field_src,
                                r.created_by, r.updated_by, r.updated_at))
        write_rows(conn, "insert_record", inserts)
        write_rows(conn, "update_record", updates, each_hits_one=True)
        if ch.moves:
            write_rows(conn, "insert_move", [(entity, rid, ch.records[(entity, rid)].server_rev, unit)
                                             for (entity, rid), units in ch.moves.items() for unit in sorted(units)])
        if ch.teams or ch.dispatches:
            # Net effect on active_dispatch: clear every touched row, then write the final pairs.
            write_rows(conn, "free_team", [(t,) for t in ch.teams])
            write_rows(conn, "free_dispatch", [(d,) for d in ch.dispatches])
            pairs = {(t, d) for t, d in ch.teams.items() if d is not None}
            pairs |= {(t, d) for d, t in ch.dispatches.items() if t is not None}
            write_rows(conn, "take_slot", sorted(pairs))
        if ch.stock:
            write_rows(conn, "insert_stock", [(w, i, q) for (w, i), q in ch.stock.items()
                                              if (w, i) not in self.stock_in_db])
            write_rows(conn, "update_stock", [(q, w, i) for (w, i), q in ch.stock.items()
                                              if (w, i) in self.stock_in_db], each_hits_one=True)
        # Only once every statement went through (a failure here is rolled back to a savepoint).
        self.records_in_db.update(ch.records)
        self.stock_in_db.update(ch.stock)
