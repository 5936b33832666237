"""Stock as a ledger: a quantity is the sum of its movements, never a figure written over.

Each (warehouse, item) holds SUM(stock_movement.delta). Movements are append-only, so two
consoles allocating from the same shelf while offline both land, and the total is right
once both have synced (ANCHORS.md §4.3). A stocktake (盘点) is a counted snapshot, as
inventory systems keep it (issue 6).

A stocktake at time T asserting N for a (warehouse, item) means: level = N + the deltas of the
movements that occurred AFTER T. Movements at or before T are absorbed by the count, whichever
console wrote them and whenever they synced, so a shipment made offline on console A and a
count on console B that did not know of it are not both subtracted. The newest stocktake wins.
"Time" is ``occurred_at`` (``created_at`` when it is missing). Times have one-second
resolution, so a movement in the same second as the count is taken as counted (an issue keyed
just before the count must not be added on top of it); two counts in the same second are
ordered by id, so every console picks the same one. The ISO texts all carry Beijing's +08:00
(``clock.now_iso``), so they compare as strings.

The entity has no structured field for the counted figure and the schema is frozen, so it is
kept in the append-only row's ``note`` as a strict machine-readable prefix ``[count=N]`` (ASCII
digits, then the first ``]``), followed by the officer's own note. ``delta`` keeps ``N − level``
as this console saw it when counting, for the record (and for the server's running balance);
readers here never use it for a snapshot row, and a count that agrees is still written (delta
0, allowed by app/domain/validate.py for such rows only). A count_adjust row without the prefix
(older rows, the demo's) is a plain delta. Every reader agrees: ``levels``/``level``, the SQL
``levels_query`` (also the overview's and the map's), the kept summary and ``stock_alerts``.

Alerts (``stock_alerts``) are Qt-free so the overview and the handover can show them too:
below the item's minimum level, batches expiring within 30 days or already expired (the
stock still on the shelf is taken to be the latest-expiring batches: first expired, first
out), and negative balances (two offline allocations that together took more than there was).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterable

import sqlalchemy as sa

from app.domain import clock
from app.domain.enums import StockReason
from app.domain.stocktake import COUNT_PREFIX, count_note, counted_in  # noqa: F401 - part of this module's API
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.store import records
from app.store.schema import table_for

EXPIRY_HORIZON_DAYS = 30

# The sign each reason's delta must carry (count_adjust: either, but never zero).
INBOUND_REASONS = ("inbound", "return", "transfer_in")
OUTBOUND_REASONS = ("allocation", "writeoff", "transfer_out")


class StockError(ValueError):
    """A movement the ledger refuses, with the reason in both languages."""

    def __init__(self, message_zh: str, message_en: str, field: str = "delta"):
        super().__init__(message_en)
        self.message_zh, self.message_en, self.field = message_zh, message_en, field

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


@dataclasses.dataclass(frozen=True)
class StockLevel:
    warehouse_id: str
    item_id: str
    item_name: str
    unit: str
    category: str
    quantity: int
    min_level: int | None
    next_expiry: str | None  # the earliest expiry among the batches still on the shelf

    @property
    def below_min(self) -> bool:
        return self.min_level is not None and self.quantity < self.min_level


@dataclasses.dataclass(frozen=True)
class StockAlert:
    kind: str  # "negative" · "below_min" · "expired" · "expiring"
    warehouse_id: str
    warehouse_name: str
    item_id: str
    item_name: str
    unit: str
    quantity: int
    min_level: int | None = None
    expires_on: str | None = None
    batch_quantity: int | None = None

    def message(self, lang: str = "zh") -> str:
        w, i, q, u = self.warehouse_name, self.item_name, self.quantity, self.unit
        if self.kind == "negative":
            return (f"{w}：{i} 账面为负（{q}{u}），请核实出库" if lang == "zh"
                    else f"{w}: {i} is negative on the books ({q} {u}); check the issues")
        if self.kind == "below_min":
            return (f"{w}：{i} 库存 {q}{u}，低于储备下限 {self.min_level}{u}" if lang == "zh"
                    else f"{w}: {i} at {q} {u}, below the minimum of {self.min_level} {u}")
        if self.kind == "expired":
            return (f"{w}：{i} 有 {self.batch_quantity}{u} 已于 {self.expires_on} 过期" if lang == "zh"
                    else f"{w}: {self.batch_quantity} {u} of {i} expired on {self.expires_on}")
        return (f"{w}：{i} 有 {self.batch_quantity}{u} 将于 {self.expires_on} 过期" if lang == "zh"
                else f"{w}: {self.batch_quantity} {u} of {i} expire on {self.expires_on}")


def _live(m: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(m.c.deleted.is_(False), m.c.drill.isnot(True))


def _event_time(m: sa.Table) -> sa.ColumnElement:
    return sa.func.coalesce(m.c.occurred_at, m.c.created_at)


def _is_count(m: sa.Table) -> sa.ColumnElement[bool]:
    """SQL twin of :func:`counted_in` (same strictness: ``[count=``, ASCII digits, the first ``]``)."""
    close = sa.func.instr(m.c.note, "]")
    digits = sa.func.substr(m.c.note, 8, close - 8)
    return sa.and_(m.c.reason == "count_adjust", m.c.note.op("GLOB")("[[]count=*"), close > 8,
                   digits.op("NOT GLOB")("*[^0-9]*"))


def anchors_query(*where: sa.ColumnElement[bool]) -> sa.Select:
    """The newest stocktake per (warehouse, item): its time, id and counted figure."""
    m = table_for("stock_movement")
    t = _event_time(m)
    counted = sa.cast(sa.func.substr(m.c.note, 8, sa.func.instr(m.c.note, "]") - 8), sa.Integer)
    rank = sa.func.row_number().over(partition_by=(m.c.warehouse_id, m.c.item_id),
                                     order_by=(t.desc(), m.c.id.desc()))
    ranked = (sa.select(m.c.warehouse_id, m.c.item_id, t.label("at"), m.c.id.label("anchor_id"),
                        counted.label("counted"), rank.label("nth"))
              .where(_live(m), _is_count(m), *where).subquery("ranked"))
    return sa.select(ranked.c.warehouse_id, ranked.c.item_id, ranked.c.at, ranked.c.anchor_id,
                     ranked.c.counted).where(ranked.c.nth == 1)


def _snapshot_levels(*where: sa.ColumnElement[bool]) -> sa.Select:
    m = table_for("stock_movement")
    a = anchors_query(*where).subquery("anchor")
    t = _event_time(m)
    after = sa.or_(a.c.anchor_id.is_(None), t > a.c.at)  # at T itself: absorbed (the count included it)
    quantity = (sa.func.coalesce(sa.func.max(a.c.counted), 0)
                + sa.func.coalesce(sa.func.sum(sa.case((after, m.c.delta), else_=0)), 0))
    on = sa.and_(a.c.warehouse_id == m.c.warehouse_id, a.c.item_id == m.c.item_id)
    return (sa.select(m.c.warehouse_id, m.c.item_id, quantity.label("quantity"))
            .select_from(m.outerjoin(a, on))
            .where(_live(m), *where).group_by(m.c.warehouse_id, m.c.item_id))


def levels_query(warehouse_id: str | None = None) -> sa.Select:
    """Quantity per (warehouse, item) under the stocktake rule: the newest count plus what came after.

    Pairs never counted are the plain SUM of their deltas. Usable as a subquery (overview, map layers).
    """
    m = table_for("stock_movement")
    return _snapshot_levels(*(() if warehouse_id is None else (m.c.warehouse_id == warehouse_id,)))


# ---- The ledger summary, kept up to date incrementally -------------------------------------
#
# SUM … GROUP BY over a million movements takes seconds (SQLite sorts 1M pairs of UUIDs). The
# ledger is append-only, so a summary per cache file is kept and brought up to date from the
# rows added since (rowid beyond the last seen) and the rows a pull touched (server_rev beyond
# the last seen, found through its index). A row count that does not add up (rows dropped by a
# full resync) rebuilds the summary. Each summary is a consistent snapshot of one read.
#
# Stocktakes: a pair that has a counted snapshot ("anchored") is recounted whole, through its
# index, whenever a row of it arrives (an offline movement may land before or after the count,
# and a newer count replaces the anchor); pairs never counted keep being summed row by row.

Pair = tuple[str, str]


@dataclasses.dataclass
class _Summary:
    last_rowid: int
    count: int
    max_rev: int
    quantity: dict[Pair, int]
    inbound: dict[Pair, int]
    batches: dict[Pair, list[tuple[str | None, int]]]
    anchored: set[Pair] = dataclasses.field(default_factory=set)


_summaries: dict[str, _Summary] = {}
_summaries_lock = threading.Lock()
PAIR_REFRESH_LIMIT = 300  # more touched pairs than this: rebuild instead


def _fingerprint(conn: sa.Connection) -> tuple[int, int, int]:
    m = table_for("stock_movement")
    rowid = sa.literal_column("rowid")
    last = conn.execute(sa.select(sa.func.max(rowid)).select_from(m)).scalar() or 0
    count = conn.execute(sa.select(sa.func.count()).select_from(m)).scalar() or 0
    rev = conn.execute(sa.select(sa.func.max(m.c.server_rev))).scalar() or 0
    return last, count, rev


def _accumulate(rows, quantity: dict, inbound: dict, batches: dict) -> None:
    for wid, iid, delta, expires_on in rows:
        key = (wid, iid)
        quantity[key] = quantity.get(key, 0) + delta
        if delta > 0:
            inbound[key] = inbound.get(key, 0) + delta
            if expires_on:
                batches.setdefault(key, []).append((expires_on, delta))


Anchor = tuple[str, str, int]  # (time, id, counted) of a pair's newest stocktake


def _snap_scan(conn: sa.Connection, *where: sa.ColumnElement[bool]) -> list:
    """Live rows with their time; stocktake rows also bring their id and note (NULL for the rest)."""
    m = table_for("stock_movement")
    snap = _is_count(m)
    return conn.execute(sa.select(m.c.warehouse_id, m.c.item_id, m.c.delta, m.c.expires_on,
                                  _event_time(m).label("at"), sa.case((snap, m.c.id)).label("count_id"),
                                  sa.case((snap, m.c.note)).label("count_note"))
                        .where(_live(m), *where)).all()


def _accumulate_snapshots(rows: list, quantity: dict, inbound: dict, batches: dict, anchored: set) -> None:
    """The stocktake rule in Python (twin of :func:`_snapshot_levels`), over rows of :func:`_snap_scan`.

    Two passes over the rows in memory: the newest count per pair, then the sums (a counted
    pair starts from its count and adds only what came after it).
    """
    anchors: dict[Pair, Anchor] = {}
    for wid, iid, _delta, _exp, at, count_id, count_text in rows:
        if count_id is not None:
            counted = counted_in("count_adjust", count_text)
            key, old = (wid, iid), anchors.get((wid, iid))
            if counted is not None and (old is None or (at or "", count_id) > old[:2]):
                anchors[key] = (at or "", count_id, counted)
    for key, (_at, _id, counted) in anchors.items():
        quantity[key] = counted
        anchored.add(key)
    for wid, iid, delta, expires_on, at, _cid, _note in rows:
        key = (wid, iid)
        anchor = anchors.get(key)
        if anchor is None or (at or "") > anchor[0]:  # a row without any time is absorbed (as in SQL)
            quantity[key] = quantity.get(key, 0) + delta
        if delta > 0:
            inbound[key] = inbound.get(key, 0) + delta
            if expires_on:
                batches.setdefault(key, []).append((expires_on, delta))


def _rebuild(conn: sa.Connection, fp: tuple[int, int, int]) -> _Summary:
    quantity: dict[Pair, int] = {}
    inbound: dict[Pair, int] = {}
    batches: dict[Pair, list] = {}
    anchored: set[Pair] = set()
    # Summed in Python: one scan, no sorter (about twice as fast as GROUP BY on UUID pairs).
    _accumulate_snapshots(_snap_scan(conn), quantity, inbound, batches, anchored)
    return _Summary(fp[0], fp[1], fp[2], quantity, inbound, batches, anchored)


def _recount(conn: sa.Connection, key: Pair, quantity: dict, inbound: dict, batches: dict, anchored: set) -> None:
    m = table_for("stock_movement")
    for kept in (quantity, inbound, batches):
        kept.pop(key, None)
    anchored.discard(key)
    rows = _snap_scan(conn, m.c.warehouse_id == key[0], m.c.item_id == key[1])
    _accumulate_snapshots(rows, quantity, inbound, batches, anchored)


def _refresh(conn: sa.Connection, old: _Summary, fp: tuple[int, int, int]) -> _Summary | None:
    """Bring ``old`` up to the snapshot ``fp``; None when only a rebuild will do."""
    m = table_for("stock_movement")
    rowid = sa.literal_column("rowid")
    if fp[0] < old.last_rowid or fp[2] < old.max_rev:
        return None
    added = conn.execute(sa.select(sa.func.count()).select_from(m).where(rowid > old.last_rowid)).scalar() or 0
    if fp[1] != old.count + added:
        return None  # rows were dropped meanwhile
    quantity, inbound, anchored = dict(old.quantity), dict(old.inbound), set(old.anchored)
    batches = {k: list(v) for k, v in old.batches.items()}
    if fp[2] == old.max_rev:  # nothing pulled: only new local rows
        new = conn.execute(sa.select(m.c.warehouse_id, m.c.item_id, m.c.delta, m.c.expires_on,
                                     _is_count(m).label("snap"))
                           .where(_live(m), rowid > old.last_rowid)).all()
        # A new count, or any row of a counted pair (it may fall before or after the count): recount.
        pairs = {(r.warehouse_id, r.item_id) for r in new if r.snap or (r.warehouse_id, r.item_id) in anchored}
        if len(pairs) > PAIR_REFRESH_LIMIT:
            return None
        _accumulate([tuple(r)[:4] for r in new if (r.warehouse_id, r.item_id) not in pairs],
                    quantity, inbound, batches)
    else:
        pairs = {(r.warehouse_id, r.item_id) for r in conn.execute(
            sa.select(m.c.warehouse_id, m.c.item_id).where(m.c.server_rev > old.max_rev)
            .union(sa.select(m.c.warehouse_id, m.c.item_id).where(rowid > old.last_rowid)))}
        if len(pairs) > PAIR_REFRESH_LIMIT:
            return None
    for key in pairs:  # pulled rows may be updates in place, and counts reorder a pair: recount it whole
        _recount(conn, key, quantity, inbound, batches, anchored)
    return _Summary(fp[0], fp[1], fp[2], quantity, inbound, batches, anchored)


def _summary(conn: sa.Connection) -> _Summary:
    key = str(conn.engine.url.database)
    fp = _fingerprint(conn)
    with _summaries_lock:
        old = _summaries.get(key)
    if old is not None and (old.last_rowid, old.count, old.max_rev) == fp:
        return old
    new = (_refresh(conn, old, fp) if old is not None else None) or _rebuild(conn, fp)
    with _summaries_lock:
        _summaries[key] = new
    return new


def levels(conn: sa.Connection, warehouse_id: str | None = None) -> dict[tuple[str, str], int]:
    """Quantity per (warehouse, item) with any movement (one warehouse: straight from its index)."""
    if warehouse_id is not None:
        return {(r.warehouse_id, r.item_id): int(r.quantity or 0)
                for r in conn.execute(levels_query(warehouse_id))}
    return dict(_summary(conn).quantity)


def level(conn: sa.Connection, warehouse_id: str, item_id: str) -> int:
    """One pair's quantity under the stocktake rule (through the warehouse and item indexes)."""
    m = table_for("stock_movement")
    row = conn.execute(_snapshot_levels(m.c.warehouse_id == warehouse_id, m.c.item_id == item_id)).first()
    return int(row.quantity or 0) if row else 0


