"""The sync panel: outbox, conflict queue by role, refused changes corrected and resubmitted, status.

The cache is put into each state the way it arrives (sync_fixtures.py); the panel is
built on its own with a real ChangeBridge, as the window would host it.
"""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit
from sync_fixtures import (  # tests/ui is on sys.path
    LEADER,
    OFFICER,
    FakeSync,
    last_mutation,
    new_incident,
    outbox_rows,
    patch,
    pulled_conflict,
    reject,
    server_says,
)

from app.domain import clock
from app.services import sync_status as S
from app.services.sync_queries import resubmit
from app.store import records
from app.store.kv import kv_put
from app.store.schema import table_for
from app.ui import i18n
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.selection import Selection
from app.ui.sync_panel.panel import SyncPanel


@pytest.fixture
def make_panel(qtbot, ctx):
    def make(user=OFFICER, read_only=False, sync=None) -> SyncPanel:
        ctx.user, ctx.sync = user, sync
        bridge = ChangeBridge(ctx.bus)
        host = PanelHost(ctx=ctx, changes=bridge, selection=Selection(), read_only=read_only, settings=None)
        panel = SyncPanel(host)
        bridge.setParent(panel)
        qtbot.addWidget(panel)
        panel.resize(1200, 760)
        panel.show()
        panel.ensure_built()
        return panel
    return make


def texts(tab, column: int) -> list[str]:
    return [tab.proxy.index(r, column).data() for r in range(tab.proxy.rowCount())]


def select_first(tab) -> str:
    tab.table.selectRow(0)
    return tab.selected_id()


# ---- Outbox ------------------------------------------------------------------------------------
def test_a_local_change_appears_in_the_outbox(make_panel, ctx, qtbot):
    panel = make_panel()
    assert panel.outbox.model.rowCount() == 0
    assert panel.outbox.stack.currentWidget() is panel.outbox.empty  # "nothing queued", not a blank table
    new_incident(ctx, "11·23 解放北路树木倒伏")
    qtbot.waitUntil(lambda: panel.outbox.model.rowCount() == 1, timeout=3000)
    row = [panel.outbox.proxy.index(0, c).data() for c in range(panel.outbox.model.columnCount())]
    seq, entity, summary, op, state, attempts, error, client_time = row
    assert (entity, summary, op, state, attempts, error) == ("突发事件", "11·23 解放北路树木倒伏", "新建", "等待上传",
                                                             "0", "")
    assert client_time.startswith(clock.now().strftime("%m-%d "))  # the list is terse; the year is in the CSV
    assert panel.tabs.tabText(0) == "待上传 (1)"
    assert panel.outbox.stack.currentWidget() is panel.outbox.table


def test_outbox_filter_search_sort_and_csv(make_panel, ctx, tmp_path):
    panel = make_panel()
    a = new_incident(ctx, "11·23 东风路积水")
    new_incident(ctx, "11·23 环市路追尾")
    patch(ctx, "incident", a, {"summary": "积水约30厘米"})
    reject(ctx, outbox_rows(ctx)[1]["mutation_id"])
    panel.refresh_now()
    tab = panel.outbox
    assert tab.proxy.rowCount() == 3
    assert texts(tab, 0) == ["3", "2", "1"]  # newest first
    tab.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert texts(tab, 0) == ["1", "2", "3"]
    tab.set_filter(3)  # 被拒绝
    assert texts(tab, 4) == ["被拒绝"]
    assert "out_of_scope: 无权在该辖区创建记录" in texts(tab, 6)
    tab.set_filter(0)
    tab.search.setText("东风")
    assert texts(tab, 0) == ["1"]
    tab.search.setText("积水约")
    assert texts(tab, 3) == ["修改"]
    tab.search.clear()

    path = tmp_path / "outbox.csv"
    assert tab.export_csv(path) == 3
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM: Excel in Chinese reads UTF-8 right
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["序号", "记录类型", "摘要", "操作", "状态", "尝试次数", "最近错误", "本机时间"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]  # as sorted on screen
    assert rows[2][4] == "被拒绝" and rows[3][3] == "修改"
    assert rows[1][7].startswith(clock.now().strftime("%Y-%m-%d "))  # full dates in the file
    assert "3" in tab.export_note.text()


