"""The sign-off count and list on a busy cache: 20,000 reports (years of history), 30 awaiting.

    .venv/bin/python -m tests.bench.bench_report_signoff

The incident workspace re-counts the reports awaiting sign-off on every change to a report,
an incident or a sign-off (on the GUI thread: it must stay far under 50 ms), and lists them
when the leader opens the list. Baseline: the same count as one hand-written query through
raw sqlite3 on the same file.
"""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from pathlib import Path

from app.domain import clock
from app.services import reporting as R
from app.store import records
from app.store.db import Store
from tests.bench.common import median_of, report

N_REPORTS, N_AWAITING = 20_000, 30


def build(path: Path) -> None:
    store = Store(path)
    now = clock.now_iso()
    leader = str(uuid.uuid4())
    rows = []
    incidents = [str(uuid.uuid4()) for _ in range(2_000)]
    for iid in incidents:
        rows.append(("incident", {"id": iid, "title": "事件", "category": "accident", "severity": "IV",
                                  "status": "closed", "occurred_at": now, "created_at": now}))
    for i in range(N_REPORTS):
        rid = str(uuid.uuid4())
        signed_on_row = i % 2 == 0
        rows.append(("incident_report", {"id": rid, "incident_id": incidents[i % len(incidents)], "kind": "followup",
                                         "seq": i, "body": "续报", "submitted_at": now,
                                         "signed_by": leader if signed_on_row else None,
                                         "signed_at": now if signed_on_row else None, "created_at": now}))
        if not signed_on_row and i >= N_AWAITING * 2:
            rows.append(("report_signoff", {"id": str(uuid.uuid4()), "report_id": rid, "signed_by": leader,
                                            "signed_at": now, "decision": "approved", "created_at": now}))
    store.write_sync(lambda c: records.bulk_load(c, rows))
    store.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cache.db"
        build(path)
        store = Store(path)
        assert store.read(R.count_awaiting) == N_AWAITING
        ours = median_of(lambda: store.read(R.count_awaiting), 9) * 1000
        listing = median_of(lambda: store.read(R.awaiting_signoff), 9) * 1000
        store.close()
        raw = sqlite3.connect(path)
        sql = ("SELECT count(*) FROM incident_report r WHERE r.deleted = 0 AND r.signed_by IS NULL AND NOT EXISTS "
               "(SELECT 1 FROM report_signoff s WHERE s.report_id = r.id AND s.deleted = 0)")
        assert raw.execute(sql).fetchone()[0] == N_AWAITING
        base = median_of(lambda: raw.execute(sql).fetchone(), 9) * 1000
        raw.close()
    report("count awaiting sign-off (20k reports)", ours, base, "ms", "raw sqlite3 count")
    report("list awaiting sign-off (30 of 20k)", listing, base, "ms", "raw sqlite3 count")


if __name__ == "__main__":
    main()
