"""The duty-log panel on the demo district: entry bar, corrections, verify, list, drafts, intake → incident."""

from __future__ import annotations

import csv
import datetime as dt

import pysqlite3.dbapi2 as sqlite
import pytest
import sqlalchemy as sa
from PySide6.QtCore import QModelIndex, Qt

from app.domain import clock
from app.services.changes import ChangeSet
from app.store import records
from app.store.schema import draft, table_for
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.duty_log.model import CorrectedRole, IdRole, PendingRole
from app.ui.duty_log.panel import DutyLogPanel
from app.ui.selection import Selection

LOG = table_for("duty_log_entry")


@pytest.fixture
def make_panel(qtbot, ctx):
    def make(read_only=False, selection=None) -> DutyLogPanel:
        bridge = ChangeBridge(ctx.bus)
        host = PanelHost(ctx=ctx, changes=bridge, selection=selection or Selection(), read_only=read_only,
                         settings=None)
        panel = DutyLogPanel(host)
        bridge.setParent(panel)
        qtbot.addWidget(panel)
        panel.resize(1400, 900)
        with qtbot.waitActive(panel):  # shortcuts (Ctrl+Enter, F2, Alt+1…) go to the active window
            panel.show()
            panel.activateWindow()
        return panel
    return make


def edit_behind_the_back(ctx, sql, *params):
    """Raw SQL on the cache file, as another program would (the search triggers need their functions)."""
    from app.store.textindex import normalise, unigram_text

    raw = sqlite.connect(str(ctx.store.path))
    raw.create_function("cd_live_index", 0, lambda: 1)
    raw.create_function("cd_fold", 1, normalise)
    raw.create_function("cd_unigrams", 1, unigram_text)
    raw.execute(sql, params)
    raw.commit()
    raw.close()


def entry(ctx, entry_id):
    return ctx.read(lambda c: c.execute(sa.select(LOG).where(LOG.c.id == entry_id)).mappings().one())


def fill(panel, kind, **values):
    bar = panel.entry_bar
    bar.set_kind(kind)
    for key, text in values.items():
        bar.pages[kind].boxes[key].set_text(text)


def save(qtbot, panel):
    """Save what the entry bar holds and wait for the writer thread: the new entry's id."""
    with qtbot.waitSignal(panel.entry_bar.saved, timeout=20_000) as blocker:
        assert panel.entry_bar.save() is True
    return blocker.args[0]


def column(panel, col=4, n=None):
    m = panel.model
    return [m.index(r, col).data() for r in range(n if n is not None else m.rowCount())]


def test_list_pages_on_demand_newest_first(make_panel, ctx):
    panel = make_panel()
    m = panel.model
    total = ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(LOG)).scalar())
    assert total > 10_000  # the demo district's three years of watch
    assert m.rowCount() == 200 and m.canFetchMore(QModelIndex())
    times = [m.row_at(r).occurred_at for r in range(200)]
    assert times == sorted(times, reverse=True)
    panel.table.scrollToBottom()  # the view asks for the next page itself
    n = m.rowCount()
    assert n in (400, 600) and m.canFetchMore(QModelIndex())
    keys = [m.row_at(r).key for r in range(n)]
    assert keys == sorted(keys, reverse=True) and len({m.row_at(r).id for r in range(n)}) == n
    # the time column sorts (ascending shows the oldest entry first)
    panel.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    oldest = ctx.read(lambda c: c.execute(sa.select(sa.func.min(LOG.c.occurred_at))).scalar())
    assert m.row_at(0).occurred_at == oldest


