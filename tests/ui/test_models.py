"""Every item model of the shell passes Qt's model tester, full, empty and after changes."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt

from app.domain import clock
from app.services.incident_queries import open_incident_ids
from app.store import records
from app.ui import i18n
from app.ui.models.open_incidents import IdRole, OpenIncidentsModel, format_time


def test_open_incidents_model(qtmodeltester, ctx):
    model = OpenIncidentsModel(ctx.read)
    model.reload()
    assert model.rowCount() > 0
    qtmodeltester.check(model)
    ids = [model.index(r, 0).data(IdRole) for r in range(model.rowCount())]
    assert ids == ctx.read(open_incident_ids)
    times = [model.index(r, 3).data() for r in range(model.rowCount())]
    assert all(times)


def test_open_incidents_model_empty_and_growing(qapp, qtmodeltester, tmp_path):  # icons need a QGuiApplication
    from app.services.changes import ChangeBus
    from app.services.context import AppContext
    from app.store.db import Store

    with Store(tmp_path / "empty.db") as store:
        ctx = AppContext(store=store, bus=ChangeBus(), device_id="d")
        model = OpenIncidentsModel(ctx.read)
        model.reload()
        qtmodeltester.check(model)
        assert model.rowCount() == 0
        data = {"title": "新事件", "category": "accident", "severity": "I", "status": "responding",
                "occurred_at": clock.now_iso()}
        store.write_sync(lambda c: records.create(c, "incident", data, author_id=None, now=clock.now_iso()))
        model.reload()
        qtmodeltester.check(model)
        assert model.rowCount() == 1
        index = model.index(0, 2)
        assert index.data() == "响应"
        assert index.data(Qt.ItemDataRole.FontRole).bold()  # responding stands out
        assert index.data(Qt.ItemDataRole.DecorationRole) is not None  # and not by colour alone: it has text
        i18n.set_language("en")
        assert model.index(0, 1).data() == "Extraordinary (I)"


def test_time_format_shows_the_date_only_when_not_today():
    assert format_time("2026-11-23T09:15:02+08:00", today=dt.date(2026, 11, 23)) == "09:15"
    # Stored in UTC, shown in Beijing time (and that is another day than "today").
    assert format_time("2026-11-23T01:15:02+00:00", today=dt.date(2026, 11, 22)) == "11-23 09:15"
    assert format_time("garbage") == "garbage"


def test_compact_model_for_the_wall_carries_severity_in_the_title(qtmodeltester, ctx):
    model = OpenIncidentsModel(ctx.read, compact=True)
    model.reload()
    qtmodeltester.check(model)
    title = model.index(0, 0).data()
    assert title[0] in "ⅠⅡⅢⅣ"  # the grade in text, not colour alone
    assert model.index(0, 0).data(Qt.ItemDataRole.DecorationRole) is not None