def test_a_long_queue_says_it_lists_only_the_newest(make_panel, ctx):
    panel = make_panel()
    panel.outbox.limit = 2
    for n in range(3):
        new_incident(ctx, f"11·23 第{n}起")
    panel.refresh_now()
    assert texts(panel.outbox, 0) == ["3", "2"]
    assert panel.outbox.limit_note.isVisible() and panel.outbox.limit_note.text() == "只列出最新的 2 条修改。"


def test_csv_cells_that_look_like_formulas_are_defused(tmp_path):
    from app.ui.sync_panel.list_tab import write_csv

    path = tmp_path / "x.csv"
    write_csv([["h1", "h2", "h3"], ["=HYPERLINK(\"x\")", "-5", "@SUM(A1)"]], path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        assert list(csv.reader(fh))[1] == ["'=HYPERLINK(\"x\")", "-5", "'@SUM(A1)"]


def test_every_model_passes_the_model_tester(make_panel, ctx, qtmodeltester):
    panel = make_panel(user=LEADER)
    for tab in (panel.outbox, panel.conflicts, panel.rejected):
        qtmodeltester.check(tab.model)  # empty
    inc = new_incident(ctx)
    reject(ctx, last_mutation(ctx)["mutation_id"])
    new_incident(ctx, "11·23 第二起")
    pulled_conflict(ctx, "incident", inc, "summary", "积水50厘米", "积水30厘米")
    panel.refresh_now()
    for tab in (panel.outbox, panel.conflicts, panel.rejected):
        assert tab.model.rowCount() > 0
        qtmodeltester.check(tab.model)
        qtmodeltester.check(tab.proxy)
    i18n.set_language("en")
    qtmodeltester.check(panel.conflicts.model)


# ---- Conflicts ---------------------------------------------------------------------------------
def test_leader_restores_the_overwritten_value_with_one_click(make_panel, ctx, qtbot):
    panel = make_panel(user=LEADER)
    inc = new_incident(ctx, "11·23 北京街水浸", summary="积水50厘米")
    cid = pulled_conflict(ctx, "incident", inc, "summary", "积水50厘米", "积水30厘米")
    qtbot.waitUntil(lambda: panel.conflicts.model.rowCount() == 1, timeout=3000)
    assert panel.tabs.tabText(1) == "冲突 (1)"
    tab = panel.conflicts
    assert texts(tab, 0) == ["突发事件 · 11·23 北京街水浸"]
    assert (texts(tab, 1), texts(tab, 2)) == (["概况"], ["并发修改"])
    assert (texts(tab, 3), texts(tab, 4)) == (["积水50厘米"], ["积水30厘米"])
    panel.show_tab("conflicts")
    assert tab.selected_id() == cid  # landed on the first conflict
    assert (tab.kept.text(), tab.lost.text()) == ("积水50厘米", "积水30厘米")
    assert tab.restore_button.isVisible() and tab.keep_button.isVisible() and not tab.ack_button.isVisible()
    assert tab.restore_button.text() == "恢复被覆盖的值" and tab.keep_button.text() == "保留当前值"

    tab.restore_button.click()
    assert ctx.read(records.get, "incident", inc)["summary"] == "积水30厘米"
    conflict = ctx.read(records.get, "sync_conflict", cid)
    assert conflict["status"] == "resolved" and conflict["resolved_by"] == LEADER.id
    assert tab.model.rowCount() == 0  # gone from the queue at once
    assert panel.tabs.tabText(1) == "冲突"
    queued = [(r["entity"], r["payload"].get("summary") or r["payload"].get("status")) for r in outbox_rows(ctx)]
    assert ("incident", "积水30厘米") in queued and ("sync_conflict", "resolved") in queued  # it syncs like any edit


def test_leader_keeps_the_current_value(make_panel, ctx):
    panel = make_panel(user=LEADER)
    inc = new_incident(ctx, summary="积水50厘米")
    cid = pulled_conflict(ctx, "incident", inc, "summary", "积水50厘米", "积水30厘米")
    panel.refresh_now()
    select_first(panel.conflicts)
    panel.conflicts.keep_button.click()
    assert ctx.read(records.get, "incident", inc)["summary"] == "积水50厘米"
    assert ctx.read(records.get, "sync_conflict", cid)["status"] == "resolved"


def test_officer_can_only_acknowledge(make_panel, ctx):
    panel = make_panel(user=OFFICER)
    inc = new_incident(ctx, summary="积水50厘米")
    cid = pulled_conflict(ctx, "incident", inc, "summary", "积水50厘米", "积水30厘米")
    panel.refresh_now()
    tab = panel.conflicts
    panel.show_tab("conflicts")
    assert tab.ack_button.isVisible() and tab.ack_button.isEnabled() and tab.ack_button.text() == "知悉"
    assert not tab.restore_button.isVisible() and not tab.keep_button.isVisible()
    tab.ack_button.click()
    assert ctx.read(records.get, "sync_conflict", cid)["status"] == "acknowledged"
    assert last_mutation(ctx)["payload"] == {"status": "acknowledged"}  # all the server takes from an officer
    assert tab.model.rowCount() == 0


def test_the_leader_still_sees_what_an_officer_acknowledged(make_panel, ctx):
    panel = make_panel(user=LEADER)
    inc = new_incident(ctx, summary="积水50厘米")
    cid = pulled_conflict(ctx, "incident", inc, "summary", "积水50厘米", "积水30厘米")
    ctx.store.write_sync(lambda c: records.patch(c, "sync_conflict", cid, {"status": "acknowledged"},
                                                 author_id=OFFICER.id, now=clock.now_iso()))
    panel.refresh_now()
    assert texts(panel.conflicts, 5) == ["已知悉"]
    assert panel.tabs.tabText(1) == "冲突"  # the count (and the badge) is of open ones


def test_not_allowed_shows_its_message_in_the_current_language(make_panel, ctx):
    panel = make_panel(user=LEADER)
    inc = new_incident(ctx, summary="积水50厘米")
    cid = pulled_conflict(ctx, "incident", inc, "summary", "积水50厘米", "积水30厘米")
    panel.refresh_now()
    select_first(panel.conflicts)
    ctx.user = OFFICER  # the leader handed over meanwhile; the buttons were drawn for a leader
    panel.conflicts.restore_button.click()
    assert panel.conflicts.message.text() == "只有带班领导可以处理冲突。"
    assert ctx.read(records.get, "sync_conflict", cid)["status"] == "open"
    i18n.set_language("en")
    panel.conflicts.restore_button.click()
    assert panel.conflicts.message.text() == "Only the leader on duty can resolve conflicts."


def test_kinds_that_cannot_be_restored_offer_keep_only(make_panel, ctx):
    panel = make_panel(user=LEADER)
    inc = new_incident(ctx)
    pulled_conflict(ctx, "incident", inc, "status", "closed", "responding", kind="illegal_transition")
    panel.refresh_now()
    tab = panel.conflicts
    select_first(tab)
    assert (texts(tab, 2), texts(tab, 3), texts(tab, 4)) == (["状态冲突"], ["结案"], ["响应"])  # enum labels
    assert not tab.restore_button.isEnabled() and tab.keep_button.isEnabled()


# ---- Rejected, corrected, resubmitted -------------------------------------------------------
def test_refused_change_is_corrected_and_resubmitted(make_panel, ctx, qtbot):
    panel = make_panel()
    org = table_for("org_unit")
    units = ctx.read(lambda c: list(c.execute(org.select().where(org.c.kind == "street"))))
    wrong, right = units[0].id, units[1].id
    inc = new_incident(ctx, "11·23 人民街火警", org_unit_id=wrong)
    refused = last_mutation(ctx)["mutation_id"]
    reject(ctx, refused, problems=[{"field": "title", "code": "too_long", "message": "过长（最多 200 字） / too long"}])
    panel.refresh_now()
    tab = panel.rejected
    assert panel.tabs.tabText(2) == "被拒绝 (1)"
    assert texts(tab, 3) == ["无权在该辖区创建记录"]
    assert select_first(tab) == refused
    assert "无权在该辖区创建记录" in tab.reason.text() and "out_of_scope" in tab.reason.text()
    assert tab.problems.text() == "标题：过长（最多 200 字）"

    dialog = tab.open_resubmit()
    assert dialog is not None and dialog.isVisible()
    assert set(dialog.editors) >= {"title", "category", "severity", "status", "occurred_at", "org_unit_id"}
    assert dialog.problem_labels["title"].text() == "服务器：过长（最多 200 字）"  # beside the field
    title = dialog.editors["title"].widget
    assert isinstance(title, QLineEdit)
    title.clear()
    title.textEdited.emit("")
    assert dialog.problem_labels["title"].text() == "必填"  # a create is checked whole, as the server does
    assert not dialog.submit_button.isEnabled()
    i18n.set_language("en")
    assert dialog.problem_labels["title"].text() == "required"
    i18n.set_language("zh")
    title.setText("11·23 人民街火警（更正）")
    title.textEdited.emit(title.text())
    assert dialog.problem_labels["title"].text() == "" and dialog.submit_button.isEnabled()
    unit = dialog.editors["org_unit_id"].widget
    assert isinstance(unit, QComboBox)  # picked by name, not typed as a UUID
    unit.setCurrentIndex(unit.findData(right))

    with qtbot.waitSignal(dialog.resubmitted, timeout=2000) as signal:
        dialog.submit_button.click()
    rows = {r["mutation_id"]: r for r in outbox_rows(ctx)}
    assert rows[refused]["status"] == "resubmitted"  # kept on record, never dropped
    new = rows[signal.args[0]]
    assert (new["status"], new["op"], new["entity_id"]) == ("pending", "create", inc)
    assert new["payload"]["org_unit_id"] == right and new["payload"]["title"] == "11·23 人民街火警（更正）"
    assert new["payload"]["severity"] == "IV" and new["author_id"] == OFFICER.id
    assert tab.model.rowCount() == 0
    assert panel.tabs.tabText(2) == "被拒绝"


def test_resubmitting_twice_shows_the_services_refusal(make_panel, ctx):
    panel = make_panel()
    new_incident(ctx)
    refused = last_mutation(ctx)["mutation_id"]
    reject(ctx, refused)
    panel.refresh_now()
    select_first(panel.rejected)
    dialog = panel.rejected.open_resubmit()
    resubmit(ctx, refused)  # meanwhile resubmitted from elsewhere
    dialog.submit()
    assert dialog.message.text() == "只有被拒绝的变更可以重新提交。"
    assert dialog.isVisible()


# ---- Read-only wall --------------------------------------------------------------------------
def test_the_briefing_wall_shows_but_never_acts(make_panel, ctx):
    panel = make_panel(user=LEADER, read_only=True, sync=FakeSync())
    inc = new_incident(ctx)
    reject(ctx, last_mutation(ctx)["mutation_id"])
    pulled_conflict(ctx, "incident", inc, "summary", "a", "b")
    panel.refresh_now()
    select_first(panel.conflicts)
    select_first(panel.rejected)
    buttons = (panel.conflicts.restore_button, panel.conflicts.keep_button, panel.conflicts.ack_button,
               panel.rejected.resubmit_button, panel.status_tab.sync_button, panel.status_tab.export_button)
    for tab in ("conflicts", "rejected", "status"):
        panel.show_tab(tab)
        assert not any(b.isVisible() for b in buttons)
    assert panel.rejected.open_resubmit() is None
    assert panel.conflicts.model.rowCount() == 1  # still shown


# ---- Status ------------------------------------------------------------------------------------
def test_status_tab_shows_the_sync_facts_and_a_clock_warning(make_panel, ctx):
    sync = FakeSync()
    ctx.server_url = "https://ecc.example.gov.cn"
    panel = make_panel(sync=sync)
    new_incident(ctx)
    pushed = clock.now().replace(hour=9, minute=15, second=2, microsecond=0)
    sync.publish(state=S.SYNCED, last_push_ok=pushed, last_pull_ok=pushed, server_rev=1903, clock_offset_s=-400,
                 message="")
    panel.refresh_now()
    panel.show_tab("status")
    tab = panel.status_tab
    v = {k: label.text() for k, label in tab.values.items()}
    assert v["server"] == "https://ecc.example.gov.cn" and v["server_rev"] == "1,903"
    assert v["last_push"] == pushed.strftime("%Y-%m-%d 09:15:02")
    assert v["offset"] == "本机快 6 分 40 秒"
    assert v["device"] == ctx.device_id and v["waiting"] == "1"
    assert tab.skew_warning.isVisible() and tab.skew_warning.text().startswith("⚠ 本机时钟偏差 7 分钟")
    tab.sync_button.click()
    assert sync.woken == 1
    sync.publish(clock_offset_s=3.2)
    assert not tab.skew_warning.isVisible() and tab.values["offset"].text() == "本机慢 3 秒"


def test_local_mode_cannot_sync_now(make_panel):
    panel = make_panel(sync=None)
    panel.show_tab("status")
    assert not panel.status_tab.sync_button.isEnabled()
    assert panel.status_tab.values["server"].text() == "未连接服务器（本地模式）"


def test_export_outbox_for_usb_transfer(make_panel, ctx, qtbot, tmp_path):
    panel = make_panel()
    new_incident(ctx)
    new_incident(ctx, "11·23 第二起")
    tab = panel.status_tab
    tab.export_to(tmp_path / "usb")
    qtbot.waitUntil(lambda: not tab.export_running(), timeout=5000)
    assert "从未在线登录过" in tab.export_box.text()  # NoDeviceKey, in words
    assert not (tmp_path / "usb").exists() or not list((tmp_path / "usb").iterdir())

    ctx.store.write_sync(kv_put, "device_key", "ab" * 32)
    tab.export_to(tmp_path / "usb")
    qtbot.waitUntil(lambda: not tab.export_running(), timeout=5000)
    files = sorted(p.name for p in (tmp_path / "usb").iterdir())
    assert files == [f"outbox-{ctx.device_id[:8]}-00000001-00000002.json"]
    text = tab.export_box.text()
    assert files[0] in text and "按文件名顺序" in text
    assert tab.export_button.isEnabled()


# ---- Language -------------------------------------------------------------------------------
def test_language_switch_relabels_the_panel(make_panel, ctx):
    panel = make_panel(user=LEADER)
    inc = new_incident(ctx)
    reject(ctx, last_mutation(ctx)["mutation_id"])
    new_incident(ctx, "11·23 第二起")
    pulled_conflict(ctx, "incident", inc, "summary", "a", "b")
    panel.refresh_now()
    select_first(panel.conflicts)
    tabs = [panel.tabs.tabText(i) for i in range(4)]
    assert tabs == ["待上传 (1)", "冲突 (1)", "被拒绝 (1)", "状态"]
    i18n.set_language("en")
    assert [panel.tabs.tabText(i) for i in range(4)] == ["Outbox (1)", "Conflicts (1)", "Rejected (1)", "Status"]
    header = panel.outbox.proxy.headerData(1, Qt.Orientation.Horizontal)
    assert header == "Record type"
    assert set(texts(panel.outbox, 1)) == {"Incident"} and "Waiting" in texts(panel.outbox, 4)
    assert texts(panel.conflicts, 2) == ["Concurrent edit"]
    assert panel.conflicts.restore_button.text() == "Restore overwritten value"
    assert panel.rejected.resubmit_button.text() == "Correct and resubmit…"
    assert panel.status_tab.sync_button.text() == "Sync now"
    assert panel.status_tab.export_button.text() == "Export outbox for USB transfer…"
    assert panel.outbox.search.placeholderText() == "Search"
    i18n.set_language("zh")
    assert [panel.tabs.tabText(i) for i in range(4)] == tabs


def test_ctrl_f_goes_to_the_search_of_the_current_list(make_panel):
    panel = make_panel()
    panel.show_tab("rejected")
    panel._focus_search()
    # focusWidget(), not hasFocus(): the offscreen platform never makes a window active.
    assert panel.focusWidget() is panel.rejected.search


# ---- In the window: Ctrl+8, the status bar's badges and clock chip --------------------------
def _front(window, dock_id: str) -> bool:
    return not window.docks[dock_id].visibleRegion().isEmpty()


def test_badges_and_clock_chip_raise_the_sync_dock_on_the_right_tab(make_window, ctx, qtbot):
    ctx.sync = FakeSync()
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    panel = window.docks["sync"].panel()
    assert window.dock_title("sync") == "同步"
    assert window.findChild(type(window.menus.full_screen), "focus_sync").shortcut().toString() == "Ctrl+8"
    assert not _front(window, "sync") and not panel.built  # tabbed behind 预警, not built for nothing
    bar = window.status
    ctx.sync.publish(state=S.SYNCED, conflicts=1, rejected=2, clock_offset_s=330)
    assert bar.skew_chip.isVisible() and bar.skew_chip.text() == "本机时钟偏差 6 分钟"

    bar.rejected_badge.click()
    assert _front(window, "sync") and panel.current_tab() == "rejected"
    window.docks["warnings"].raise_()
    qtbot.waitUntil(lambda: not _front(window, "sync"))
    bar.conflict_badge.click()
    assert _front(window, "sync") and panel.current_tab() == "conflicts"
    bar.skew_chip.click()
    assert panel.current_tab() == "status" and panel.status_tab.skew_warning.isVisible()
    ctx.sync.publish(clock_offset_s=20)
    assert bar.skew_chip.isHidden()


def test_ctrl_8_lands_in_the_sync_panel(make_window, qtbot):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    window.findChild(type(window.menus.full_screen), "focus_sync").trigger()
    panel = window.docks["sync"].panel()
    assert panel.built and _front(window, "sync")
    assert panel.isAncestorOf(window.focusWidget())


def test_the_wall_hides_the_sync_dock(make_window):
    window = make_window(briefing=True)
    assert window.docks["sync"].isHidden()


# ---- The pending mark in the open-incident list ------------------------------------------------
def test_open_incidents_show_a_pending_mark_until_the_server_confirms(ctx, qtmodeltester):
    from app.ui.models.open_incidents import OpenIncidentsModel, PendingRole

    model = OpenIncidentsModel(ctx.read)
    model.reload()
    assert not any(model.index(r, 0).data(PendingRole) for r in range(model.rowCount()))
    inc = new_incident(ctx, "11·23 新接报：解放北路树木倒伏")
    model.reload()
    qtmodeltester.check(model)
    row = model._ids.index(inc)
    title = model.index(row, 0)
    assert title.data(PendingRole) is True
    assert title.data(Qt.ItemDataRole.DecorationRole) is not None  # a clock icon …
    assert "待上传" in title.data(Qt.ItemDataRole.ToolTipRole)  # … and words
    assert model.index(row, 1).data(PendingRole) is True
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))
    server_says(ctx, last_mutation(ctx)["mutation_id"], "applied")
    model.reload_pending()
    assert changed == [(row, row)]
    assert title.data(PendingRole) is False and title.data(Qt.ItemDataRole.DecorationRole) is None


def test_overview_refreshes_pending_marks_on_outbox_changes(make_window, ctx, qtbot):
    from app.services.changes import ChangeSet
    from app.ui.models.open_incidents import PendingRole

    window = make_window()
    model = window.docks["overview"].panel().model
    inc = new_incident(ctx)
    qtbot.waitUntil(lambda: inc in model._ids and model.is_pending(inc), timeout=3000)
    server_says(ctx, last_mutation(ctx)["mutation_id"], "applied")
    ctx.publish(ChangeSet.of("outbox", origin="sync"))
    qtbot.waitUntil(lambda: not model.index(model._ids.index(inc), 0).data(PendingRole), timeout=3000)
