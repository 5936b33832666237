"""Incidents: opening one incident's timeline (and its tab) with 10,000 incidents in the cache.

    .venv/bin/python -m tests.bench.bench_incidents

The cache holds 10,000 incidents with five log entries each (50,000 rows to look past),
and 20 "major" incidents that also carry 20 log entries, 20 reports, 5 dispatches and
5 instructions. Each figure sits next to a baseline measured in the same run:

- timeline: app.services.timeline.timeline (five indexed queries + merge in Python)
  next to raw sqlite3 (pysqlite3, same file) running the same five SELECTs by incident_id;
- reports due (the overview's chips): reports_due over all 10,000 incidents next to the
  raw aggregate query it is built on;
- opening a tab: IncidentTab (header, form; the other sections build when shown) next to bare Qt, a
  QTabWidget with a QTableWidget holding the same timeline rows.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pysqlite3 import dbapi2 as sqlite3  # noqa: E402 - the SQLite the store uses

from app.domain import clock  # noqa: E402
from app.services.report_deadlines import load_rules, reports_due  # noqa: E402
from app.services.timeline import timeline  # noqa: E402
from app.store import records  # noqa: E402
from app.store.db import Store  # noqa: E402
from app.store.device import ensure_device  # noqa: E402
from tests.bench.common import percentile, report, timed  # noqa: E402

N_INCIDENTS = 10_000
LOG_EACH = 5
MAJOR = 20
T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=clock.BEIJING)


def _id() -> str:
    return str(uuid.uuid4())


def _t(minutes: float) -> str:
    return clock.iso(T0 + dt.timedelta(minutes=minutes))


def build(store: Store) -> list[str]:
    rows = []
    team = _id()
    rows.append(("team", {"id": team, "name": "区消防救援站", "type": "fire", "headcount": 30, "status": "standby"}))
    ids = [_id() for _ in range(N_INCIDENTS)]
    for i, iid in enumerate(ids):
        start = -i * 7.0
        rows.append(("incident", {"id": iid, "title": f"11·{i % 28 + 1}测试路{i}号火灾", "category": "accident",
                                  "severity": ("I", "II", "III", "IV")[i % 4],
                                  "status": ("reported", "verified", "responding", "closed")[i % 4],
                                  "occurred_at": _t(start), "created_at": _t(start + 2), "place": f"测试路{i}号",
                                  "drill": False}))
        for k in range(LOG_EACH):
            kind = ("receive", "dispatch", "handle", "report", "note")[k]
            rows.append(("duty_log_entry", {"id": _id(), "kind": kind, "body": f"{i}号事件第{k}条记录：现场处置情况",
                                            "occurred_at": _t(start + k * 9), "incident_id": iid}))
    major = ids[:MAJOR]
    for iid in major:
        for k in range(20):
            rows.append(("duty_log_entry", {"id": _id(), "kind": "handle", "body": f"进展{k}：已疏散群众{k * 10}人",
                                            "occurred_at": _t(60 + k * 11), "incident_id": iid}))
            rows.append(("incident_report", {"id": _id(), "incident_id": iid,
                                             "kind": "first" if k == 0 else "followup", "seq": k + 1,
                                             "body": f"第{k + 1}次报告", "submitted_at": _t(30 + k * 60)}))
        for k in range(5):
            rows.append(("dispatch", {"id": _id(), "team_id": team, "incident_id": iid, "state": "on_scene",
                                      "ordered_at": _t(20 + k * 5)}))
            rows.append(("instruction", {"id": _id(), "incident_id": iid, "given_by": "区长",
                                         "given_at": _t(40 + k * 30),
                                         "body": f"批示{k}", "status": "open"}))
    store.write_sync(lambda c: records.bulk_load(c, rows))
    return major


RAW_QUERIES = (
    "SELECT id, title, occurred_at, created_at FROM incident WHERE id = ?",
    "SELECT id, occurred_at, kind, body, details FROM duty_log_entry WHERE incident_id = ? AND deleted = 0",
    "SELECT id, kind, seq, body, submitted_at, created_at FROM incident_report WHERE incident_id = ? AND deleted = 0",
    "SELECT d.id, d.state, d.ordered_at, d.created_at, d.note, t.name FROM dispatch d LEFT JOIN team t "
    "ON t.id = d.team_id WHERE d.incident_id = ? AND d.deleted = 0",
    "SELECT id, given_at, given_by, body, status, owner, closed_at FROM instruction WHERE incident_id = ? "
    "AND deleted = 0",
)


def run() -> list[str]:
    out = []
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cache.db"
        store = Store(path)
        store.write_sync(ensure_device)
        major = build(store)
        raw = sqlite3.connect(path)

        def raw_timeline(iid: str) -> int:
            return sum(len(raw.execute(q, (iid,)).fetchall()) for q in RAW_QUERIES)

        for iid in major[:3]:  # warm both paths (page cache, SQLAlchemy's statement cache)
            store.read(timeline, iid)
            raw_timeline(iid)
        n_items = len(store.read(timeline, major[0]))
        ours = [timed(lambda i=iid: store.read(timeline, i)) for iid in major for _ in range(3)]
        base = [timed(lambda i=iid: raw_timeline(i)) for iid in major for _ in range(3)]
        out.append(report(f"timeline p50 ({n_items} items, 10k incidents)", statistics.median(ours) * 1e3,
                          statistics.median(base) * 1e3, "ms", "raw sqlite3 same 5 queries"))
        out.append(report("timeline p95", percentile(ours, 95) * 1e3, percentile(base, 95) * 1e3, "ms",
                          "raw sqlite3 same 5 queries"))

        rules = load_rules()
        agg = ("SELECT i.id, i.severity, i.status, r.n, r.last_at FROM incident i LEFT JOIN (SELECT incident_id, "
               "count(*) n, max(coalesce(submitted_at, created_at)) last_at FROM incident_report WHERE deleted = 0 "
               "GROUP BY incident_id) r ON r.incident_id = i.id WHERE i.deleted = 0 AND i.status != 'cancelled'")
        store.read(reports_due, rules)
        ours = statistics.median(timed(lambda: store.read(reports_due, rules)) for _ in range(5))
        base = statistics.median(timed(lambda: raw.execute(agg).fetchall()) for _ in range(5))
        out.append(report("reports due (all 10k incidents)", ours * 1e3, base * 1e3, "ms", "raw sqlite3 aggregate"))

        out.append(_tab_figures(store, major))
        raw.close()
        store.close()
    return out


def _tab_figures(store: Store, major: list[str]) -> str:
    from PySide6.QtWidgets import QApplication, QTableWidget, QTableWidgetItem, QTabWidget

    from app.services.changes import ChangeBus
    from app.services.context import AppContext, SignedInUser
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.incidents.tab import IncidentTab
    from app.ui.selection import Selection

    app = QApplication.instance() or QApplication([])
    user = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zs", name="张三", role="officer")
    ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=user)
    host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False, settings=None)
    holder = QTabWidget()
    holder.resize(1000, 800)
    holder.show()

    def ours(iid: str) -> None:
        tab = IncidentTab(host, iid)
        holder.addTab(tab, "x")
        holder.setCurrentWidget(tab)
        app.processEvents()

    def bare(iid: str) -> None:
        items = store.read(timeline, iid)
        table = QTableWidget(len(items), 3)
        for r, it in enumerate(items):
            for c, text in enumerate((it.at, it.kind, it.text)):
                table.setItem(r, c, QTableWidgetItem(text))
        holder.addTab(table, "x")
        holder.setCurrentWidget(table)
        app.processEvents()

    ours(major[0])
    bare(major[0])
    mine = statistics.median(timed(lambda i=iid: ours(i)) for iid in major[1:11])
    base = statistics.median(timed(lambda i=iid: bare(i)) for iid in major[1:11])
    holder.close()
    return report("open an incident tab", mine * 1e3, base * 1e3, "ms", "bare Qt table of same rows")


if __name__ == "__main__":
    run()
