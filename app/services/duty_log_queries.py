"""The duty log as the panel reads it: keyset pages, search, corrections, chain verification.

Pages are read by keyset (occurred_at, rowid), newest first by default, so the
1,000,000th row costs what the first does and the model only ever holds the pages
the officer scrolled through. Search goes through the store's Chinese full-text
search (any query length); its hits become an id filter on the same keyset query.

Times are compared as stored text: every console writes Beijing time with its
"+08:00" offset (app.domain.clock), so text order is time order and the
``occurred_at`` index answers both the order and the time range.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from app.domain.hashchain import GENESIS, entry_hash
from app.services.duty_log_writer import append_entry
from app.store.schema import table_for
from app.store.search import search

SEARCH_LIMIT = 1000  # hits kept for one query, newest first; the panel says when a query hit the cap

_COLUMNS = ("e.rowid AS rid, e.id, e.occurred_at, e.kind, e.body, e.incident_id, i.title AS incident_title, "
            "e.author_id, u.name AS author_name, e.corrects_id, e.device_id, e.details, e.drill")
_JOINS = 'LEFT JOIN incident i ON i.id = e.incident_id LEFT JOIN "user" u ON u.id = e.author_id'
_FROM = f"duty_log_entry e {_JOINS}"
_FROM_HITS = f"json_each(:hits) h CROSS JOIN duty_log_entry e ON e.id = h.value {_JOINS}"


@dataclasses.dataclass(frozen=True)
class LogFilter:
    """What the list shows. Empty fields mean "no restriction"."""

    kinds: tuple[str, ...] = ()
    since: str | None = None  # ISO time with offset, inclusive
    until: str | None = None  # ISO time with offset, exclusive
    incident_id: str | None = None
    author_id: str | None = None
    hit_ids: tuple[str, ...] | None = None  # a search's hits (None: no search)
    ascending: bool = False


@dataclasses.dataclass(frozen=True)
class LogRow:
    rid: int
    id: str
    occurred_at: str
    kind: str
    body: str
    incident_id: str | None
    incident_title: str | None
    author_id: str | None
    author_name: str | None
    corrects_id: str | None
    device_id: str | None
    details: Any
    drill: bool

    @property
    def key(self) -> tuple[str, int]:
        return (self.occurred_at, self.rid)


def _row(r: Any) -> LogRow:
    details = r.details
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            pass
    return LogRow(r.rid, r.id, r.occurred_at or "", r.kind or "", r.body or "", r.incident_id,
                  r.incident_title, r.author_id, r.author_name, r.corrects_id, r.device_id, details,
                  bool(r.drill))


def _where(flt: LogFilter, params: dict) -> list[str]:
    where = ["NOT e.deleted"]
    if flt.kinds:
        # Generated placeholders, not json_each: the planner then keeps walking the time index in order.
        where.append("e.kind IN (" + ", ".join(f":k{i}" for i in range(len(flt.kinds))) + ")")
        params.update({f"k{i}": k for i, k in enumerate(flt.kinds)})
    if flt.since:
        where.append("e.occurred_at >= :since")
        params["since"] = flt.since
    if flt.until:
        where.append("e.occurred_at < :until")
        params["until"] = flt.until
    if flt.incident_id:
        where.append("e.incident_id = :incident")
        params["incident"] = flt.incident_id
    if flt.author_id:
        where.append("e.author_id = :author")
        params["author"] = flt.author_id
    if flt.hit_ids is not None:
        params["hits"] = json.dumps(list(flt.hit_ids))  # joined first (see _source): at most SEARCH_LIMIT rows
    return where


def _source(flt: LogFilter) -> str:
    # With search hits, start from the hits (CROSS JOIN fixes that loop order) and sort those few;
    # otherwise walk the occurred_at index, which gives the order for free.
    return _FROM_HITS if flt.hit_ids is not None else _FROM


def page(conn: sa.Connection, flt: LogFilter, after: tuple[str, int] | None = None,
         limit: int = 200) -> list[LogRow]:
    """The next ``limit`` entries after the keyset ``after`` (None: from the start)."""
    params: dict = {"limit": limit}
    where = _where(flt, params)
    op, order = (">", "ASC") if flt.ascending else ("<", "DESC")
    if after is not None:
        where.append(f"(e.occurred_at, e.rowid) {op} (:after_t, :after_r)")
        params.update(after_t=after[0], after_r=after[1])
    sql = (f"SELECT {_COLUMNS} FROM {_source(flt)} WHERE {' AND '.join(where)} "  # noqa: S608 - constant fragments
           f"ORDER BY e.occurred_at {order}, e.rowid {order} LIMIT :limit")
    return [_row(r) for r in conn.execute(sa.text(sql), params)]


def rows_by_id(conn: sa.Connection, ids: Sequence[str]) -> dict[str, LogRow]:
    if not ids:
        return {}
    sql = f"SELECT {_COLUMNS} FROM {_FROM} WHERE e.id IN (SELECT value FROM json_each(:ids))"  # noqa: S608
    return {r.id: _row(r) for r in conn.execute(sa.text(sql), {"ids": json.dumps(list(ids))})}


def search_ids(conn: sa.Connection, query: str, limit: int = SEARCH_LIMIT) -> tuple[str, ...]:
    """Ids of entries matching ``query`` (Chinese of any length, or any text), newest first."""
    return tuple(h.id for h in search(conn, query, ["duty_log_entry"], limit))


def corrected_ids(conn: sa.Connection) -> dict[str, list[str]]:
    """{wrong entry id: [ids of the corrections pointing at it]}.

    Answered from the partial index on ``corrects_id`` (migration 0003), so its cost follows
    the number of corrections, not the size of the log; the panel still runs it off the GUI
    thread and keeps it current from ChangeSets.
    """
    t = table_for("duty_log_entry")
    out: dict[str, list[str]] = {}
    q = sa.select(t.c.corrects_id, t.c.id).where(t.c.corrects_id.is_not(None), t.c.deleted.is_(False))
    for wrong, fix in conn.execute(q):
        out.setdefault(wrong, []).append(fix)
    return out


def authors(conn: sa.Connection) -> list[tuple[str, str]]:
    """(id, name) of every user, for the author filter."""
    u = table_for("user")
    q = sa.select(u.c.id, u.c.name).where(u.c.deleted.is_(False)).order_by(u.c.name)
    return [(r.id, r.name or r.id) for r in conn.execute(q)]


def incident_title(conn: sa.Connection, incident_id: str) -> str | None:
    t = table_for("incident")
    return conn.execute(sa.select(t.c.title).where(t.c.id == incident_id)).scalar()


# ---- Writing (the entry bar) ----------------------------------------------------------------

def write_entry(conn: sa.Connection, *, kind: str, body: str, details: dict | None, author_id: str | None,
                device_id: str, now: str, occurred_at: str | None = None, incident_id: str | None = None,
                corrects_id: str | None = None, org_unit_id: str | None = None,
                draft_key: str | None = None) -> str:
    """Append one entry (chained, with its outbox row) and drop the typed draft, in the caller's transaction."""
    eid = append_entry(conn, kind=kind, body=body, author_id=author_id, device_id=device_id, now=now,
                       occurred_at=occurred_at, org_unit_id=org_unit_id, incident_id=incident_id,
                       corrects_id=corrects_id, details=details or None)
    if draft_key:
        from app.services.log_drafts import clear_draft

        clear_draft(conn, draft_key)
    return eid


