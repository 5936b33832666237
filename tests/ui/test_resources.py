"""The resources panel over the seeded district: lists, forms, actions, import/export, recommendation."""

from __future__ import annotations

import csv

import openpyxl
import pytest
import sqlalchemy as sa

from app.services import dispatching as dsp
from app.services import stock
from app.store import records
from app.store.schema import table_for
from app.ui import i18n
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.resources.model import IdRole, PendingRole
from app.ui.resources.panel import ORDER, ResourcesPanel
from app.ui.selection import Selection


@pytest.fixture
def make_panel(qtbot, ctx):
    def make(read_only=False) -> ResourcesPanel:
        bridge = ChangeBridge(ctx.bus)
        host = PanelHost(ctx=ctx, changes=bridge, selection=Selection(), read_only=read_only, settings=None)
        panel = ResourcesPanel(host)
        bridge.setParent(panel)
        qtbot.addWidget(panel)
        panel.resize(1400, 800)
        panel.show()
        return panel
    return make


def column(view, name: str) -> list[str]:
    c = view.model.columns.index(name)
    return [view.model.index(r, c).data() for r in range(view.model.rowCount())]


def count(ctx, entity, **where) -> int:
    t = table_for(entity)
    q = sa.select(sa.func.count()).select_from(t).where(*(t.c[k] == v for k, v in where.items()))
    return ctx.read(lambda c: c.execute(q).scalar())


def first_id(ctx, entity, **where) -> str:
    t = table_for(entity)
    q = sa.select(t.c.id).where(*(t.c[k] == v for k, v in where.items())).order_by(t.c.name).limit(1)
    return ctx.read(lambda c: c.execute(q).scalar())


def open_incident(ctx) -> str:
    t = table_for("incident")
    return ctx.read(lambda c: c.execute(sa.select(t.c.id).where(t.c.status == "responding", t.c.lon.isnot(None))
                                        .limit(1)).scalar())


def test_every_library_has_a_tab_with_its_rows_and_who_updated_them(make_panel, ctx):
    panel = make_panel()
    assert panel.tabs.count() == 7
    for i, lib in enumerate(ORDER):
        panel.tabs.setCurrentIndex(i)
        view = panel.views[lib]
        assert view.model.rowCount() == count(ctx, lib), lib
    team = panel.show_library("team")
    assert "更新人" in [team.model.headerData(i, __import__("PySide6.QtCore").QtCore.Qt.Orientation.Horizontal)
                      for i in range(team.model.columnCount())]
    assert team.count.text() == f"{count(ctx, 'team')} 条"


def test_search_chinese_of_any_length_filter_and_sort(make_panel, ctx, qtbot):
    panel = make_panel()
    team = panel.views["team"]
    team.search.setText("消防")  # two characters: the unigram path
    names = column(team, "name")
    assert names and all("消防" in n or "消防" in "".join(column(team, "specialities")) for n in names)
    team.search.setText("越秀区专职消防救援队")
    assert column(team, "name") == ["越秀区专职消防救援队"]
    team.search.setText("")
    team.filter.setCurrentIndex(team.filter.findData("standby"))
    assert set(column(team, "status")) == {"备勤"}
    team.filter.setCurrentIndex(0)
    c = team.model.columns.index("headcount")
    team.table.sortByColumn(c, __import__("PySide6.QtCore").QtCore.Qt.SortOrder.DescendingOrder)
    heads = [int(x.replace(",", "")) for x in column(team, "headcount")]
    assert heads == sorted(heads, reverse=True) and len(heads) == count(ctx, "team")


def test_new_team_with_a_negative_headcount_shows_the_message_beside_the_field(make_panel, ctx):
    panel = make_panel()
    team = panel.views["team"]
    before = count(ctx, "team")
    form = team.new_record()
    form.set_value("name", "东山街抢险队")
    form.set_value("type", "part_time")
    form.set_value("status", "standby")
    form.set_value("headcount", "-3")
    form.set_value("lon", "120.5")
    form.set_value("lat", "30.1")
    assert form.save() is False
    assert form.error_text("headcount") == "不能为负数"
    assert form.error_text("lon") == "坐标不在本区范围内"
    assert count(ctx, "team") == before  # nothing half-saved
    form.set_value("headcount", "12")
    form.set_value("lon", "113.27")
    form.set_value("lat", "23.13")
    assert form.save() is True
    assert count(ctx, "team") == before + 1
    row = team.model.row_of(team.selected_id())
    assert team.model.index(row, 0).data() == "东山街抢险队"
    assert team.model.index(row, 0).data(PendingRole) is True  # 待上传 until the server confirms
    assert column(team, "updated_by_name")[row] == "张三"


