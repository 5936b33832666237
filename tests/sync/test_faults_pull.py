"""Pull under faults (SYNC_RESEARCH.md §4 T7, T13, T19): kills mid catch-up, bad pages, hostile
servers, the tombstone horizon. One real server per module; T19 moves its 410 horizon and so
runs last (later consoles start from cursor 0, which a horizon never refuses).
"""

from __future__ import annotations

import asyncio
import json
import resource
import uuid

import pytest
import sqlalchemy as sa

from app.server.tables import sync_meta
from app.services import sync_engine
from app.store import pull as pl
from app.store.device import read_state
from app.store.schema import pull_staging
from app.sync import transport as T
from console_harness import NOW, LiveConsole
from faults import (
    Child,
    FaultTransport,
    HostileServer,
    assert_converged,
    assert_local_integrity,
    cache_snapshot,
    cli,
    corrupt,
    local_rows,
    module_server,
    pull_cursors,
    pull_only,
    sqlite_only,
    truncate,
)
from sync_live import Console, incident, new_id
from sync_world import STREET1

database, server = module_server("pull")


@pytest.fixture
def consoles(server, tmp_path):
    made = []

    def make(username="officer_d", transport=None):
        c = LiveConsole(server, tmp_path, username, transport)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def push_incidents(server, n: int, tag: str) -> list[str]:
    """n incidents in STREET1, one push (one revision) each."""
    w = Console(server, "officer_s1")
    assert w.login().status_code == 200
    ids = []
    for i in range(n):
        rid = new_id()
        w.push_one("incident", rid, "create", incident(STREET1, title=f"{tag}-{i}"))
        ids.append(rid)
    return ids


def visible(c, ids) -> set[str]:
    rows = local_rows(c)
    return {rid for rid in ids if ("incident", rid) in rows and not rows[("incident", rid)]["deleted"]}


# ---------------------------------------------------------------------------------------------
# T7 pull interrupted


def test_t7_console_killed_mid_catch_up_resumes_from_staging_cursor_and_shows_nothing_half(
        consoles, server, tmp_path):
    """Pass: a console SIGKILLed after some pages are staged and before the swap shows none of
    them (old state intact, pull_cursor unchanged); restarted, it resumes from staging_cursor
    (not 0, not the old cursor) and converges (I4)."""
    c = consoles()
    c.sync()
    before = cache_snapshot(c)
    c.close()
    ids = push_incidents(server, 24, "t7kill")

    child = Child("pull-hang", server.base, tmp_path, "officer_d", "4", "3")
    try:
        staged_at = int(child.expect("staged").split()[1])
    finally:
        child.kill()

    c = consoles(transport=FaultTransport(""))
    after = cache_snapshot(c)
    assert after["cursors"]["pull_cursor"] == before["cursors"]["pull_cursor"]
    assert after["cursors"]["staging_cursor"] == staged_at > before["cursors"]["pull_cursor"]
    assert len(after["staged"]) == 8  # two pages of four revisions, durable in staging
    assert after["rows"] == before["rows"]  # nothing half-visible before the swap
    assert not visible(c, ids)
    c.sync()
    assert pull_cursors(c.engine.transport.faults)[0] == staged_at  # resumed, not restarted
    assert visible(c, ids) == set(ids)
    assert_converged(c, server)
    assert_local_integrity(c)


def test_t7_truncated_page_is_rejected_whole_and_the_next_round_completes(consoles, server, database,
                                                                         monkeypatch):
    """Pass: a page cut short in transit is rejected: nothing applied, pull_cursor unchanged,
    nothing of it staged; the next round resumes from the last good page and converges."""
    sqlite_only(database, "page handling is the console's; the server only supplies pages")
    monkeypatch.setattr(sync_engine, "PAGE_SIZE", 4)
    c = consoles(transport=FaultTransport(""))
    c.sync()
    before = cache_snapshot(c)
    ids = push_incidents(server, 10, "t7trunc")
    faults = c.engine.transport.faults
    faults.once("/sync/pull", lambda a, r, kw: a.forward(r, kw))  # the first page passes
    faults.once("/sync/pull", truncate)
    with pytest.raises(T.BadResponse):
        c.sync()
    after = cache_snapshot(c)
    assert after["rows"] == before["rows"] and after["outbox"] == before["outbox"]
    assert after["cursors"]["pull_cursor"] == before["cursors"]["pull_cursor"]
    assert len(after["staged"]) == 4  # only the good first page
    asked = len(pull_cursors(faults))
    c.sync()
    assert pull_cursors(faults)[asked] == after["cursors"]["staging_cursor"]
    assert visible(c, ids) == set(ids)
    assert_converged(c, server)


