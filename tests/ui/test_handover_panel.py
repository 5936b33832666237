"""The 交接班 dock's handover tab: read-back of every item, both signatures, the seal, the printout."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from PySide6.QtCore import Qt

from app.domain import clock
from app.services import handover, roster
from app.services.changes import ChangeSet
from app.services.shift_queries import current_shift
from app.store.kv import kv_put
from app.store.schema import table_for


def _password(username: str) -> str:
    return f"Pw-{username}-handover"


@pytest.fixture
def duty(ctx):
    """The demo's shift on watch, a planned next shift, and offline verifiers for the duty officers."""
    people = ctx.read(roster.duty_people)
    u = table_for("user")
    usernames = dict(ctx.read(lambda c: c.execute(sa.select(u.c.id, u.c.username)).all()))
    h = PasswordHasher(time_cost=1, memory_cost=8192)

    def seed(c):
        for p in people:
            kv_put(c, f"verifier:{usernames[p.id]}", {"hash": h.hash(_password(usernames[p.id])), "user": {}})
    ctx.store.write_sync(seed)
    cur = ctx.read(roster.get_shift, ctx.read(current_shift).id)
    incoming = next(p for p in people if p.role == "officer" and p.id not in cur.officer_ids)
    leader = next(p for p in people if p.role == "leader")
    draft = roster.ShiftDraft(cur.ends_at, cur.ends_at + dt.timedelta(hours=24), [incoming.id], leader.id,
                              org_unit_id=cur.org_unit_id)
    nxt = ctx.store.write_sync(lambda c: roster.save_shift(c, draft, shift_id=None, author_id=None,
                                                           now=clock.now_iso()))
    return {"current": cur, "next": nxt, "outgoing": cur.officer_ids[0], "incoming": incoming.id,
            "usernames": usernames}


def _host(ctx, settings, read_only=False):
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.selection import Selection

    return PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=read_only,
                     settings=settings)


@pytest.fixture
def tab(qtbot, ctx, settings, duty):
    from app.ui.handover.panel import HandoverPanel

    panel = HandoverPanel(_host(ctx, settings))
    qtbot.addWidget(panel)
    panel.resize(1400, 900)
    panel.show()
    t = panel.handover
    t.keep_panel = panel  # the tab lives in the panel: hold the panel for the test's length
    qtbot.waitUntil(lambda: not t.loading and t.table.rowCount() > 0, timeout=10000)
    return t


def _handovers(ctx) -> int:
    t = table_for("handover")
    return ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t)).scalar())


def _ack_all_with_space(qtbot, tab):
    tab.table.setFocus()
    tab.table.setCurrentCell(0, 0)
    for _ in range(tab.table.rowCount()):
        qtbot.keyClick(tab.table, Qt.Key.Key_Space)


def _ctrl_enter(tab):
    # The offscreen platform never activates a window, so shortcuts cannot fire from key events there:
    # find the tab's Ctrl+Enter shortcut and activate it as Qt would.
    from PySide6.QtGui import QShortcut

    shortcut = next(s for s in tab.findChildren(QShortcut) if s.key().toString() == "Ctrl+Return")
    shortcut.activated.emit()


def _sign(tab, duty, incoming_password=None):
    names = duty["usernames"]
    tab.outgoing.setCurrentIndex(tab.outgoing.findData(duty["outgoing"]))
    tab.incoming.setCurrentIndex(tab.incoming.findData(duty["incoming"]))
    tab.outgoing_password.setText(_password(names[duty["outgoing"]]))
    tab.incoming_password.setText(incoming_password or _password(names[duty["incoming"]]))


def test_lists_whats_open_and_the_next_shift(tab, ctx, duty):
    kinds = {tab.table.item(r, 1).text() for r in range(tab.table.rowCount())}
    assert {"在办事件", "待报送"} <= kinds
    assert tab.table.rowCount() == len(ctx.read(handover.open_items))
    assert tab.next_shift.currentData() == duty["next"]
    assert tab.incoming.currentData() == duty["incoming"]  # the next shift's officer, preselected
    assert "交班班次" in tab.shift_label.text()
    assert not tab.take_button.isEnabled()