def test_duplicate_names_and_impossible_shelter_capacity_are_refused(make_panel, ctx):
    panel = make_panel()
    shelters = panel.show_library("shelter")
    shelters.reload()
    shelters.table.selectRow(0)
    form = shelters.edit_selected()
    form.set_value("area_m2", "300")
    form.set_value("capacity", "5000")
    assert form.save() is False
    assert "300㎡ ÷ 1.5㎡ = 200 人" in form.error_text("capacity")
    other = shelters.model.record(1)["name"]
    form.set_value("capacity", "200")
    form.set_value("occupancy", "0")
    form.set_value("name", other)
    assert form.save() is False
    assert form.error_text("name") == "同名记录已存在"


def test_expert_draw_is_logged_to_the_duty_log(make_panel, ctx):
    panel = make_panel()
    experts = panel.show_library("expert")
    experts.draw_category.setCurrentIndex(experts.draw_category.findData("natural_disaster"))
    experts.draw_count.setValue(2)
    before = count(ctx, "duty_log_entry", kind="dispatch")
    assert experts.draw() is True
    assert "抽取结果" in experts.detail.text()
    assert count(ctx, "duty_log_entry", kind="dispatch") == before + 1
    t = table_for("duty_log_entry")
    body = ctx.read(lambda c: c.execute(sa.select(t.c.body).where(t.c.kind == "dispatch")
                                        .order_by(sa.literal_column("rowid").desc()).limit(1)).scalar())
    assert body.startswith("随机抽取自然灾害类专家 2 名")


def test_dispatch_a_team_to_the_selected_incident_once(make_panel, ctx, qtbot):
    panel = make_panel()
    team = panel.views["team"]
    assert team.dispatch_selected() is False and "队伍" in team.action_error.text()
    incident = open_incident(ctx)
    panel.host.selection.select("incident", [incident])
    assert panel.recommend_button.isEnabled()
    team.filter.setCurrentIndex(team.filter.findData("standby"))
    team.table.selectRow(0)
    tid = team.selected_id()
    assert team.dispatch_selected() is True
    qtbot.waitUntil(lambda: not team.dirty and ctx.read(records.get, "team", tid)["status"] == "dispatched")
    assert ctx.read(dsp.active_dispatch, tid).incident_id == incident
    team.search.setText(ctx.read(records.get, "team", tid)["name"])
    team.filter.setCurrentIndex(0)
    team.table.selectRow(0)
    assert team.dispatch_selected() is False
    assert "一支队伍同时只能有一个调派" in team.action_error.text()
    assert team.advance_selected("on_scene") is True
    qtbot.waitUntil(lambda: column(team, "status") == ["到场"])


def test_warehouse_shows_its_stock_and_a_stocktake_appends_the_difference(make_panel, ctx, qtbot):
    panel = make_panel()
    wh = panel.show_library("warehouse")
    wh.reload()
    wh.table.selectRow(0)
    wid = wh.selected_id()
    assert wh.stock_table.rowCount() == len(ctx.read(stock.warehouse_stock, wid)) > 0
    wh.stock_table.selectRow(0)
    dialog = wh.open_movement()
    item = dialog.item.currentData()
    before = ctx.read(stock.level, wid, item)
    dialog.reason.setCurrentIndex(dialog.reason.findData("count_adjust"))
    dialog.quantity.setText("abc")
    assert dialog.save() is False and dialog.error.text() == "数量应为整数"
    dialog.quantity.setText(str(before + 7))
    assert dialog.save() is True
    assert ctx.read(stock.level, wid, item) == before + 7
    qtbot.waitUntil(lambda: f"{before + 7:,}" in wh.stock_table.item(0, 2).text())


