"""Chinese full-text search over the cache, correct for queries of any length.

Each whitespace-separated term picks the index that answers it correctly
(app/store/textindex.py explains the two FTS5 tables):

- three or more characters: the trigram table, as an exact phrase;
- one or two CJK characters: the unigram table, as a phrase of single characters,
  confirmed by LIKE on the folded text (the unigram table ignores punctuation);
- one or two characters that are not all CJK ("3号", "A1"): LIKE on the trigram
  table's text, which SQLite ≥ 3.51 answers correctly (3.40's counted bytes).

Terms are ANDed. User text only ever reaches SQL as bound parameters, quoted
as an FTS5 phrase, so quotes, AND/OR/NEAR and * are searched as typed.

Right after a large pull, some rows have an index rowid but no text in the index
yet (the backlog of app/store/index.py, filled in a few seconds after the swap).
Those rows are searched by LIKE over their folded text, which answers the same
question (every term a substring of the folded text) without the index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import sqlalchemy as sa

from app.store import index
from app.store.textindex import is_cjk, normalise


@dataclasses.dataclass(frozen=True)
class Hit:
    entity: str
    id: str


def fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_query(query: str, entities: Iterable[str] | None = None,
                 limit: int = 200) -> tuple[str, dict] | None:
    """The SQL and parameters for a search, or None for an empty query.

    Only whitelisted table names and generated placeholders are formatted into
    the statement; every piece of the user's text is a bound parameter.
    """
    terms = normalise(query).split()
    if not terms:
        return None
    long_terms = [t for t in terms if len(t) >= 3]
    short_cjk = [t for t in terms if len(t) < 3 and all(is_cjk(c) for c in t)]
    short = [t for t in terms if len(t) < 3]
    where: list[str] = []
    params: dict = {"limit": limit}
    uni = " AND ".join(fts_phrase(" ".join(t)) for t in short_cjk)
    if long_terms:
        source, order = "search_doc d", "d.rowid"
        where.append("search_doc MATCH :tri")
        params["tri"] = " AND ".join(fts_phrase(t) for t in long_terms)
        if short_cjk:
            where.append("d.rowid IN (SELECT rowid FROM search_uni WHERE search_uni MATCH :uni)")
            params["uni"] = uni
    elif short_cjk:
        source, order = "search_uni u JOIN search_doc d ON d.rowid = u.rowid", "u.rowid"
        where.append("search_uni MATCH :uni")
        params["uni"] = uni
    else:
        source, order = "search_doc d", "d.rowid"
    # Short terms are confirmed against the folded text: exact, whatever the index found.
    for n, term in enumerate(short):
        where.append(f"d.text LIKE :l{n} ESCAPE '\\'")
        params[f"l{n}"] = like_pattern(term)
    ents = list(entities or ())
    if ents:
        where.append("r.entity IN (" + ", ".join(f":e{i}" for i in range(len(ents))) + ")")
        params.update({f"e{i}": e for i, e in enumerate(ents)})
    # Newest rows first: the index grows in write order, which is what an officer scans.
    sql = (f"SELECT r.entity, r.ref_id, r.rowid FROM {source} JOIN search_ref r ON r.rowid = d.rowid "  # noqa: S608
           f"WHERE {' AND '.join(where)} ORDER BY {order} DESC LIMIT :limit")
    return sql, params


def _backlog_query(query: str, entity: str, lo: int, hi: int, limit: int) -> tuple[str, dict]:
    """Backlog rows of ``entity`` whose folded text holds every term (LIKE, no index)."""
    text = f"cd_fold({index.text_expr(entity, 't')})"
    params: dict = {"e": entity, "lo": lo, "hi": hi, "limit": limit}
    likes = []
    for n, term in enumerate(normalise(query).split()):
        likes.append(f"{text} LIKE :l{n} ESCAPE '\\'")
        params[f"l{n}"] = like_pattern(term)
    # Only whitelisted table and column names are formatted in; the terms are bound.
    sql = (f"SELECT r.entity, r.ref_id, r.rowid FROM search_ref r JOIN {entity} t ON t.id = r.ref_id "  # noqa: S608
           f"WHERE r.entity = :e AND r.rowid > :lo AND r.rowid <= :hi "
           f"AND NOT EXISTS (SELECT 1 FROM search_doc d WHERE d.rowid = r.rowid) AND {' AND '.join(likes)} "
           f"ORDER BY r.rowid DESC LIMIT :limit")
    return sql, params


def search(conn: sa.Connection, query: str, entities: Iterable[str] | None = None,
           limit: int = 200) -> list[Hit]:
    ents = list(entities or ())
    built = search_query(query, ents, limit)
    if built is None:
        return []
    sql, params = built
    rows = list(conn.execute(sa.text(sql), params))
    todo = index.backlog(conn)
    if todo:
        for entity in index.SEARCHABLE:
            if not ents or entity in ents:
                extra_sql, extra = _backlog_query(query, entity, todo["lo"], todo["hi"], limit)
                rows += conn.execute(sa.text(extra_sql), extra).all()
        rows.sort(key=lambda r: r[2], reverse=True)  # newest first, as the index answers
    return [Hit(e, i) for e, i, _rowid in rows[:limit]]