def test_t7_corrupt_page_is_rejected_atomically(consoles, server, database, monkeypatch):
    """Pass: a page whose last row breaks revision order is refused as a whole: not one of its
    rows staged or applied, cursors unchanged; healed, the console converges."""
    sqlite_only(database, "page handling is the console's; the server only supplies pages")
    monkeypatch.setattr(sync_engine, "PAGE_SIZE", 4)
    c = consoles(transport=FaultTransport(""))
    c.sync()
    before = cache_snapshot(c)
    push_incidents(server, 6, "t7corrupt")

    def break_order(page):
        page["changes"][-1]["rev"] = page["changes"][0]["rev"] - 1
        return page

    c.engine.transport.faults.once("/sync/pull", corrupt(break_order))
    with pytest.raises(pl.BadPage):
        c.sync()
    assert cache_snapshot(c) == before
    c.sync()
    assert_converged(c, server)


# ---------------------------------------------------------------------------------------------
# T13 hostile server payloads


class Hostile:
    """Answers of a misbehaving server, keyed by a case name the test switches."""

    def __init__(self, epoch: str):
        self.epoch = epoch
        self.case = "ok"
        self.device_seq: object = 0
        self.start = 0

    def page(self, changes, next_cursor, has_more=False, **extra):
        body = {"changes": changes, "next_cursor": next_cursor, "has_more": has_more,
                "high_watermark": next_cursor, "min_valid_cursor": 0, "server_epoch": self.epoch,
                "server_time": NOW}
        body.update(extra)
        return body

    @staticmethod
    def row(rev, rid=None, entity="incident", deleted=False, **data):
        base = {} if deleted else incident(STREET1, title="敌意服务器")
        base.update(data)
        return {"entity": entity, "id": rid or new_id(), "rev": rev, "deleted": deleted, "data": base,
                "field_rev": {}}

    def __call__(self, method, path, query, body):
        if path.endswith("/health"):
            return 200, {"status": "ok", "schema_version": 1, "server_time": NOW, "server_epoch": self.epoch}
        if path.endswith("/auth/refresh") or path.endswith("/auth/login"):
            return 401, {"error": {"code": "bad_credentials", "message": "no"}}
        if path.endswith("/sync/device-state"):
            return 200, {"device_id": "x", "last_device_seq": self.device_seq, "server_epoch": self.epoch,
                         "current_rev": 0}
        if path.endswith("/sync/push"):
            return self.push(json.loads(body))
        c = int(query.get("cursor", 0))
        return self.pull(c)

    def push(self, body):
        n = len(body["mutations"])
        if self.case == "unknown-results":
            return 200, {"results": [{"mutation_id": str(uuid.uuid4()), "outcome": "applied", "rev": 1}
                                     for _ in range(n)], "server_rev": 1, "last_device_seq": 0,
                         "server_epoch": self.epoch, "server_time": NOW}
        if self.case == "odd-outcomes":
            return 200, {"results": [{"mutation_id": m["mutation_id"], "outcome": "maybe"}
                                     for m in body["mutations"]], "server_rev": 1}
        if self.case == "results-not-list":
            return 200, {"results": "all good"}
        if self.case == "unhashable-ids":
            return 200, {"results": [{"mutation_id": [m["mutation_id"]], "outcome": "applied"}
                                     for m in body["mutations"]]}
        if self.case == "gap-forever":
            return 409, {"error": {"code": "sequence_gap", "message": "again", "expected_device_seq": 1}}
        return 503, b"busy"

    def pull(self, c):
        row, page = self.row, self.page
        cases = {
            "malformed-json": lambda: b'{"changes": [{"entity": "incident", "id": ',
            "html": lambda: b"<html><body>proxy login</body></html>",
            "not-an-object": lambda: [1, 2, 3],
            "changes-not-a-list": lambda: page("nope", c + 1),
            "rev-a-string": lambda: page([row(str(c + 1))], c + 1),
            "rev-a-bool": lambda: page([row(True)], c + 1),
            "next-cursor-a-string": lambda: page([row(c + 1)], str(c + 1)),
            "data-a-list": lambda: page([dict(row(c + 1), data=[1, 2])], c + 1),
            "unknown-entity": lambda: page([row(c + 1, entity="account")], c + 1),
            "entity-a-list": lambda: page([row(c + 1, entity=["incident"])], c + 1),
            "deleted-a-string": lambda: page([dict(row(c + 1), deleted="false")], c + 1),
            "entity-with-sql": lambda: page([row(c + 1, entity="incident; DROP TABLE incident; --")], c + 1),
            "id-with-sql": lambda: page([row(c + 1, rid="x'); DROP TABLE outbox; --")], c + 1),
            "cursor-backwards": lambda: page([], c - 1),
            "rev-not-after-cursor": lambda: page([row(c)], c + 1),
            "rev-beyond-next-cursor": lambda: page([row(c + 9)], c + 2),
            "revs-out-of-order": lambda: page([row(c + 3), row(c + 2)], c + 3),
            "has-more-without-progress": lambda: page([], c, has_more=True),
            "has-more-not-a-bool": lambda: page([row(c + 1)], c + 1, has_more="yes"),
            "field-rev-not-a-map": lambda: page([dict(row(c + 1), field_rev=["title"])], c + 1),
            "bad-second-page": lambda: (page([row(c + 1, title="第一页")], c + 1, has_more=True)
                                        if c == self.start else page([row(c + 1, rid="bad id")], c + 1)),
            "server-error": lambda: (500, b"oops"),
            "huge": lambda: (200, huge_body()),
            "sql-values": lambda: page([row(c + 1, rid=SQL_ID, title=SQL_TITLE, summary=SQL_SUMMARY,
                                            place=SQL_PLACE)], c + 1),
            "tombstone-unknown-id": lambda: page([row(c + 1, rid=GHOST_ID, deleted=True)], c + 1),
            "flipped-epoch": lambda: dict(page([row(c + 1, title="新纪元")], c + 1),
                                          server_epoch=str(uuid.uuid4())),
        }
        answer = cases[self.case]()
        return answer if isinstance(answer, tuple) else (200, answer)