def test_a_stocktake_that_agrees_is_still_recorded_as_a_counted_snapshot(make_panel, ctx, qtbot):
    panel = make_panel()
    wh = panel.show_library("warehouse")
    wh.reload()
    wh.table.selectRow(0)
    wid = wh.selected_id()
    wh.stock_table.selectRow(0)
    dialog = wh.open_movement()
    dialog.show()
    assert not dialog.count_hint.isVisible()  # the snapshot hint is for stocktakes only
    dialog.reason.setCurrentIndex(dialog.reason.findData("count_adjust"))
    assert dialog.count_hint.isVisible() and "此后" in dialog.count_hint.text()
    item = dialog.item.currentData()
    before = ctx.read(stock.level, wid, item)
    m = table_for("stock_movement")
    rows = ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(m)).scalar())
    dialog.quantity.setText(str(before))
    dialog.note.setText("季度盘点")
    assert dialog.save() is True
    newest = ctx.read(lambda c: c.execute(sa.select(m.c.delta, m.c.reason, m.c.note).order_by(
        sa.literal_column("rowid").desc()).limit(1)).one())
    assert ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(m)).scalar()) == rows + 1
    assert newest.delta == 0 and newest.reason == "count_adjust"
    assert newest.note == f"[count={before}] 季度盘点"
    assert ctx.read(stock.level, wid, item) == before


def test_export_csv_and_xlsx(make_panel, ctx, tmp_path):
    panel = make_panel()
    contacts = panel.show_library("contact")
    contacts.search.setText("值班")
    n = contacts.export(tmp_path / "c.csv")
    with open(tmp_path / "c.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert n == contacts.model.rowCount() == len(rows) - 1 > 0
    assert rows[0][:2] == ["名称", "单位"] and all("值班" in "".join(r) for r in rows[1:])
    n = contacts.export(tmp_path / "c.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "c.xlsx").active
    assert ws.max_row == n + 1 and "400M 电台" in [c.value for c in ws[1]]


def test_import_is_checked_off_the_gui_thread_and_written_only_when_accepted(make_panel, ctx, qtbot, tmp_path):
    panel = make_panel()
    eq = panel.show_library("equipment")
    path = tmp_path / "eq.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "类型", "数量", "所属单位", "经度", "纬度"])
    ws.append(["大流量排水车", "排涝", 2, "区水务局", 113.27, 23.13])
    ws.append(["坏数量", "排涝", -1, "区水务局", 113.27, 23.13])
    ws.append(["远处装备", "排涝", 1, "区水务局", 114.5, 22.5])
    wb.save(path)
    before = count(ctx, "equipment")
    dialog = eq.import_file(path)
    qtbot.waitUntil(lambda: dialog.check is not None)
    assert dialog.problems.rowCount() == 2
    assert "1 行无误，2 行有问题" in dialog.summary.text()
    assert count(ctx, "equipment") == before
    dialog.write()
    qtbot.waitUntil(lambda: dialog.written is not None)
    assert count(ctx, "equipment") == before + 1
    qtbot.waitUntil(lambda: "大流量排水车" in column(eq, "name"))


def test_recommend_override_needs_a_reason_and_dispatches(make_panel, ctx, qtbot):
    panel = make_panel()
    assert panel.open_recommend() is None  # no incident selected
    incident = open_incident(ctx)
    panel.host.selection.select("incident", [incident])
    dialog = panel.open_recommend()
    qtbot.waitUntil(lambda: not dialog.busy() and dialog.lists["teams"].count() > 0)  # ranked off the GUI thread
    item = dialog.need.itemData(1)
    dialog.set_needed_item(item)
    qtbot.waitUntil(lambda: not dialog.busy())
    assert dialog.tabs.currentIndex() == 1 and dialog.lists["warehouses"].count() > 0
    assert all(item in c.extra["stock"] for c in dialog.result.warehouses)  # only those holding it
    dialog.tabs.setCurrentIndex(0)
    teams = dialog.lists["teams"]
    assert teams.count() > 1
    teams.setCurrentRow(1)
    assert dialog.choose() is False and "理由" in dialog.error.text()
    dialog.reason.setText("第一位刚收队，人员疲劳")
    assert dialog.choose() is True
    chosen = dialog.result.teams[1].id
    assert ctx.read(dsp.active_dispatch, chosen).incident_id == incident


def test_selection_is_shared_both_ways(make_panel, ctx):
    panel = make_panel()
    shelter_id = first_id(ctx, "shelter")
    panel.host.selection.select("shelter", [shelter_id], source=object())
    view = panel.current_view()
    assert view.library == "shelter" and view.selected_id() == shelter_id
    team = panel.show_library("team")
    team.table.selectRow(2)
    assert panel.host.selection.current("team") == (team.model.index(2, 0).data(IdRole),)


def test_briefing_display_shows_but_never_edits(make_panel):
    panel = make_panel(read_only=True)
    team = panel.views["team"]
    assert team.new_button.isHidden() and team.buttons["dispatch"].isHidden()
    assert team.new_record() is None
    assert not panel.recommend_button.isVisible()


def test_english_labels(make_panel):
    panel = make_panel()
    i18n.set_language("en")
    assert panel.tabs.tabText(0) == "Rescue team"
    team = panel.views["team"]
    assert team.new_button.text() == "Create"
    assert "Standby" in column(team, "status")


def test_allocation_order_from_a_warehouse_through_delivery(make_panel, ctx, qtbot):
    panel = make_panel()
    incident = open_incident(ctx)
    panel.host.selection.select("incident", [incident])
    wh = panel.show_library("warehouse")
    wh.reload()
    wh.table.selectRow(0)
    wid = wh.selected_id()
    levels = ctx.read(stock.warehouse_stock, wid)
    item = next(s for s in levels if s.quantity >= 5)
    dialog = wh.open_allocation()
    dialog.set_line(0, item.item_id, "-2")
    assert dialog.save() is False and "数量" in dialog.error.text()
    dialog.set_line(0, item.item_id, "5")
    assert dialog.save() is True
    qtbot.waitUntil(lambda: wh.orders_table.rowCount() > 0
                    and wh.orders_table.item(0, 0).data(0x0100) == dialog.order_id)
    wh.orders_table.selectRow(0)
    assert wh.advance_order("shipped") is False  # a draft must be approved first
    assert "不能从" in wh.action_error.text()
    assert wh.advance_order("approved") is True
    qtbot.waitUntil(lambda: wh.orders_table.item(0, 0).text() == "已批准")
    wh.orders_table.selectRow(0)
    assert wh.advance_order("shipped") is True
    assert ctx.read(stock.level, wid, item.item_id) == item.quantity - 5
    t = table_for("duty_log_entry")
    n = ctx.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t).where(
        t.c.incident_id == incident, t.c.kind == "dispatch")).scalar())
    assert n >= 3  # drafted, approved, shipped: each a 调 line on the incident's timeline