def test_intake_saved_with_ctrl_enter_is_chained_listed_and_pending(make_panel, ctx, qtbot):
    panel = make_panel()
    fill(panel, "receive", caller="王先生", caller_unit="文德路社区", phone="13800138000", place="文德路12号",
         what="地下车库水浸约30厘米，两辆车被困", trapped="2", actions="已通知北京街道应急分队前往")
    field = panel.entry_bar.pages["receive"].boxes["what"].input
    field.setFocus()
    with qtbot.waitSignal(panel.entry_bar.saved) as saved:
        qtbot.keyClick(field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    row = entry(ctx, saved.args[0])
    assert row["kind"] == "receive" and row["author_id"] == ctx.user.id and row["device_id"] == ctx.device_id
    assert row["details"]["caller"] == "王先生" and row["details"]["trapped"] == 2
    assert "王先生" in row["body"] and "被困2人" in row["body"] and "文德路12号" in row["body"]
    assert panel.model.index(0, 0).data(IdRole) == saved.args[0]
    assert panel.model.index(0, 0).data(PendingRole) is True
    assert "待上传" in panel.model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert panel.entry_bar.pages["receive"].boxes["caller"].text() == ""  # the bar is ready for the next call


def test_kinds_by_keyboard(make_panel, qtbot):
    panel = make_panel()
    bar = panel.entry_bar
    panel.table.setFocus()
    for n, kind, first in ((1, "watch", "item"), (2, "receive", "caller"), (4, "dispatch", "target"),
                           (6, "note", "text")):
        qtbot.keyClick(panel.table, Qt.Key(Qt.Key.Key_0 + n), Qt.KeyboardModifier.AltModifier)
        assert bar.kind == kind and bar.stack.currentWidget() is bar.pages[kind]
        assert bar.pages[kind].boxes[first].input.hasFocus()  # typing can start at once
    qtbot.keyClick(panel.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert panel.search.hasFocus()


def test_required_fields_and_formats_are_said_beside_the_field(make_panel, ctx):
    panel = make_panel()
    before = ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(LOG)).scalar())
    fill(panel, "receive", caller="", place="越秀北路", what="", phone="call me", lon="113.27", dead="两")
    assert panel.entry_bar.save() is False
    boxes = panel.entry_bar.pages["receive"].boxes
    assert boxes["caller"].problem.isVisible() and boxes["caller"].problem.text() == "必填"
    assert boxes["what"].problem.isVisible()
    assert "电话号码格式" in boxes["phone"].problem.text()
    assert "同时填写" in boxes["lat"].problem.text()
    assert "整数" in boxes["dead"].problem.text()
    assert not boxes["place"].problem.isVisible()
    assert ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(LOG)).scalar()) == before


def test_a_future_time_is_questioned_not_silently_accepted(make_panel, ctx, qtbot):
    panel = make_panel()
    bar = panel.entry_bar
    fill(panel, "note", text="核查设备")
    tomorrow = clock.now() + dt.timedelta(days=1)
    bar.time_edit.setText(tomorrow.strftime("%Y-%m-%d %H:%M"))
    assert bar.save() is False
    assert bar.confirm_strip.isVisible() and "晚于现在" in bar.confirm_text.text()
    assert bar.pages["note"].boxes["text"].text() == "核查设备"  # nothing typed is lost
    with qtbot.waitSignal(bar.saved):
        bar.confirm_button.click()
    rows = ctx.read(lambda c: c.execute(sa.select(LOG.c.occurred_at).where(LOG.c.body == "核查设备")).all())
    assert len(rows) == 1 and rows[0][0].startswith(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    # a time typed in an impossible form is refused beside the time field
    fill(panel, "note", text="再记一条")
    bar.time_edit.setText("25:99")
    assert bar.save() is False and bar.time_problem.isVisible()


def test_a_time_before_the_shift_is_questioned(make_panel, ctx):
    now = clock.now().replace(microsecond=0)
    ctx.store.write_sync(lambda c: records.create(c, "shift", {
        "starts_at": clock.iso(now - dt.timedelta(hours=1)), "ends_at": clock.iso(now + dt.timedelta(hours=23)),
        "status": "open"}, author_id=None, now=clock.iso(now)))
    panel = make_panel()
    fill(panel, "note", text="补记")
    panel.entry_bar.time_edit.setText((now - dt.timedelta(hours=3)).strftime("%Y-%m-%d %H:%M"))
    assert panel.entry_bar.save() is False
    assert "早于本班" in panel.entry_bar.confirm_text.text()


def test_correction_keeps_both_and_marks_the_wrong_one(make_panel, ctx, qtbot):
    panel = make_panel()
    fill(panel, "dispatch", target="区消防救援站", destination="东风中路", text="出动两车十人")
    wrong = save(qtbot, panel)
    panel.select_entry(wrong)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_F2)
    bar = panel.entry_bar
    assert bar.kind == "correction" and "出动两车十人" in bar.corrects_label.text()
    fill(panel, "correction", reason="车辆数记错", text="出动三车十五人")
    fix = save(qtbot, panel)
    assert fix is not None
    fixed = entry(ctx, fix)
    assert fixed["kind"] == "correction" and fixed["corrects_id"] == wrong
    assert entry(ctx, wrong)["body"].endswith("出动两车十人")  # the wrong entry is never rewritten
    r = panel.model.row_of(wrong)
    assert panel.model.index(r, 4).data().startswith("［已更正］")
    assert panel.model.index(r, 0).data(CorrectedRole) == [fix]
    fix_row = panel.model.row_of(fix)
    assert panel.model.index(fix_row, 1).data() == "更正"
    assert "更正的是另一条记录" in panel.model.index(fix_row, 4).data(Qt.ItemDataRole.ToolTipRole)
    panel.table.doubleClicked.emit(panel.model.index(r, 4))  # the link goes to the correction
    assert panel.table.selectionModel().selectedRows()[0].row() == panel.model.row_of(fix)
    assert bar.kind == "note"  # a correction is one entry; the bar is back to normal


