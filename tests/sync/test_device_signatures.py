"""Device keys, the signed push and the outbox hash chain (SYNC_RESEARCH.md §3.13, §5), against a real
server (uvicorn on 127.0.0.1) and real console caches.

An enrolled console signs each push batch; the server checks the chain from the device's last hash
and the signature once a batch. A forged signature is 403 ``bad_signature``, an outbox row edited or
reordered after it was queued is 409 ``chain_broken``; either way nothing of the batch is written and
one audit row says why. Consoles that never send a key keep working as before.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import uuid

import pytest
import requests
import sqlalchemy as sa

from app.domain.outbox_chain import GENESIS, chain_hash
from app.server import db as server_db
from app.server.tables import audit_log, device, metadata, processed_mutation, quarantine
from app.store import migrate, outbox
from app.store.db import Store, make_engine
from app.store.schema import APPLICATION_ID
from app.sync import signing
from app.sync import transport as T
from console_harness import NOW, LiveConsole
from faults import cli, module_server, server_records
from sync_world import STREET1, password

database, server = module_server("devsig")


@pytest.fixture
def console(server, tmp_path):
    made = []

    def make(username="officer_s1"):
        c = LiveConsole(server, tmp_path / str(len(made)), username)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def entries(c, tag: str, n: int) -> None:
    for i in range(n):
        c.create("duty_log_entry", {"kind": "note", "body": f"{tag}-{i}", "occurred_at": NOW, "org_unit_id": STREET1})


def device_row(database, device_id: str):
    with database.engine.connect() as conn:
        return conn.execute(sa.select(device).where(device.c.device_id == device_id)).first()


def ledger_count(database, device_id: str) -> int:
    with database.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(processed_mutation)
                            .where(processed_mutation.c.device_id == device_id)).scalar()


def audit_rows(database, device_id: str, action: str) -> list:
    with database.engine.connect() as conn:
        return conn.execute(sa.select(audit_log).where(audit_log.c.device_id == device_id,
                                                       audit_log.c.action == action)).all()


def bodies(database, tag: str) -> list[str]:
    return sorted(r.data["body"] for r in server_records(database, "duty_log_entry",
                                                         lambda d: str(d.get("body", "")).startswith(tag)))


def push_body(c, rows=None) -> dict:
    rows = rows if rows is not None else c.store.read(outbox.next_batch, 500)
    return {"device_id": c.ctx.device_id, "schema_version": 1, "mutations": [outbox.to_wire(r) for r in rows]}


def post_push(c, body: dict) -> requests.Response:
    return requests.post(f"{c.server.base}/api/v1/sync/push", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {c.engine.transport.access_token}"})


def test_a_console_enrols_its_key_on_first_sign_in_and_its_signed_pushes_go_through(console, database):
    """Pass: the key file beside the cache is private (0600), the server stores its public half on the
    device row, the pushes are signed and applied, and the server's chain head is the outbox's last hash."""
    c = console()
    key_file = signing.key_path(c.ctx.store.path)
    assert key_file.exists() and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = signing.key_for(c.ctx.device_id)
    assert device_row(database, c.ctx.device_id).public_key == key.public_b64
    # The private key is nowhere in the cache.
    pem_body = b"".join(key_file.read_bytes().splitlines()[1:-1])
    assert pem_body not in c.ctx.store.path.read_bytes()

    entries(c, "sig-ok", 3)
    rows = c.outbox()
    assert rows[0]["prev_hash"] == GENESIS
    for before, row in zip(rows, rows[1:], strict=False):
        assert row["prev_hash"] == before["hash"]
    for row in rows:
        assert row["hash"] == chain_hash(row["prev_hash"], outbox.to_wire(row, chained=False))
    c.sync()
    assert [m["status"] for m in c.outbox()] == ["applied"] * 3
    assert bodies(database, "sig-ok") == ["sig-ok-0", "sig-ok-1", "sig-ok-2"]
    assert device_row(database, c.ctx.device_id).last_hash == c.outbox()[-1]["hash"]

    entries(c, "sig-ok-more", 2)  # the next round links to the server's head
    c.sync()
    assert [m["status"] for m in c.outbox()] == ["applied"] * 5


@pytest.mark.parametrize("forgery", ["other_key", "missing"])
def test_a_forged_or_missing_signature_is_refused_403_and_changes_nothing(console, database, forgery):
    """Pass: 403 bad_signature, no record, no ledger row, the device's position unchanged, one audit
    row naming the refusal; the console's own signed push of the same changes then goes through."""
    c = console()
    entries(c, f"forged-{forgery}", 2)
    body = push_body(c)
    if forgery == "other_key":
        body["batch_sig"] = signing.DeviceKey.generate().sign(c.ctx.device_id, body["mutations"][-1]["hash"])
    before = device_row(database, c.ctx.device_id)
    r = post_push(c, body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "bad_signature"
    assert bodies(database, f"forged-{forgery}") == []
    assert ledger_count(database, c.ctx.device_id) == 0
    after = device_row(database, c.ctx.device_id)
    assert (after.last_device_seq, after.last_hash) == (before.last_device_seq, before.last_hash)
    [audit] = audit_rows(database, c.ctx.device_id, "push:refused")
    assert audit.detail["code"] == "bad_signature"

    c.sync()
    assert bodies(database, f"forged-{forgery}") == [f"forged-{forgery}-0", f"forged-{forgery}-1"]


@pytest.mark.parametrize("tamper", ["edited", "reordered"])
def test_an_outbox_row_changed_after_it_was_queued_breaks_the_chain_and_nothing_is_applied(
        console, database, tamper):
    """Pass: a queued change edited in the cache (or two swapped) after the fact is refused 409
    chain_broken naming the first bad mutation; none of the batch reaches the server; the console
    keeps its queue and says so (Rejected chain_broken), and an audit row records the refusal."""
    c = console()
    entries(c, f"tamper-{tamper}", 3)
    rows = c.outbox()

    def edit(conn):
        if tamper == "edited":
            payload = dict(rows[1]["payload"], body=f"tamper-{tamper}-改过")
            conn.exec_driver_sql("UPDATE outbox SET payload = ? WHERE mutation_id = ?",
                                 (json.dumps(payload, ensure_ascii=False), rows[1]["mutation_id"]))
        else:  # the 2nd and 3rd change trade places: their seq no longer matches what was hashed
            second, third = rows[1]["device_seq"], rows[2]["device_seq"]
            for seq, to in ((second, -1), (third, second), (-1, third)):
                conn.exec_driver_sql("UPDATE outbox SET device_seq = ? WHERE device_seq = ?", (to, seq))
    c.store.write_sync(edit)
    with pytest.raises(T.Rejected) as refused:
        c.sync()
    assert refused.value.code == "chain_broken" and refused.value.status == 409
    assert bodies(database, f"tamper-{tamper}") == []
    assert ledger_count(database, c.ctx.device_id) == 0
    assert c.waiting() == 3
    [audit] = audit_rows(database, c.ctx.device_id, "push:refused")
    assert audit.detail["code"] == "chain_broken" and audit.detail["at_device_seq"] == rows[1]["device_seq"]


def test_a_different_key_for_an_enrolled_device_is_refused_until_an_administrator_resets_it(console, database):
    """Pass: another key sent for an enrolled device is 403 device_key_mismatch (login and refresh),
    the stored key stays; after ``device reset-key`` the next sign-in enrols the new key."""
    c = console()
    old = device_row(database, c.ctx.device_id).public_key
    stranger = signing.DeviceKey.generate()
    login = {"username": "officer_s1", "password": password("officer_s1"), "device_id": c.ctx.device_id,
             "device_public_key": stranger.public_b64}
    r = requests.post(f"{c.server.base}/api/v1/auth/login", json=login, timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_key_mismatch"
    r = requests.post(f"{c.server.base}/api/v1/auth/refresh", timeout=30,
                      json={"refresh_token": c.engine.refresh_token, "device_id": c.ctx.device_id,
                            "device_public_key": stranger.public_b64})
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_key_mismatch"
    assert device_row(database, c.ctx.device_id).public_key == old

    assert "reset" in cli(database.url, "device", "reset-key", c.ctx.device_id)
    assert device_row(database, c.ctx.device_id).public_key is None
    r = requests.post(f"{c.server.base}/api/v1/auth/login", json=login, timeout=30)
    assert r.status_code == 200, r.text
    assert device_row(database, c.ctx.device_id).public_key == stranger.public_b64
    assert audit_rows(database, c.ctx.device_id, "device:reset-key")


def test_an_old_client_that_never_sends_a_key_works_exactly_as_before(server, database):
    """Pass: a client without key, hashes or signature logs in, pushes and is applied; its device
    stays un-enrolled, so no signature is ever asked of it."""
    from sync_live import Console, new_id

    w = Console(server, "officer_s1")
    assert w.login().status_code == 200
    got = w.push(*[w.mutation("duty_log_entry", new_id(), "append", {
        "kind": "note", "body": f"old-client-{i}", "occurred_at": NOW, "org_unit_id": STREET1}) for i in range(2)])
    assert [r["outcome"] for r in got["results"]] == ["applied", "applied"]
    row = device_row(database, w.device_id)
    assert row.public_key is None and row.last_hash is None


def test_a_cache_upgraded_with_changes_queued_chains_them_and_pushes_them_signed(server, database, tmp_path):
    """Pass: a cache at 0004 holding queued changes upgrades to 0005 with every row linked from GENESIS;
    the next queued change links to them, and the console pushes all of them signed and applied."""
    path = tmp_path / "officer_s1.db"
    engine = make_engine(path, immediate=True)
    with engine.connect() as conn:
        migrate.upgrade(conn, "0004")
        conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
        conn.commit()
    engine.dispose()
    ids = [str(uuid.uuid4()) for _ in range(2)]
    with Store(path) as store:  # upgraded to head; rows queued without a hash (an old writer, a bulk import)
        def queue_old(conn):
            for i, rid in enumerate(ids):
                conn.exec_driver_sql(
                    "INSERT INTO outbox (mutation_id, device_seq, entity, entity_id, op, payload, author_id, "
                    "client_time, schema_version, status, attempts) VALUES (?, ?, 'duty_log_entry', ?, 'create', ?, "
                    "NULL, ?, 1, 'pending', 0)",
                    (str(uuid.uuid4()), i + 1, rid, json.dumps({"kind": "note", "body": f"upgraded-{i}",
                                                                "occurred_at": NOW, "org_unit_id": STREET1}), NOW))
        store.write_sync(queue_old)
        # Rows without a hash are linked for the push exactly as rechain stores them.
        sent = store.read(outbox.next_batch, 500)
        store.write_sync(outbox.rechain)
        stored = store.read(outbox.next_batch, 500)
        assert [(r["prev_hash"], r["hash"]) for r in sent] == [(r["prev_hash"], r["hash"]) for r in stored]
        assert stored[0]["prev_hash"] == GENESIS and stored[1]["prev_hash"] == stored[0]["hash"]
    c = LiveConsole(server, tmp_path, "officer_s1")
    try:
        entries(c, "upgraded-new", 1)
        rows = c.outbox()
        assert rows[-1]["prev_hash"] == rows[-2]["hash"]
        asyncio.run(c.engine.sync_once())
        assert [m["status"] for m in c.outbox()] == ["applied"] * 3
        assert bodies(database, "upgraded") == ["upgraded-0", "upgraded-1", "upgraded-new-0"]
    finally:
        c.close()


def test_the_0005_migration_links_the_rows_already_queued(tmp_path):
    """Pass: migrating a 0004 cache with two queued rows gives them prev_hash/hash from GENESIS by the
    chain rule the console and server use (base_rev {} and author NULL hashed as on the wire)."""
    path = tmp_path / "at4.db"
    engine = make_engine(path, immediate=True)
    with engine.connect() as conn:
        migrate.upgrade(conn, "0004")
        for seq in (1, 2):
            conn.exec_driver_sql(
                "INSERT INTO outbox (mutation_id, device_seq, entity, entity_id, op, payload, base_rev, author_id, "
                "client_time, schema_version, status, attempts) VALUES (?, ?, 'incident', ?, 'patch', ?, ?, ?, ?, 1, "
                "'pending', 0)", (str(uuid.uuid4()), seq, str(uuid.uuid4()), json.dumps({"title": f"标题{seq}"}),
                                  "{}" if seq == 1 else json.dumps({"title": 3}), None if seq == 1 else
                                  str(uuid.uuid4()), NOW))
        conn.commit()
        migrate.upgrade(conn, "0005")
        rows = [dict(r) for r in conn.execute(sa.select(outbox.outbox).order_by(outbox.outbox.c.device_seq))
                .mappings()]
    engine.dispose()
    prev = GENESIS
    for row in rows:
        assert row["prev_hash"] == prev
        assert row["hash"] == chain_hash(prev, outbox.to_wire(row, chained=False))
        prev = row["hash"]


def test_an_older_server_database_gets_the_new_columns_and_table_at_start(tmp_path):
    """Pass: init_schema on a database made before device keys adds device.public_key/last_hash/
    key_enrolled_at (ALTER, idempotent) and the quarantine table, keeping the rows."""
    engine = server_db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    server_db.init_schema(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO device (device_id, user_id, last_device_seq, first_seen, last_seen) "
                             "VALUES ('d1', 'u1', 7, 'x', 'x')")
        for col in ("public_key", "key_enrolled_at", "last_hash"):
            conn.exec_driver_sql(f"ALTER TABLE device DROP COLUMN {col}")
        conn.exec_driver_sql("DROP TABLE quarantine")
    server_db.init_schema(engine)
    server_db.init_schema(engine)  # twice: nothing to add the second time
    with engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns("device")}
        assert {"public_key", "key_enrolled_at", "last_hash"} <= cols
        assert sa.inspect(conn).has_table("quarantine")
        assert conn.exec_driver_sql("SELECT last_device_seq FROM device WHERE device_id = 'd1'").scalar() == 7
    assert set(metadata.tables) >= {"quarantine", "device"} and quarantine.name == "quarantine"
    engine.dispose()
