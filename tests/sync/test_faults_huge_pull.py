"""T18 (SYNC_RESEARCH.md §4): a huge initial sync, killed halfway, then resumed.

A fresh console (huge_child.py: the real LiveConsole and SyncEngine in a subprocess) pulls a
server holding N rows loaded with app.server.seed.bulk_load. When the cursor it asks for
passes half the server's high watermark its network stalls and the test SIGKILLs it (the
writer may be staging the page before at that instant). Then a second run of the console
on the same cache must:

* resume from the durable ``staging_cursor``: its first request asks for that cursor, and no
  page below it is downloaded again;
* complete, with every server row in the cache (the same ids) and pull_cursor at the server's
  revision, staging empty;
* show none of the new rows before the swap (the tables keep the old state: empty for a
  fresh console, both after the kill and at every progress report of the second run);
* report progress: "Syncing n of m" with n increasing up to m;
* stay within a memory cap (peak RSS of the console process, a bound independent of N).

The event loop's lag during the resumed sync (a 10 ms timer on the engine's loop, the
headless stand-in for I8) is printed with the figures, not asserted: timing on a shared CI
machine is a benchmark's business (tests/bench/bench_sync_stall.py measures the GUI's).

CI size: 50,000 rows in pages of 1,000. ``-m slow`` / COMMAND_DESK_SLOW=1: 1,000,000 rows in
the engine's own page size. SQLite server: the subject is the console's download.
"""

from __future__ import annotations

import pathlib
import uuid

import pysqlite3.dbapi2 as sqlite
import pytest
import sqlalchemy as sa

from app.server import seed
from app.server.tables import record
from faults import Database, FaultServer, slow_gate  # noqa: F401 - slow_gate skips slow tests unless selected
from script_child import ScriptChild
from sync_world import STREET1

HERE = pathlib.Path(__file__).resolve().parent
USER = "officer_s1"
NOW = "2026-11-23T08:00:00+08:00"
STAGING_CAP_MB = 320  # peak RSS up to the swap, whatever N is (incl. the writer's 64 MB SQLite cache)
RSS_CAP_MB = 400  # peak RSS of the console process over the whole sync, swap included


class MemoryCapExceeded(AssertionError):
    """The console's memory grew past the cap (kept apart so the xfail below names only this)."""


def rows(n: int):
    """~215-byte duty-log entries, one incident in ten (as tests/bench/bench_sync.py)."""
    for i in range(n):
        if i % 10 == 0:
            yield "incident", {"id": str(uuid.uuid4()), "title": f"11·{i % 28 + 1} 北京街{i}号水浸",
                               "category": "natural", "severity": "IV", "status": "closed",
                               "occurred_at": NOW, "org_unit_id": STREET1, "lon": 113.27, "lat": 23.13}
        else:
            yield "duty_log_entry", {"id": str(uuid.uuid4()), "kind": "receive", "occurred_at": NOW,
                                     "org_unit_id": STREET1,
                                     "body": f"接市民报告越秀区北京街{i % 97}号水浸约{i % 50}厘米，已通知街道"}


def server_ids(database) -> set[str]:
    with database.engine.connect() as conn:
        return set(conn.execute(sa.select(record.c.id).where(
            record.c.entity.in_(("incident", "duty_log_entry")), record.c.deleted.is_(False))).scalars())


