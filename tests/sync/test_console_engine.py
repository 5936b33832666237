"""The console's sync engine against a real server: exactly once, nothing lost, conflicts visible."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.store.search import search
from app.sync import transport as T
from console_harness import NOW
from sync_world import STREET1, TEAM1


def incident(**over):
    data = {"title": "11·23 北京街水浸", "category": "natural", "severity": "IV", "status": "reported",
            "occurred_at": NOW, "org_unit_id": STREET1, "lon": 113.27, "lat": 23.13}
    data.update(over)
    return data


def test_change_on_one_console_reaches_another_once(consoles):
    a, b = consoles("officer_s1"), consoles("officer_d")
    inc = a.create("incident", incident())
    log = a.create("duty_log_entry", {"kind": "receive", "body": "接市民报告北京街水浸约30厘米",
                                      "occurred_at": NOW, "incident_id": inc, "org_unit_id": STREET1})
    assert a.waiting() == 2
    a.sync()
    assert a.waiting() == 0
    assert [m["status"] for m in a.outbox()] == ["applied", "applied"]
    assert a.get("incident", inc)["server_rev"] is not None  # confirmed by the pull that followed
    b.sync()
    assert b.get("incident", inc)["title"] == "11·23 北京街水浸"
    assert [h.id for h in b.store.read(search, "水浸", ["duty_log_entry"])] == [log]
    b.sync()
    assert b.count("duty_log_entry") == a.count("duty_log_entry")


def test_work_done_while_the_server_is_down_arrives_exactly_once(server, consoles):
    a, b = consoles("officer_s1"), consoles("officer_d")
    a.sync()
    server.kill()
    for i in range(30):
        a.create("duty_log_entry", {"kind": "watch", "body": f"停电期间巡查第{i}次", "occurred_at": NOW,
                                    "org_unit_id": STREET1})
    with pytest.raises(T.Offline):
        a.sync()
    assert a.waiting() == 30  # nothing dropped while offline
    server.start()
    a.sync()
    b.sync()
    assert a.waiting() == 0
    assert b.count("duty_log_entry") == 30
    assert len(b.store.read(search, "停电")) == 30


class DropResponseAfterPush(T.SyncTransport):
    """The server commits the batch, then the answer is lost on the way back."""

    drops = 1

    def push(self, body):
        answer = super().push(body)
        if self.drops:
            self.drops -= 1
            raise T.Offline("connection reset after the server committed")
        return answer


def test_lost_push_answer_is_retried_with_the_same_ids_and_applied_once(server, consoles):
    a = consoles("officer_s1", DropResponseAfterPush(server.base))
    b = consoles("officer_d")
    for i in range(5):
        a.create("duty_log_entry", {"kind": "note", "body": f"重复测试{i}", "occurred_at": NOW,
                                    "org_unit_id": STREET1})
    ids_before = [m["mutation_id"] for m in a.outbox()]
    with pytest.raises(T.Offline):
        a.sync()
    assert a.waiting() == 5
    a.sync()  # the same mutation ids go again; the server replays its stored results
    assert [m["mutation_id"] for m in a.outbox()] == ids_before
    assert {m["status"] for m in a.outbox()} == {"applied"}
    b.sync()
    assert b.count("duty_log_entry") == 5


def test_same_field_edited_on_two_consoles_keeps_the_later_and_shows_a_conflict_on_both(consoles):
    a, b = consoles("officer_s1"), consoles("officer_s1b")
    inc = a.create("incident", incident())
    a.sync()
    b.sync()
    a.patch("incident", inc, {"summary": "积水30厘米"})
    b.patch("incident", inc, {"summary": "积水50厘米，有车辆被困"})
    a.patch("incident", inc, {"dead": 0})
    a.sync()
    b.sync()  # B arrives later: its value wins, and the conflict is recorded
    a.sync()
    for c in (a, b):
        row = c.get("incident", inc)
        assert row["summary"] == "积水50厘米，有车辆被困"
        assert row["dead"] == 0  # a different field merged silently
        assert c.count("sync_conflict") == 1
        assert c.engine.status.conflicts == 1


def test_two_consoles_dispatching_the_same_team_leave_one_active_dispatch_and_a_conflict(consoles):
    a, b = consoles("officer_s1"), consoles("officer_s1b")
    inc = a.create("incident", incident())
    a.sync()
    b.sync()
    for c in (a, b):
        c.create("dispatch", {"team_id": TEAM1, "incident_id": inc, "state": "ordered", "ordered_at": NOW,
                              "org_unit_id": STREET1})
    a.sync()
    b.sync()
    a.sync()
    from app.store.schema import table_for

    d = table_for("dispatch")
    active = a.count("dispatch", d.c.state.in_(("ordered", "en_route", "on_scene")))
    assert active == 1
    assert a.count("sync_conflict") == 1 and b.engine.status.conflicts == 1


def test_server_restored_from_backup_gets_back_what_it_lost(server, database, consoles, tmp_path):
    if database.backend != "sqlite":
        pytest.skip("the snapshot here copies the SQLite file; PostgreSQL restores use pg_dump")
    import shutil

    a, b = consoles("officer_s1"), consoles("officer_d")
    a.create("duty_log_entry", {"kind": "note", "body": "备份前", "occurred_at": NOW, "org_unit_id": STREET1})
    a.sync()
    db_file = database.url.removeprefix("sqlite:///")
    server.kill()
    shutil.copy(db_file, tmp_path / "backup.db")
    for suffix in ("-wal", "-shm"):
        if (p := pathlib_path(db_file + suffix)).exists():
            shutil.copy(p, tmp_path / f"backup.db{suffix}")
    server.start()
    for i in range(3):
        a.create("duty_log_entry", {"kind": "note", "body": f"备份后{i}", "occurred_at": NOW,
                                    "org_unit_id": STREET1})
    a.sync()
    assert a.waiting() == 0
    # Disaster: the server is restored from the backup taken before those three entries,
    # and the restore runbook rotates the epoch.
    server.kill()
    shutil.copy(tmp_path / "backup.db", db_file)
    for suffix in ("-wal", "-shm"):
        src = tmp_path / f"backup.db{suffix}"
        dst = pathlib_path(db_file + suffix)
        if src.exists():
            shutil.copy(src, dst)
        elif dst.exists():
            dst.unlink()
    rotate_epoch(database.url)
    server.start()
    a.sync()
    b.sync()
    assert b.count("duty_log_entry") == 4  # the three lost entries came back from the console


def pathlib_path(p):
    import pathlib

    return pathlib.Path(p)


def rotate_epoch(url):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "app.server", "rotate-epoch", "--database-url", url], check=True,
                   capture_output=True)


def test_event_from_the_server_wakes_the_other_console(server, consoles):
    a, b = consoles("officer_s1"), consoles("officer_d")

    async def scenario():
        b.engine.start()
        try:
            await asyncio.wait_for(_until(lambda: b.engine.status.state == "synced"), 20)
            rid = a.create("incident", incident(title="事件推送测试"))
            await asyncio.get_running_loop().run_in_executor(None, a.sync)
            await asyncio.wait_for(_until(lambda: b.get("incident", rid) is not None), 10)
        finally:
            b.engine.stop()

    asyncio.run(scenario())


async def _until(condition):
    while not condition():
        await asyncio.sleep(0.02)  # polling an observable condition, bounded by wait_for


def test_outbox_carried_out_on_a_usb_stick_is_imported_once_and_later_push_changes_nothing(
        server, consoles, tmp_path):
    import json as _json

    import requests

    from app.services.sneakernet import export_outbox
    from sync_world import password

    a, b = consoles("officer_s1"), consoles("officer_d")
    for i in range(620):  # more than one file's worth (500)
        a.create("duty_log_entry", {"kind": "note", "body": f"断网期间第{i}条", "occurred_at": NOW,
                                    "org_unit_id": STREET1})
    files = export_outbox(a.ctx, tmp_path / "usb")
    assert len(files) == 2
    leader = requests.post(f"{server.base}/api/v1/auth/login", json={
        "username": "leader", "password": password("leader"), "device_id": str(uuid.uuid4())}).json()
    headers = {"Authorization": f"Bearer {leader['access_token']}"}
    for _ in range(2):  # imported twice by mistake
        for f in files:
            r = requests.post(f"{server.base}/api/v1/sync/import", headers=headers,
                              data=f.read_bytes(), timeout=30)
            assert r.status_code == 200, r.text
    b.sync()
    assert b.count("duty_log_entry") == 620
    a.sync()  # the same mutations, pushed when the link comes back: replays, nothing new
    assert a.waiting() == 0
    b.sync()
    assert b.count("duty_log_entry") == 620
    doc = _json.loads(files[0].read_text(encoding="utf-8"))
    doc["mutations"][0]["payload"]["body"] = "篡改"
    r = requests.post(f"{server.base}/api/v1/sync/import", headers=headers, json=doc, timeout=30)
    assert r.status_code in (401, 403, 422), r.text  # a tampered file is refused


def test_console_clock_an_hour_fast_is_measured_against_the_server(consoles, monkeypatch):
    import datetime as dt

    from app.domain import clock

    a = consoles("officer_s1")
    a.sync()
    assert abs(a.engine.status.clock_offset_s) < 5
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + dt.timedelta(hours=1))
    a.sync()
    assert -3605 < a.engine.status.clock_offset_s < -3595


def test_collector_is_running_again_after_a_pull_that_failed(server, consoles):
    import gc

    a = consoles("officer_s1")
    server.kill()
    with pytest.raises(T.Offline):
        a.sync()
    assert gc.isenabled()
    server.start()
    a.sync()
    assert gc.isenabled()
