"""Stock of the 23 stores over three years, as stock movements.

Every store is filled on the first day; incidents draw on the nearest store
(the street's point, else the district store) and reusable kit comes back;
perishables are written off ten days before they expire and bought again;
stores short of their floor are topped up on the first of the month and before
the flood season; a stocktake in December finds small differences.

The last forty days see no restocking, so what recent incidents drew is still
missing when the demo opens; on top of that a boat is written off (the
district is then short of boats) and a few near-expiry lots arrive from the
city, so the console has stock and expiry alerts to show.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Callable

from app.demo.libraries import ItemRef, Refs, StoreRef
from app.demo.numbers import below

DAY = 86400
OFFSET = 8 * 3600  # Beijing time: stores work and lots expire by the local calendar
Pair = tuple[int, str]  # (index into refs.stores, item name)
Push = Callable[[int, str, dict], None]
Action = tuple[int, Callable[[int], None]]  # run at that time, which it is given


def local_day(t: int) -> int:
    return (t + OFFSET) // DAY


def staggered(t: int, n: int, count: int, step: int) -> int:
    """The time of the n-th of ``count`` movements booked one after another from ``t``.

    ``step`` seconds apart, but all within half an hour, even when a store-wide
    job at scale 100 books tens of thousands. The half hour matters: supplies
    leave at least 30 minutes after their incident began, so an incident that
    began after a job (and so was allowed to use what the job added) always
    draws after the job's last movement, and stock never reads negative.
    """
    return t + n * min(step, 1800 // max(count, 1))


class Stock:
    def __init__(self, rng: random.Random, refs: Refs, push: Push, first_day: int, last_day: int):
        self.rng, self.refs, self.push = rng, refs, push
        self.first_day, self.last_day = first_day, last_day
        self.quiet_from = last_day - 40
        self.lots: dict[Pair, list[list]] = {}  # [expiry day or None, quantity], soonest first
        self.target: dict[Pair, int] = {}
        self.rotations: dict[int, list[tuple[Pair, list]]] = collections.defaultdict(list)
        self.returns: dict[int, list[tuple[int, Pair, int, dict]]] = collections.defaultdict(list)
        self.drawn: set[Pair] = set()  # drawn on since the last restock
        self.street_points: dict[int, list[int]] = collections.defaultdict(list)
        self.central: list[int] = []
        for i, store in enumerate(refs.stores):
            if store.holds == "S":
                self.street_points[store.street].append(i)
            elif store.holds == "D":
                self.central.append(i)
            for item in refs.store_items(store):
                factor = rng.uniform(1.6, 3.0) if store.holds == "D" else rng.uniform(1.8, 3.5)
                target = round(item.spec.min_level * factor)
                if item.spec.name == "冲锋舟":
                    target = item.spec.min_level + 2
                self.target[(i, item.spec.name)] = max(target, item.spec.min_level + 1)
                self.lots[(i, item.spec.name)] = []

    # -- bookkeeping -----------------------------------------------------------------------------

    def total(self, pair: Pair) -> int:
        return sum(lot[1] for lot in self.lots[pair])

    def _item(self, pair: Pair) -> ItemRef:
        return self.refs.items[pair[1]]

    def _store(self, pair: Pair) -> StoreRef:
        return self.refs.stores[pair[0]]

    def _move(self, t: int, pair: Pair, delta: int, reason: str, note: str, incident: dict | None = None,
              expires: int | None = None) -> None:
        self.push(t, "stock_movement", {"id": self.rng.getrandbits(128), "store": self._store(pair),
                                        "item": self._item(pair), "delta": delta, "reason": reason,
                                        "note": note, "incident": incident, "expires": expires})

    def _add(self, t: int, pair: Pair, qty: int, reason: str, note: str, incident: dict | None = None,
             shelf_days: int | None = None) -> None:
        if qty <= 0:
            return
        day = local_day(t)
        shelf = self._item(pair).spec.shelf_days if shelf_days is None else shelf_days
        expires = day + shelf if shelf else None
        lots = self.lots[pair]
        if expires is None and lots and lots[-1][0] is None:
            lots[-1][1] += qty
        else:
            lot = [expires, qty]
            lots.append(lot)
            lots.sort(key=lambda x: (x[0] is None, x[0] or 0))
            if expires is not None:
                self.rotations[expires - 10].append((pair, lot))
        self._move(t, pair, qty, reason, note, incident, expires)

    def _take(self, pair: Pair, qty: int) -> int:
        """Remove up to ``qty`` soonest-expiring first; return how many were there."""
        taken = 0
        for lot in self.lots[pair]:
            n = min(lot[1], qty - taken)
            lot[1] -= n
            taken += n
            if taken == qty:
                break
        self.lots[pair] = [lot for lot in self.lots[pair] if lot[1] > 0]
        self.drawn.add(pair)
        return taken

    # -- the stores' own work --------------------------------------------------------------------

    def office_actions(self, day: int, ds: int, month: int, mday: int) -> list[Action]:
        rng = self.rng
        out: list[Action] = []

        def at(hours: float) -> int:
            return ds + int(hours * 3600) + rng.randint(0, 3600)

        if day == self.first_day:
            out.append((at(1.5), self._fill))
        for t, pair, qty, incident in self.returns.pop(day, []):
            out.append((t, lambda t, p=pair, q=qty, inc=incident: self._add(
                t, p, q, "return", "{title}处置结束，物资回收入库", inc)))
        if self.rotations.get(day):
            out.append((at(1), lambda t, d=day: self._rotate(t, d)))
        if mday == 1 and day < self.quiet_from:
            out.append((at(2), self._restock))
        if month == 4 and mday == 1:
            out.append((at(3), self._flood_season))
        if month == 12 and mday == 28:
            out.append((at(2), self._stocktake))
        if rng.random() < 0.03:
            out.append((at(rng.uniform(0, 7)), self._damage))
        if day == self.last_day - 20:
            out.append((at(2), self._boats_written_off))
        if day == self.last_day - 9:
            out.append((at(3), self._near_expiry_arrivals))
        return out

    def _fill(self, t: int) -> None:
        for i, (pair, target) in enumerate(self.target.items()):
            item = self._item(pair).spec
            ts = staggered(t, i, len(self.target), 7)
            if item.shelf_days:
                # Bought earlier, at various times: lots do not all expire together.
                qty = target
                bought = self.rng.randint(item.shelf_days // 4, item.shelf_days * 2 // 3)
                self._add(ts, pair, qty, "inbound", "建账入库（期初库存）",
                          shelf_days=item.shelf_days - bought)
            else:
                self._add(ts, pair, target, "inbound", "建账入库（期初库存）")
        self.drawn.clear()

    def _rotate(self, t: int, day: int) -> None:
        due = self.rotations.pop(day, [])
        for n, (pair, lot) in enumerate(due):
            if lot[1] <= 0 or not any(x is lot for x in self.lots[pair]):
                continue
            qty, expires = lot[1], lot[0]
            self.lots[pair] = [x for x in self.lots[pair] if x is not lot]
            at = staggered(t, n, len(due), 11)
            self._move(at, pair, -qty, "writeoff", "临期物资报废（转交社区使用）", expires=expires)
            self._add(at + 5, pair, self.target[pair] - self.total(pair), "inbound", "临期轮换采购入库")

    def _restock(self, t: int) -> None:
        short = [p for p in sorted(self.drawn) if self.total(p) < self._item(p).spec.min_level]
        for n, pair in enumerate(short):
            self._add(staggered(t, n, len(short), 9), pair, self.target[pair] - self.total(pair), "inbound",
                      "低于储备下限，补充采购入库")
        self.drawn.clear()

    def _flood_season(self, t: int) -> None:
        short = [(p, target) for p, target in self.target.items()
                 if self._item(p).spec.category == "防汛类" and self.total(p) < target]
        for n, (pair, target) in enumerate(short):
            self._add(staggered(t, n, len(short), 9), pair, target - self.total(pair), "inbound",
                      "汛前防汛物资补充入库")

    def _stocktake(self, t: int) -> None:
        counted = [p for p in self.target if self.rng.random() < 0.04 and not self._item(p).spec.shelf_days]
        for n, pair in enumerate(counted):
            at = staggered(t, n, len(counted), 13)
            delta = self.rng.choice((-3, -2, -1, 1, 2))
            if self.total(pair) + delta < 0:
                continue
            if delta < 0:
                self._take(pair, -delta)
                self._move(at, pair, delta, "count_adjust", "年度盘点差异调整（盘亏）")
            else:
                self._add(at, pair, delta, "count_adjust", "年度盘点差异调整（盘盈）")

    def _damage(self, t: int) -> None:
        pairs = [p for p in self.target if self._item(p).spec.reusable and self.total(p) > 2]
        if pairs:
            pair = self.rng.choice(pairs)
            qty = self._take(pair, self.rng.randint(1, 2))
            self._move(t, pair, -qty, "writeoff", "使用中损坏，经鉴定报废")

    def _boats_written_off(self, t: int) -> None:
        for i in self.central:
            pair = (i, "冲锋舟")
            excess = self.total(pair) - self._item(pair).spec.min_level + 1
            if excess > 0:
                self._take(pair, excess)
                self._move(t, pair, -excess, "writeoff", "船体及舷外机老化破损，经鉴定报废")

    def _near_expiry_arrivals(self, t: int) -> None:
        pairs = [p for p in self.target if self._item(p).spec.shelf_days and self._store(p).holds in "SR"]
        for n, pair in enumerate(sorted(self.rng.sample(pairs, min(3, len(pairs))))):
            # Expiring in 18–30 days: past "now", before the next rotation would catch it.
            self._add(t + n * 17, pair, self.rng.randint(10, 30), "transfer_in",
                      "接收市级储备调入（临期轮换物资）", shelf_days=self.rng.randint(18, 30) + 9)

    # -- incidents -------------------------------------------------------------------------------

    def allocate(self, t: int, incident: dict, street: int, wants: list[tuple[str, int]],
                 return_day: int | None) -> list[tuple[StoreRef, list[tuple[ItemRef, int]]]]:
        """Send what an incident needs from the street's point, else the district store."""
        by_store: dict[int, list[tuple[ItemRef, int]]] = collections.defaultdict(list)
        for name, qty in wants:
            local = [s for s in self.street_points.get(street, []) if (s, name) in self.lots]
            store = self._first_stocked(local, name)
            if store is None:
                store = self._first_stocked(self.central, name)
            if store is None:
                continue
            pair = (store, name)
            if qty <= 0:  # "as many as leaves the store short" (the scripted flood), within reason
                qty = min(400, self.total(pair) - self._item(pair).spec.min_level + self.rng.randint(20, 60))
            got = self._take(pair, min(qty, self.total(pair)))
            if got <= 0:
                continue
            by_store[store].append((self._item(pair), got))
            self._move(t + 60 * len(by_store[store]), pair, -got, "allocation", "调拨至{title}", incident)
            if return_day is not None and self._item(pair).spec.reusable:
                back = max(1, round(got * self.rng.uniform(0.8, 1.0)))
                at = return_day * DAY - OFFSET + 3600 * self.rng.randint(9, 16)
                self.returns[return_day].append((at, pair, back, incident))
        return [(self.refs.stores[s], items) for s, items in by_store.items()]

    def _first_stocked(self, stores: list[int], name: str) -> int | None:
        """A store among ``stores`` that has ``name``, starting from a random one (cheap at scale 100)."""
        n = len(stores)
        start = below(self.rng, n) if n else 0
        for j in range(n):
            s = stores[(start + j) % n]
            if self.total((s, name)) > 0:
                return s
        return None

    def transfer(self, t: int, street: int, name: str, qty: int, note: str) -> None:
        """Move kit from the district store to a street's point ahead of a storm."""
        points = self.street_points.get(street, [])
        if not points or not self.central:
            return
        src, dst = (self.rng.choice(self.central), name), (self.rng.choice(points), name)
        if dst not in self.lots:
            return
        got = self._take(src, min(qty, self.total(src)))
        if got > 0:
            self._move(t, src, -got, "transfer_out", note)
            self._add(t + 30, dst, got, "transfer_in", note, shelf_days=0)