def test_correction_needs_a_selected_entry(make_panel):
    panel = make_panel()
    panel.entry_bar.set_kind("correction")
    assert panel.entry_bar.kind != "correction" and "选中" in panel.entry_bar.message.text()


def test_verify_names_the_entry_edited_behind_the_consoles_back(make_panel, ctx, qtbot):
    user = ctx.user
    ctx.store.write_sync(lambda c: records.bulk_load(c, [("user", {
        "id": user.id, "username": user.username, "name": user.name, "role": user.role})]))
    panel = make_panel()
    ids = []
    for text in ("第一条：北京街巡查正常", "第二条：接报文德路水浸", "第三条：报区应急局"):
        fill(panel, "note", text=text)
        ids.append(save(qtbot, panel))
    panel.verify()
    qtbot.waitUntil(lambda: not panel.work_running(), timeout=60_000)
    assert all(r.ok for r in panel.last_verify) and "完整" in panel.verify_label.text()
    edit_behind_the_back(ctx, "UPDATE duty_log_entry SET body = '第二条：一切正常' WHERE id = ?", ids[1])
    panel.verify()
    qtbot.waitUntil(lambda: not panel.work_running(), timeout=60_000)
    broken = [r for r in panel.last_verify if not r.ok]
    assert len(broken) == 1 and broken[0].broken.id == ids[1] and broken[0].reason == "hash"
    text = panel.verify_label.text()
    assert "张三" in text and "第二条：一切正常" in text and "内容被改动" in text


def test_verify_reports_a_deleted_entry_at_its_successor(make_panel, ctx, qtbot):
    panel = make_panel()
    ids = []
    for text in ("甲", "乙", "丙"):
        fill(panel, "note", text=text)
        ids.append(save(qtbot, panel))
    edit_behind_the_back(ctx, "DELETE FROM duty_log_entry WHERE id = ?", ids[1])
    panel.verify()
    qtbot.waitUntil(lambda: not panel.work_running(), timeout=60_000)
    broken = [r for r in panel.last_verify if not r.ok]
    assert [b.broken.id for b in broken] == [ids[2]] and broken[0].reason == "prev_hash"


def test_draft_survives_closing_the_panel_without_saving(make_panel, ctx, qtbot):
    panel = make_panel()
    fill(panel, "receive", caller="李女士", what="小区电梯困人")
    panel.entry_bar.pages["receive"].boxes["caller"].changed.emit()

    def drafted():
        return ctx.read(lambda c: c.execute(sa.select(draft.c.fields)).scalar())
    qtbot.waitUntil(lambda: (drafted() or {}).get("fields", {}).get("receive", {}).get("caller") == "李女士")
    fill(panel, "note", text="另记一件事")  # switching kinds loses nothing either
    panel.entry_bar.pages["note"].boxes["text"].changed.emit()
    panel.close()
    again = make_panel()
    bar = again.entry_bar
    assert bar.kind == "note" and bar.pages["note"].boxes["text"].text() == "另记一件事"
    assert bar.pages["receive"].boxes["caller"].text() == "李女士"
    assert bar.pages["receive"].boxes["what"].text() == "小区电梯困人"
    bar.set_kind("receive")
    fill(again, "receive", place="小北路")
    assert save(qtbot, again) is not None
    # saving the intake dropped its draft in the same transaction; the note is still kept
    state = drafted()
    assert "receive" not in state["fields"] and state["fields"]["note"]["text"] == "另记一件事"