Batches = dict[tuple[str, str], list[tuple[str | None, int]]]


def _batches(conn: sa.Connection, warehouse_id: str | None = None) -> Batches:
    """Positive movements carrying an expiry, per (warehouse, item)."""
    if warehouse_id is None:
        return _summary(conn).batches
    m = table_for("stock_movement")
    q = sa.select(m.c.warehouse_id, m.c.item_id, m.c.expires_on, m.c.delta).where(
        _live(m), m.c.delta > 0, m.c.expires_on.isnot(None), m.c.warehouse_id == warehouse_id)
    out: Batches = {}
    for r in conn.execute(q):
        out.setdefault((r.warehouse_id, r.item_id), []).append((r.expires_on, int(r.delta)))
    return out


def _inbound_total(conn: sa.Connection, warehouse_id: str | None = None) -> dict[tuple[str, str], int]:
    if warehouse_id is None:
        return _summary(conn).inbound
    m = table_for("stock_movement")
    q = (sa.select(m.c.warehouse_id, m.c.item_id, sa.func.sum(m.c.delta).label("q"))
         .where(_live(m), m.c.delta > 0, m.c.warehouse_id == warehouse_id).group_by(m.c.warehouse_id, m.c.item_id))
    return {(r.warehouse_id, r.item_id): int(r.q or 0) for r in conn.execute(q)}