def test_space_acknowledges_item_by_item_and_take_stays_disabled_until_all_are(qtbot, tab, duty):
    _sign(tab, duty)
    n = tab.table.rowCount()
    tab.table.setFocus()
    tab.table.setCurrentCell(0, 0)
    qtbot.keyClick(tab.table, Qt.Key.Key_Space)
    assert tab.table.item(0, 0).checkState() == Qt.CheckState.Checked
    assert tab.table.currentRow() == 1  # the read-back walks down the list
    assert tab.progress.text() == f"已确认 1 / {n} 项"
    assert not tab.take_button.isEnabled()
    tab.table.setCurrentCell(0, 2)
    qtbot.keyClick(tab.table, Qt.Key.Key_Space)  # Space again un-acknowledges
    assert tab.table.item(0, 0).checkState() == Qt.CheckState.Unchecked
    _ack_all_with_space(qtbot, tab)
    assert tab.unacknowledged() == 0
    assert tab.take_button.isEnabled()


def test_ctrl_enter_with_items_unacknowledged_says_so_beside_the_list(qtbot, tab, ctx, duty):
    _sign(tab, duty)
    _ctrl_enter(tab)
    qtbot.waitUntil(lambda: not tab.busy, timeout=10000)
    assert tab.items_problem.isVisible()
    assert "未确认" in tab.items_problem.text()
    assert "未交接" in tab.result.text()
    assert ctx.read(current_shift).id == duty["current"].id


def test_a_wrong_password_is_shown_beside_that_signature_and_nothing_is_saved(qtbot, tab, ctx, duty):
    before = _handovers(ctx)
    _ack_all_with_space(qtbot, tab)
    _sign(tab, duty, incoming_password="not-my-password")
    tab.take_shift()
    qtbot.waitUntil(lambda: not tab.busy, timeout=10000)
    assert tab.incoming_problem.isVisible() and tab.incoming_problem.text() == "密码错误"
    assert not tab.outgoing_problem.isVisible()
    assert _handovers(ctx) == before
    assert ctx.read(current_shift).id == duty["current"].id
    assert tab.incoming_password.text() == ""  # a password never lingers in the form


def test_signing_seals_the_chain_and_the_next_shift_takes_the_watch(qtbot, tab, ctx, duty):
    before, n_items = _handovers(ctx), tab.table.rowCount()
    _ack_all_with_space(qtbot, tab)
    tab.table.item(0, 4).setText("已与现场指挥部电话核实")
    tab.notes.setPlainText("卫星电话已充电")
    _sign(tab, duty)
    with qtbot.waitSignal(tab.handed_over, timeout=10000) as signal:
        _ctrl_enter(tab)
    result = signal.args[0]
    assert _handovers(ctx) == before + 1
    record = ctx.read(handover.get_handover, result.handover_id)
    assert len(record.items) == n_items
    assert all(i["acknowledged"] for i in record.items)
    assert any(i.get("note") == "已与现场指挥部电话核实" for i in record.items)
    assert record.notes == "卫星电话已充电"
    assert ctx.read(current_shift).id == duty["next"]
    assert "交接完成" in tab.result.text()
    qtbot.waitUntil(lambda: not tab.loading, timeout=10000)
    # The tab now shows the new shift as the one handing over next, and the record in the history.
    assert tab.shift.id == duty["next"]
    assert tab.history_list.selected_id() == result.handover_id


def test_the_printout_exports_as_pdf_and_text(qtbot, tab, ctx, duty, tmp_path):
    _ack_all_with_space(qtbot, tab)
    _sign(tab, duty)
    with qtbot.waitSignal(tab.handed_over, timeout=10000) as signal:
        tab.take_shift()
    hid = signal.args[0].handover_id
    pdf, txt = tmp_path / "h.pdf", tmp_path / "h.txt"
    tab.export_printout(hid, pdf)
    tab.export_printout(hid, txt)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 2000
    text = txt.read_text(encoding="utf-8")
    assert "交接班记录" in text and signal.args[0].chain_head in text


def test_items_export_to_csv(qtbot, tab, tmp_path):
    path = tmp_path / "items.csv"
    n = tab.export_items(path)
    assert n == tab.table.rowCount()
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("确认,类别,事项")
    assert len(lines) == n + 1