def test_open_incident_from_an_intake_in_one_step(make_panel, ctx, qtbot):
    street = ctx.read(lambda c: c.execute(sa.select(table_for("org_unit")).where(
        table_for("org_unit").c.kind == "street")).mappings().first())
    panel = make_panel()
    lon, lat = street["lon"], street["lat"]
    fill(panel, "receive", caller="张先生", place="越秀路", what="商铺起火，浓烟较大", injured="1",
         lon=str(lon), lat=str(lat))
    field = panel.entry_bar.pages["receive"].boxes["place"].input
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = panel.incident_dialog
    assert dialog.isVisible()
    dialog.accept()  # nothing chosen: asked again, nothing saved
    assert dialog.problem.isVisible() and dialog.isVisible()
    dialog.category.setCurrentIndex(dialog.category.findData("accident"))
    dialog.severity.setCurrentIndex(dialog.severity.findData("IV"))
    dialog.subtype.setCurrentText("火灾")
    today = clock.now()
    assert dialog.preview.text() == f"{today.month}·{today.day}越秀路火灾"
    with qtbot.waitSignal(panel.entry_bar.saved) as saved:
        dialog.accept()
    entry_id, incident_id = saved.args
    inc = ctx.read(records.get, "incident", incident_id)
    assert inc["title"] == f"{today.month}·{today.day}越秀路火灾" and inc["status"] == "reported"
    assert inc["org_unit_id"] == street["id"] and inc["injured"] == 1 and inc["category"] == "accident"
    assert entry(ctx, entry_id)["incident_id"] == incident_id
    assert panel.model.index(0, 2).data() == inc["title"]


@pytest.mark.parametrize("needle", ["火", "越秀", "DROP TABLE", '"引号"', "NEAR(", "*", "a%_b", "O'Brien"])
def test_any_text_is_stored_verbatim_and_found_again(make_panel, ctx, qtbot, needle):
    panel = make_panel()
    text = 'O\'Brien 报："引号" 越秀火情；DROP TABLE duty_log_entry; -- AND OR NEAR( * a%_b ＼ 😀\n第二行'
    fill(panel, "note", text=text)
    eid = save(qtbot, panel)
    assert entry(ctx, eid)["body"] == text
    panel.search.setText(needle)
    panel.run_search_now()
    qtbot.waitUntil(lambda: not panel.search_running())
    ids = [panel.model.index(r, 0).data(IdRole) for r in range(panel.model.rowCount())]
    assert eid in ids
    assert all(needle.lower() in panel.model.row_at(r).body.lower() for r in range(panel.model.rowCount()))


def test_filters_by_kind_author_and_the_incident_another_panel_selected(make_panel, ctx):
    selection = Selection()
    panel = make_panel(selection=selection)
    panel.kind_filter.setCurrentIndex(panel.kind_filter.findData("report"))
    assert panel.model.rowCount() > 0 and set(column(panel, 1)) == {"报"}
    author = panel.model.row_at(0).author_id
    panel.author_filter.setCurrentIndex(panel.author_filter.findData(author))
    assert {panel.model.row_at(r).author_id for r in range(panel.model.rowCount())} == {author}
    panel.kind_filter.setCurrentIndex(0)
    panel.author_filter.setCurrentIndex(0)
    incident = ctx.read(lambda c: c.execute(sa.select(LOG.c.incident_id).where(LOG.c.incident_id.is_not(None))
                                            .limit(1)).scalar())
    assert not panel.incident_only.isVisible()
    selection.select("incident", [incident], source="map")
    assert panel.incident_only.isVisible() and "只看此事件" in panel.incident_only.text()
    panel.incident_only.setChecked(True)
    assert {panel.model.row_at(r).incident_id for r in range(panel.model.rowCount())} == {incident}
    assert panel.entry_bar.incident_combo.currentData() == incident  # new entries default to it
    panel.time_filter.setCurrentIndex(panel.time_filter.findData("today"))
    today = clock.now().strftime("%Y-%m-%d")
    assert all(panel.model.row_at(r).occurred_at >= today for r in range(panel.model.rowCount()))


def test_selecting_an_entry_selects_its_incident(make_panel, ctx):
    selection = Selection()
    panel = make_panel(selection=selection)
    panel.kind_filter.setCurrentIndex(panel.kind_filter.findData("receive"))
    r = next(r for r in range(panel.model.rowCount()) if panel.model.row_at(r).incident_id)
    panel.table.selectRow(r)
    assert selection.current("incident") == (panel.model.row_at(r).incident_id,)


