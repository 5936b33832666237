"""The deterministic demo district: 广州市越秀区 as seed 003 describes it, with three years of watch.

``generate_records`` streams ``(entity wire name, record)`` pairs in dependency
order — org units (parents first), users, reference data, libraries, then the
history in time order — each record valid against the entity catalogue. The
same seed gives the same records, byte for byte; ``scale`` multiplies the
volumes and keeps the org tree. Run ``python -m app.demo.district`` for the
counts, the demo accounts and the generation rate.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import time
from collections.abc import Iterator

from app.demo import geography, situation
from app.demo.history import Planner
from app.demo.libraries import LibraryBuilder
from app.demo.render import Renderer
from app.demo.users import demo_users, user_records
from app.domain.clock import BEIJING

__all__ = ["DEMO_SEED", "DEFAULT_NOW", "HISTORY_TIME_FIELDS", "demo_users", "district_summary",
           "generate_records"]

DEMO_SEED = 2026
DEFAULT_NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=BEIJING)

# The field that places a history record in time; history is yielded in non-decreasing order of it.
HISTORY_TIME_FIELDS: dict[str, str] = {
    "shift": "starts_at", "duty_log_entry": "occurred_at", "incident": "occurred_at",
    "incident_report": "submitted_at", "dispatch": "ordered_at", "stock_movement": "occurred_at",
    "allocation_order": "ordered_at", "warning": "valid_from", "instruction": "given_at",
    "consultation": "scheduled_at", "handover": "signed_out_at",
}


def _check(scale: int, now: dt.datetime | None) -> dt.datetime:
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a whole number ≥ 1, not {scale!r}")
    now = DEFAULT_NOW if now is None else now
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return now


def _reference(scale: int, seed: int) -> tuple[Iterator[tuple[str, dict]], geography.District,
                                                situation.Situation, LibraryBuilder]:
    district = geography.build(seed)
    sit = situation.build(seed)
    libraries = LibraryBuilder(district, sit, scale, seed)

    def records() -> Iterator[tuple[str, dict]]:
        for unit in district.units():
            yield "org_unit", geography.org_unit_record(unit)
        yield from user_records()
        yield from libraries.records()

    return records(), district, sit, libraries


def generate_records(scale: int = 1, seed: int = DEMO_SEED,
                     now: dt.datetime | None = None) -> Iterator[tuple[str, dict]]:
    """Yield (entity_wire_name, data) in dependency order; see the module docstring."""
    now = _check(scale, now)
    reference, district, sit, libraries = _reference(scale, seed)
    yield from reference
    planner = Planner(district, libraries.refs, sit, scale, seed, now)
    render = Renderer(district, libraries.refs, seed).render
    for event in planner.events():
        yield render(event)


def district_summary(scale: int = 1, *, seed: int = DEMO_SEED,
                     now: dt.datetime | None = None) -> dict[str, int]:
    """Exactly how many records of each entity ``generate_records`` yields (history planned, not rendered)."""
    now = _check(scale, now)
    counts: collections.Counter[str] = collections.Counter()
    reference, district, sit, libraries = _reference(scale, seed)
    for entity, _ in reference:
        counts[entity] += 1
    for event in Planner(district, libraries.refs, sit, scale, seed, now).events():
        counts[event[2]] += 1
    return dict(sorted(counts.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Counts of the demo district, its accounts and generation rate.")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--rate", type=float, default=0, metavar="SECONDS",
                        help="also render records for this many seconds and print records/s")
    args = parser.parse_args(argv)
    summary = district_summary(args.scale, seed=args.seed)
    for entity, n in summary.items():
        print(f"{entity:20} {n:>10,}")
    print(f"{'total':20} {sum(summary.values()):>10,}")
    print()
    for u in demo_users():
        print(f"{u['username']:10} {u['role']:8} {u['password']}")
    if args.rate:
        n, start = 0, time.perf_counter()
        for n, _ in enumerate(generate_records(args.scale, args.seed), 1):
            if n % 10000 == 0 and time.perf_counter() - start > args.rate:
                break
        elapsed = time.perf_counter() - start
        print(f"\n{n:,} records in {elapsed:.1f} s: {n / elapsed:,.0f} records/s")


if __name__ == "__main__":
    main()