def test_what_is_typed_survives_a_crash_as_a_draft(make_panel, ctx, qtbot):
    panel = make_panel()
    contacts = panel.show_library("contact")
    form = contacts.new_record()
    form.set_value("name", "北京街灾害信息员")
    form.set_value("radio_400", "YX4-0099")
    qtbot.waitUntil(lambda: ctx.read(__import__("app.services.log_drafts", fromlist=["x"]).load_draft,
                                     form.draft_key) is not None)  # written as it is typed
    form.deleteLater()  # the console died: no save, no cancel
    again = contacts.new_record()
    assert again.restored and again.raw_values()["name"] == "北京街灾害信息员"
    assert again.raw_values()["radio_400"] == "YX4-0099"
    assert again.save() is True
    third = contacts.new_record()
    assert not third.restored and third.raw_values()["name"] == ""  # saved: the draft is gone


def test_a_stock_sheet_with_a_wrong_unit_is_refused_row_by_row(make_panel, ctx, qtbot, tmp_path):
    panel = make_panel()
    wh = panel.show_library("warehouse")
    wh.reload()
    wh.table.selectRow(0)
    record = wh.selected_record()
    level = ctx.read(stock.warehouse_stock, record["id"])[0]
    path = tmp_path / "stock.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["仓库", "物资", "数量", "单位", "有效期至"])
        w.writerow([record["name"], level.item_name, "10", level.unit, "2027-12-31"])
        w.writerow([record["name"], level.item_name, "10", "吨", ""])
    dialog = wh.import_file(path, "stock")
    qtbot.waitUntil(lambda: dialog.check is not None)
    assert dialog.problems.rowCount() == 1 and dialog.problems.item(0, 1).text() == "单位"
    dialog.write()
    qtbot.waitUntil(lambda: dialog.written is not None)
    assert ctx.read(stock.level, record["id"], level.item_id) == level.quantity + 10