def huge_body():
    """A 100 MB JSON body, streamed in chunks."""
    chunk = (json.dumps(Hostile.row(10**9)) + ",").encode()
    yield b'{"changes": ['
    sent = 0
    while sent < 100 * 1024 * 1024:
        block = chunk * 256
        sent += len(block)
        yield block
    yield b'{}], "next_cursor": 1000000000, "has_more": false}'


HOSTILE = "the server under test is a fake; the backend plays no part"
SQL_ID = str(uuid.uuid4())
GHOST_ID = str(uuid.uuid4())
SQL_TITLE = "'); DROP TABLE incident; --"
SQL_SUMMARY = 'x" OR "1"="1\'; DELETE FROM outbox WHERE 1=1; --'
SQL_PLACE = "北京街 ' UNION SELECT mutation_id FROM outbox --"

REJECTED = [
    ("malformed-json", T.BadResponse), ("html", T.BadResponse), ("not-an-object", pl.BadPage),
    ("changes-not-a-list", pl.BadPage), ("rev-a-string", pl.BadPage), ("rev-a-bool", pl.BadPage),
    ("next-cursor-a-string", pl.BadPage), ("data-a-list", pl.BadPage), ("unknown-entity", pl.BadPage),
    ("entity-a-list", pl.BadPage), ("deleted-a-string", pl.BadPage),
    ("entity-with-sql", pl.BadPage), ("id-with-sql", pl.BadPage), ("cursor-backwards", pl.BadPage),
    ("rev-not-after-cursor", pl.BadPage), ("rev-beyond-next-cursor", pl.BadPage),
    ("revs-out-of-order", pl.BadPage), ("has-more-without-progress", pl.BadPage),
    ("has-more-not-a-bool", pl.BadPage), ("field-rev-not-a-map", pl.BadPage), ("server-error", T.Offline),
    ("huge", T.BadResponse),
]