def cache_state(path: pathlib.Path) -> dict:
    conn = sqlite.connect(str(path), isolation_level=None)
    try:
        state = dict(zip(("pull_cursor", "staging_cursor", "staging_target"), conn.execute(
            "SELECT pull_cursor, staging_cursor, staging_target FROM sync_state WHERE id = 1").fetchone(),
            strict=True))
        state["visible"] = sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
                               for t in ("incident", "duty_log_entry"))
        state["staged_pages"] = conn.execute("SELECT count(*) FROM pull_staging").fetchone()[0]
        state["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0]
        state["ids"] = {r[0] for t in ("incident", "duty_log_entry")
                        for r in conn.execute(f"SELECT id FROM {t} WHERE NOT deleted")}  # noqa: S608
    finally:
        conn.close()
    return state


def lines(child, prefix: str) -> list[list[int]]:
    return [[int(x) for x in line.split()[1:]] for line in child.lines if line.startswith(prefix + " ")]


def huge_sync_killed_halfway(tmp_path: pathlib.Path, n: int, page_size: int, timeout: float) -> dict:
    database = Database("sqlite", tmp_path / "db")
    server = FaultServer(database.url, tmp_path / "server.log")
    try:
        seed.bulk_load(database.engine, rows(n), chunk=500, validate="sample")
        expected = server_ids(database)
        assert len(expected) == n
        server.start()
        cache = tmp_path / "console"
        path = cache / f"{USER}.db"

        # 1. The initial sync, killed when about half the pages are staged.
        first = ScriptChild([HERE / "huge_child.py", server.base, cache, USER, page_size, 50])
        try:
            first.expect("half ", timeout=timeout)
        finally:
            first.kill()
        killed = cache_state(path)
        asked_first = [c for (c,) in lines(first, "pull")]
        assert killed["integrity"] == "ok"
        assert killed["pull_cursor"] == 0 and killed["visible"] == 0, "rows visible before the swap"
        target = killed["staging_target"]
        assert target and 0.3 * target <= killed["staging_cursor"] <= 0.7 * target, killed
        assert killed["staged_pages"] > 1
        shown = [d for d, _t, _v in lines(first, "progress")]
        assert shown and shown == sorted(set(shown)), f"progress not increasing: {shown[:20]}"

        # 2. Restart on the same cache: resumes from staging_cursor and completes.
        second = ScriptChild([HERE / "huge_child.py", server.base, cache, USER, page_size, 0])
        try:
            done = second.expect("done ", timeout=timeout)
        finally:
            second.kill()
        asked = [c for (c,) in lines(second, "pull")]
        assert asked[0] == killed["staging_cursor"] > 0, "the second run did not resume from staging_cursor"
        again = sorted(c for c in asked if c < killed["staging_cursor"])
        assert not again, f"pages below the staged position downloaded again: {again[:5]}"
        progress = lines(second, "progress")
        dones = [d for d, _t, _v in progress]
        assert len(dones) >= 2 and dones == sorted(set(dones)), f"progress not increasing: {dones[:20]}"
        assert dones[-1] == progress[-1][1], "progress never reached m of m"
        assert all(v == 0 for _d, _t, v in progress), "rows became visible before the swap"
        visible, peak_kb, rss_kb = map(int, done.split()[1:])
        assert visible == n
        final = cache_state(path)
        assert final["integrity"] == "ok" and final["staged_pages"] == 0
        assert final["ids"] == expected, "the cache does not hold exactly the server's rows"
        with database.engine.connect() as conn:
            current = conn.exec_driver_sql("SELECT max(server_rev) FROM record").scalar()
        assert final["pull_cursor"] == current
        [(staged_peak, _)], [(swapped_peak, swapped_rss)] = lines(second, "staged"), lines(second, "swapped")
        figures = {"rows": n, "pages_first": len(asked_first), "pages_second": len(asked),
                   "staging_cursor": killed["staging_cursor"], "target": target,
                   "peak_rss_mb_staging": staged_peak // 1024, "peak_rss_mb_swap": swapped_peak // 1024,
                   "rss_mb_after_swap": swapped_rss // 1024, "peak_rss_mb": peak_kb // 1024,
                   "end_rss_mb": rss_kb // 1024, "loop_lag_ms_p99_max": lines(second, "lag")[0]}
        print(f"\nT18 {figures}")
        assert staged_peak < STAGING_CAP_MB * 1024, f"staging took {staged_peak // 1024} MB: pages not streamed"
        if peak_kb >= RSS_CAP_MB * 1024:
            raise MemoryCapExceeded(f"peak RSS {peak_kb // 1024} MB over the {RSS_CAP_MB} MB cap: {figures}")
        return figures
    finally:
        server.kill()
        database.close()


def test_t18_huge_initial_sync_killed_halfway_resumes_and_completes(tmp_path):
    """Pass: see the module docstring (50,000 rows, pages of 1,000)."""
    huge_sync_killed_halfway(tmp_path, 50_000, 1000, timeout=120)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, raises=MemoryCapExceeded, reason=(
    "open: the console's memory grows with the size of the initial sync, in the swap. 1,000,000 rows "
    "(VmHWM): peak ~194 MB while staging, ~656 MB at the swap, ~610 MB after it (50,000 rows: 140 / 150 MB). "
    "Not the Python sets of changed ids (gone: apply_staged reports 'any row' above 5,000 ids, and the loop "
    "lag fell from 425 to 28 ms) and not the writer's temp_store (FILE made no difference): inside SQLite's "
    "swap transaction or the allocator, not yet found"))
def test_t18_million_rows_initial_sync_killed_halfway(tmp_path):
    """Pass: the same with 1,000,000 rows in the engine's own page size (5,000)."""
    huge_sync_killed_halfway(tmp_path, 1_000_000, 5000, timeout=1200)
