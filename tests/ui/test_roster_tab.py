"""The 交接班 dock's roster and roll-call tabs: forms that refuse bad times beside the field."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt

from app.services import roster
from app.services.shift_queries import current_shift
from app.store.schema import table_for
from app.ui.handover.common import set_edit_time


@pytest.fixture
def panel(qtbot, ctx, settings):
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.handover.panel import HandoverPanel
    from app.ui.selection import Selection

    host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False,
                     settings=settings)
    p = HandoverPanel(host)
    qtbot.addWidget(p)
    p.resize(1400, 900)
    p.show()
    qtbot.waitUntil(lambda: not p.handover.loading, timeout=10000)
    return p


def _count(ctx, entity: str) -> int:
    t = table_for(entity)
    return ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t)).scalar())


def _fill(tab, start, hours, officers, leader):
    set_edit_time(tab.starts, start)
    set_edit_time(tab.ends, start + dt.timedelta(hours=hours))
    tab.set_officers(officers)
    tab.leader.setCurrentIndex(tab.leader.findData(leader))


def _people(ctx):
    people = ctx.read(roster.duty_people)
    return [p.id for p in people if p.role == "officer"], next(p.id for p in people if p.role == "leader")


def test_roster_shows_the_week_and_marks_the_current_shift(panel, ctx):
    tab = panel.roster
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(tab.parentWidget()))
    cur = ctx.read(current_shift)
    assert any(r.id == cur.id for r in tab.rows)
    assert "当前班次" in tab.current_label.text()
    texts = [tab.list.proxy.index(r, 6).data() for r in range(tab.list.proxy.rowCount())]
    assert any(t.startswith("当前") for t in texts)


def test_end_before_start_is_refused_beside_the_end_field(panel, ctx):
    tab = panel.roster
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(tab.parentWidget()))
    officers, leader = _people(ctx)
    before = _count(ctx, "shift")
    tab.new_shift()
    cur = ctx.read(current_shift)
    _fill(tab, cur.ends_at + dt.timedelta(days=1), -3, officers[:1], leader)
    assert not tab.save()
    assert tab.problems["ends_at"].isVisible()
    assert tab.problems["ends_at"].text() == "结束时间必须晚于开始时间"
    assert _count(ctx, "shift") == before


def test_an_overlapping_shift_is_refused_beside_the_start_field(panel, ctx):
    tab = panel.roster
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(tab.parentWidget()))
    officers, leader = _people(ctx)
    before = _count(ctx, "shift")
    cur = ctx.read(current_shift)
    tab.new_shift()
    _fill(tab, cur.starts_at + dt.timedelta(hours=3), 12, officers[:2], leader)
    assert not tab.save()
    assert "重叠" in tab.problems["starts_at"].text()
    assert not tab.problems["ends_at"].isVisible()
    assert _count(ctx, "shift") == before


def test_officer_and_leader_are_required(panel, ctx):
    tab = panel.roster
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(tab.parentWidget()))
    cur = ctx.read(current_shift)
    tab.new_shift()
    _fill(tab, cur.ends_at, 24, [], None)
    assert not tab.save()
    assert tab.problems["officer_ids"].isVisible() and tab.problems["leader_id"].isVisible()


def test_a_valid_shift_is_saved_listed_and_editable(panel, ctx, qtbot):
    tab = panel.roster
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(tab.parentWidget()))
    officers, leader = _people(ctx)
    cur = ctx.read(current_shift)
    tab.new_shift()
    _fill(tab, cur.ends_at, 24, officers[:2], leader)
    tab.officer_phone.setText("020-83000110")
    assert tab.save()
    sid = tab.editing_id
    row = ctx.read(roster.get_shift, sid)
    assert row.status == "planned" and set(row.officer_ids) == set(officers[:2]) and row.leader_id == leader
    assert tab.list.selected_id() == sid
    # The handover tab offers it as the incoming shift once the change arrives.
    qtbot.waitUntil(lambda: panel.handover.next_shift.findData(sid) >= 0, timeout=3000)
    # Edit: change the hours, keep the rest.
    tab.edit_selected()
    set_edit_time(tab.ends, cur.ends_at + dt.timedelta(hours=12))
    assert tab.save()
    assert ctx.read(roster.get_shift, sid).ends_at == cur.ends_at + dt.timedelta(hours=12)


def test_copy_last_week_fills_this_week(panel, ctx):
    tab = panel.roster
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(tab.parentWidget()))
    before = len(tab.rows)
    tab.copy_last_week()  # the demo rostered every day of last week
    assert "已复制" in tab.action_note.text()
    added = len(tab.rows) - before
    assert added > 0
    assert tab.action_note.text().startswith(f"已复制 {added} 个班次")
    again = len(tab.rows)
    tab.copy_last_week()  # a second copy would overlap every shift just copied
    assert len(tab.rows) == again and tab.action_note.text().startswith("已复制 0 个班次")


def test_roster_list_exports_csv(panel, tmp_path):
    path = tmp_path / "roster.csv"
    n = panel.roster.list.export_to(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("日期,时间,值班员") and len(lines) == n + 1


# ---- Roll-calls ---------------------------------------------------------------------------------

def test_a_roll_call_is_recorded_with_its_response_time(panel, ctx):
    tab = panel.rollcalls
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(tab.parentWidget()))
    before = _count(ctx, "duty_log_entry")
    officers, _ = _people(ctx)
    tab.caller.setText("广州市应急管理局总值班室")
    tab.channel.setCurrentIndex(tab.channel.findData("phone"))
    from app.domain import clock

    called = clock.now().replace(microsecond=0) - dt.timedelta(minutes=3)
    set_edit_time(tab.called_at, called)
    set_edit_time(tab.answered_at, called + dt.timedelta(seconds=12))
    tab.answered_by.setCurrentIndex(tab.answered_by.findData(officers[0]))
    assert tab.response.text() == "响应时长：12 秒"
    assert tab.save()
    assert _count(ctx, "duty_log_entry") == before + 1
    first = [tab.list.proxy.index(0, c).data() for c in range(6)]
    assert first[1] == "广州市应急管理局总值班室" and first[2] == "电话" and first[5] == "12 秒"
    assert "响应 12 秒" in tab.result_note.text()
    assert tab.caller.text() == ""  # ready for the next one


def test_a_roll_call_answered_before_it_came_is_questioned(panel, ctx):
    tab = panel.rollcalls
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(tab.parentWidget()))
    before = _count(ctx, "duty_log_entry")
    tab.caller.setText("广东省应急管理厅")
    from app.domain import clock

    called = clock.now().replace(microsecond=0) - dt.timedelta(minutes=3)
    set_edit_time(tab.called_at, called)
    set_edit_time(tab.answered_at, called - dt.timedelta(seconds=30))
    assert not tab.save()
    assert tab.problems["answered_at"].text() == "应答时间不能早于点名时间"
    assert _count(ctx, "duty_log_entry") == before
    assert tab.caller.text() == "广东省应急管理厅"  # nothing typed is lost


def test_call_and_answer_buttons_time_the_response(panel, qtbot):
    tab = panel.rollcalls
    panel.tabs.setCurrentIndex(panel.tabs.indexOf(tab.parentWidget()))
    qtbot.mouseClick(tab.call_now, Qt.MouseButton.LeftButton)
    assert tab._tick.isActive()
    qtbot.mouseClick(tab.answer_now, Qt.MouseButton.LeftButton)
    assert not tab._tick.isActive()
    assert tab.response.text().startswith("响应时长：")


def test_tabs_are_built_when_first_shown(qtbot, ctx, settings):
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.handover.panel import HandoverPanel
    from app.ui.selection import Selection

    p = HandoverPanel(PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False,
                                settings=settings))
    qtbot.addWidget(p)
    assert p._built == [None, None, None]  # a dock tabbed away costs nothing at start-up
    p.show()
    assert p._built[0] is not None and p._built[1] is None
    p.tabs.setCurrentIndex(2)
    assert p._built[2] is not None and p._built[1] is None
