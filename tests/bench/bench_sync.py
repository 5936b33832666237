"""Sync: initial pull of 100,000 rows and upload of 10,000 queued changes, over loopback.

Baseline: raw sqlite3 executemany of the same rows into a WAL/FULL file (what the
data costs to store with no sync at all), measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "sync"))

from app.server import db as server_db  # noqa: E402
from app.server import seed  # noqa: E402
from tests.bench.common import report, timed  # noqa: E402

NOW = "2026-11-23T08:00:00+08:00"


def world_rows(n: int, org: str) -> list[tuple[str, dict]]:
    """~215-byte log entries and incidents, like the PouchDB comparison documents."""
    rows = []
    for i in range(n):
        if i % 10 == 0:
            rows.append(("incident", {"id": str(uuid.uuid4()), "title": f"11·{i % 28 + 1} 北京街{i}号水浸",
                                      "category": "natural", "severity": "IV", "status": "closed",
                                      "occurred_at": NOW, "org_unit_id": org, "lon": 113.27, "lat": 23.13}))
        else:
            rows.append(("duty_log_entry", {"id": str(uuid.uuid4()), "kind": "receive", "occurred_at": NOW,
                                            "org_unit_id": org,
                                            "body": f"接市民报告越秀区北京街{i % 97}号水浸约{i % 50}厘米，已通知街道"}))
    return rows


def raw_baseline(rows, folder: Path) -> float:
    con = sqlite3.connect(folder / "raw.db", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE doc (id TEXT PRIMARY KEY, entity TEXT, data TEXT)")

    def load():
        con.execute("BEGIN")
        con.executemany("INSERT INTO doc VALUES (?, ?, ?)",
                        [(d["id"], e, json.dumps(d, ensure_ascii=False)) for e, d in rows])
        con.execute("COMMIT")
    t = timed(load)
    con.close()
    return t


def run(n: int = 100_000) -> list[str]:
    from console_harness import LiveConsole
    from sync_live import ServerProcess
    from sync_world import STREET1, seed_world

    out = []
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        url = f"sqlite:///{folder / 'server.db'}"
        engine = server_db.make_engine(url)
        server_db.init_schema(engine)
        seed_world(engine)
        rows = world_rows(n, STREET1)
        seed.bulk_load(engine, rows, validate="none")
        engine.dispose()
        server = ServerProcess(url, folder / "server.log").start()
        try:
            console = LiveConsole(server, folder, "officer_s1")
            t_sync = timed(console.sync)
            got = console.count("duty_log_entry") + console.count("incident")
            assert got == n, got
            t_raw = raw_baseline(rows, folder)
            out.append(report(f"initial sync {n:,} rows (searchable)", n / t_sync, n / t_raw, "rows/s",
                              "raw sqlite3 executemany", higher_is_better=True))
            # The search texts of a large pull are filled in after the swap (search answers by
            # LIKE for those rows meanwhile): how long until the index has caught up.
            t_index = timed(lambda: asyncio.run(console.engine.index_backlog()))
            out.append(report(f"  + index catch-up after the swap ({n:,} rows)", n / (t_sync + t_index),
                              n / t_raw, "rows/s", "raw sqlite3 executemany", higher_is_better=True))

            rid_rows = [{"kind": "note", "body": f"离线期间记录第{i}条", "occurred_at": NOW,
                         "org_unit_id": STREET1} for i in range(10_000)]
            from app.store import records

            def queue(c):
                for r in rid_rows:
                    records.create(c, "duty_log_entry", r, author_id=console.ctx.user.id, now=NOW)
            console.store.write_sync(queue)
            t_push = timed(lambda: asyncio.run(console.engine._push_all()))
            assert console.waiting() == 0
            out.append(report("upload 10,000 queued changes", t_push, t_raw * 10_000 / n, "s",
                              "raw sqlite3 executemany of 10,000"))
            console.close()
        finally:
            server.kill()
    return out


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
