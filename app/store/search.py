"""Chinese full-text search over the cache, correct for queries of any length.

Each whitespace-separated term picks the index that answers it correctly
(app/store/textindex.py explains the two FTS5 tables):

- three or more characters: the trigram table, as an exact phrase;
- one or two CJK characters: the unigram table, as a phrase of single characters;
- one or two characters that are not all CJK ("3号", "A1"): LIKE on the trigram
  table, which SQLite ≥ 3.51 answers correctly (3.40's trigram LIKE counted bytes).

Terms are ANDed. User text only ever reaches SQL as bound parameters, quoted
as an FTS5 phrase, so quotes, AND/OR/NEAR and * are searched as typed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import sqlalchemy as sa

from app.store.textindex import is_cjk, normalise, unigram_text


@dataclasses.dataclass(frozen=True)
class Hit:
    entity: str
    id: str


def fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _term_clause(term: str, n: int) -> tuple[str, dict]:
    key = f"t{n}"
    if len(term) >= 3:
        return (f"r.rowid IN (SELECT rowid FROM search_doc WHERE search_doc MATCH :{key})",
                {key: fts_phrase(term)})
    if all(is_cjk(c) for c in term):
        return (f"r.rowid IN (SELECT rowid FROM search_uni WHERE search_uni MATCH :{key})",
                {key: fts_phrase(unigram_text(term).strip())})
    return (f"r.rowid IN (SELECT rowid FROM search_doc WHERE text LIKE :{key} ESCAPE '\\')",
            {key: like_pattern(term)})


def search_query(query: str, entities: Iterable[str] | None = None,
                 limit: int = 200) -> tuple[str, dict] | None:
    """The SQL and parameters for a search, or None for an empty query."""
    terms = normalise(query).split()
    if not terms:
        return None
    clauses, params = [], {}
    for n, term in enumerate(terms):
        clause, p = _term_clause(term, n)
        clauses.append(clause)
        params.update(p)
    ents = list(entities or ())
    if ents:
        names = ", ".join(f":e{i}" for i in range(len(ents)))
        clauses.append(f"r.entity IN ({names})")
        params.update({f"e{i}": e for i, e in enumerate(ents)})
    params["limit"] = limit
    # Newest rows first: the index grows in write order, which is what an officer scans.
    sql = ("SELECT r.entity, r.ref_id FROM search_ref r WHERE " + " AND ".join(clauses)
           + " ORDER BY r.rowid DESC LIMIT :limit")
    return sql, params


def search(conn: sa.Connection, query: str, entities: Iterable[str] | None = None,
           limit: int = 200) -> list[Hit]:
    built = search_query(query, entities, limit)
    if built is None:
        return []
    sql, params = built
    return [Hit(e, i) for e, i in conn.execute(sa.text(sql), params)]