# ---- Verifying the chains -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ChainReport:
    device_id: str
    checked: int  # entries walked before the break (all of them when intact)
    total: int
    broken: LogRow | None = None  # the first entry that does not verify
    reason: str | None = None  # "hash" (content edited), "prev_hash" (entry removed or reordered), "fork"
    gaps: int = 0  # another console's chain held only in parts here (entries outside this console's scope)

    @property
    def ok(self) -> bool:
        return self.broken is None


class Cancelled(Exception):
    pass


_CHAIN_COLS = ("id", "kind", "body", "occurred_at", "incident_id", "corrects_id", "author_id", "device_id",
               "details", "prev_hash", "hash")


def verify_chains(conn: sa.Connection, progress: Callable[[int, int], None] | None = None,
                  stop: Callable[[], bool] | None = None, own_device: str | None = None) -> list[ChainReport]:
    """Walk each console's chain from GENESIS and report the first entry where it breaks.

    Edited content shows as a hash mismatch at that entry; a removed or reordered entry
    leaves its successor unreachable from GENESIS, and that successor is reported.

    With ``own_device`` given, only that console's chain must be whole here. A street
    console holds only the entries in its scope, so another console's chain arrives with
    gaps: each piece is still checked link by link (an edit anywhere is found), but a gap
    between pieces is counted in ``gaps``, not reported as tampering.
    """
    t = table_for("duty_log_entry")
    devices = [d for d in conn.execute(sa.select(t.c.device_id).where(t.c.device_id.is_not(None))
                                       .distinct()).scalars()]
    total = conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.device_id.is_not(None))).scalar() or 0
    done = 0
    reports = []
    cols = [t.c[c] for c in _CHAIN_COLS]
    for device in sorted(devices):
        by_prev: dict[str, dict] = {}
        fork: dict | None = None
        rows = conn.execute(sa.select(*cols).where(t.c.device_id == device, t.c.deleted.is_(False))
                            .order_by(t.c.occurred_at, t.c.created_at))
        order: list[dict] = []
        for r in rows:
            e = dict(r._mapping)
            if e["prev_hash"] in by_prev and fork is None:
                fork = e
            by_prev.setdefault(e["prev_hash"], e)
            order.append(e)
        head, walked, broken, reason = GENESIS, 0, None, None
        while head in by_prev:
            e = by_prev[head]
            if entry_hash(head, e) != e["hash"]:
                broken, reason = e, "hash"
                break
            walked += 1
            done += 1
            if done % 2000 == 0:
                if stop is not None and stop():
                    raise Cancelled
                if progress is not None:
                    progress(done, total)
            head = e["hash"]
        if broken is None and walked < len(order) and fork is None and own_device is not None \
                and device != own_device:
            hashes = {e["hash"] for e in order}
            starts = [e for e in order if e["prev_hash"] not in hashes and e["prev_hash"] != GENESIS]
            gaps, walked_from_genesis = 0, walked
            for start in starts:
                gaps += 1
                e = start
                while e is not None:
                    if entry_hash(e["prev_hash"], e) != e["hash"]:
                        broken, reason = e, "hash"
                        break
                    walked += 1
                    e = by_prev.get(e["hash"])
                if broken is not None:
                    break
            if broken is None and walked == len(order):
                done += len(order) - walked_from_genesis
                reports.append(ChainReport(device, walked, len(order), None, None, gaps))
                continue
        if broken is None and walked < len(order):
            reached = set()
            h = GENESIS
            while h in by_prev and len(reached) < walked:
                reached.add(by_prev[h]["id"])
                h = by_prev[h]["hash"]
            broken = fork or next(e for e in order if e["id"] not in reached)
            reason = "fork" if fork is not None else "prev_hash"
        done += len(order) - walked
        row = rows_by_id(conn, [broken["id"]]).get(broken["id"]) if broken else None
        reports.append(ChainReport(device, walked, len(order), row, reason))
    if progress is not None:
        progress(total, total)
    return reports
