"""Report countdown chips: in the overview, soonest first, red and blinking when late; a click selects."""

from __future__ import annotations

import datetime as dt

import pytest
from shiboken6 import isValid

from app.domain import clock
from app.services.report_deadlines import ReportDue
from app.store import records
from app.ui import i18n
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.incidents.chips import CountdownChip, chip_state, countdown_text
from app.ui.selection import Selection


def _incident(ctx, minutes_ago: int, severity: str, title: str) -> str:
    t = clock.now() - dt.timedelta(minutes=minutes_ago)
    data = dict(title=title, category="accident", severity=severity, status="reported",
                occurred_at=clock.iso(t.replace(microsecond=0)))
    return ctx.store.write_sync(lambda c: records.create(c, "incident", data, author_id=ctx.user.id, now=clock.iso(t)))


@pytest.fixture
def overview(qtbot, ctx):
    from app.ui.overview_panel import OverviewPanel

    bridge = ChangeBridge(ctx.bus)
    selection = Selection()
    panel = OverviewPanel(PanelHost(ctx=ctx, changes=bridge, selection=selection, read_only=False, settings=None))
    bridge.setParent(panel)
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    yield panel
    if isValid(panel):
        panel.due_strip.timer.stop()


def test_countdown_text_and_state():
    assert countdown_text(125) == "02:05" and countdown_text(-3725) == "1:02:05"
    assert countdown_text(3 * 86400 + 7200) == "3天2时"
    assert chip_state(-1) == "overdue" and chip_state(600) == "soon" and chip_state(3600) == "ok"


def test_chip_counts_down_and_goes_red_when_late(qapp):
    now = clock.now()
    chip = CountdownChip(title="测试事件")
    chip.set_due(ReportDue("x", "测试事件", "II", "followup", 3, now + dt.timedelta(seconds=90), False))
    chip.tick(now, False)
    assert chip.text() == "测试事件 · 续报二 还剩 01:30" and chip.state == "soon"
    chip.tick(now + dt.timedelta(seconds=100), False)
    assert chip.text() == "测试事件 · 续报二 超时 00:10" and chip.state == "overdue"
    assert "#d7261e" in chip.styleSheet()
    chip.tick(now + dt.timedelta(seconds=101), True)
    assert "#ffe1df" in chip.styleSheet()  # the blink phase: impossible to miss
    i18n.set_language("en")
    chip.tick(now + dt.timedelta(seconds=100), False)
    assert chip.text() == "测试事件 · Follow-up 2 late 00:10"


def test_overview_lists_reports_due_soonest_first_and_a_click_selects(overview, ctx, qtbot):
    late = _incident(ctx, 45, "II", "11·23甲路火灾")  # 首报 due 30 min after intake: 15 min late
    _incident(ctx, 5, "IV", "11·23乙路交通事故")  # due in 115 min
    overview.refresh_now()
    strip = overview.due_strip
    qtbot.waitUntil(lambda: not strip.loading() and any(d.incident_id == late for d in strip.dues), timeout=10000)
    assert [d.due_at for d in strip.dues] == sorted(d.due_at for d in strip.dues)
    mine = next(d for d in strip.dues if d.incident_id == late)
    assert mine.kind == "first" and mine.overdue(clock.now())
    first = strip.chips[0]
    assert first.isVisible() and first.due == strip.dues[0] and first.state == "overdue"  # the demo has late ones
    assert "超时" in first.text()
    assert strip.overdue >= 1 and "逾期" in strip.caption.text()
    with qtbot.waitSignal(overview.host.selection.selection_changed):
        first.click()
    assert overview.host.selection.current("incident") == (strip.dues[0].incident_id,)