def test_t13_hostile_pull_pages_are_rejected_atomically_and_sql_in_values_is_stored_verbatim(
        consoles, server, database):
    """Pass, for each hostile answer: the expected error (no crash, no hang), the cache exactly as
    before (rows, outbox, cursors, staging), memory bounded for a 100 MB body; a valid page whose
    values carry SQL is stored verbatim and executes nothing; a tombstone for an unknown id shows
    no row; a second page that is bad leaves the good first page staged but invisible."""
    sqlite_only(database, HOSTILE)
    c = consoles("officer_s1")
    c.sync()
    pending = c.create("incident", dict(incident(STREET1), title="未上传的事件"))
    c.patch("incident", pending, {"summary": "本地修改"})
    hostile = Hostile(c.store.read(read_state)["server_epoch"])
    before = cache_snapshot(c)
    with HostileServer(hostile) as fake:
        c.engine.transport.base_url = fake.base
        failures = []
        for case, error in REJECTED:
            hostile.case = case
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            try:
                asyncio.run(asyncio.wait_for(pull_only(c), 10))
            except error:
                pass
            except BaseException as e:  # noqa: BLE001 - every case is reported below
                failures.append((case, f"raised {e!r}"))
            else:
                failures.append((case, "accepted"))
            if case == "huge":
                grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
                if grew_mb > 400:
                    failures.append((case, f"a 100 MB body raised the peak RSS by {grew_mb:.0f} MB"))
            if cache_snapshot(c) != before:
                failures.append((case, "cache changed"))
                c.store.write_sync(pl.reset_staging)
        assert not failures, "\n".join(map(str, failures))

        hostile.case, hostile.start = "bad-second-page", before["cursors"]["pull_cursor"]
        with pytest.raises(pl.BadPage):
            asyncio.run(asyncio.wait_for(pull_only(c), 10))
        after = cache_snapshot(c)
        assert after["rows"] == before["rows"] and after["outbox"] == before["outbox"]
        assert after["cursors"]["pull_cursor"] == before["cursors"]["pull_cursor"]
        c.store.write_sync(pl.reset_staging)  # the operator points the console back at its real server

        hostile.case = "sql-values"
        asyncio.run(pull_only(c))
        row = c.get("incident", SQL_ID)
        assert (row["title"], row["summary"], row["place"]) == (SQL_TITLE, SQL_SUMMARY, SQL_PLACE)
        assert c.outbox() == before["outbox"]  # nothing executed, the queue untouched
        assert c.get("incident", pending)["summary"] == "本地修改"  # the unsent edit survives the pull

        hostile.case = "tombstone-unknown-id"
        visible_before = c.count("incident")
        asyncio.run(pull_only(c))
        assert c.count("incident") == visible_before
        ghost = c.get("incident", GHOST_ID)
        assert ghost is None or ghost["deleted"]
    assert_local_integrity(c)


def test_t13_hostile_push_answers_never_spin_or_settle_the_queue(consoles, server, database):
    """Pass: push answers naming unknown mutation ids, with unknown outcomes, or without a result
    list: the round ends with an error within the deadline (no busy loop: at most two pushes),
    and every queued mutation stays pending, untouched."""
    sqlite_only(database, HOSTILE)
    c = consoles("officer_s1", transport=FaultTransport(""))
    c.sync()
    for i in range(3):
        c.create("duty_log_entry", {"kind": "note", "body": f"t13push-{i}", "occurred_at": NOW})
    before = c.outbox()
    hostile = Hostile(c.store.read(read_state)["server_epoch"])
    faults = c.engine.transport.faults
    with HostileServer(hostile) as fake:
        c.engine.transport.base_url = fake.base
        for case in ("unknown-results", "odd-outcomes", "results-not-list", "unhashable-ids",
                     "gap-forever"):
            hostile.case = case
            pushes = faults.count("/sync/push")
            with pytest.raises(T.TransportError):
                asyncio.run(asyncio.wait_for(c.engine.sync_once(), 10))
            assert faults.count("/sync/push") - pushes <= 2, case
            assert c.outbox() == before, case
    c.sync()  # back on the real server: everything settles once
    assert {m["status"] for m in c.outbox()} == {"applied"}


