"""init-demo's bulk path and the account CLI, then a live pull of what they wrote."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

import sync_world as W
from app.server import db, seed
from app.server.tables import record, sync_meta
from sync_live import ROOT, Console, ServerProcess


def fake_records(scale: int):
    district = str(uuid.uuid4())
    yield "org_unit", {"id": district, "name": "演示区", "kind": "district"}
    for i in range(6_000 * scale):
        yield (
            "duty_log_entry",
            {
                "id": str(uuid.uuid4()),
                "org_unit_id": district,
                "kind": "note",
                "body": f"第 {i} 条记录",
                "occurred_at": "2026-11-23T08:00:00+08:00",
            },
        )
    fake_records.district = district


def fake_users():
    return [
        {
            "id": str(uuid.uuid4()),
            "username": "demo_leader",
            "name": "带班领导",
            "role": "leader",
            "org_unit_id": fake_records.district,
            "phone": "020-1234",
            "password": "demo-pass-1",
        }
    ]


@pytest.fixture
def empty_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = db.make_engine(url)
    db.init_schema(engine)
    yield url, engine
    engine.dispose()


def test_init_demo_loads_in_rev_chunks_and_consoles_pull_it(empty_sqlite, tmp_path):
    url, engine = empty_sqlite
    done = seed.init_demo(engine, 1, generate=fake_records, users=fake_users, hasher=W.FAST_HASHER)
    assert done["rows"] == 6_001
    with engine.connect() as conn:
        revs = conn.execute(
            sa.select(record.c.server_rev, sa.func.count())
            .group_by(record.c.server_rev)
            .order_by(record.c.server_rev)
        ).all()
    assert [n for _, n in revs] == [5_000, 1_001, 1]  # two chunks, then the user record
    with pytest.raises(RuntimeError):
        seed.init_demo(engine, 1, generate=fake_records, users=fake_users)
    server = ServerProcess(url, tmp_path / "server.log").start()
    try:
        c = Console(server, "demo_leader")
        assert c.login("demo-pass-1").status_code == 200
        rows, cursor = c.pull_all(limit=1000)
        assert sum(1 for k in rows if k[0] == "duty_log_entry") == 6_000
        assert cursor == revs[-1][0]
    finally:
        server.kill()


def test_force_replaces_the_contents_under_a_new_epoch(empty_sqlite):
    _, engine = empty_sqlite
    seed.init_demo(engine, 1, generate=fake_records, users=fake_users, hasher=W.FAST_HASHER)
    with engine.connect() as conn:
        before = conn.execute(sa.select(sync_meta)).one()
    seed.init_demo(engine, 1, force=True, generate=fake_records, users=fake_users, hasher=W.FAST_HASHER)
    with engine.connect() as conn:
        after = conn.execute(sa.select(sync_meta)).one()
        count = conn.execute(sa.select(sa.func.count()).select_from(record)).scalar()
    assert after.server_epoch != before.server_epoch
    assert after.min_valid_cursor >= before.current_rev  # old cursors must resync
    assert count == 6_002


def test_cli_user_add_reads_the_password_from_stdin(empty_sqlite, tmp_path):
    url, _ = empty_sqlite
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.server",
            "user",
            "add",
            "zhangsan",
            "--role",
            "officer",
            "--display-name",
            "张三",
            "--database-url",
            url,
        ],
        input="s3cret-pass\n",
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    server = ServerProcess(url, tmp_path / "server.log").start()
    try:
        c = Console(server, "zhangsan")
        r = c.login("s3cret-pass")
        assert r.status_code == 200 and r.json()["user"]["name"] == "张三"
    finally:
        server.kill()


def test_real_demo_generator_loads(empty_sqlite):
    district = pytest.importorskip("app.demo.district")
    _, engine = empty_sqlite
    done = seed.init_demo(
        engine, 1, generate=district.generate_records, users=district.demo_users, hasher=W.FAST_HASHER
    )
    assert done["rows"] > 1000 and done["users"]