def on_shelf(quantity: int, batches: Iterable[tuple[str | None, int]], inbound_total: int
             ) -> list[tuple[str, int]]:
    """Dated batches still on the shelf, earliest expiry first (first expired, first out).

    Stock without a date (inbound_total minus the dated batches) is assumed to leave last.
    """
    dated = sorted(batches, key=lambda b: b[0] or "9999")
    undated = max(inbound_total - sum(q for _, q in dated), 0)
    remaining = max(quantity - undated, 0)
    kept: list[tuple[str, int]] = []
    for expires_on, qty in reversed(dated):  # the latest-expiring batches are the ones still there
        if remaining <= 0:
            break
        take = min(qty, remaining)
        if expires_on:
            kept.append((expires_on, take))
        remaining -= take
    kept.reverse()
    return kept


def _items(conn: sa.Connection) -> dict[str, sa.Row]:
    t = table_for("supply_item")
    return {r.id: r for r in conn.execute(sa.select(t.c.id, t.c.name, t.c.unit, t.c.category, t.c.min_level)
                                          .where(t.c.deleted.is_(False)))}


def _warehouse_names(conn: sa.Connection) -> dict[str, str]:
    t = table_for("warehouse")
    return dict(conn.execute(sa.select(t.c.id, t.c.name)).all())


