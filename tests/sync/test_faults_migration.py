"""T17 of SYNC_RESEARCH.md §4: schema migration while offline, and a server newer than the console.

* A console cache made by an older release (console schema revision 0002 or 0003) holds queued
  changes written as that release wrote them (records.create / records.patch: change and outbox
  row in one transaction). Today's console opens it (Alembic upgrades it on start), signs in and
  syncs to a real server: the queue is untouched by the upgrade, every change arrives exactly
  once (the server's ledger), the cache is searchable, and a second round changes nothing.
* A server that no longer serves this console's record schema (its ``min_schema_version`` is
  newer) answers 426: the console says "update required" and keeps its whole queue, unsent,
  for the upgraded console to send; with nothing queued the pull says the same.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
import requests
import sqlalchemy as sa

import sync_world as world
from app.services import sync_status as S
from app.store import migrate, records
from app.store.db import make_engine
from app.store.device import ensure_device
from app.store.schema import APPLICATION_ID
from app.store.search import search
from app.sync import transport as T
from console_harness import NOW, LiveConsole
from faults import FaultServer
from sync_live import ROOT, SECRET, free_port, incident, wait_until


def _old_cache(path, revision: str, author: str) -> dict[str, str]:
    """A cache at ``revision`` with changes queued offline, as the release of that revision made them."""
    engine = make_engine(path, immediate=True)
    ids: dict[str, str] = {}
    with engine.connect() as conn:
        migrate.upgrade(conn, revision)
        conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")  # as Store stamps every cache
        assert migrate.current(conn) == revision
        conn.commit()
        with conn.begin():
            ensure_device(conn)
        with conn.begin():
            ids["incident"] = records.create(conn, "incident", incident(
                world.STREET1, title="迁移前离线登记的山体滑坡", summary="越秀山南坡落石"), author_id=author, now=NOW)
        with conn.begin():
            records.patch(conn, "incident", ids["incident"], {"severity": "III", "status": "verified"},
                          author_id=author, now=NOW)
        with conn.begin():
            ids["log"] = records.create(conn, "duty_log_entry", {
                "kind": "receive", "body": "离线接报：越秀山南坡落石，已通知北京街道",
                "occurred_at": NOW, "incident_id": ids["incident"], "org_unit_id": world.STREET1},
                author_id=author, now=NOW)
        with conn.begin():
            ids["movement"] = records.create(conn, "stock_movement", {
                "warehouse_id": world.WAREHOUSE1, "item_id": world.ITEM1, "delta": 12, "reason": "inbound"},
                author_id=author, now=NOW)
    engine.dispose()
    return ids


def _outbox(path) -> list[dict]:
    engine = make_engine(path, immediate=True)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.exec_driver_sql(
                "SELECT mutation_id, device_seq, entity, entity_id, op, payload, base_rev, author_id, "
                "client_time, schema_version, status FROM outbox ORDER BY device_seq").mappings()]
    finally:
        engine.dispose()


def _ledger(database, device_id: str) -> list[tuple[str, str]]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT mutation_id, outcome FROM processed_mutation WHERE device_id = :d ORDER BY device_seq"),
            {"d": device_id})]


@pytest.mark.parametrize("revision", ["0002", "0003"])
def test_queue_written_by_an_older_console_survives_the_upgrade_and_arrives_exactly_once(
        revision, server, database, tmp_path):
    path = tmp_path / "officer_s1.db"
    ids = _old_cache(path, revision, world.user_id("officer_s1"))
    before = _outbox(path)
    assert [m["device_seq"] for m in before] == [1, 2, 3, 4]
    assert {m["status"] for m in before} == {"pending"}

    console = LiveConsole(server, tmp_path, "officer_s1")  # today's console: migrates on start
    try:
        assert console.store.read(migrate.current) == migrate.head()
        assert _outbox(path) == before, "the upgrade altered the queued changes"
        # Searchable straight after the upgrade, before any sync.
        assert ids["incident"] in {h.id for h in console.store.read(search, "山体滑坡")}

        console.sync()
        device = console.ctx.device_id
        ledger = _ledger(database, device)
        assert [mid for mid, _ in ledger] == [m["mutation_id"] for m in before]  # each once, in order
        assert {outcome for _, outcome in ledger} == {"applied"}
        assert console.waiting() == 0
        assert [m["status"] for m in console.outbox()] == ["applied"] * 4

        console.sync()  # a second round sends nothing and changes nothing
        assert _ledger(database, device) == ledger

        # What the server holds is what the old console typed, and a colleague receives it.
        colleague = LiveConsole(server, tmp_path, "officer_s1b")
        try:
            colleague.sync()
            got = colleague.get("incident", ids["incident"])
            assert got["title"] == "迁移前离线登记的山体滑坡" and got["severity"] == "III"
            assert got["status"] == "verified"
            assert colleague.get("duty_log_entry", ids["log"])["body"].startswith("离线接报")
            assert colleague.get("stock_movement", ids["movement"])["delta"] == 12
            assert ids["log"] in {h.id for h in colleague.store.read(search, "落石")}
        finally:
            colleague.close()
        assert {ids["incident"], ids["log"]} <= {h.id for h in console.store.read(search, "落石")}
    finally:
        console.close()


class NewerServer(FaultServer):
    """The real server, started as a release whose record schema is 2 and which no longer serves 1."""

    def start(self) -> NewerServer:
        port = free_port()
        code = ("import sys; from app.sync import wire; wire.SCHEMA_VERSION = 2; wire.MIN_SCHEMA_VERSION = 2; "
                "from app.server import cli; sys.exit(cli.main())")
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child for its lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--database-url", self.database_url, "--log-level", "warning"],
            cwd=ROOT, env=dict(os.environ, COMMAND_DESK_SECRET=SECRET, PYTHONPATH=str(ROOT)),
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.base = f"http://127.0.0.1:{port}"
        wait_until(self._healthy, timeout=30, what=f"server health ({self.log_path})")
        return self


@pytest.fixture
def newer_server(database, tmp_path):
    proc = NewerServer(database.url, tmp_path / "newer.log").start()
    yield proc
    proc.kill()


async def _run_until_settled(console) -> S.SyncStatus:
    """Run the engine's own loop (as the window does) until it reports a verdict other than syncing."""
    loop = asyncio.get_running_loop()
    settled: asyncio.Future = loop.create_future()

    def seen(status: S.SyncStatus) -> None:
        # Settled: a verdict, with the queue count refreshed after it (the status bar's "n 条待上传").
        if status.state != S.SYNCING and status.waiting == console.waiting() and not settled.done():
            settled.set_result(status)

    console.engine.subscribe(seen)
    console.engine.start()
    try:
        return await asyncio.wait_for(settled, timeout=30)
    finally:
        console.engine._task.cancel()
        console.engine._events_task.cancel()


