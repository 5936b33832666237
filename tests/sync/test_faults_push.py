"""Push under faults (SYNC_RESEARCH.md §4 T3-T6): kills, lost answers, duplicates, reordering, gaps.

Every test runs against the real server process; the faults are injected around it. The
module shares one server (a fresh device, warehouse and records per test keep the tests
apart); the server is the real application wrapped in fault_server.FaultMiddleware, which
does nothing unless a request carries the X-Test-Fault header.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import threading

import pytest
import sqlalchemy as sa

from app.server.tables import sync_meta
from app.services import sync_status as S
from app.services.sneakernet import export_outbox
from app.store import outbox as ob
from app.sync import transport as T
from console_harness import NOW, LiveConsole
from faults import (
    Child,
    FaultTransport,
    assert_audit_chain,
    assert_converged,
    assert_local_integrity,
    assert_nothing_lost_exactly_once,
    cli,
    drop_mutation,
    drop_response,
    duplicate,
    hold,
    ledger,
    module_server,
    release_then_forward,
    server_holds_write_lock,
    server_records,
    split_reorder,
    stock,
    wait_until,
    with_header,
)
from sync_live import Console, new_id
from sync_world import ITEM1, STREET1

database, server = module_server("push", middleware=True)


@pytest.fixture
def consoles(server, tmp_path):
    made = []

    def make(username="officer_s1", transport=None, folder=None):
        c = LiveConsole(server, folder or tmp_path, username, transport)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def warehouse(c) -> str:
    return c.create("warehouse", {"name": f"仓库{new_id()[:6]}", "area_m2": 80.0, "org_unit_id": STREET1})


def entry(c, tag: str, i: int) -> str:
    return c.create("duty_log_entry", {"kind": "note", "body": f"{tag}-{i}", "occurred_at": NOW,
                                       "org_unit_id": STREET1})


def move(c, wh: str, delta: int) -> str:
    return c.create("stock_movement", {"warehouse_id": wh, "item_id": ITEM1, "delta": delta,
                                       "reason": "inbound" if delta > 0 else "allocation",
                                       "org_unit_id": STREET1})


def bulk(c, wh: str, tag: str, logs: int, deltas: list[int]) -> None:
    """Many local writes in few transactions (each record with its outbox row, as ever)."""
    from app.store import records

    def write(conn, lo, hi):
        for i in range(lo, hi):
            records.create(conn, "duty_log_entry", {"kind": "note", "body": f"{tag}-{i}", "occurred_at": NOW,
                                                    "org_unit_id": STREET1}, author_id=c.ctx.user.id, now=NOW)
            if i < len(deltas):
                records.create(conn, "stock_movement", {
                    "warehouse_id": wh, "item_id": ITEM1, "delta": deltas[i], "org_unit_id": STREET1,
                    "reason": "inbound" if deltas[i] > 0 else "allocation"}, author_id=c.ctx.user.id, now=NOW)

    for lo in range(0, logs, 100):
        c.store.write_sync(write, lo, min(logs, lo + 100))


def logs_tagged(database, tag: str) -> list:
    return server_records(database, "duty_log_entry", lambda d: str(d.get("body", "")).startswith(f"{tag}-"))


def assert_stock_exact(database, wh: str, expected: int) -> None:
    qty, moved = stock(database, wh, ITEM1)
    assert qty == moved == expected, (qty, moved, expected)


# ---------------------------------------------------------------------------------------------
# T3 client killed mid-push


def test_t3_console_killed_after_sending_resends_the_same_ids_and_the_ledger_keeps_one_row_each(
        consoles, server, database, tmp_path):
    """Pass: after SIGKILL between the server's answer and storing it, the restarted console
    re-sends exactly the same mutation ids; the ledger holds one row per id; I1-I3; stock exact."""
    c = consoles()
    wh = warehouse(c)
    deltas = [5, -2, 7, 1, -3]
    for i in range(20):
        entry(c, "t3", i)
    for d in deltas:
        move(c, wh, d)
    sent_before = [m["mutation_id"] for m in c.outbox()]
    device = c.ctx.device_id
    c.close()

    child = Child("push-hang", server.base, tmp_path, "officer_s1")
    try:
        child.expect("sent")
        # The server committed the batch; the console has not stored a single result.
        assert [r.mutation_id for r in ledger(database, device)] == sent_before
    finally:
        child.kill()

    c = consoles(transport=FaultTransport(server.base))
    assert [(m["mutation_id"], m["status"]) for m in c.outbox()] == [(m, "pending") for m in sent_before]
    c.sync()
    resent = [m["mutation_id"] for path, body in c.engine.transport.faults.sent if path.endswith("/sync/push")
              for m in body["mutations"]]
    assert resent == sent_before  # the same ids, in the same order, once
    assert_nothing_lost_exactly_once(database, c)
    assert len(logs_tagged(database, "t3")) == 20
    assert_stock_exact(database, wh, sum(deltas))
    assert_local_integrity(c)


# ---------------------------------------------------------------------------------------------
# T4 server dies mid-push


def test_t4a_server_killed_before_commit_loses_the_batch_and_the_retry_applies_it_once(
        consoles, server, database):
    """Pass: a SIGKILL while the server holds the write lock for a 500-mutation batch commits
    nothing; after restart the console re-sends identical ids; I1-I3; stock totals exact."""
    c = consoles()
    wh = warehouse(c)
    c.sync()
    device = c.ctx.device_id
    expected_stock = 0
    for attempt in range(5):
        deltas = [(i % 7) - 2 or 3 for i in range(60)]
        bulk(c, wh, f"t4a{attempt}", 440, deltas)
        expected_stock += sum(deltas)
        before = len(ledger(database, device))
        ids = [m["mutation_id"] for m in c.outbox() if m["status"] == "pending"]
        assert len(ids) == 500
        outcome: dict = {}

        def run(outcome=outcome):
            try:
                c.sync()
                outcome["ok"] = True
            except T.TransportError as e:
                outcome["error"] = e

        pusher = threading.Thread(target=run)
        pusher.start()
        wait_until(lambda: server_holds_write_lock(database), timeout=60, interval=0.002,
                   what="the server to start the batch")
        os.kill(server.proc.pid, signal.SIGSTOP)  # freeze it where it is
        if server_holds_write_lock(database):  # frozen inside the transaction: not committed
            server.kill()
            pusher.join(60)
            break
        os.kill(server.proc.pid, signal.SIGCONT)  # it committed in between; try again
        pusher.join(60)
    else:
        pytest.fail("never caught the server inside the push transaction")
    assert isinstance(outcome.get("error"), T.Offline), outcome
    assert len(ledger(database, device)) == before  # nothing of the batch was committed
    assert c.waiting() == 500

    server.start()
    c.sync()
    assert [m["mutation_id"] for m in c.outbox()][-500:] == ids
    assert_nothing_lost_exactly_once(database, c)
    assert_stock_exact(database, wh, expected_stock)
    assert_audit_chain(database)


def test_t4b_commit_then_lost_answer_is_replayed_from_the_ledger(consoles, database):
    """Pass: the server commits, the answer is lost; the retry carries identical ids and gets the
    stored results; one ledger row each; stock totals exact."""
    c = consoles(transport=FaultTransport(""))
    wh = warehouse(c)
    deltas = [10, -4, 6]
    for d in deltas:
        move(c, wh, d)
    entry(c, "t4b", 0)
    c.engine.transport.faults.once("/sync/push", drop_response)
    with pytest.raises(T.Offline):
        c.sync()
    c.sync()
    pushes = [b for p, b in c.engine.transport.faults.sent if p.endswith("/sync/push")]
    first, second = pushes[0], pushes[1]
    assert first == second  # identical ids, identical payloads
    assert_nothing_lost_exactly_once(database, c)
    assert_stock_exact(database, wh, sum(deltas))


def test_t4c_server_error_after_commit_is_retried_with_identical_ids(consoles, database):
    """Pass: a 500 after COMMIT (fault middleware) leaves the console offline with the queue kept;
    the retry replays the stored results; one ledger row each; stock totals exact."""
    c = consoles(transport=FaultTransport(""))
    wh = warehouse(c)
    deltas = [3, 3, -8]
    for d in deltas:
        move(c, wh, d)
    c.engine.transport.faults.once("/sync/push", with_header("X-Test-Fault", "500-after-commit"))
    with pytest.raises(T.Offline, match="500"):
        c.sync()
    assert c.waiting() == 4
    assert len(ledger(database, c.ctx.device_id)) == 4  # committed although the console got a 500
    c.sync()
    assert_nothing_lost_exactly_once(database, c)
    assert_stock_exact(database, wh, sum(deltas))


def test_t4d_exception_in_the_console_while_storing_results_loses_nothing(consoles, database, monkeypatch):
    """Pass: an exception in the console's result handler (uploadData-style) leaves every mutation
    queued; the next round re-sends identical ids and stores the replayed results."""
    c = consoles(transport=FaultTransport(""))
    wh = warehouse(c)
    move(c, wh, 4)
    real = ob.record_results
    calls = {"n": 0}

    def failing_once(conn, results, now):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("handler crashed (fault)")
        return real(conn, results, now)

    monkeypatch.setattr(ob, "record_results", failing_once)
    with pytest.raises(RuntimeError):
        c.sync()
    assert c.waiting() == 2
    c.sync()
    pushes = [b for p, b in c.engine.transport.faults.sent if p.endswith("/sync/push")]
    assert pushes[0] == pushes[1]
    assert_nothing_lost_exactly_once(database, c)
    assert_stock_exact(database, wh, 4)


# ---------------------------------------------------------------------------------------------
# T5 duplicate push


def test_t5_the_same_batch_sent_many_times_and_concurrently_gives_identical_answers(server, database):
    """Pass: one batch sent 3x in a row and 2x2 concurrently from two threads, then again after
    later traffic ("a week-old replay"): identical results every time, no duplicate rows, the
    replay commits nothing (no revision used); stock exact (I2)."""
    c = Console(server, "officer_s1")
    assert c.login().status_code == 200
    wh = new_id()
    batch = [c.mutation("warehouse", wh, "create",
                        {"name": "T5仓库", "area_m2": 50.0, "org_unit_id": STREET1})]
    batch += [c.mutation("stock_movement", new_id(), "append",
                         {"warehouse_id": wh, "item_id": ITEM1, "delta": d, "reason": "inbound"})
              for d in (5, 6, 7)]
    batch += [c.mutation("duty_log_entry", new_id(), "append",
                         {"kind": "note", "body": f"t5-{i}", "occurred_at": NOW}) for i in range(4)]
    answers = [c.push(*batch) for _ in range(3)]
    lock = threading.Lock()

    def twice():
        for _ in range(2):
            r = c.push_raw(batch)
            with lock:
                answers.append(r.json() if r.status_code == 200 else {"status": r.status_code})

    threads = [threading.Thread(target=twice) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 7
    assert all(a.get("results") == answers[0]["results"] for a in answers), answers
    assert {r["outcome"] for r in answers[0]["results"]} == {"applied"}

    # Later traffic, then the old batch once more.
    c.push(c.mutation("duty_log_entry", new_id(), "append", {"kind": "note", "body": "t5late",
                                                             "occurred_at": NOW}))
    with database.engine.connect() as conn:
        rev_before = conn.execute(sa.select(sync_meta.c.current_rev)).scalar()
    old = c.push(*batch)
    with database.engine.connect() as conn:
        rev_after = conn.execute(sa.select(sync_meta.c.current_rev)).scalar()
    assert old["results"] == answers[0]["results"]
    assert rev_after == rev_before  # a pure replay writes nothing
    assert len(ledger(database, c.device_id)) == len(batch) + 1
    assert len(logs_tagged(database, "t5")) == 4
    assert_stock_exact(database, wh, 18)


def test_t5_same_mutation_id_with_another_payload_is_422_and_the_original_stays(server, database):
    """Pass: re-using a mutation id with a different payload answers 422 idempotency_key_reuse and
    the record written under that id is unchanged."""
    c = Console(server, "officer_s1")
    assert c.login().status_code == 200
    rid = new_id()
    m = c.mutation("duty_log_entry", rid, "append",
                   {"kind": "note", "body": "t5-original", "occurred_at": NOW})
    c.push(m)
    forged = dict(m, payload=dict(m["payload"], body="t5-forged"))
    r = c.push_raw([forged])
    assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reuse", r.text
    (row,) = [r for r in server_records(database, "duty_log_entry") if r.id == rid]
    assert row.data["body"] == "t5-original"
    assert len(ledger(database, c.device_id)) == 1


def test_t5_engine_batches_duplicated_concurrently_by_the_network_apply_once(consoles, database):
    """Pass: every push of the engine is delivered 3x concurrently; all copies get identical
    results; I1-I3; no duplicate rows; stock exact."""
    t = FaultTransport("")
    t.faults.always("/sync/push", duplicate(3, concurrent=True))
    c = consoles(transport=t)
    wh = warehouse(c)
    for i in range(12):
        entry(c, "t5dup", i)
    for d in (2, 2, -1):
        move(c, wh, d)
    c.sync()
    assert t.faults.extra_answers and all(status == 200 for status, _ in t.faults.extra_answers)
    first_results = {m["mutation_id"]: m["result"] for m in c.outbox()}
    for _status, body in t.faults.extra_answers:
        for r in body["results"]:
            assert r == first_results[r["mutation_id"]]
    assert_nothing_lost_exactly_once(database, c)
    assert len(logs_tagged(database, "t5dup")) == 12
    assert_stock_exact(database, wh, 3)


# ---------------------------------------------------------------------------------------------
# T6 reorder and gaps


def test_t6_later_half_delivered_first_gets_409_and_the_engine_resends_in_order(consoles, database):
    """Pass: batch k+1 (the later half) reaches the server before batch k: the server answers 409
    sequence_gap (expected 1), the engine re-sends from there, and the server applies every
    mutation once, in device_seq order; a late duplicate of the held half changes nothing."""
    t = FaultTransport("")
    c = consoles(transport=t)
    for i in range(10):
        entry(c, "t6r", i)
    t.faults.once("/sync/push", split_reorder)
    t.faults.once("/sync/push", release_then_forward)  # the held earlier half arrives, then the retry
    c.sync()
    statuses = [s for m, p, s in t.faults.calls if p.endswith("/sync/push")]
    assert statuses == [409, 200], statuses
    assert_nothing_lost_exactly_once(database, c)
    # And a copy that the network held even longer arrives after everything else.
    t.faults.once("/sync/push", hold)
    entry(c, "t6r", 10)
    with pytest.raises(T.Offline):
        c.sync()
    c.sync()
    (late,) = t.faults.release_held()
    assert late[0] == 200 and {r["outcome"] for r in late[1]["results"]} == {"applied"}
    assert_nothing_lost_exactly_once(database, c)
    assert len(logs_tagged(database, "t6r")) == 11


def test_t6_a_mutation_lost_from_a_batch_gives_409_and_is_supplied_again(consoles, database):
    """Pass: one mutation dropped from a batch: the server applies those before it, answers 409
    with expected_device_seq, the engine re-sends from that seq; final order = device_seq."""
    t = FaultTransport("")
    c = consoles(transport=t)
    for i in range(6):
        entry(c, "t6d", i)
    t.faults.once("/sync/push", drop_mutation(2))
    c.sync()
    assert [s for m, p, s in t.faults.calls if p.endswith("/sync/push")] == [409, 200]
    assert_nothing_lost_exactly_once(database, c)
    assert len(logs_tagged(database, "t6d")) == 6


def _copy_cache(src, dst):
    for suffix in ("", "-wal", "-shm"):
        p = src.with_name(src.name + suffix)
        q = dst.with_name(dst.name + suffix)
        if p.exists():
            shutil.copy(p, q)
        elif q.exists():
            q.unlink()


def test_t6_a_sequence_the_console_no_longer_holds_raises_a_data_loss_alarm(consoles, database, server,
                                                                             tmp_path, caplog):
    """Pass: the console's cache is an old copy (the server has seen device_seq 1-5, the console
    holds 1-3): the server's 409 cannot be satisfied, and the engine raises a data-loss alarm
    (ERROR log, status message naming the missing seq, never "synced"), keeping the queue."""
    folder = tmp_path / "console"
    folder.mkdir()
    c = consoles(folder=folder)
    for i in range(3):
        entry(c, "t6a", i)
    c.sync()
    cache = folder / "officer_s1.db"
    c.close()
    _copy_cache(cache, tmp_path / "backup.db")
    c = consoles(folder=folder)
    for i in range(3, 5):
        entry(c, "t6a", i)
    c.sync()
    c.close()
    _copy_cache(tmp_path / "backup.db", cache)  # the console's disk is restored from the old copy

    c = consoles(folder=folder)
    entry(c, "t6a", 99)  # device_seq 4 locally; the server expects 6
    statuses: list = []
    c.engine.subscribe(statuses.append)

    async def scenario():
        c.engine.start()
        try:
            while not any(s.message for s in statuses):
                await asyncio.sleep(0.02)  # polling an observable condition, bounded by wait_for
        finally:
            c.engine.stop()

    with caplog.at_level(logging.WARNING, logger="app.services.sync_engine"):
        asyncio.run(asyncio.wait_for(scenario(), 30))
    status = c.engine.status
    assert status.state != S.SYNCED
    assert "6" in status.message and "data-loss" in status.message.lower(), status.message
    assert any(r.levelno >= logging.ERROR and "data-loss" in r.getMessage().lower() for r in caplog.records)
    assert c.waiting() == 1  # the new entry is kept, not dropped
    assert len(ledger(database, c.ctx.device_id)) == 5


# ---------------------------------------------------------------------------------------------
# T15 variant: a revoked device (here, where access tokens live 15 minutes; test_faults_auth.py
# has the 2-second ones)


def test_t15_revoked_device_gets_403_and_its_queue_stays_exportable(consoles, server, database, tmp_path):
    """Pass: once the device is revoked, sync fails with 403 (no crash, no loop), the queue stays
    whole and pending, and the signed outbox export still carries every queued mutation."""
    c = consoles(transport=FaultTransport(""))
    c.sync()
    for i in range(3):
        entry(c, "t15revoked", i)
    cli(database.url, "device", "revoke", c.ctx.device_id)
    with pytest.raises(T.Forbidden):
        c.sync()
    assert c.waiting() == 3
    assert c.engine.transport.faults.count("/sync/push") <= 2
    files = export_outbox(c.ctx, tmp_path / "usb")
    exported = [m["mutation_id"] for f in files for m in json.loads(f.read_text())["mutations"]]
    assert exported == [m["mutation_id"] for m in c.outbox() if m["status"] == "pending"]
    assert len(ledger(database, c.ctx.device_id)) == 0


# ---------------------------------------------------------------------------------------------
# I4 after the push faults


def test_t3_t6_convergence_after_the_push_faults(consoles, server, database):
    """Pass (I4 after T3-T6 style faults on one console): after a mix of lost answers, duplicates
    and a reordered batch, the console's cache equals the server's rows in its scope."""
    t = FaultTransport("")
    c = consoles(transport=t)
    wh = warehouse(c)
    for i in range(8):
        entry(c, "t36", i)
        move(c, wh, i - 3 or 9)
    t.faults.once("/sync/push", drop_response)
    with pytest.raises(T.Offline):
        c.sync()
    t.faults.once("/sync/push", duplicate(2))
    c.sync()
    inc = c.create("incident", {"title": "T3-6 收敛", "category": "natural", "severity": "IV",
                                "status": "reported", "occurred_at": NOW, "org_unit_id": STREET1})
    c.patch("incident", inc, {"summary": "已处置"})
    t.faults.once("/sync/push", split_reorder)
    t.faults.once("/sync/push", release_then_forward)
    c.sync()
    assert_nothing_lost_exactly_once(database, c)
    assert_stock_exact(database, wh, sum(i - 3 or 9 for i in range(8)))
    assert_converged(c, server)