def warehouse_stock(conn: sa.Connection, warehouse_id: str) -> list[StockLevel]:
    """What one warehouse holds, by item name; items it has never held are not listed."""
    items = _items(conn)
    batches = _batches(conn, warehouse_id)
    inbound = _inbound_total(conn, warehouse_id)
    out = []
    for (wid, iid), qty in levels(conn, warehouse_id).items():
        it = items.get(iid)
        shelf = on_shelf(qty, batches.get((wid, iid), ()), inbound.get((wid, iid), 0))
        out.append(StockLevel(wid, iid, it.name if it else iid, (it.unit if it else "") or "",
                              (it.category if it else "") or "", qty, it.min_level if it else None,
                              shelf[0][0] if shelf else None))
    out.sort(key=lambda s: (s.category, s.item_name))
    return out


def stock_alerts(conn: sa.Connection, today: dt.date | None = None,
                 warehouse_id: str | None = None) -> list[StockAlert]:
    """Negative balances, levels below minimum, and batches on the shelf expiring within 30 days."""
    today = today or clock.now().date()
    horizon = (today + dt.timedelta(days=EXPIRY_HORIZON_DAYS)).isoformat()
    items, names = _items(conn), _warehouse_names(conn)
    batches = _batches(conn, warehouse_id)
    inbound = _inbound_total(conn, warehouse_id)
    order = {"negative": 0, "expired": 1, "below_min": 2, "expiring": 3}
    out: list[StockAlert] = []
    for (wid, iid), qty in levels(conn, warehouse_id).items():
        it = items.get(iid)
        base = dict(warehouse_id=wid, warehouse_name=names.get(wid, wid), item_id=iid,
                    item_name=it.name if it else iid, unit=(it.unit if it else "") or "", quantity=qty)
        if qty < 0:
            out.append(StockAlert("negative", **base))
        elif it is not None and it.min_level is not None and qty < it.min_level:
            out.append(StockAlert("below_min", **base, min_level=it.min_level))
        for expires_on, n in on_shelf(qty, batches.get((wid, iid), ()), inbound.get((wid, iid), 0)):
            if expires_on <= horizon:
                kind = "expired" if expires_on < today.isoformat() else "expiring"
                out.append(StockAlert(kind, **base, expires_on=expires_on, batch_quantity=n))
    out.sort(key=lambda a: (order[a.kind], a.warehouse_name, a.item_name, a.expires_on or ""))
    return out


