"""Handover and roll-calls over the demo district (3 years: ~3,500 incidents, ~37,000 log entries),
each next to a baseline measured in the same run.

    .venv/bin/python -m tests.bench.bench_handover

- listing everything open for the handover (open_items) vs raw SQL selecting the same open rows
  (open incidents, open instructions, active dispatches, open conflicts) with pysqlite3;
- sealing a handover (one write transaction: log entry on the chain, the handover record, two shift
  patches, outbox rows; fsync included) vs a raw INSERT + COMMIT of one row in the same file;
- the recent roll-call list (50) vs the same query in raw SQL.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from pysqlite3 import dbapi2 as sqlite3

from app.domain import clock
from app.services import handover, rollcall, roster
from app.services.shift_queries import current_shift
from app.store import records
from app.store.db import Store
from app.store.device import ensure_device
from tests.bench.common import median_of, percentile, report, timed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))

RAW_OPEN = (
    "SELECT id, title FROM incident WHERE deleted IS 0 AND status IN ('reported','verified','responding')",
    "SELECT id, body FROM instruction WHERE deleted IS 0 AND status = 'open'",
    "SELECT id FROM dispatch WHERE deleted IS 0 AND state IN ('ordered','en_route','on_scene')",
    "SELECT id FROM sync_conflict WHERE deleted IS 0 AND status = 'open'",
)
RAW_ROLLCALLS = ("SELECT id, occurred_at, details FROM duty_log_entry WHERE deleted IS 0 AND kind = 'watch' AND "
                 "(json_extract(details, '$.rollcall') IS NOT NULL OR json_extract(details, '$.answered_in_s') "
                 "IS NOT NULL) ORDER BY occurred_at DESC LIMIT 50")


def main() -> None:
    from district_fixture import district_records

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cache.db"
        store = Store(path)
        store.write_sync(lambda c: records.bulk_load(c, district_records()))
        device = store.write_sync(ensure_device)
        raw = sqlite3.connect(str(path))
        raw.execute("PRAGMA synchronous=FULL")

        # 1. What is open.
        items = store.read(handover.open_items)
        ours = median_of(lambda: store.read(handover.open_items), runs=7) * 1000
        base = median_of(lambda: [raw.execute(q).fetchall() for q in RAW_OPEN], runs=7) * 1000
        report(f"handover open items ({len(items)} items)", ours, base, "ms", "raw SQL of the open rows")

        # 2. Sealing, fsync included: one handover per shift, on a chain of fresh planned shifts.
        cur = store.read(roster.get_shift, store.read(current_shift).id)
        people = store.read(roster.duty_people)
        officers = [p.id for p in people if p.role == "officer"]
        leader = next(p.id for p in people if p.role == "leader")
        seals, inserts = [], []
        raw.execute("CREATE TABLE bench_row (id INTEGER PRIMARY KEY, body TEXT)")
        raw.commit()
        for k in range(15):
            start = cur.ends_at + dt.timedelta(days=k)
            d = roster.ShiftDraft(start, start + dt.timedelta(days=1), [officers[k % len(officers)]], leader,
                                  org_unit_id=cur.org_unit_id)
            nxt = store.write_sync(lambda c, d=d: roster.save_shift(c, d, shift_id=None, author_id=None,
                                                                    now=clock.now_iso()))
            shift = store.read(current_shift)
            found = store.read(handover.open_items)
            draft = handover.HandoverDraft(shift.id, nxt, found,
                                           {i.key: handover.Acknowledgement(True) for i in found},
                                           officers[(k + 1) % len(officers)], officers[k % len(officers)])
            seals.append(timed(lambda draft=draft: store.write_sync(lambda c: handover.seal_handover(
                c, draft, device_id=device, author_id=None, now=clock.now_iso()))) * 1000)

            def insert(k=k):
                raw.execute("INSERT INTO bench_row (body) VALUES (?)", (f"row {k}",))
                raw.commit()
            inserts.append(timed(insert) * 1000)
        report("seal a handover p50 (fsync included)", percentile(seals, 50), percentile(inserts, 50), "ms",
               "raw INSERT+COMMIT")
        report("seal a handover p95 (fsync included)", percentile(seals, 95), percentile(inserts, 95), "ms",
               "raw INSERT+COMMIT")

        # 3. Recent roll-calls.
        ours = median_of(lambda: store.read(rollcall.recent_rollcalls, 50), runs=9) * 1000
        base = median_of(lambda: raw.execute(RAW_ROLLCALLS).fetchall(), runs=9) * 1000
        report("recent roll-calls (50)", ours, base, "ms", "raw SQL, same query")
        raw.close()
        store.close()


if __name__ == "__main__":
    main()
