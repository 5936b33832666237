"""Duty log at 1,000,000 entries: search, opening the panel, scrolling, saving — each next to a baseline.

    .venv/bin/python -m tests.bench.bench_duty_log [--rows N] [--rebuild]

The cache is built once with the store's bulk path (records.bulk_load: triggers off,
set-based FTS indexing) and kept in /tmp, so reruns start measuring at once. Baselines
run in the same process on the same file: raw FTS5 MATCH on the same index tables,
a bare QTableView over a raw sqlite3 query, a raw sqlite3 one-row commit.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import pysqlite3.dbapi2 as sqlite3

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.bench.common import percentile, report, timed  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "command_desk_bench_duty_log_{n}.db"
DEVICES = [str(uuid.UUID(int=0xD0 + i)) for i in range(20)]
AUTHORS = [str(uuid.UUID(int=0xA0 + i)) for i in range(12)]
PLACES = ["越秀北路", "东风中路", "北京街文德路", "登峰街道", "环市东路", "中山六路", "人民北路", "解放北路",
          "农林下路", "流花湖公园", "小北路", "大沙头", "六榕街", "光塔路", "白云街", "华乐街", "建设六马路", "梅花村"]
EVENTS = ["暴雨积水约{n}厘米，{m}辆车被困", "燃气管道泄漏，已疏散{n}人", "老旧房屋墙体开裂", "两车追尾，{m}人受伤",
          "商铺火情，浓烟较大", "树木倒伏压住电线", "电梯困人{m}名", "山体滑坡隐患，巡查{n}处", "地下车库水浸",
          "路面塌陷约{n}平方米"]
KINDS = ["watch", "receive", "report", "dispatch", "handle", "note"]


def build(path: Path, n: int) -> None:
    from app.demo.chain import entry_hash_fast
    from app.domain.hashchain import GENESIS
    from app.store import records
    from app.store.db import Store

    rnd = random.Random(7)
    heads = dict.fromkeys(DEVICES, GENESIS)
    users = [("user", {"id": a, "username": f"u{i}", "name": f"值班员{i}", "role": "officer"})
             for i, a in enumerate(AUTHORS)]
    incidents = [str(uuid.UUID(int=0x10000 + i)) for i in range(2000)]
    inc_rows = [("incident", {"id": i, "title": f"11·{k % 28 + 1}{rnd.choice(PLACES)}事件{k}", "category": "accident",
                              "severity": "IV", "status": "closed", "occurred_at": "2025-01-01T00:00:00+08:00"})
                for k, i in enumerate(incidents)]
    start = time.mktime((2023, 11, 23, 8, 0, 0, 0, 0, -1))

    def entries():
        yield from users
        yield from inc_rows
        for i in range(n):
            t = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.localtime(start + i * 90))
            dev = DEVICES[i % len(DEVICES)]
            event = rnd.choice(EVENTS).format(n=rnd.randint(1, 90), m=rnd.randint(1, 9))
            body = f"{t[11:16]} {rnd.choice(PLACES)}{event}，第{i}号记录，已通知街道应急分队"
            e = {"id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "kind": KINDS[i % len(KINDS)],
                 "body": body, "occurred_at": t, "incident_id": rnd.choice(incidents) if i % 4 == 0 else None,
                 "corrects_id": None, "author_id": AUTHORS[i % len(AUTHORS)], "device_id": dev, "details": None}
            e["prev_hash"] = heads[dev]
            e["hash"] = heads[dev] = entry_hash_fast(heads[dev], e)
            yield ("duty_log_entry", {k: v for k, v in e.items() if v is not None} | {"server_rev": i + 1})

    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    store = Store(tmp)
    t0 = time.perf_counter()
    store.write_sync(lambda c: records.bulk_load(c, entries(), chunk=20_000))
    print(f"built {n:,} entries in {time.perf_counter() - t0:.0f} s", flush=True)
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    shutil.move(tmp, path)


def pcts(values: list[float]) -> tuple[float, float]:
    return percentile(values, 50) * 1e3, percentile(values, 95) * 1e3


def bench_search(store, raw: sqlite3.Connection, out: list[str]) -> None:
    from app.services import duty_log_queries as Q

    queries = {
        "1 char": ["火", "水", "困", "塌", "疏"],
        "2 chars": ["越秀", "积水", "追尾", "电梯", "滑坡"],
        "3+ chars": ["北京街", "燃气管道", "应急分队", "第12345号", "地下车库水浸"],
    }
    for label, qs in queries.items():
        ours, raw_rows, raw_ids = [], [], []
        for _ in range(4):
            for q in qs:
                def search_and_page(q=q):
                    hits = store.read(Q.search_ids, q)
                    return store.read(Q.page, Q.LogFilter(hit_ids=hits), None, 200)
                ours.append(timed(search_and_page))
                if len(q) >= 3:
                    match = ("SELECT r.ref_id FROM search_doc d JOIN search_ref r ON r.rowid = d.rowid "
                             "WHERE search_doc MATCH ? ORDER BY d.rowid DESC LIMIT 1000")
                    arg = '"' + q + '"'
                else:
                    match = ("SELECT r.ref_id FROM search_uni u JOIN search_ref r ON r.rowid = u.rowid "
                             "WHERE search_uni MATCH ? ORDER BY u.rowid DESC LIMIT 1000")
                    arg = '"' + " ".join(q) + '"'
                rows = (f"SELECT e.occurred_at, e.kind, e.incident_id, e.author_id, e.body FROM ({match}) h "  # noqa: S608
                        "JOIN duty_log_entry e ON e.id = h.ref_id ORDER BY e.occurred_at DESC LIMIT 200")
                raw_rows.append(timed(lambda sql=rows, arg=arg: raw.execute(sql, (arg,)).fetchall()))
                raw_ids.append(timed(lambda sql=match, arg=arg: raw.execute(sql, (arg,)).fetchall()))
        o50, o95 = pcts(ours)
        r50, r95 = pcts(raw_rows)
        i50, _ = pcts(raw_ids)
        base = "raw FTS5 MATCH + same page"
        out.append(report(f"search {label}: hits + first page, p50", o50, r50, "ms", base))
        out.append(report(f"search {label}: hits + first page, p95", o95, r95, "ms", base))
        out.append(report(f"search {label}: p50 vs the bare MATCH (ids only)", o50, i50, "ms", "raw FTS5 MATCH"))


def bench_open(ctx, raw: sqlite3.Connection, out: list[str]) -> None:
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QApplication, QTableView

    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.duty_log.panel import DutyLogPanel
    from app.ui.selection import Selection

    app = QApplication.instance() or QApplication([])

    def ours():
        bridge = ChangeBridge(ctx.bus)
        panel = DutyLogPanel(PanelHost(ctx=ctx, changes=bridge, selection=Selection(), read_only=False, settings=None))
        panel.resize(1400, 900)
        panel.show()
        app.processEvents()
        assert panel.model.rowCount() == 200
        panel.close()
        panel.deleteLater()
        bridge.deleteLater()
        app.processEvents()

    def bare():  # on an already open connection, as ours reads through the store's open pool
        rows = raw.execute("SELECT occurred_at, kind, incident_id, author_id, body FROM duty_log_entry "
                           "ORDER BY occurred_at DESC LIMIT 200").fetchall()
        model = QStandardItemModel(len(rows), 5)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                model.setItem(r, c, QStandardItem(str(v)))
        view = QTableView()
        view.setModel(model)
        view.resize(1400, 900)
        view.show()
        app.processEvents()
        view.close()
        view.deleteLater()
        app.processEvents()

    ours()
    bare()  # warm both
    o = statistics.median(timed(ours) for _ in range(5))
    b = statistics.median(timed(bare) for _ in range(5))
    out.append(report("open the panel (model + first 200 rows painted)", o * 1e3, b * 1e3, "ms",
                      "bare QTableView, raw query"))


def bench_scroll(store, raw: sqlite3.Connection, out: list[str]) -> None:
    from app.services import duty_log_queries as Q

    after, times = None, []
    total = raw.execute("SELECT count(*) FROM duty_log_entry").fetchone()[0]
    for _ in range(min(200, total // 200 - 1)):  # 40,000 rows deep, a page at a time as the view asks
        t0 = time.perf_counter()
        rows = store.read(Q.page, Q.LogFilter(), after, 200)
        times.append(time.perf_counter() - t0)
        after = rows[-1].key
    deep = int(total * 0.9)
    deep_key = store.read(lambda c: c.exec_driver_sql(
        "SELECT occurred_at, rowid FROM duty_log_entry ORDER BY occurred_at DESC, rowid DESC LIMIT 1 "  # noqa: S608
        f"OFFSET {deep}").one())
    t_deep = statistics.median(timed(lambda: store.read(Q.page, Q.LogFilter(), tuple(deep_key), 200))
                               for _ in range(5))
    t_offset = statistics.median(timed(lambda: raw.execute(
        "SELECT occurred_at, kind, incident_id, author_id, body FROM duty_log_entry "  # noqa: S608
        f"ORDER BY occurred_at DESC LIMIT 200 OFFSET {deep}").fetchall()) for _ in range(3))
    raw_times, key = [], None
    keyset = ("SELECT e.occurred_at, e.rowid, e.kind, e.body, e.incident_id, i.title, u.name FROM duty_log_entry e "
              "LEFT JOIN incident i ON i.id = e.incident_id LEFT JOIN \"user\" u ON u.id = e.author_id "
              "WHERE NOT e.deleted AND (e.occurred_at, e.rowid) < (?, ?) "
              "ORDER BY e.occurred_at DESC, e.rowid DESC LIMIT 200")
    key = ("9999", 0)
    for _ in range(len(times)):
        t0 = time.perf_counter()
        page_rows = raw.execute(keyset, key).fetchall()
        raw_times.append(time.perf_counter() - t0)
        key = page_rows[-1][:2]
    out.append(report("next page while scrolling, p50 of 200 pages", percentile(times, 50) * 1e3,
                      percentile(raw_times, 50) * 1e3, "ms", "raw sqlite3 same keyset"))
    out.append(report("next page while scrolling, p95 of 200 pages", percentile(times, 95) * 1e3,
                      percentile(raw_times, 95) * 1e3, "ms", "raw sqlite3 same keyset"))
    out.append(report(f"page at row {deep:,} (keyset)", t_deep * 1e3, t_offset * 1e3, "ms", "raw LIMIT/OFFSET"))
    incident = str(uuid.UUID(int=0x10007))
    raw_page = ("SELECT e.rowid, e.id, e.occurred_at, e.kind, e.body, e.incident_id, i.title, e.author_id, u.name, "
                "e.corrects_id, e.device_id, e.details, e.drill FROM duty_log_entry e "
                "LEFT JOIN incident i ON i.id = e.incident_id LEFT JOIN \"user\" u ON u.id = e.author_id "
                "WHERE NOT e.deleted AND {w} ORDER BY e.occurred_at DESC, e.rowid DESC LIMIT 200")
    for label, flt, where, arg in (("kind", Q.LogFilter(kinds=("report",)), "e.kind = ?", "report"),
                                   ("incident", Q.LogFilter(incident_id=incident), "e.incident_id = ?", incident)):
        raw.execute(raw_page.format(w=where), (arg,)).fetchall()  # both warm
        t_ours = statistics.median(timed(lambda flt=flt: store.read(Q.page, flt, None, 200)) for _ in range(5))
        t_raw = statistics.median(timed(lambda w=where, a=arg: raw.execute(raw_page.format(w=w), (a,)).fetchall())
                                  for _ in range(5))
        out.append(report(f"first page filtered by {label}", t_ours * 1e3, t_raw * 1e3, "ms",
                          "raw sqlite3, same SQL"))
    t_corr = timed(lambda: store.read(Q.corrected_ids))
    t_count = timed(lambda: raw.execute("SELECT count(*) FROM duty_log_entry").fetchone())
    out.append(report("corrected-entry scan (off GUI thread, no index)", t_corr * 1e3, t_count * 1e3, "ms",
                      "raw count(*)"))


def bench_save(ctx, tmpdir: Path, out: list[str]) -> None:
    from app.domain import clock
    from app.services import duty_log_queries as Q

    def save(i):
        now = clock.now_iso()
        return ctx.store.write_sync(lambda c: Q.write_entry(
            c, kind="note", body=f"单条记录{i}：越秀北路巡查正常", details={"text": "x"}, author_id=AUTHORS[0],
            device_id=ctx.device_id, now=now, draft_key="bench"))
    for i in range(5):
        save(i)
    ours = [timed(lambda i=i: save(i)) for i in range(100)]
    raw = sqlite3.connect(tmpdir / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("CREATE TABLE e (id TEXT PRIMARY KEY, body TEXT)")

    def raw_one(i):
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO e VALUES (?, ?)", (str(uuid.uuid4()), f"单条记录{i}"))
        raw.execute("COMMIT")
    base = [timed(lambda i=i: raw_one(i)) for i in range(100)]
    raw.close()
    out.append(report("save one entry (chain+outbox+FTS+draft, fsync) p50", percentile(ours, 50) * 1e3,
                      percentile(base, 50) * 1e3, "ms", "raw sqlite3 one-row commit"))
    out.append(report("save one entry p95", percentile(ours, 95) * 1e3, percentile(base, 95) * 1e3, "ms",
                      "raw sqlite3 one-row commit"))


def bench_verify(ctx, out: list[str]) -> None:
    from app.services import duty_log_queries as Q

    t0 = time.perf_counter()
    reports = ctx.read(Q.verify_chains)
    t = time.perf_counter() - t0
    n = sum(r.total for r in reports)
    assert all(r.ok for r in reports), [r for r in reports if not r.ok][:1]
    from app.domain.hashchain import entry_hash

    sample = ctx.read(lambda c: [dict(r._mapping) for r in c.exec_driver_sql(
        "SELECT id, kind, body, occurred_at, incident_id, corrects_id, author_id, device_id, details, prev_hash "
        "FROM duty_log_entry LIMIT 20000")])
    t_hash = timed(lambda: [entry_hash(e["prev_hash"], e) for e in sample]) / len(sample) * n
    out.append(report(f"verify every chain ({n:,} entries)", t, t_hash, "s", "hashing alone, same count"))


def run(rows: int = 1_000_000, rebuild: bool = False) -> list[str]:
    from app.services.changes import ChangeBus
    from app.services.context import AppContext, SignedInUser
    from app.store.db import Store
    from app.store.device import ensure_device

    path = Path(str(CACHE).format(n=rows))
    if rebuild or not path.exists():
        build(path, rows)
    out: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        work = Path(d) / "cache.db"
        shutil.copy(path, work)
        store = Store(work)
        ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device),
                         user=SignedInUser(id=AUTHORS[0], username="u0", name="值班员0", role="officer"))
        raw = sqlite3.connect(work)
        print(f"duty log: {rows:,} entries; raw sqlite3 {sqlite3.sqlite_version}", flush=True)
        bench_search(store, raw, out)
        bench_open(ctx, raw, out)
        bench_scroll(store, raw, out)
        bench_save(ctx, Path(d), out)
        bench_verify(ctx, out)
        raw.close()
        store.close()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    run(args.rows, args.rebuild)
