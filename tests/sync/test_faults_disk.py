"""T20 (SYNC_RESEARCH.md §4): the console's disk fills up during a pull.

The "disk" is the cache file held to its current size with SQLite's ``PRAGMA
max_page_count`` on the writer's connection: every write that needs one more page
fails with SQLITE_FULL exactly as on a full disk, and raising the limit again is
"freeing space". Real server, real cache file.
"""

from __future__ import annotations

import pytest

from app.services import sync_engine
from app.store import pull as pl
from app.store.db import DiskFullError
from app.store.device import read_state
from console_harness import LiveConsole
from faults import assert_converged, assert_local_integrity, cache_snapshot, local_rows, module_server
from sync_live import Console, incident, new_id
from sync_world import STREET1

database, server = module_server("disk")

ROOMY = 1_073_741_823  # SQLite's default max_page_count


@pytest.fixture
def consoles(server, tmp_path):
    made = []

    def make(username="officer_d"):
        c = LiveConsole(server, tmp_path, username)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def disk_full_now(conn) -> None:
    """No page beyond those the file has (free pages inside it can still be reused)."""
    pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    conn.exec_driver_sql(f"PRAGMA max_page_count={pages}")


def space_freed(conn) -> None:
    conn.exec_driver_sql(f"PRAGMA max_page_count={ROOMY}")


def push_bulky_incidents(server, n: int) -> list[str]:
    w = Console(server, "officer_s1")
    assert w.login().status_code == 200
    ids = []
    for i in range(n):
        rid = new_id()
        w.push_one("incident", rid, "create", incident(STREET1, title=f"t20-{i}", summary="现场情况" * 700))
        ids.append(rid)
    return ids


def staged_revs_within_cursor(c) -> bool:
    state = c.store.read(read_state)
    return all(rev <= state["staging_cursor"] for _e, _i, rev in c.store.read(pl.staged_changes))


def test_t20_disk_full_while_staging_and_during_the_swap_then_sync_resumes(consoles, server, monkeypatch):
    """Pass: a full disk while pages are staged, then again during the swap, each fails the
    round with DiskFullError and leaves the cache consistent (integrity check ok), the rows as
    before, pull_cursor unmoved and nothing staged beyond staging_cursor; once space is freed
    the next round finishes from where staging stopped and the console converges."""
    monkeypatch.setattr(sync_engine, "PAGE_SIZE", 5)
    c = consoles()
    c.sync()
    before = cache_snapshot(c)
    ids = push_bulky_incidents(server, 30)  # ~84 KB of text: more than the free pages inside the file

    # 1. The disk fills while pages are being staged.
    c.store.write_sync(disk_full_now)
    with pytest.raises(DiskFullError):
        c.sync()
    mid = cache_snapshot(c)
    assert mid["rows"] == before["rows"] and mid["outbox"] == before["outbox"]
    assert mid["cursors"]["pull_cursor"] == before["cursors"]["pull_cursor"]
    assert staged_revs_within_cursor(c)
    assert_local_integrity(c)

    # 2. Room for the pages, none for the swap: the whole swap is refused, the pages stay staged.
    c.store.write_sync(space_freed)
    real_apply = pl.apply_staged

    def apply_on_a_full_disk(conn):
        disk_full_now(conn)
        return real_apply(conn)

    monkeypatch.setattr(pl, "apply_staged", apply_on_a_full_disk)
    with pytest.raises(DiskFullError):
        c.sync()
    swap = cache_snapshot(c)
    assert swap["rows"] == before["rows"] and swap["outbox"] == before["outbox"]
    assert swap["cursors"]["pull_cursor"] == before["cursors"]["pull_cursor"]
    staged_ids = {i for _e, i, _r in c.store.read(pl.staged_changes)}
    assert set(ids) <= staged_ids  # everything downloaded is still staged, durable
    assert swap["cursors"]["staging_cursor"] == swap["cursors"]["staging_target"]
    assert_local_integrity(c)

    # 3. Space freed: the next round resumes from staging (no page asked twice) and converges.
    monkeypatch.setattr(pl, "apply_staged", real_apply)
    c.store.write_sync(space_freed)
    c.sync()
    rows = local_rows(c)
    assert all(("incident", rid) in rows for rid in ids)
    assert c.store.read(pl.staged_changes) == []
    assert c.store.read(read_state)["pull_cursor"] >= swap["cursors"]["staging_cursor"]
    assert_converged(c, server)
    assert_local_integrity(c)