def test_server_newer_than_the_console_means_update_required_and_the_queue_is_kept(newer_server, tmp_path):
    health = requests.get(f"{newer_server.base}/api/v1/health", timeout=5).json()
    assert health["schema_version"] == health["min_schema_version"] == 2

    console = LiveConsole(newer_server, tmp_path, "officer_s1")
    try:
        rid = console.create("incident", incident(world.STREET1, title="服务器已升级时登记"))
        queued = console.outbox()
        with pytest.raises(T.UpdateRequired):
            console.sync()
        assert console.outbox() == queued, "a refused upload touched the queue"

        status = asyncio.run(_run_until_settled(console))
        assert status.state == S.UPDATE_REQUIRED
        assert status.waiting == 1  # "需要升级 · 1 条待上传" in the status bar
        assert console.outbox() == queued
        assert console.get("incident", rid)["title"] == "服务器已升级时登记"  # still on screen locally

        # Writing locally goes on while the console waits for its update.
        console.patch("incident", rid, {"summary": "等待客户端升级"})
        assert console.waiting() == 2
    finally:
        console.close()


def test_pull_alone_says_update_required_when_the_server_no_longer_serves_this_console(newer_server, tmp_path):
    console = LiveConsole(newer_server, tmp_path, "officer_s2")
    try:
        assert console.waiting() == 0
        with pytest.raises(T.UpdateRequired):
            console.sync()
        assert console.count("incident") == 0  # nothing pulled in a schema this console cannot read
    finally:
        console.close()


def test_queued_payloads_are_stored_as_json_objects_the_server_accepts(tmp_path):
    """The old console's outbox payloads are plain JSON objects (no upcast needed for schema 1)."""
    ids = _old_cache(tmp_path / "c.db", "0003", world.user_id("officer_s1"))
    rows = _outbox(tmp_path / "c.db")
    assert [r["entity_id"] for r in rows] == [ids["incident"], ids["incident"], ids["log"], ids["movement"]]
    assert all(isinstance(json.loads(r["payload"]), dict) and r["schema_version"] == 1 for r in rows)