# ---- Writing (inside a write transaction) ---------------------------------------------------

def record_movement(conn: sa.Connection, *, warehouse_id: str, item_id: str, delta: int, reason: str,
                    author_id: str | None, now: str, incident_id: str | None = None,
                    expires_on: str | None = None, note: str | None = None,
                    org_unit_id: str | None = None) -> str:
    """Append one movement (with its outbox row). The sign must match the reason."""
    if reason not in StockReason.codes():
        raise StockError(f"未知的出入库类型：{reason}", f"unknown movement reason: {reason}", "reason")
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise StockError("数量必须是非零整数", "the quantity must be a non-zero whole number")
    if reason in INBOUND_REASONS and delta < 0:
        raise StockError("入库、回收、调入的数量应为正数", "inbound, return and transfer-in must be positive")
    if reason in OUTBOUND_REASONS and delta > 0:
        raise StockError("出库、报废、调出的数量应为负数", "allocation, write-off and transfer-out must be negative")
    if records.get(conn, "warehouse", warehouse_id) is None:
        raise StockError("仓库不存在", "no such warehouse", "warehouse_id")
    if records.get(conn, "supply_item", item_id) is None:
        raise StockError("物资品目不存在", "no such supply item", "item_id")
    data = {"warehouse_id": warehouse_id, "item_id": item_id, "delta": delta, "reason": reason,
            "occurred_at": now, "incident_id": incident_id, "expires_on": expires_on, "note": note,
            "org_unit_id": org_unit_id, "drill": False}
    return records.create(conn, "stock_movement", {k: v for k, v in data.items() if v is not None},
                          author_id=author_id, now=now)


