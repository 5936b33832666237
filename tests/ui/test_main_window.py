"""The main window as a whole: docks, overview figures, status bar, live refresh."""

from __future__ import annotations

import re
import threading

from PySide6.QtCore import Qt, QThread
from sql_counts import sql_counts

from app.domain import clock
from app.services.changes import ChangeSet
from app.services.overview import read_overview
from app.services.stock import stock_alerts
from app.store import records
from app.ui.docks import EXTRA_PANEL_MODULES
from app.ui.overview_panel import OverviewPanel

SLOTS = ("overview", "map", "duty_log", "resources", "video", "warnings", "statistics")
TITLES_ZH = {"overview": "概览", "map": "地图", "duty_log": "值班日志", "resources": "资源",
             "video": "视频会商", "warnings": "预警", "statistics": "统计"}


def shown(tile) -> int:
    return int(tile.value_label.text().replace(",", ""))


def overview_of(window) -> OverviewPanel:
    return window.docks["overview"].panel()


def test_window_opens_with_every_dock_and_true_figures(make_window, ctx):
    window = make_window()
    window.show()
    assert set(SLOTS) <= set(window.docks)
    assert not EXTRA_PANEL_MODULES or set(window.docks) > set(SLOTS)
    for dock_id, title in TITLES_ZH.items():
        assert window.docks[dock_id].windowTitle() == title
        assert window.docks[dock_id].objectName() == dock_id  # the saveState key
    panel = overview_of(window)
    expected = ctx.read(sql_counts, clock.now().date())
    # The stock tile counts the same alerts the warehouse view lists (tests/unit/test_stock.py checks
    # those against sums of the raw movements), so the two panels never disagree.
    expected["stock_alerts"] = len(ctx.read(stock_alerts, clock.now().date()))
    assert expected["stock_alerts"] > 0
    for key in ("open_incidents", "teams", "shelters", "stock_alerts", "warnings", "risk_major"):
        assert shown(panel.tiles[key]) == expected[key], key
    assert f"{expected['responding']}" in panel.tiles["open_incidents"].detail_label.text()
    assert f"{expected['dispatched']}" in panel.tiles["teams"].detail_label.text()
    assert f"{expected['spare']}" in panel.tiles["shelters"].detail_label.text()
    assert panel.model.rowCount() == expected["open_incidents"]
    assert expected["open_incidents"] > 0 and expected["responding"] > 0  # the fixture exercises both
    assert re.fullmatch(r"数据截至 \d\d:\d\d:\d\d", panel.as_of_label.text())


def test_status_bar_shows_beijing_time_user_role_and_shift(make_window, ctx):
    window = make_window()
    bar = window.status
    assert bar.clock_caption.text() == "北京时间"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", bar.clock_label.text())
    assert bar.user.label.text().startswith("张三 · 值班员")
    assert bar.shift_label.label.text().startswith("班次 ")
    assert bar.sync.label.text() == "本地模式"  # ctx.sync is None


def test_clock_ticks(make_window, qtbot):
    bar = make_window().status
    first = bar.clock_label.text()
    qtbot.waitUntil(lambda: bar.clock_label.text() != first, timeout=2500)


def _add_open_incident(ctx, title="新接报：解放北路树木倒伏") -> str:
    data = {"title": title, "category": "natural", "severity": "IV", "status": "reported",
            "occurred_at": clock.now_iso()}
    return ctx.store.write_sync(lambda conn: records.create(conn, "incident", data, author_id=ctx.user.id,
                                                            now=clock.now_iso()))


def test_a_published_change_updates_the_overview(make_window, ctx, qtbot):
    panel = overview_of(make_window())
    before = shown(panel.tiles["open_incidents"])
    new_id = _add_open_incident(ctx)
    assert shown(panel.tiles["open_incidents"]) == before  # nothing re-reads without a ChangeSet
    ctx.publish(ChangeSet.of("incident", [new_id]))
    qtbot.waitUntil(lambda: shown(panel.tiles["open_incidents"]) == before + 1, timeout=2000)
    assert panel.model.rowCount() == before + 1
    assert panel.model.incident_id(0) == new_id  # newest first


def test_unwatched_changes_do_not_refresh(make_window, ctx, qtbot):
    panel = overview_of(make_window())
    ctx.publish(ChangeSet.of("contact", ["x"]))
    qtbot.wait(50)  # let the queued signal arrive
    assert not panel.refresh_pending()


def test_a_storm_of_changes_is_coalesced(make_window, ctx, qtbot, monkeypatch):
    panel = overview_of(make_window())
    reads = []
    real_read = ctx.read

    def counting_read(fn, *args):
        if fn is read_overview:
            reads.append(1)
        return real_read(fn, *args)

    monkeypatch.setattr(ctx, "read", counting_read)
    new_id = _add_open_incident(ctx)
    before = shown(panel.tiles["open_incidents"])
    for _ in range(2000):
        ctx.publish(ChangeSet.of("incident", [new_id], origin="sync"))
    qtbot.waitUntil(lambda: shown(panel.tiles["open_incidents"]) == before + 1, timeout=3000)
    qtbot.wait(300)
    assert 1 <= len(reads) <= 3


def test_changes_published_off_the_gui_thread_arrive_on_it(make_window, ctx, qtbot):
    window = make_window()
    seen = []
    window.changes.changes_applied.connect(lambda cs: seen.append(QThread.currentThread()))
    worker = threading.Thread(target=ctx.publish, args=(ChangeSet.of("incident"),))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(seen), timeout=2000)
    assert seen[0] is window.thread()


def test_briefing_mode_is_full_screen_read_only_and_larger(make_window, qapp, qtbot):
    window = make_window(briefing=True)
    assert window.windowState() & Qt.WindowState.WindowFullScreen
    assert window.host.read_only
    assert window.menuBar().isHidden()
    assert window.windowTitle() == "应急指挥台 · 大屏"
    assert not window.docks["map"].features() & window.docks["map"].DockWidgetFeature.DockWidgetMovable
    assert "font-size: 24px" in qapp.styleSheet()  # 15 px × 1.6
    window.show()
    window.setWindowState(Qt.WindowState.WindowNoState)  # as --screenshot does
    window.resize(3840, 2160)
    qtbot.waitUntil(lambda: "font-size: 48px" in qapp.styleSheet())  # the 4K wall's type grows with it
    assert window.docks["duty_log"].isHidden() and not window.docks["map"].isHidden()


def test_ctrl_number_focuses_a_dock_and_f1_opens_help(make_window, qtbot):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    window.focus_dock("map")
    # focusWidget(), not hasFocus(): the offscreen platform never makes a window active.
    assert window.focusWidget() is window.docks["map"].panel()
    window.findChild(type(window.menus.full_screen), "focus_overview").trigger()
    assert window.focusWidget() is overview_of(window).table  # the list, not the panel frame
    shortcuts = {a.shortcut().toString() for a in window.actions()}
    assert {f"Ctrl+{n}" for n in range(1, 8)} <= shortcuts
    assert {"F1", "F11", "Ctrl+Shift+L", "Ctrl+Shift+T", "Ctrl+Q"} <= shortcuts
    window.show_help()
    assert window._help is not None and window._help.isVisible()