def test_t13_flipped_epoch_from_a_server_forces_a_resync_that_loses_nothing(consoles, server, database):
    """Pass: a page announcing another epoch applies nothing; the console re-queues from the
    server's last_device_seq and resyncs from 0 (the designed restore path) without losing or
    altering any outbox row; back on the real server it replays, converges, same outcomes."""
    sqlite_only(database, HOSTILE)
    c = consoles("officer_s1")
    for i in range(3):
        c.create("duty_log_entry", {"kind": "note", "body": f"t13epoch-{i}", "occurred_at": NOW})
    c.sync()
    c.create("duty_log_entry", {"kind": "note", "body": "t13epoch-pending", "occurred_at": NOW})
    before = cache_snapshot(c)
    hostile = Hostile(before["cursors"]["server_epoch"])
    with HostileServer(hostile) as fake:
        c.engine.transport.base_url = fake.base
        hostile.case = "flipped-epoch"
        assert asyncio.run(pull_only(c)) == "epoch_changed"
    after = cache_snapshot(c)
    assert after["rows"] == before["rows"]  # nothing of the page applied
    keep = ("mutation_id", "device_seq", "entity", "entity_id", "op", "payload", "base_rev", "author_id")
    assert [{k: m[k] for k in keep} for m in after["outbox"]] == [{k: m[k] for k in keep}
                                                                    for m in before["outbox"]]
    c.sync()
    assert [m["status"] for m in c.outbox()] == ["applied"] * 4
    assert [m["result"] for m in c.outbox()][:3] == [m["result"] for m in before["outbox"]][:3]
    assert_converged(c, server)


# ---------------------------------------------------------------------------------------------
# T19 tombstone horizon (moves the module server's 410 horizon: keep last)


def test_t19_purged_tombstones_give_410_and_a_full_resync_that_keeps_the_outbox(consoles, server, database):
    """Pass: after `command-desk-server purge-tombstones`, a console whose cursor is below the
    horizon gets 410, resyncs from 0 keeping every queued change (and its local effect), shows
    no deleted row again (not even one it had confirmed), and an insert+delete in one revision
    never appears; then it pushes its queue and converges."""
    admin = Console(server, "admin")
    assert admin.login().status_code == 200
    gone, kept = new_id(), new_id()
    admin.push(admin.mutation("incident", gone, "create", incident(STREET1, title="将被删除")),
               admin.mutation("incident", kept, "create", incident(STREET1, title="保留")))
    a = consoles("officer_s1", transport=FaultTransport(""))
    a.sync()
    assert a.get("incident", gone) is not None
    # Offline for long: local work queues up while the administrator deletes and purges.
    a.engine.transport.faults.partitioned = True
    a.patch("incident", kept, {"summary": "离线期间的修改"})
    mine = a.create("incident", dict(incident(STREET1), title="离线新建"))
    queued = a.outbox()
    flash = new_id()
    admin.push(admin.mutation("incident", gone, "delete"),
               admin.mutation("incident", flash, "create", incident(STREET1, title="一闪而过")),
               admin.mutation("incident", flash, "delete"))
    with database.engine.connect() as conn:
        current = conn.execute(sa.select(sync_meta.c.current_rev)).scalar()
    purged = cli(database.url, "purge-tombstones", "--up-to-rev", str(current))
    assert int(purged.split()[1]) >= 2, purged

    a.engine.transport.faults.partitioned = False
    asyncio.run(pull_only(a))  # the pull alone, with the queue still unsent
    cursors = pull_cursors(a.engine.transport.faults)
    assert cursors[-2] > 0 and cursors[-1] == 0  # 410 on the old cursor, then the full resync
    assert a.outbox() == queued  # the outbox is kept
    assert a.get("incident", gone) is None  # not resurrected
    assert a.get("incident", flash) is None
    assert a.get("incident", kept)["summary"] == "离线期间的修改"
    assert a.get("incident", mine)["title"] == "离线新建"
    a.sync()
    assert {m["status"] for m in a.outbox()} == {"applied"}
    assert_converged(a, server)
    b = consoles("officer_d")
    b.sync()
    assert b.get("incident", gone) is None and b.get("incident", flash) is None
    assert_converged(b, server)
    staged = sa.select(sa.func.count()).select_from(pull_staging)
    assert b.store.read(lambda conn: conn.execute(staged).scalar()) == 0