def stocktake(conn: sa.Connection, *, warehouse_id: str, item_id: str, counted: int, author_id: str | None,
              now: str, note: str | None = None) -> str:
    """盘点: append a count_adjust row asserting ``counted`` at ``now`` (see the module docstring).

    The row is written even when the count agrees with the local ledger: it still absorbs the
    movements other consoles made before it and have not synced yet. ``delta`` records
    ``counted − level`` as seen here.
    """
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise StockError("盘点数量必须是不小于 0 的整数", "the counted quantity must be a whole number ≥ 0", "counted")
    if records.get(conn, "warehouse", warehouse_id) is None:
        raise StockError("仓库不存在", "no such warehouse", "warehouse_id")
    if records.get(conn, "supply_item", item_id) is None:
        raise StockError("物资品目不存在", "no such supply item", "item_id")
    delta = counted - level(conn, warehouse_id, item_id)
    data = {"warehouse_id": warehouse_id, "item_id": item_id, "delta": delta, "reason": "count_adjust",
            "occurred_at": now, "note": count_note(counted, note or f"盘点实有 {counted}"), "drill": False}
    return records.create(conn, "stock_movement", data, author_id=author_id, now=now)


class StockLedger:
    """The ledger's commands for a panel: each runs in one write transaction and publishes."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    def _author(self) -> str | None:
        return self.ctx.user.id if self.ctx.user else None

    def move(self, warehouse_id: str, item_id: str, delta: int, reason: str, *, note: str | None = None,
             expires_on: str | None = None, incident_id: str | None = None) -> str:
        def run(conn: sa.Connection) -> str:
            return record_movement(conn, warehouse_id=warehouse_id, item_id=item_id, delta=delta, reason=reason,
                                   author_id=self._author(), now=clock.now_iso(), note=note,
                                   expires_on=expires_on, incident_id=incident_id)
        mid = self.ctx.store.write_sync(run)
        self.ctx.publish(ChangeSet.of("stock_movement", [mid]))
        return mid

    def stocktake(self, warehouse_id: str, item_id: str, counted: int, note: str | None = None) -> str:
        def run(conn: sa.Connection) -> str:
            return stocktake(conn, warehouse_id=warehouse_id, item_id=item_id, counted=counted,
                             author_id=self._author(), now=clock.now_iso(), note=note)
        mid = self.ctx.store.write_sync(run)
        self.ctx.publish(ChangeSet.of("stock_movement", [mid]))
        return mid

    def levels(self, warehouse_id: str | None = None) -> dict[tuple[str, str], int]:
        return self.ctx.read(levels, warehouse_id)

    def warehouse_stock(self, warehouse_id: str) -> list[StockLevel]:
        return self.ctx.read(warehouse_stock, warehouse_id)

    def alerts(self, today: dt.date | None = None, warehouse_id: str | None = None) -> list[StockAlert]:
        return self.ctx.read(stock_alerts, today, warehouse_id)


def supply_items(conn: sa.Connection) -> list[tuple[str, str, str]]:
    """(id, name, unit) of every supply item, by name: the choices of a movement form."""
    t = table_for("supply_item")
    return [(r.id, r.name, r.unit or "") for r in conn.execute(
        sa.select(t.c.id, t.c.name, t.c.unit).where(t.c.deleted.is_(False)).order_by(t.c.category, t.c.name))]
