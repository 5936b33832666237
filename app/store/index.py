"""Keeping the full-text index in step with bulk writes (the pull swap, demo loading).

Single-row writes are indexed by the triggers of migration 0002. Bulk paths
switch those triggers off for the writer thread and index set-based, which is
several times faster (see the migration's docstring for the figure).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import sqlalchemy as sa

from app.domain.entities import ENTITIES

_state = threading.local()


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


def _text_expr(entity: str, alias: str) -> str:
    cols = ENTITIES[entity].searchable
    return " || ' ' || ".join(f"coalesce({alias}.{c}, '')" for c in cols)


def index_entity_rows(conn: sa.Connection, entity: str, *, staged_only: bool) -> None:
    """(Re)index rows of ``entity``: those in pull_staging, or every row not yet indexed."""
    if not ENTITIES[entity].searchable:
        return
    text = _text_expr(entity, "t")
    if staged_only:
        # Rows already indexed are dropped from the index first, then indexed afresh.
        stale = ("SELECT r.rowid FROM search_ref r JOIN pull_staging s "
                 "ON s.entity = r.entity AND s.id = r.ref_id WHERE s.entity = :e")
        conn.execute(sa.text(f"DELETE FROM search_doc WHERE rowid IN ({stale})"), {"e": entity})  # noqa: S608
        conn.execute(sa.text(f"DELETE FROM search_uni WHERE rowid IN ({stale})"), {"e": entity})  # noqa: S608
        conn.execute(sa.text(f"DELETE FROM search_ref WHERE rowid IN ({stale})"), {"e": entity})  # noqa: S608
        conn.execute(sa.text("DELETE FROM search_ref WHERE entity = :e AND ref_id IN "  # noqa: S608
                             "(SELECT id FROM pull_staging WHERE entity = :e AND deleted)"), {"e": entity})
    start = conn.execute(sa.text("SELECT coalesce(max(rowid), 0) FROM search_ref")).scalar()
    conn.execute(sa.text(
        f"INSERT INTO search_ref (entity, ref_id) SELECT :e, t.id FROM {entity} t "  # noqa: S608
        f"WHERE NOT t.deleted AND NOT EXISTS (SELECT 1 FROM search_ref r WHERE r.entity = :e AND r.ref_id = t.id)"),
        {"e": entity})
    new_rows = (f"FROM search_ref r JOIN {entity} t ON t.id = r.ref_id "
                f"WHERE r.entity = :e AND r.rowid > :start")
    conn.execute(sa.text(f"INSERT INTO search_doc (rowid, text) SELECT r.rowid, cd_fold({text}) {new_rows}"),  # noqa: S608
                 {"e": entity, "start": start})
    conn.execute(sa.text(f"INSERT INTO search_uni (rowid, text) SELECT r.rowid, cd_unigrams({text}) {new_rows}"),  # noqa: S608
                 {"e": entity, "start": start})
