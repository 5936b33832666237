"""Three years of the watch, planned as events in time order.

The planner decides everything that changes *how many* records there are —
which incidents happen, who is sent, what is reported, what leaves the stores
— from one random stream, and leaves the wording, places and coordinates to the
renderer (render.py), which draws from another. So ``district_summary`` can
count the records by running the planner alone, without rendering a word.

Events go through a heap because an incident's trail (dispatches, reports,
closure) runs on after the day it started; a day is released once the next
one starts, which keeps memory bounded by a few days of events at any scale.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
from collections.abc import Iterator

from app.demo import hazards as H
from app.demo.geography import District
from app.demo.ids import device_id, stable_id, user_id
from app.demo.libraries import Refs, TeamRef
from app.demo.numbers import below, between, pick, poisson
from app.demo.situation import Situation
from app.demo.stock import DAY, Stock, local_day
from app.demo.users import DUTY_LEADERS, DUTY_OFFICERS
from app.domain.clock import BEIJING

Event = tuple[int, int, str, dict]  # (epoch seconds, tie-break, entity, plan of the record)

YEARS = 3
SHIFT_START = dt.time(8, 30)
DEVICES = (device_id("duty-desk-1"), device_id("duty-desk-2"))  # the two consoles of the duty room

BASE_PER_DAY = 2.9  # everyday incidents at scale 1, before the seasons and storms (~1,200 a year in all)
MONTH_WEIGHT = {1: .85, 2: .75, 3: .85, 4: 1.0, 5: 1.1, 6: 1.15, 7: 1.15, 8: 1.15, 9: 1.05, 10: 1.0, 11: .9,
                12: .95}
NOTES_PER_DAY = 7.0
ROLLCALLS_PER_DAY = 1.4
STORM_START_P = {4: 0.06, 5: 0.11, 6: 0.12, 7: 0.08, 8: 0.09, 9: 0.06, 10: 0.02}
TYPHOON_START_P = {7: 0.014, 8: 0.016, 9: 0.016, 10: 0.008}
STORM_LEVELS = (("blue", 0.45), ("yellow", 0.35), ("orange", 0.15), ("red", 0.05))
TYPHOON_LEVELS = (("blue", 0.2), ("yellow", 0.4), ("orange", 0.3), ("red", 0.1))
STORM_EXTRA = {"blue": 1.5, "yellow": 4.0, "orange": 9.0, "red": 16.0}  # extra incidents per storm day
TYPHOON_EXTRA = {"blue": 3.0, "yellow": 8.0, "orange": 14.0, "red": 22.0}
RESPONSE = {"blue": "IV", "yellow": "IV", "orange": "III", "red": "II"}
# The storm the district still talks about (seed 003:113 names the "5.22" rainstorm): a red
# rainstorm of severity II on the first 22 May in the history, whatever the dice say.
MEMORABLE = {(5, 22): ("rainstorm", "red", None, "II")}
# Warnings that come without a storm: type, months, daily chance, levels.
PLAIN_WARNINGS = (
    ("高温", (6, 7, 8, 9), 0.035, (("yellow", .7), ("orange", .25), ("red", .05))),
    ("寒冷", (12, 1, 2), 0.025, (("blue", .4), ("yellow", .5), ("orange", .1))),
    ("森林火险", (10, 11, 12, 1, 2, 3), 0.012, (("yellow", .6), ("orange", .35), ("red", .05))),
)
CANCELLED_P = 0.03
DRILL_P = 0.06


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in table], [w for _, w in table])[0]


class Planner:
    def __init__(self, district: District, refs: Refs, situation: Situation, scale: int, seed: int,
                 now: dt.datetime):
        self.d, self.refs, self.sit, self.scale, self.seed = district, refs, situation, scale, seed
        self.rng = random.Random(f"{seed}/history")
        self.now = int(now.timestamp())
        local = now.astimezone(BEIJING)
        today = local.date()
        try:
            self.first_date = today.replace(year=today.year - YEARS)
        except ValueError:  # 29 February
            self.first_date = today.replace(year=today.year - YEARS, day=28)
        self.last_date = today if local.time() >= SHIFT_START else today - dt.timedelta(days=1)
        self.ds0 = self.day_start(self.first_date)
        self.heap: list[Event] = []
        self.seq = itertools.count()
        self.stock = Stock(self.rng, refs, self.push, local_day(self.ds0),
                           local_day(self.day_start(self.last_date)))
        self.episode: dict | None = None
        self.shift: dict = {}
        self.shift_ids: dict[int, str] = {}
        self.on_duty: dict[int, tuple[list[str], str]] = {}  # duty day → (officers, shift id), for the log
        self.remembered: set[tuple] = set()
        self.hazard_weights: dict[int, list[float]] = {}  # month → cumulative weights of everyday hazards
        self.leaders = [user_id(u) for u in DUTY_LEADERS]
        self.officers = [user_id(u) for u in DUTY_OFFICERS]
        pops = [s.population for s in district.streets]
        self.street_indices = range(len(pops))
        self.street_cum = list(itertools.accumulate(pops))  # incidents follow the people
        self.flood_cum = list(itertools.accumulate(  # waterlogging favours the riverside
            p * (3 if s.spec.riverside else 1) for p, s in zip(pops, district.streets, strict=True)))
        self.hill_streets = [i for i, s in enumerate(district.streets) if s.spec.hillside]

    # -- time and people -------------------------------------------------------------------------

    @staticmethod
    def day_start(date: dt.date) -> int:
        return int(dt.datetime.combine(date, SHIFT_START, BEIJING).timestamp())

    def rota(self, k: int) -> tuple[str, list[str]]:
        """Leader and the two officers on duty in duty day ``k``."""
        n = len(self.officers)
        return self.leaders[k % len(self.leaders)], [self.officers[k % n], self.officers[(k + 1) % n]]

    def shift_id(self, k: int) -> str:
        # Known before the shift is planned: an incident's trail may run into later shifts.
        sid = self.shift_ids.get(k)
        if sid is None:
            sid = self.shift_ids[k] = stable_id("shift", f"{self.seed}/{k}")
        return sid

    def duty_day(self, t: int) -> int:
        return (t - self.ds0) // DAY

    # -- plumbing --------------------------------------------------------------------------------

    def push(self, t: int, entity: str, plan: dict) -> None:
        if t < self.now:  # a trail's later steps that would lie in the future simply have not happened yet
            heapq.heappush(self.heap, (t, next(self.seq), entity, plan))

    def _flush(self, before: int) -> Iterator[Event]:
        heap = self.heap
        while heap and heap[0][0] < before:
            yield heapq.heappop(heap)

    def _id(self) -> int:
        return self.rng.getrandbits(128)

    def _log(self, t: int, kind: str, what: str, incident: dict | None = None, who: int | None = None,
             day: int | None = None, **extra: object) -> None:
        k = (t - self.ds0) // DAY if day is None else day
        on_duty = self.on_duty.get(k)
        if on_duty is None:
            on_duty = self.on_duty[k] = (self.rota(k)[1], self.shift_id(k))
        officers, shift = on_duty
        w = (self.rng.random() < 0.5) if who is None else who
        plan = {"id": self.rng.getrandbits(128), "kind": kind, "what": what, "author": officers[w],
                "device": DEVICES[w], "shift": shift, "incident": incident,
                "drill": bool(incident and incident["drill"])}
        if extra:
            plan.update(extra)
        if t < self.now:  # self.push, inlined: two thirds of all records pass here
            heapq.heappush(self.heap, (t, next(self.seq), "duty_log_entry", plan))

    # -- the three years -------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        date, k = self.first_date, 0
        while date <= self.last_date:
            ds = self.day_start(date)
            if date == self.last_date:
                # Planned before the flush: with an early ``now`` some of it lies before this duty day.
                self._present()
            yield from self._flush(ds)
            self._plan_day(k, date, ds, date == self.last_date)
            date += dt.timedelta(days=1)
            k += 1
        yield from self._flush(self.now)

    def _plan_day(self, k: int, date: dt.date, ds: int, last: bool) -> None:
        rng = self.rng
        end = self.now - 2 * 3600 if last else ds + DAY  # the last hours before "now" are scripted
        self._shift(k, ds, last)
        self._watch(k, ds, min(ds + DAY, self.now - 600))
        actions: list[tuple[int, object]] = []
        for t, key, ep in self._weather(date, ds):
            if t < end:
                actions.append((t, (key, ep)))
        lam = BASE_PER_DAY * MONTH_WEIGHT[date.month] * self.scale
        for _ in range(poisson(rng, lam)):
            hz = self._everyday_hazard(date.month)
            t = ds + below(rng, DAY)
            if t < end:
                actions.append((t, (hz.key, None)))
        if not last:
            for _ in range(poisson(rng, DRILL_P * self.scale)):
                actions.append((ds + between(rng, 3600, 7 * 3600), ("drill", None)))
        for t, run in self.stock.office_actions(local_day(ds), ds, date.month, date.day):
            if t < end:
                actions.append((t, run))
        actions.sort(key=lambda a: a[0])
        for t, what in actions:
            if callable(what):
                what(t)
            else:
                key, ep = what
                if key == "drill":
                    self._incident(t, H.BY_KEY[pick(rng, ("fire", "gas", "building", "flood"))],
                                   self._street_for(H.BY_KEY["fire"]), drill=True)
                else:
                    hz = H.BY_KEY[key]
                    self._incident(t, hz, self._street_for(hz), ep)

    def _everyday_hazard(self, month: int) -> H.Hazard:
        cum = self.hazard_weights.get(month)
        if cum is None:
            cum = self.hazard_weights[month] = list(itertools.accumulate(
                h.share * h.months.get(month, 1.0) for h in H.HAZARDS))
        return self.rng.choices(H.HAZARDS, cum_weights=cum)[0]

    def _street_for(self, hz: H.Hazard) -> int:
        rng = self.rng
        if hz.hillside_only:
            return pick(rng, self.hill_streets)
        cum = self.flood_cum if hz.key == "flood" else self.street_cum
        return rng.choices(self.street_indices, cum_weights=cum)[0]

    # -- the watch itself ------------------------------------------------------------------------

    def _shift(self, k: int, ds: int, last: bool) -> None:
        rng = self.rng
        leader, officers = self.rota(k)
        self.shift = {"id": self.shift_id(k), "start": ds, "end": ds + DAY, "leader": leader,
                      "officers": officers, "status": "open" if last else "closed", "incidents": 0, "open": 0}
        # Tie-break -1: ahead of anything else planned for the same second, which may belong to it.
        heapq.heappush(self.heap, (ds, -1, "shift", self.shift))
        if last:
            return
        t = ds + DAY + between(rng, 60, 240)
        self._log(t, "handover", "handover", who=0, day=k, ending=self.shift)
        out = t + between(rng, 120, 300)
        self.push(out, "handover", {"id": self._id(), "shift": self.shift, "next": self.shift_id(k + 1),
                                    "outgoing": officers[0], "incoming": self.rota(k + 1)[1][0],
                                    "signed_out": out, "signed_in": out + between(rng, 60, 300),
                                    "device": DEVICES[0]})

    def _watch(self, k: int, ds: int, end: int) -> None:
        rng = self.rng

        def log(t: int, kind: str, what: str, **extra: object) -> None:
            if t < end:
                self._log(t, kind, what, **extra)

        leader, officers = self.rota(k)
        log(ds + between(rng, 240, 600), "watch", "signin", who=0, leader=leader, officers=officers)
        # At scale N the routine rounds are N times as many too (as if N desks kept the watch), so
        # that the log, like the rest of the history, grows N-fold.
        for _ in range(self.scale):
            log(ds + 5400 + between(rng, 0, 3600), "watch", "comms")
            for hours in (3.5, 9.5, 15.5, 21.5):
                log(ds + int(hours * 3600) + between(rng, 0, 1200), "watch", "inspect")
        for _ in range(max(1, poisson(rng, ROLLCALLS_PER_DAY * self.scale))):
            log(ds + below(rng, DAY), "watch", "rollcall")
        for _ in range(poisson(rng, NOTES_PER_DAY * self.scale)):
            log(ds + (below(rng, 34200) if rng.random() < 0.7 else below(rng, DAY)), "note", "note")

    # -- weather ---------------------------------------------------------------------------------

    def _weather(self, date: dt.date, ds: int) -> list[tuple[int, str, dict]]:
        """Start storms and warnings; return the storm-made incidents of the day (time, hazard, episode)."""
        rng = self.rng
        ep = self.episode
        if ep is not None and ep["end"] <= ds:
            self.episode = ep = None
        quiet = (self.last_date - date).days < 4  # the present is scripted; no storm of chance runs into it
        remembered = MEMORABLE.get((date.month, date.day))
        if remembered and remembered not in self.remembered and ep is None and not quiet:
            self.remembered.add(remembered)  # the first time the date comes round, not every year
            kind, level, name, severity = remembered
            ep = self._episode(kind, ds, level, name, severity)
        if ep is None and not quiet:
            if rng.random() < STORM_START_P.get(date.month, 0):
                ep = self._episode("rainstorm", ds)
            elif rng.random() < TYPHOON_START_P.get(date.month, 0):
                ep = self._episode("typhoon", ds)
        if not quiet:
            self._plain_warnings(date, ds)
        out: list[tuple[int, str, dict]] = []
        if ep is not None:
            lo, hi = max(ep["start"], ds), min(ep["end"], ds + DAY)
            if hi > lo:
                extra = STORM_EXTRA if ep["kind"] == "rainstorm" else TYPHOON_EXTRA
                mix = H.STORM_MIX if ep["kind"] == "rainstorm" else H.TYPHOON_MIX
                for _ in range(poisson(rng, extra[ep["level"]] * self.scale * (hi - lo) / DAY)):
                    out.append((lo + below(rng, hi - lo), _pick(rng, mix), ep))
        return out

    def _episode(self, kind: str, ds: int, level: str | None = None, name: str | None = None,
                 severity: str | None = None) -> dict:
        rng = self.rng
        level = level or _pick(rng, STORM_LEVELS if kind == "rainstorm" else TYPHOON_LEVELS)
        start = ds + between(rng, 3600, 20 * 3600)
        hours = between(rng, 6, 30) if kind == "rainstorm" else between(rng, 24, 54)
        ep = {"kind": kind, "level": level, "start": start, "end": start + hours * 3600,
              "name": name or (pick(rng, H.TYPHOON_NAMES) if kind == "typhoon" else None),
              "severity": severity}
        issued = start - between(rng, 600, 3600)
        warning = {"id": self._id(), "type": "暴雨" if kind == "rainstorm" else "台风", "level": level,
                   "status": "lifted", "from": issued, "to": ep["end"] + between(rng, 0, 3 * 3600),
                   "episode": ep, "partial": kind == "rainstorm"}
        self._warning(warning)
        self.episode = ep
        if kind == "typhoon" or level != "blue":
            self._umbrella(ep, issued)
        return ep

    def _warning(self, w: dict) -> None:
        self.push(w["from"], "warning", w)
        self._log(w["from"] + between(self.rng, 120, 600), "receive", "warning", warning=w)
        if w["status"] == "lifted":
            self._log(w["to"] + between(self.rng, 60, 600), "note", "warning_lifted", warning=w)

    def _plain_warnings(self, date: dt.date, ds: int) -> None:
        rng = self.rng
        for kind, months, p, levels in PLAIN_WARNINGS:
            if date.month in months and rng.random() < p:
                issued = ds + between(rng, 0, 10 * 3600)
                self._warning({"id": self._id(), "type": kind, "level": _pick(rng, levels),
                               "status": "lifted", "from": issued,
                               "to": issued + between(rng, 12, 60) * 3600, "episode": None, "partial": False})

    # -- incidents -------------------------------------------------------------------------------

    def _new_incident(self, t0: int, hz: H.Hazard | None, street: int, severity: str, drill: bool = False,
                      episode: dict | None = None) -> dict:
        inc = {"id": self._id(), "hazard": hz, "street": street, "t0": t0, "severity": severity,
               "status": "closed", "response": None, "close": None, "drill": drill, "episode": episode}
        self.push(t0, "incident", inc)
        if self.shift and self.shift["start"] <= t0 < self.shift["end"]:
            self.shift["incidents"] += 1
        return inc

    def _closed(self, inc: dict, close: int) -> None:
        inc["close"] = close
        if self.shift and close > self.shift["end"]:
            self.shift["open"] += 1

    def _team(self, key: str, street: int) -> TeamRef:
        if key == "street":
            pool = self.refs.street_teams[street if street >= 0 else below(self.rng, len(self.d.streets))]
        else:
            pool = self.refs.pro_copies[key]
        return pick(self.rng, pool)

    def _incident(self, t0: int, hz: H.Hazard, street: int, episode: dict | None = None,
                  drill: bool = False) -> None:
        rng = self.rng
        r = rng.random()
        severity = "IV" if drill else "II" if r < hz.grave_p / 25 else "III" if r < hz.grave_p else "IV"
        inc = self._new_incident(t0, hz, street, severity, drill, episode)
        if severity != "IV":
            inc["response"] = "IV" if severity == "III" else "III"
        recv = t0 + between(rng, 60, 720)
        inc["recv"] = recv
        self._log(recv, "receive", "receive", inc)
        if not drill and rng.random() < CANCELLED_P:
            inc["status"] = "cancelled"
            close = recv + between(rng, 600, 2400)
            self._closed(inc, close)
            self._log(close, "handle", "cancel", inc)
            return

        keys: list[str] = []
        if drill:
            keys = ["street"]
        elif severity != "IV" or rng.random() < hz.dispatch_p:
            keys = list(hz.teams)
            if severity == "IV" and len(keys) > 1 and rng.random() < 0.45:
                keys = keys[:1]
        t = recv + between(rng, 120, 900)
        dispatches = []
        for key in keys:
            arrived = t + between(rng, 480, 1800)
            dispatches.append({"id": self._id(), "incident": inc, "team": self._team(key, street),
                               "state": "returned", "ordered": t, "arrived": arrived})
            t += between(rng, 60, 600)
        close = recv + between(rng, *hz.minutes) * 60 * (1 if severity == "IV" else 2)
        if dispatches:
            close = max(close, max(d["arrived"] for d in dispatches) + 900)
        close = min(close, self.now - 900)
        self._closed(inc, close)

        if not drill:
            self._log(recv + between(rng, 300, 1500), "report", "phone_report", inc)
        for d in dispatches:
            d["returned"] = min(close + between(rng, 600, 2400), self.now - 60)
            self.push(d["ordered"], "dispatch", d)
            self._log(d["ordered"] + 30, "dispatch", "dispatch", inc, dispatch=d)
        if dispatches:
            self._log(dispatches[0]["arrived"], "handle", "on_scene", inc, dispatch=dispatches[0])
        if not drill and (severity != "IV" or (dispatches and rng.random() < 0.4)):
            self._reports(inc, recv, close, severity != "IV")
        if not drill and hz.supplies and rng.random() < hz.supply_p * (1 if severity == "IV" else 2):
            chosen = rng.sample(hz.supplies, between(rng, 1, min(2, len(hz.supplies))))
            wants = [(name, between(rng, lo, hi) * (1 if severity == "IV" else 2)) for name, lo, hi in chosen]
            t_a = recv + between(rng, 1800, 5400)
            if t_a < close:
                self._supplies(t_a, inc, street, wants, local_day(close) + between(rng, 1, 3))
        if severity != "IV":
            self._instruction(inc, recv + between(rng, 900, 2400), close)
            if rng.random() < 0.6 and recv + 7200 < close:
                self._consultation(inc, recv + between(rng, 3600, 7200))
        self._log(close, "handle", "close", inc)

    def _reports(self, inc: dict, recv: int, close: int, grave: bool) -> None:
        rng = self.rng
        times: list[tuple[str, int, int | None]] = []
        if grave:
            times.append(("flash", recv + between(rng, 600, 1200), recv + 1800))
        first = recv + between(rng, 1500, 3300)
        times.append(("first", first, recv + 3600))
        span = close - first
        followups = 0 if span < 4 * 3600 else (1 if not grave else between(rng, 1, 3))
        for i in range(followups):
            times.append(("followup", first + span * (i + 1) // (followups + 1), None))
        times.append(("final", close + between(rng, 3600, 20 * 3600), None))
        for seq, (kind, t, due) in enumerate(times, 1):
            rep = {"id": self._id(), "incident": inc, "kind": kind, "seq": seq, "due": due, "at": t,
                   "leader": self.rota(self.duty_day(t))[0]}
            self.push(t, "incident_report", rep)
            self._log(t + 30, "report", "report", inc, report=rep)

    def _supplies(self, t: int, inc: dict, street: int, wants: list[tuple[str, int]],
                  return_day: int | None) -> None:
        rng = self.rng
        for store, items in self.stock.allocate(t, inc, street, wants, return_day):
            delivered = t + between(rng, 1800, 5400)
            order = {"id": self._id(), "incident": inc, "store": store, "items": items, "ordered": t,
                     "delivered": delivered if delivered < self.now else None}
            self.push(t, "allocation_order", order)
            self._log(t + 20, "dispatch", "supply", inc, order=order)

    def _instruction(self, inc: dict, t: int, close: int | None) -> None:
        self.push(t, "instruction", {"id": self._id(), "incident": inc, "given": t, "closed": close})
        self._log(t + between(self.rng, 60, 300), "handle", "instruction", inc)

    def _consultation(self, inc: dict, t: int) -> None:
        rng = self.rng
        started = t + between(rng, 0, 300)
        self.push(t, "consultation", {"id": self._id(), "incident": inc, "scheduled": t, "started": started,
                                      "ended": started + between(rng, 40, 90) * 60})
        self._log(started + 60, "handle", "consultation", inc)

    def _umbrella(self, ep: dict, issued: int) -> None:
        """The response to a storm as one incident: warning → response → preparations → lifting."""
        rng = self.rng
        level = ep["level"]
        severity = {"blue": "IV", "yellow": "IV", "orange": "III" if rng.random() < 0.3 else "IV",
                    "red": "III"}[level]
        if ep["kind"] == "typhoon" and level == "red":
            severity = "II"
        severity = ep["severity"] or severity
        t0 = issued + between(rng, 300, 1200)
        inc = self._new_incident(t0, None, -1, severity, episode=ep)
        inc["response"] = RESPONSE[level]
        recv = t0 + between(rng, 60, 300)
        inc["recv"] = recv
        close = min(ep["end"] + between(rng, 3600, 4 * 3600), self.now - 900)
        self._closed(inc, close)
        self._log(recv, "receive", "response_start", inc)
        keys = ["water", "municipal"]
        if ep["kind"] == "typhoon" or level == "red":
            keys += ["power", "telecom"]
        exposed = [i for i, s in enumerate(self.d.streets) if s.spec.riverside or s.spec.hillside]
        streets = rng.sample(exposed, between(rng, 2, 4))
        t = recv + between(rng, 600, 2400)
        for key, street in [(k, -1) for k in keys] + [("street", s) for s in streets]:
            d = {"id": self._id(), "incident": inc, "team": self._team(key, street), "state": "returned",
                 "ordered": t, "arrived": t + between(rng, 1200, 3000),
                 "returned": min(close + between(rng, 1800, 5400), self.now - 60), "preposition": True}
            self.push(t, "dispatch", d)
            self._log(t + 30, "dispatch", "preposition", inc, dispatch=d)
            t += between(rng, 60, 300)
        if ep["kind"] == "typhoon":
            for street in streets:
                self.stock.transfer(t + between(rng, 1800, 3600), street, "沙袋", between(rng, 100, 300),
                                    "防台风物资前置调拨")
        self._reports(inc, recv, close, severity != "IV")
        if level in ("orange", "red") or ep["kind"] == "typhoon":
            self._instruction(inc, recv + between(rng, 900, 2400), close)
            self._consultation(inc, recv + between(rng, 2400, 5400))
        self._log((recv + close) // 2, "handle", "patrol", inc)
        self._log(close, "handle", "response_end", inc)

    # -- the present -----------------------------------------------------------------------------

    def _present(self) -> None:
        """The scripted state at ``now`` (situation.py): warnings in force, open incidents, teams out."""
        rng, now = self.rng, self.now
        self._warning({"id": self._id(), "type": "寒冷", "level": "yellow", "status": "issued",
                       "from": now - 16 * 3600, "to": now + 40 * 3600, "episode": None, "partial": False})
        rain = {"id": self._id(), "type": "暴雨", "level": "yellow", "status": "issued",
                "from": now - 100 * 60, "to": now + 6 * 3600, "episode": None, "partial": True}
        self._warning(rain)
        for key in self.sit.prepositioned:
            team = self.refs.teams[key]
            self._log(now - 85 * 60, "dispatch", "standby", team=team, warning=rain)
        for sc in self.sit.incidents:
            hz = H.BY_KEY[sc.hazard]
            t0 = now - sc.occurred_min * 60
            inc = self._new_incident(t0, hz, sc.street, "IV")
            inc["status"] = sc.status
            if sc.evacuated:
                inc["evacuated"] = sc.evacuated
            if sc.status == "responding":
                inc["response"] = "IV"
            recv = t0 + between(rng, 60, 120)
            inc["recv"] = recv
            self._log(recv, "receive", "receive", inc)
            if sc.status != "reported":
                self._log(recv + between(rng, 180, 420), "report", "phone_report", inc)
            for s in sc.dispatches:
                d = {"id": self._id(), "incident": inc, "team": self.refs.teams[s.team], "state": s.state,
                     "ordered": now - s.ordered_min * 60,
                     "arrived": now - s.arrived_min * 60 if s.arrived_min is not None else None,
                     "returned": None}
                self.push(d["ordered"], "dispatch", d)
                self._log(d["ordered"] + 30, "dispatch", "dispatch", inc, dispatch=d)
                if d["arrived"] is not None:
                    self._log(d["arrived"], "handle", "on_scene", inc, dispatch=d)
            if sc.status == "responding":
                rep = {"id": self._id(), "incident": inc, "kind": "first", "seq": 1, "due": recv + 3600,
                       "at": recv + between(rng, 1500, 2400), "leader": self.rota(self.duty_day(now))[0]}
                self.push(rep["at"], "incident_report", rep)
                self._log(rep["at"] + 30, "report", "report", inc, report=rep)
            if sc.supplies:
                self._supplies(recv + between(rng, 900, 1500), inc, sc.street, list(sc.supplies), None)
            if sc.shelter is not None:
                shelter = self.refs.shelters[(sc.shelter, 0)]
                self._log(recv + between(rng, 1800, 2700), "handle", "evacuate", inc, shelter=shelter,
                          evacuated=sc.evacuated)
                self._instruction(inc, recv + between(rng, 600, 1200), None)
