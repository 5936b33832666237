"""The bootstrap hooks: until_closed under qasync, screenshot_and_exit with a sync engine."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from app.services import sync_status as S
from app.ui import app_setup


@pytest.fixture
def qasync_loop(qapp):
    # pytest-qt does not drive qasync (pytest-qt #448): tests that need it make the loop themselves.
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


def test_until_closed_finishes_with_zero_when_the_window_closes(make_window, qasync_loop, qapp):
    window = make_window()
    window.show()
    assert qapp.quitOnLastWindowClosed()  # the case that stops qasync's loop under our feet
    QTimer.singleShot(50, window.close)
    assert qasync_loop.run_until_complete(app_setup.until_closed(window)) == 0


def test_until_closed_also_ends_when_the_application_quits(make_window, qasync_loop, qapp):
    window = make_window()
    window.show()
    QTimer.singleShot(50, qapp.quit)  # e.g. the desktop session ends
    assert qasync_loop.run_until_complete(app_setup.until_closed(window)) == 0


class OneShotSync:
    """A sync engine that only knows how to do one round."""

    def __init__(self):
        self.status = S.SyncStatus(state=S.SYNCING)
        self.subscribers = []
        self.rounds = 0

    def subscribe(self, fn):
        self.subscribers.append(fn)

    async def sync_once(self):
        await asyncio.sleep(0.01)
        self.rounds += 1
        self.status = dataclasses.replace(self.status, state=S.SYNCED, clock_offset_s=0)
        for fn in self.subscribers:
            fn(self.status)


def test_screenshot_runs_one_sync_round_first(make_window, ctx, qasync_loop, tmp_path):
    ctx.sync = OneShotSync()
    window = make_window()
    out = tmp_path / "shot.png"
    assert app_setup.screenshot_and_exit(window, out, "1280x800", qasync_loop) == 0
    assert ctx.sync.rounds == 1
    assert window.status.sync.label.text().startswith("已同步")
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)


def test_screenshot_of_the_wall_leaves_full_screen_for_the_requested_size(make_window, qasync_loop, tmp_path):
    window = make_window(briefing=True)
    out = tmp_path / "wall.png"
    assert app_setup.screenshot_and_exit(window, out, "2560x1440", qasync_loop) == 0
    assert QImage(str(out)).width() == 2560


@pytest.mark.parametrize("bad", ["1920", "axb", "10x10"])
def test_size_is_checked(bad):
    with pytest.raises(ValueError):
        app_setup.parse_size(bad)


def test_a_chinese_font_is_installed(settings, qapp):
    families = qapp.font().families()
    assert families and families[0] in app_setup.CJK_FAMILIES


def test_tab_order_walks_the_docks_in_their_order(make_window, qtbot):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    order = []
    start: QWidget = window.docks["overview"].panel().table
    widget = start
    for _ in range(5000):  # the chain holds every widget; only Tab-reachable ones matter
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisible():
            for dock_id, dock in window.docks.items():
                inside = dock.panel() is widget or dock.panel().isAncestorOf(widget)
                if inside and (not order or order[-1] != dock_id):
                    order.append(dock_id)
        widget = widget.nextInFocusChain()
        if widget is start:
            break
    expected = ["overview", "map", "duty_log", "incidents", "resources", "video", "handover"]
    assert order[:len(expected)] == expected


def test_selecting_an_incident_tells_the_shared_selection(make_window):
    window = make_window()
    panel = window.docks["overview"].panel()
    panel.table.selectRow(1)
    assert window.selection.current("incident") == (panel.model.incident_id(1),)