def test_search_filters_the_items(qtbot, tab):
    tab.search.setText("待报送")
    shown = [r for r in range(tab.table.rowCount()) if not tab.table.isRowHidden(r)]
    assert shown and all(tab.table.item(r, 1).text() == "待报送" for r in shown)


def test_briefing_display_shows_but_cannot_hand_over(qtbot, ctx, settings, duty):
    from app.ui.handover.panel import HandoverPanel

    panel = HandoverPanel(_host(ctx, settings, read_only=True))
    qtbot.addWidget(panel)
    panel.show()
    t = panel.handover
    qtbot.waitUntil(lambda: not t.loading and t.table.rowCount() > 0, timeout=10000)
    assert not t.take_button.isVisible() and not t.sign_box.isVisible()
    t.table.setCurrentCell(0, 0)
    t.toggle_current()
    assert t.table.item(0, 0).checkState() == Qt.CheckState.Unchecked
    assert not (t.table.item(0, 0).flags() & Qt.ItemFlag.ItemIsUserCheckable)


def test_english_labels(qtbot, tab):
    from app.ui import i18n

    i18n.set_language("en")
    assert tab.take_button.text().startswith("Sign and take the shift")
    assert tab.table.horizontalHeaderItem(1).text() == "Category"
    assert "acknowledged" in tab.progress.text()


def test_status_bar_follows_the_handover(make_window, ctx, duty, qtbot):
    window = make_window()
    bar = window.status
    items = ctx.read(handover.open_items)
    draft = handover.HandoverDraft(duty["current"].id, duty["next"], items,
                                   {i.key: handover.Acknowledgement(True) for i in items},
                                   duty["outgoing"], duty["incoming"])
    result = ctx.store.write_sync(lambda c: handover.seal_handover(c, draft, device_id=ctx.device_id,
                                                                   author_id=ctx.user.id, now=clock.now_iso()))
    ctx.publish(ChangeSet.of("shift", [result.shift_id, result.next_shift_id]))
    nxt = ctx.read(roster.get_shift, duty["next"])
    qtbot.waitUntil(lambda: bar.shift_label.label.text().startswith(f"班次 {nxt.starts_at:%H:%M}–"), timeout=3000)
    assert nxt.leader_name in bar.shift_label.label.text()


def test_the_read_back_survives_a_restart_but_no_password_is_kept(qtbot, tab, ctx, settings, duty):
    from app.ui.handover.panel import HandoverPanel

    tab.table.setFocus()
    tab.table.setCurrentCell(0, 0)
    for _ in range(3):
        qtbot.keyClick(tab.table, Qt.Key.Key_Space)
    tab.table.item(1, 4).setText("已电话核实")
    tab.notes.setPlainText("传真机缺纸")
    _sign(tab, duty)
    qtbot.waitUntil(lambda: ctx.read(handover.load_draft, duty["current"].id) is not None
                    and ctx.read(handover.load_draft, duty["current"].id).get("notes") == "传真机缺纸", timeout=3000)
    keys = [tab.table.item(r, 0).data(Qt.ItemDataRole.UserRole + 1) for r in range(3)]
    saved = ctx.read(handover.load_draft, duty["current"].id)
    assert "Pw-" not in repr(saved)
    # A new panel, as after a crash: the three acknowledgements, the note and the notes come back.
    again = HandoverPanel(_host(ctx, settings))
    qtbot.addWidget(again)
    again.show()
    t2 = again.handover
    qtbot.waitUntil(lambda: not t2.loading and t2.table.rowCount() > 0, timeout=10000)
    assert all(t2.acks[k].acknowledged for k in keys)
    assert t2.unacknowledged() == t2.table.rowCount() - 3
    assert t2.acks[keys[1]].note == "已电话核实"
    assert t2.notes.toPlainText() == "传真机缺纸"
    assert t2.incoming.currentData() == duty["incoming"]
    assert t2.outgoing_password.text() == "" and t2.incoming_password.text() == ""
    # Sealing clears it.
    for r in range(t2.table.rowCount()):
        t2.table.item(r, 0).setCheckState(Qt.CheckState.Checked)
    _sign(t2, duty)
    with qtbot.waitSignal(t2.handed_over, timeout=10000):
        t2.take_shift()
    assert ctx.read(handover.load_draft, duty["current"].id) is None
