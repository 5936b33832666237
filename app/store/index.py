"""Keeping the full-text index in step with bulk writes (the pull swap, demo loading).

Single-row writes are indexed by the triggers of migration 0002. Bulk paths
switch those triggers off for the writer thread and index set-based, which is
several times faster (see the migration's docstring for the figure).

A row is indexed in two steps: a ``search_ref`` row (entity, id) gives it its
index rowid, then ``search_doc`` (trigram) and ``search_uni`` (unigram) rows with
that rowid hold its text. The second step is the costly one (about 25 µs a row:
the NFKC fold, the unigram split and two FTS5 inserts), so a large pull swap does
only the first step and records the new rowids as a *backlog* in ``local_kv``;
:func:`index_backlog_chunk` then fills the texts in small write transactions after
the swap. Until it has, :mod:`app.store.search` answers for backlog rows by LIKE
over their folded text, so a search is exactly as correct, only slower, meanwhile.

The live triggers stay safe throughout: an edit of a backlog row finds its
``search_ref`` row, deletes nothing and indexes the new text under that rowid, and
the catch-up skips rows whose ``search_doc`` row already exists.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from app.domain.entities import ENTITIES
from app.store.kv import kv_get, kv_put
from app.store.schema import local_kv

_state = threading.local()

BACKLOG_KEY = "search_backlog"
SEARCHABLE = tuple(name for name, ent in ENTITIES.items() if ent.searchable)


def live_index_enabled() -> int:
    """SQL function cd_live_index(): 0 while this thread runs a bulk write."""
    return 0 if getattr(_state, "bulk", False) else 1


@contextlib.contextmanager
def bulk_indexing() -> Iterator[None]:
    _state.bulk = True
    try:
        yield
    finally:
        _state.bulk = False


def text_expr(entity: str, alias: str) -> str:
    cols = ENTITIES[entity].searchable
    return " || ' ' || ".join(f"coalesce({alias}.{c}, '')" for c in cols)


_text_expr = text_expr  # the name other modules of this package used


def drop_entries(conn: sa.Connection, entity: str, ids_sql: str, params: dict[str, Any]) -> None:
    """Forget the index entries of the rows of ``entity`` whose ids ``ids_sql`` selects (as ``id``)."""
    if not ENTITIES[entity].searchable:
        return
    p = dict(params, e=entity)
    if conn.execute(sa.text("SELECT 1 FROM search_ref WHERE entity = :e LIMIT 1"), p).first() is None:
        return  # nothing of this entity is indexed yet (a first sync): nothing to forget
    # One index probe per id (search_ref's unique (entity, ref_id)), not a scan of the index.
    stale = f"SELECT r.rowid FROM ({ids_sql}) s JOIN search_ref r ON r.entity = :e AND r.ref_id = s.id"  # noqa: S608
    conn.execute(sa.text(f"DELETE FROM search_doc WHERE rowid IN ({stale})"), p)  # noqa: S608
    conn.execute(sa.text(f"DELETE FROM search_uni WHERE rowid IN ({stale})"), p)  # noqa: S608
    conn.execute(sa.text(f"DELETE FROM search_ref WHERE rowid IN ({stale})"), p)  # noqa: S608


def add_refs(conn: sa.Connection, entity: str, ids_sql: str | None = None,
             params: dict[str, Any] | None = None) -> tuple[int, int]:
    """Give every live row of ``entity`` without one a search_ref row; returns the new rowid range.

    ``ids_sql`` (selecting ``id``) limits the look to those rows: a pull of ten changes then
    probes ten rows, not every row of a million-row table.
    """
    start = conn.execute(sa.text("SELECT coalesce(max(rowid), 0) FROM search_ref")).scalar()
    if ENTITIES[entity].searchable:
        rows = f"{entity} t" if ids_sql is None else f"({ids_sql}) s JOIN {entity} t ON t.id = s.id"
        conn.execute(sa.text(
            f"INSERT INTO search_ref (entity, ref_id) SELECT :e, t.id FROM {rows} "  # noqa: S608
            f"WHERE NOT t.deleted AND NOT EXISTS (SELECT 1 FROM search_ref r "
            f"WHERE r.entity = :e AND r.ref_id = t.id)"), dict(params or {}, e=entity))
    end = conn.execute(sa.text("SELECT coalesce(max(rowid), 0) FROM search_ref")).scalar()
    return start, end


def fill_texts(conn: sa.Connection, entity: str, lo: int, hi: int) -> int:
    """Index the text of the search_ref rows lo < rowid <= hi of ``entity`` not yet indexed."""
    text = text_expr(entity, "t")
    rows = (f"FROM search_ref r JOIN {entity} t ON t.id = r.ref_id "  # noqa: S608
            f"WHERE +r.entity = :e AND r.rowid > :lo AND r.rowid <= :hi "
            f"AND NOT EXISTS (SELECT 1 FROM search_doc d WHERE d.rowid = r.rowid)")
    p = {"e": entity, "lo": lo, "hi": hi}
    # search_uni first: its rows are chosen by the absence of the search_doc row written next.
    conn.execute(sa.text(f"INSERT INTO search_uni (rowid, text) SELECT r.rowid, cd_unigrams({text}) {rows}"), p)  # noqa: S608
    return conn.execute(sa.text(f"INSERT INTO search_doc (rowid, text) SELECT r.rowid, cd_fold({text}) {rows}"),  # noqa: S608
                        p).rowcount


def reindex_row(conn: sa.Connection, entity: str, rid: str) -> None:
    """Index one row afresh (inside bulk_indexing, after writing it directly)."""
    if not ENTITIES[entity].searchable:
        return
    drop_entries(conn, entity, "SELECT :rid AS id", {"rid": rid})
    deleted = conn.execute(sa.text(f"SELECT deleted FROM {entity} WHERE id = :rid"), {"rid": rid}).scalar()  # noqa: S608
    if deleted is None or deleted:
        return
    conn.execute(sa.text("INSERT INTO search_ref (entity, ref_id) VALUES (:e, :rid)"), {"e": entity, "rid": rid})
    ref = conn.execute(sa.text("SELECT max(rowid) FROM search_ref")).scalar()
    fill_texts(conn, entity, ref - 1, ref)


def index_entity_rows(conn: sa.Connection, entity: str, *, staged_only: bool = False) -> None:
    """Index every row of ``entity`` not yet indexed, now (``staged_only`` is kept for callers)."""
    if not ENTITIES[entity].searchable:
        return
    start, end = add_refs(conn, entity)
    fill_texts(conn, entity, start, end)


# -- the backlog ------------------------------------------------------------------------------
def backlog(conn: sa.Connection) -> dict[str, int] | None:
    """{"lo": .., "hi": ..}: search_ref rowids in (lo, hi] may still lack their text."""
    value = kv_get(conn, BACKLOG_KEY)
    return value if isinstance(value, dict) and value.get("hi", 0) > value.get("lo", 0) else None


def defer_texts(conn: sa.Connection, lo: int, hi: int) -> None:
    """Record that search_ref rowids in (lo, hi] await their text (merged with any older backlog)."""
    if hi <= lo:
        return
    old = backlog(conn)
    if old:
        lo = min(lo, old["lo"])
        hi = max(hi, old["hi"])
    kv_put(conn, BACKLOG_KEY, {"lo": lo, "hi": hi, "total": hi - lo if not old else old.get("total", hi - lo)})


def index_backlog_chunk(conn: sa.Connection, rows: int = 2000) -> tuple[int, int]:
    """Index the next ``rows`` rowids of the backlog; returns (rowids left, backlog size)."""
    todo = backlog(conn)
    if not todo:
        return 0, 0
    lo, hi = todo["lo"], todo["hi"]
    upto = min(hi, lo + rows)
    for entity in SEARCHABLE:
        fill_texts(conn, entity, lo, upto)
    if upto >= hi:
        conn.execute(local_kv.delete().where(local_kv.c.key == BACKLOG_KEY))
        return 0, todo.get("total", hi - lo)
    kv_put(conn, BACKLOG_KEY, dict(todo, lo=upto))
    return hi - upto, todo.get("total", hi - lo)
