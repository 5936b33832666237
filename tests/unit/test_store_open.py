"""Opening the cache: durable settings, and files that are not ours left untouched."""

import hashlib
import sqlite3

import pytest
import sqlalchemy as sa

from app.store import migrate, records
from app.store.db import DiskFullError, NewerSchemaError, NotACacheError, Store
from app.store.schema import table_for

NOW = "2026-11-23T08:00:00+08:00"


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cache_runs_wal_full_with_foreign_keys(store):
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("synchronous") == 2  # FULL: a saved entry survives a power cut
    assert store.pragma("foreign_keys") == 1
    assert store.read(lambda c: migrate.current(c)) == migrate.head()


def test_write_runs_on_one_writer_thread_and_is_atomic(store):
    def half_then_fail(conn):
        records.create(conn, "duty_log_entry", {"kind": "note", "body": "半条", "occurred_at": NOW},
                       author_id=None, now=NOW)
        raise RuntimeError("power cut in the middle")

    with pytest.raises(RuntimeError):
        store.write_sync(half_then_fail)
    log = table_for("duty_log_entry")
    assert store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(log)).scalar()) == 0
    assert store.read(lambda c: c.exec_driver_sql("SELECT count(*) FROM outbox").scalar()) == 0


def test_text_file_is_refused_and_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("这不是数据库 not a database\n" * 10, encoding="utf-8")
    before = digest(path)
    with pytest.raises(NotACacheError) as err:
        Store(path)
    assert "不是" in err.value.message_zh and "untouched" in err.value.message_en
    assert digest(path) == before


def test_corrupt_cache_is_refused_and_untouched(tmp_path):
    path = tmp_path / "cache.db"
    Store(path).close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page behind the header
    path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(NotACacheError):
        Store(path)
    assert digest(path) == before


def test_another_programs_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    con.execute("INSERT INTO invoices VALUES (1, 9.5)")
    con.commit()
    con.close()
    before = digest(path)
    with pytest.raises(NotACacheError) as err:
        Store(path)
    assert "another program" in err.value.message_en
    assert digest(path) == before


def test_cache_from_a_newer_schema_is_refused_not_downgraded(tmp_path):
    path = tmp_path / "cache.db"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999_future'")
    con.commit()
    con.close()
    before = digest(path)
    with pytest.raises(NewerSchemaError) as err:
        Store(path)
    assert "newer" in err.value.message_en and "更新版本" in err.value.message_zh
    assert digest(path) == before


def test_disk_full_says_not_saved_and_keeps_nothing_half_written(store):
    page_count = store.pragma("page_count")

    def fill(conn):
        conn.exec_driver_sql(f"PRAGMA max_page_count={page_count + 2}")
        for i in range(2000):
            records.create(conn, "duty_log_entry",
                           {"kind": "note", "body": "暴雨" * 400 + str(i), "occurred_at": NOW},
                           author_id=None, now=NOW)

    with pytest.raises(DiskFullError) as err:
        store.write_sync(fill)
    assert "未保存" in err.value.message_zh and "NOT saved" in err.value.message_en
    log = table_for("duty_log_entry")
    assert store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(log)).scalar()) == 0
    assert store.read(lambda c: c.exec_driver_sql("PRAGMA integrity_check").scalar()) == "ok"