def test_export_writes_every_filtered_row(make_panel, ctx, qtbot, tmp_path):
    panel = make_panel()
    panel.kind_filter.setCurrentIndex(panel.kind_filter.findData("dispatch"))
    expected = ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(LOG)
                                            .where(LOG.c.kind == "dispatch")).scalar())
    assert expected > panel.model.rowCount() or expected <= 200
    path = tmp_path / "log.csv"
    panel.export_csv(str(path))
    qtbot.waitUntil(lambda: not panel.work_running(), timeout=60_000)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:5] == ["时间", "类别", "事件", "记录人", "内容"]
    assert len(rows) - 1 == expected and {r[1] for r in rows[1:]} == {"调"}
    assert "已导出" in panel.status.text()


def test_rows_arriving_from_sync_appear_live(make_panel, ctx, qtbot):
    panel = make_panel()
    eid = records.new_id()
    now = clock.now_iso()
    ctx.store.write_sync(lambda c: records.bulk_load(c, [("duty_log_entry", {
        "id": eid, "kind": "report", "body": "街道来报：登峰街道巡查完毕", "occurred_at": now, "server_rev": 9})]))
    ctx.publish(ChangeSet.of("duty_log_entry", [eid], origin="sync"))
    qtbot.waitUntil(lambda: panel.model.index(0, 0).data(IdRole) == eid)
    assert panel.model.index(0, 0).data(PendingRole) is False


def test_the_briefing_wall_shows_but_never_writes(make_panel):
    panel = make_panel(read_only=True)
    assert panel.entry_bar is None and panel.model.rowCount() > 0
    panel.correct_selected()  # no-op, no crash


def test_english_labels(make_panel):
    from app.ui import i18n

    panel = make_panel()
    i18n.set_language("en")
    assert panel.verify_button.text() == "Verify chain"
    assert panel.model.headerData(0, Qt.Orientation.Horizontal) == "Time"
    assert panel.entry_bar.kind_buttons["receive"].text() == "Receive"


def test_the_model_passes_the_model_tester(make_panel, qtmodeltester):
    panel = make_panel()
    qtmodeltester.check(panel.model)


def test_what_is_typed_while_saving_is_kept(make_panel, ctx, qtbot):
    panel = make_panel()
    bar = panel.entry_bar
    fill(panel, "note", text="第一件事")
    with qtbot.waitSignal(bar.saved) as blocker:
        assert bar.save() is True
        assert bar.saving() and bar.save() is False  # no double submit while the write is on its way
        bar.pages["note"].boxes["text"].set_text("第一件事，补充：第二件事")  # typed before the write returned
    assert entry(ctx, blocker.args[0])["body"] == "第一件事"
    assert bar.pages["note"].boxes["text"].text() == "第一件事，补充：第二件事"
    assert not bar.saving() and bar.save_button.isEnabled()


def test_a_new_entry_is_inserted_at_the_top_keeping_what_was_loaded(make_panel, ctx, qtbot):
    panel = make_panel()
    m = panel.model
    m.fetchMore(QModelIndex())
    panel.table.selectRow(300)  # (the view may fetch a further page to show it)
    selected = m.index(300, 0).data(IdRole)
    loaded = m.rowCount()
    resets = []
    m.modelReset.connect(lambda: resets.append(1))
    eid = records.new_id()
    ctx.store.write_sync(lambda c: records.bulk_load(c, [("duty_log_entry", {
        "id": eid, "kind": "note", "body": "另一台终端记的一条", "occurred_at": clock.now_iso(), "server_rev": 7})]))
    ctx.publish(ChangeSet.of("duty_log_entry", [eid], origin="sync"))
    qtbot.waitUntil(lambda: m.rowCount() == loaded + 1)
    assert m.index(0, 0).data(IdRole) == eid and not resets
    assert panel.table.selectionModel().selectedRows()[0].data(IdRole) == selected  # the officer's place stays
    fill(panel, "note", text="本机新记一条")
    mine = save(qtbot, panel)
    assert m.index(0, 0).data(IdRole) == mine and not resets
    assert panel.table.selectionModel().selectedRows()[0].data(IdRole) == mine  # what I just wrote is shown
