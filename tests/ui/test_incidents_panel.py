"""The incident workspace: tabs from the shared selection, a form that keeps what is typed, legal moves only."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow
from shiboken6 import isValid

from app.domain import clock
from app.services.context import SignedInUser
from app.services.incident_queries import open_incident_ids
from app.store import records
from app.store.schema import table_for
from app.ui import i18n
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.incidents.panel import IncidentsPanel
from app.ui.selection import Selection

LEADER = SignedInUser(id="00000000-0000-4000-8000-0000000000b1", username="lm", name="李明", role="leader")
SQUARE = {"type": "Polygon", "coordinates": [[[100.0, 10.0], [100.2, 10.0], [100.2, 10.2], [100.0, 10.2],
                                               [100.0, 10.0]]]}


@pytest.fixture
def make_panel(qtbot, ctx):
    made = []

    def make(selection=None, read_only=False) -> IncidentsPanel:
        bridge = ChangeBridge(ctx.bus)
        host = PanelHost(ctx=ctx, changes=bridge, selection=selection or Selection(), read_only=read_only,
                         settings=None)
        panel = IncidentsPanel(host)
        bridge.setParent(panel)
        qtbot.addWidget(panel)
        panel.resize(1100, 900)
        with qtbot.waitActive(panel):  # shortcuts (Ctrl+O, Ctrl+W, Ctrl+S) go to the active window
            panel.show()
            panel.activateWindow()
        made.append(panel)
        return panel
    yield make
    for p in made:
        if isValid(p):
            p.timer.stop()
            for tab in p.tabs_by_id.values():
                tab.save_draft_now()  # as the console does before it closes the store


def _new_incident(ctx, **over) -> str:
    t = clock.now() - dt.timedelta(minutes=50)
    data = dict(title="11·23测试路内涝", category="natural", subtype="内涝", severity="III", status="reported",
                occurred_at=clock.iso(t.replace(microsecond=0)), place="测试路", dead=0, injured=0, missing=0,
                trapped=0)
    data.update(over)
    return ctx.store.write_sync(lambda c: records.create(c, "incident", data, author_id=ctx.user.id,
                                                         now=clock.iso(t)))


def _open(panel, iid):
    panel.host.selection.select("incident", [iid])
    return panel.open_selected()


def test_selected_incidents_open_in_their_own_tabs_and_ctrl_w_closes(make_panel, ctx, qtbot):
    panel = make_panel()
    assert panel.empty.isVisible() and not panel.open_button.isEnabled()
    a, b = ctx.read(open_incident_ids)[:2]
    panel.host.selection.select("incident", [a])
    assert panel.open_button.isEnabled()
    panel.open_button.setFocus()
    qtbot.keyClick(panel.open_button, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert list(panel.tabs_by_id) == [a]
    _open(panel, b)
    assert panel.tabs.count() == 2 and panel.current_tab().incident_id == b
    panel.host.selection.select("incident", [a])  # selecting an open one brings its tab forward
    assert panel.current_tab().incident_id == a
    panel.current_tab().form.title.setFocus()
    qtbot.keyClick(panel.current_tab().form.title, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert list(panel.tabs_by_id) == [b]


def test_switching_tabs_keeps_edits_and_a_draft_survives_a_restart(make_panel, ctx, qtbot):
    a, b = _new_incident(ctx), _new_incident(ctx, title="11·23另一路火灾")
    panel = make_panel()
    tab_a = _open(panel, a)
    tab_a.form.title.setText("尚未保存的名称")
    tab_a.form.casualties["injured"].setText("3")
    _open(panel, b)
    panel.tabs.setCurrentWidget(tab_a)
    assert tab_a.form.title.text() == "尚未保存的名称"
    for future in tab_a.save_draft_now():
        future.result()
    # "Crash": a new panel on the same cache reopens the tab with what was typed.
    panel.close()
    again = make_panel()
    assert a in again.tabs_by_id
    restored = again.tabs_by_id[a]
    assert restored.form.title.text() == "尚未保存的名称" and restored.form.casualties["injured"].text() == "3"
    assert restored.dirty and "恢复" in restored.form.save_note.text()
    assert ctx.read(lambda c: records.get(c, "incident", a))["title"] == "11·23测试路内涝"  # not saved


def test_status_offers_only_legal_moves_and_a_move_lands_in_the_timeline(make_panel, ctx):
    iid = _new_incident(ctx, status="responding")
    tab = _open(make_panel(), iid)
    offered = [tab.form.status.itemData(i) for i in range(tab.form.status.count())]
    assert offered == ["responding", "closed"]
    tab.form.status.setCurrentIndex(1)
    assert tab.save()
    assert ctx.read(lambda c: records.get(c, "incident", iid))["status"] == "closed"
    tab.show_section("timeline")
    kinds = [tab.timeline.model.row(i).kind for i in range(tab.timeline.model.rowCount())]
    assert "status" in kinds
    assert [tab.form.status.itemData(i) for i in range(tab.form.status.count())] == ["closed"]
    # Closed without ever reporting upward: handled locally, no 终报 owed (report_deadlines).
    assert tab.chip.due is None and not tab.chip.isVisibleTo(tab)


def test_negative_casualties_are_refused_beside_the_field(make_panel, ctx):
    iid = _new_incident(ctx)
    tab = _open(make_panel(), iid)
    tab.form.casualties["dead"].setText("-2")
    tab.form.casualties["trapped"].setText("abc")
    assert not tab.save()
    assert tab.form.rows["dead"].message.text() == "不能为负数"
    assert tab.form.rows["trapped"].message.text() == "应为整数"
    assert ctx.read(lambda c: records.get(c, "incident", iid))["dead"] == 0


def test_a_future_time_is_questioned_then_saved_when_confirmed(make_panel, ctx):
    from PySide6.QtCore import QDateTime

    iid = _new_incident(ctx)
    tab = _open(make_panel(), iid)
    future = clock.now() + dt.timedelta(days=1)
    tab.form.occurred_at.setDateTime(QDateTime(future.year, future.month, future.day, 9, 0, 0))
    assert not tab.save()
    assert "将来" in tab.form.rows["occurred_at"].message.text()
    assert "确认" in tab.form.save_button.text()
    assert tab.save()
    saved = ctx.read(lambda c: records.get(c, "incident", iid))["occurred_at"]
    assert saved.startswith(future.strftime("%Y-%m-%dT09:00"))


def test_street_comes_from_the_coordinates_and_the_name_is_suggested(make_panel, ctx):
    street = ctx.store.write_sync(lambda c: records.create(c, "org_unit", {"name": "测试街道", "kind": "street",
                                                                          "boundary": SQUARE},
                                                           author_id=None, now=clock.now_iso()))
    iid = _new_incident(ctx, title="临时名称", place="测试路")
    tab = _open(make_panel(), iid)
    tab.form.lon.setText("100.1")
    tab.form.lat.setText("10.1")
    tab.form.lat.editingFinished.emit()
    assert tab.form.street.text() == "测试街道"
    md = clock.now() - dt.timedelta(minutes=50)
    assert tab.form.suggest.text().endswith(f"{md.month}·{md.day}测试路内涝")  # short: not elided
    tab.form.suggest.click()
    assert tab.save()
    row = ctx.read(lambda c: records.get(c, "incident", iid))
    assert row["org_unit_id"] == street and row["title"] == f"{md.month}·{md.day}测试路内涝"


def test_officer_report_waits_for_signoff_then_the_leader_signs(make_panel, ctx):
    iid = _new_incident(ctx)
    panel = make_panel()
    tab = _open(panel, iid)
    tab.show_section("reports")
    reports = tab.reports
    assert reports.kind.currentData() == "first"  # what is owed next is offered
    reports.submit()
    assert reports.rows["body"].message.text() == "请填写报告正文"
    reports.prefill()
    assert "11·23测试路内涝" in reports.body.toPlainText()
    reports.submit()
    assert reports.model.rowCount() == 1 and reports.model.row(0).awaiting
    assert "等待带班领导签发" in reports.note.text() and not reports.sign_button.isVisibleTo(reports)
    assert tab.chip.due.kind == "first"  # still owed: nothing went upward
    ctx.user = LEADER
    leader_tab = _open(make_panel(), iid)
    leader_tab.show_section("reports")
    leader_tab.reports.select_id(leader_tab.reports.model.ids()[0])
    assert leader_tab.reports.sign_button.isVisibleTo(leader_tab.reports) and leader_tab.reports.sign_button.isEnabled()
    leader_tab.reports.sign_button.click()
    row = leader_tab.reports.model.row(0)
    assert not row.awaiting and row.signed_by == LEADER.id and row.submitted_at
    assert leader_tab.chip.due.kind == "followup"
    log = table_for("duty_log_entry")
    kinds = ctx.read(lambda c: c.execute(sa.select(log.c.kind).where(log.c.incident_id == iid)).scalars().all())
    assert kinds == ["report"]


def test_instruction_is_recorded_highlighted_when_overdue_and_closed(make_panel, ctx):
    from PySide6.QtCore import QDateTime
    from PySide6.QtGui import QBrush

    iid = _new_incident(ctx)
    tab = _open(make_panel(), iid)
    tab.show_section("instructions")
    section = tab.instructions
    section.add()
    assert section.rows["given_by"].message.text() == "请填写批示领导"
    section.given_by.setText("区长 卢家豪")
    section.body.setPlainText("全力排水，确保群众安全")
    section.owner.setText("测试街道")
    section.has_due.setChecked(True)
    past = clock.now() - dt.timedelta(minutes=10)
    given = clock.now() - dt.timedelta(minutes=40)
    section.given_at.setDateTime(QDateTime(given.year, given.month, given.day, given.hour, given.minute, 0))
    section.due_at.setDateTime(QDateTime(past.year, past.month, past.day, past.hour, past.minute, 0))
    section.add()
    assert section.model.rowCount() == 1
    assert section.model.text(section.model.row(0), "status") == "逾期未办结"
    brush = section.model.data(section.model.index(0, 2), Qt.ItemDataRole.BackgroundRole)
    assert isinstance(brush, QBrush)
    section.select_id(section.model.ids()[0])
    section.close_button.click()
    assert section.model.row(0).status == "done" and section.model.row(0).closed_at
    assert "已办结" in section.model.text(section.model.row(0), "status")
    tab.show_section("timeline")
    texts = [tab.timeline.model.row(i).text for i in range(tab.timeline.model.rowCount())]
    assert any("批示已办结" in t for t in texts)


def test_overdue_report_blinks_the_tab_and_the_dock_title(ctx, qtbot):
    iid = _new_incident(ctx, severity="II")  # 首报 within 30 minutes; the intake was 50 minutes ago
    window = QMainWindow()
    qtbot.addWidget(window)
    dock = QDockWidget("事件", window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    bridge = ChangeBridge(ctx.bus)
    panel = IncidentsPanel(PanelHost(ctx=ctx, changes=bridge, selection=Selection(), read_only=False, settings=None))
    bridge.setParent(panel)
    dock.setWidget(panel)
    window.show()
    panel.timer.stop()  # the test ticks by hand
    tab = _open(panel, iid)
    assert tab.overdue() and "超时" in tab.chip.text()
    titles, colours = set(), set()
    for _ in range(2):
        panel.tick()
        titles.add(dock.windowTitle())
        colours.add(panel.tabs.tabBar().tabTextColor(panel.tabs.indexOf(tab)).name())
    assert any(t.startswith("⚠") and "报送逾期" in t for t in titles) and len(titles) == 2
    assert "#d7261e" in colours


def test_timeline_is_searchable_and_exports_csv(make_panel, ctx, tmp_path):
    iid = ctx.read(open_incident_ids)[0]
    tab = _open(make_panel(), iid)
    assert tab.timeline.model.rowCount() == 0  # hidden lists are read when first shown
    tab.show_section("timeline")
    n = tab.timeline.proxy.rowCount()
    assert n >= 2
    tab.timeline.search.setText("接")
    assert 0 < tab.timeline.proxy.rowCount() <= n
    path = tmp_path / "timeline.csv"
    assert tab.timeline.export_csv(path) == tab.timeline.proxy.rowCount()
    assert path.read_text(encoding="utf-8-sig").splitlines()[0] == "时间,类型,内容"


def test_read_only_wall_shows_but_never_saves(make_panel, ctx):
    iid = _new_incident(ctx)
    tab = _open(make_panel(read_only=True), iid)
    assert tab.form.title.isReadOnly() and not tab.form.status.isEnabled()
    assert not tab.save()
    tab.show_section("reports")
    assert not tab.reports.submit_button.isVisibleTo(tab) and not tab.reports.body.isVisibleTo(tab)
    tab.show_section("instructions")
    assert not tab.instructions.add_button.isVisibleTo(tab) and tab.instructions.stack.isVisibleTo(tab)


def test_language_switch_relabels(make_panel, ctx):
    iid = _new_incident(ctx)
    panel = make_panel()
    tab = _open(panel, iid)
    i18n.set_language("en")
    assert tab.sections.tabText(1) == "Timeline"
    assert tab.form.captions["dead"].text() == "Dead"
    assert panel.daily_button.text().startswith("Daily duty report")
    assert tab.chip.text().startswith("First report")


def test_switching_tabs_tells_the_other_panels(make_panel, ctx):
    a, b = ctx.read(open_incident_ids)[:2]
    panel = make_panel()
    panel.open_incident(a)
    panel.open_incident(b)
    assert panel.host.selection.current("incident") == (b,)
    panel.tabs.setCurrentIndex(0)
    assert panel.host.selection.current("incident") == (a,)
