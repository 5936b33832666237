"""Store: insert and query rates through our repositories next to raw sqlite3 on the same rows."""

from __future__ import annotations

import sqlite3
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

from app.store import records
from app.store.db import Store
from app.store.schema import table_for
from app.store.search import search
from tests.bench.common import median_of, report, timed

NOW = "2026-11-23T08:00:00+08:00"
N = 50_000


def rows(n: int) -> list[dict]:
    return [{"id": str(uuid.uuid4()), "kind": "receive", "occurred_at": NOW,
             "body": f"第{i}条 接市民报告越秀区北京街{i % 97}号水浸约{i % 50}厘米，已通知街道应急分队"}
            for i in range(n)]


def run() -> list[str]:
    out = []
    data = rows(N)
    with tempfile.TemporaryDirectory() as d:
        raw = sqlite3.connect(Path(d) / "raw.db", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("CREATE TABLE duty_log_entry (id TEXT PRIMARY KEY, kind TEXT, occurred_at TEXT, body TEXT)")

        def raw_insert():
            raw.execute("BEGIN")
            raw.executemany("INSERT INTO duty_log_entry VALUES (:id, :kind, :occurred_at, :body)", data)
            raw.execute("COMMIT")
        t_raw = timed(raw_insert)

        store = Store(Path(d) / "cache.db")
        t_ours = timed(lambda: store.write_sync(lambda c: records.bulk_load(c, (("duty_log_entry", r) for r in data))))
        out.append(report(f"bulk insert {N:,} log rows (FTS kept)", N / t_ours, N / t_raw, "rows/s",
                          "raw sqlite3 executemany, no index", higher_is_better=True))

        def save_one(conn, i):
            records.create(conn, "duty_log_entry", {"kind": "note", "body": f"单条{i}", "occurred_at": NOW},
                           author_id=None, now=NOW)

        def ours_single():
            for i in range(200):
                store.write_sync(save_one, i)

        def raw_single():
            for i in range(200):
                raw.execute("BEGIN IMMEDIATE")
                raw.execute("INSERT INTO duty_log_entry VALUES (?, 'note', ?, ?)", (str(uuid.uuid4()), NOW, f"单条{i}"))
                raw.execute("COMMIT")
        out.append(report("save one entry (+outbox, fsync), per entry", timed(ours_single) / 200 * 1e3,
                          timed(raw_single) / 200 * 1e3, "ms", "raw sqlite3 one-row commit"))

        log = table_for("duty_log_entry")
        q_ours = median_of(lambda: store.read(lambda c: c.execute(
            sa.select(log.c.id, log.c.body).order_by(log.c.occurred_at.desc(), log.c.id).limit(200)).all()))
        q_raw = median_of(lambda: raw.execute(
            "SELECT id, body FROM duty_log_entry ORDER BY occurred_at DESC, id LIMIT 200").fetchall())
        out.append(report("first page of 200 log rows", q_ours * 1e3, q_raw * 1e3, "ms", "raw sqlite3 same query"))

        s_ours = median_of(lambda: store.read(search, "北京街", ["duty_log_entry"], 20))
        s_short = median_of(lambda: store.read(search, "水浸", ["duty_log_entry"], 20))
        s_raw = median_of(lambda: raw.execute(
            "SELECT id FROM duty_log_entry WHERE body LIKE '%北京街%' LIMIT 20").fetchall())
        out.append(report("search '北京街' top 20 (trigram)", s_ours * 1e3, s_raw * 1e3, "ms", "raw LIKE scan"))
        out.append(report("search '水浸' top 20 (unigram)", s_short * 1e3, s_raw * 1e3, "ms", "raw LIKE scan"))
        store.close()
        raw.close()
    return out


if __name__ == "__main__":
    run()
