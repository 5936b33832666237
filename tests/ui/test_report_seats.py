"""签发 across seats: an officer's report is synced at once, a leader on any console signs or returns it.

Two seats share one cache and one change bus here (as two consoles do after a sync: the live
test in tests/sync/test_report_signoff.py does it over a real server): the officer's panel and
the leader's panel each have their own AppContext and signed-in user.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from shiboken6 import isValid

from app.domain import clock
from app.services import reporting as R
from app.services.context import SignedInUser
from app.store import records
from app.store.schema import table_for
from app.ui import i18n
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.incidents.panel import IncidentsPanel
from app.ui.selection import Selection

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def leader_ctx(ctx):
    u = table_for("user")
    row = ctx.read(lambda c: c.execute(sa.select(u.c.id, u.c.username, u.c.name).where(u.c.role == "leader")
                                       .order_by(u.c.username).limit(1)).first())
    user = SignedInUser(id=row.id, username=row.username, name=row.name, role="leader")
    officer = ctx.user  # the fixture's officer gets a user row, so the leader's list can name the author
    ctx.store.write_sync(lambda c: records.bulk_load(c, [("user", {
        "id": officer.id, "username": officer.username, "name": officer.name, "role": "officer"})]))
    return dataclasses.replace(ctx, user=user)  # another seat: same data, same bus, a leader signed in


@pytest.fixture
def make_panel(qtbot):
    made = []

    def make(context, read_only=False) -> IncidentsPanel:
        bridge = ChangeBridge(context.bus)
        host = PanelHost(ctx=context, changes=bridge, selection=Selection(), read_only=read_only, settings=None)
        panel = IncidentsPanel(host)
        bridge.setParent(panel)
        qtbot.addWidget(panel)
        panel.resize(1200, 900)
        panel.show()
        made.append(panel)
        settled(qtbot, panel)
        return panel
    yield make
    for p in made:
        if isValid(p):
            p.timer.stop()


def settled(qtbot, panel) -> None:
    """The sign-off count (and the list, when shown) is read off the GUI thread: wait for it."""
    qtbot.waitUntil(lambda: panel.awaiting >= 0 and not panel.signoff_loading())


def _incident(ctx) -> str:
    t = clock.now() - dt.timedelta(minutes=20)
    data = dict(title="11·23签发路燃气泄漏", category="accident", subtype="燃气泄漏", severity="II",
                status="responding", occurred_at=clock.iso(t.replace(microsecond=0)), place="签发路", injured=1)
    return ctx.store.write_sync(lambda c: records.create(c, "incident", data, author_id=ctx.user.id,
                                                         now=clock.iso(t)))


def _submit(panel, iid, body):
    tab = panel.open_incident(iid)
    tab.show_section("reports")
    tab.reports.body.setPlainText(body)
    tab.reports.submit()
    return tab


def _cell(model, row, key):
    col = [k for k, _ in model.columns].index(key)
    return model.index(row, col).data()


def _report_log(ctx, iid):
    log = table_for("duty_log_entry")
    return ctx.read(lambda c: c.execute(sa.select(log.c.body).where(log.c.incident_id == iid, log.c.kind == "report")
                                        .order_by(log.c.occurred_at, log.c.created_at)).scalars().all())


def test_officer_submits_a_leader_elsewhere_returns_it_then_signs_the_revision(make_panel, ctx, leader_ctx, qtbot):
    iid = _incident(ctx)
    officer = make_panel(ctx)
    tab = _submit(officer, iid, "首报：签发路燃气泄漏，1人受伤。")
    row = tab.reports.model.row(0)
    assert tab.reports.model.rowCount() == 1 and row.awaiting and "待签发" in _cell(tab.reports.model, 0, "label")
    qtbot.waitUntil(lambda: officer.awaiting == 1)  # the change reaches the panel through the bus
    assert officer.awaiting == 1 and officer.signoff_chip.text().startswith("待签发 1 份")
    assert not officer.signoff_chip.isChecked()  # an officer's queue starts closed, and has no sign-off controls
    officer.signoff_chip.click()
    settled(qtbot, officer)
    assert officer.signoff.model.rowCount() == 1 and officer.signoff.isVisibleTo(officer)
    assert not officer.signoff.controls.isVisibleTo(officer.signoff)
    assert not tab.reports.signoff_box.isVisibleTo(tab.reports)
    assert tab.chip.due.kind == "first"  # nothing went upward yet

    leader = make_panel(leader_ctx)
    queue = leader.signoff
    settled(qtbot, leader)  # the chip opened the list on the first count: settle its read too
    assert leader.signoff_chip.isChecked() and queue.isVisibleTo(leader)  # a leader sees what waits, at once
    assert queue.model.rowCount() == 1
    assert _cell(queue.model, 0, "incident") == "11·23签发路燃气泄漏" and _cell(queue.model, 0, "author") == "张三"
    queue.select_id(row.id)
    assert queue.controls.isVisibleTo(queue) and queue.return_button.isEnabled()
    queue.return_button.click()  # no reason given: refused beside the field, nothing written
    assert queue.comment_row.message.text() == "退回时请写明原因" and queue.model.rowCount() == 1
    queue.comment.setText("伤亡情况请与卫健部门核实")
    queue.return_button.click()
    assert queue.model.rowCount() == 0  # gone from the list at once
    qtbot.waitUntil(lambda: leader.awaiting == 0)
    assert "待签发 0 份" in leader.signoff_chip.text()

    # The officer's seat follows through the change bus: returned, with the leader's comment.
    qtbot.waitUntil(lambda: tab.reports.model.row(0).returned)
    assert "已退回：伤亡情况请与卫健部门核实" == _cell(tab.reports.model, 0, "signed")
    assert officer.awaiting == 0 and tab.chip.due.kind == "first"
    tab.reports.select_id(row.id)
    assert tab.reports.revise_button.isEnabled()
    tab.reports.revise_button.click()
    assert tab.reports.body.toPlainText() == "首报：签发路燃气泄漏，1人受伤。"
    assert "伤亡情况请与卫健部门核实" in tab.reports.note.text()
    tab.reports.body.setPlainText("首报：签发路燃气泄漏，1人受伤（已与卫健核实）。")
    tab.reports.submit()
    revised = tab.reports.selected_id()
    assert revised != row.id and ctx.read(R.load_report, revised).seq == 1  # the returned one gave its number back

    qtbot.waitUntil(lambda: queue.model.rowCount() == 1)
    queue.select_id(revised)
    queue.comment.setText("同意")
    queue.comment.returnPressed.emit()  # Enter in the comment signs
    assert queue.model.rowCount() == 0 and "已签发" in queue.note.text()
    qtbot.waitUntil(lambda: ctx.read(R.load_report, revised).counted and tab.chip.due.kind == "followup")
    signed = [tab.reports.model.row_by_id(revised)]
    assert signed[0].signed_by == leader_ctx.user.id
    assert _cell(tab.reports.model, tab.reports.model.ids().index(revised), "signed") == leader_ctx.user.name
    lines = _report_log(ctx, iid)
    assert len(lines) == 2 and "退回修改" in lines[0] and "已向" in lines[1] and "首报" in lines[1]


def test_opening_from_the_queue_shows_the_report_in_its_incident(make_panel, ctx, leader_ctx, qtbot):
    iid = _incident(ctx)
    rid = R.compose_report(ctx, iid, "first", "首报正文")
    leader = make_panel(leader_ctx)
    settled(qtbot, leader)
    leader.signoff.select_id(rid)
    leader.signoff.table.activated.emit(leader.signoff.table.currentIndex())
    tab = leader.current_tab()
    assert tab is not None and tab.incident_id == iid and tab.reports.selected_id() == rid
    assert tab.reports.signoff_box.isVisibleTo(tab.reports) and tab.reports.sign_button.isEnabled()
    tab.reports.comment.setText("")
    tab.reports.return_button.click()
    assert tab.reports.comment_row.message.text() == "退回时请写明原因"
    tab.reports.sign_button.click()
    assert tab.reports.model.row_by_id(rid).counted
    qtbot.waitUntil(lambda: leader.awaiting == 0)


def test_queue_is_searchable_sortable_and_exports_csv(make_panel, ctx, leader_ctx, tmp_path, qtbot):
    a, b = _incident(ctx), _incident(ctx)
    ctx.store.write_sync(lambda c: records.patch(c, "incident", b, {"title": "11·23另一路火灾", "severity": "I"},
                                                 author_id=ctx.user.id, now=clock.now_iso()))
    R.compose_report(ctx, a, "first", "甲的首报")
    R.compose_report(ctx, b, "first", "乙的首报")
    panel = make_panel(leader_ctx)
    settled(qtbot, panel)
    queue = panel.signoff
    assert queue.model.rowCount() == 2
    queue.search.setText("另一路")
    assert queue.proxy.rowCount() == 1
    queue.search.clear()
    queue.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    first = queue.proxy.index(0, 0).data()
    queue.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert queue.proxy.index(0, 0).data() != first
    with qtbot.waitActive(panel):
        panel.activateWindow()
    qtbot.keyClick(panel.signoff.table, Qt.Key.Key_S, CTRL_SHIFT)  # Ctrl+Shift+S folds the list away…
    assert not panel.signoff_chip.isChecked() and not panel.signoff.isVisibleTo(panel)
    qtbot.keyClick(panel.open_button, Qt.Key.Key_S, CTRL_SHIFT)
    assert panel.signoff.isVisibleTo(panel)  # …and brings it back
    path = tmp_path / "signoff.csv"
    assert queue.export_csv(path) == 2
    text = path.read_text(encoding="utf-8-sig")
    assert "甲的首报" in text and "乙的首报" in text and "提交人" in text


def test_the_wall_and_english(make_panel, ctx, leader_ctx, qtbot):
    iid = _incident(ctx)
    R.compose_report(ctx, iid, "first", "首报正文")
    wall = make_panel(leader_ctx, read_only=True)
    assert not wall.signoff_chip.isChecked()
    wall.signoff_chip.click()
    settled(qtbot, wall)
    assert wall.signoff.model.rowCount() == 1 and not wall.signoff.controls.isVisibleTo(wall.signoff)
    i18n.set_language("en")
    assert wall.signoff_chip.text().startswith("1 awaiting sign-off")
    assert wall.signoff.model.headerData(2, Qt.Orientation.Horizontal) == "Submitted by"
