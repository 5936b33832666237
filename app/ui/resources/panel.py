"""资源 Resources: one tab per library (一网五库 + experts + contacts), each searchable, sortable,
filterable, editable and exportable, with the library's own actions under the table.

- teams: dispatch to the selected incident, then 到场 / 返回 (one active dispatch per team);
- warehouses: the stock on the shelf (a ledger), its alerts, movements and stocktakes;
- shelters: open, close, set the number of people sheltered;
- experts: a random draw by category, logged to the duty log.

"推荐…" ranks resources for the incident selected anywhere in the console.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.entities import LIBRARIES, entity
from app.domain.enums import AllocationStatus, ExpertCategory
from app.services import dispatching as dsp
from app.services import library_io as io
from app.services import resource_queries as rq
from app.services import stock
from app.services.recommend import incident_title
from app.ui import background, i18n
from app.ui.i18n import tr
from app.ui.models.open_incidents import format_time
from app.ui.record_table import record_table
from app.ui.resources.dialogs import AllocationDialog, ImportDialog, MovementDialog, RecommendDialog
from app.ui.resources.form import RecordForm
from app.ui.resources.model import IdRole, LibraryModel

log = logging.getLogger(__name__)

MAX_COLUMN = 180
ORDER = ("team", "warehouse", "shelter", "equipment", "risk_source", "expert", "contact")
assert set(ORDER) == set(LIBRARIES)


def _error_style(label: QLabel) -> QLabel:
    label.setStyleSheet("color: #c0392b;")
    label.setWordWrap(True)
    return label


class LibraryView(QWidget):
    """One library: tool bar, table, and the library's own actions below."""

    def __init__(self, panel: ResourcesPanel, library: str):
        super().__init__(objectName=f"library_{library}")
        self.panel, self.host, self.library = panel, panel.host, library
        self.ctx = self.host.ctx
        self.ent = entity(library)
        me = (self.ctx.user.id, self.ctx.user.name) if self.ctx.user else None
        self.model = LibraryModel(self.ctx.read, library, self, me=me)
        self.search = QLineEdit(objectName="librarySearch", clearButtonEnabled=True)
        self.search.setMinimumWidth(180)
        self.search.textChanged.connect(self._requery)
        self.filter = QComboBox(objectName="libraryFilter")
        self.filter_field = rq.FILTER_FIELD.get(library)
        self.filter.setVisible(self.filter_field is not None)
        self.filter.currentIndexChanged.connect(self._requery)
        self.count = QLabel(objectName="libraryCount")
        self.new_button = QPushButton(objectName="newRecord")
        self.new_button.clicked.connect(self.new_record)
        self.edit_button = QPushButton(objectName="editRecord")
        self.edit_button.clicked.connect(self.edit_selected)
        self.import_button = QPushButton(objectName="importSheet")
        self.import_button.clicked.connect(self.choose_import_file)
        self.export_button = QPushButton(objectName="exportButton")
        menu = QMenu(self.export_button)
        self.export_csv_action = menu.addAction("", lambda: self.choose_export_file("csv"))
        self.export_xlsx_action = menu.addAction("", lambda: self.choose_export_file("xlsx"))
        self.export_button.setMenu(menu)
        for b in (self.new_button, self.edit_button, self.import_button):
            b.setVisible(not self.host.read_only)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search, 2)
        bar.addWidget(self.filter)
        bar.addWidget(self.count)
        bar.addStretch(1)
        for b in (self.new_button, self.edit_button, self.import_button, self.export_button):
            bar.addWidget(b)
        self.table = record_table(f"{library}Table", self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.note = QLabel(objectName="libraryNote", wordWrap=True)
        self.note.hide()
        self.actions = QWidget(objectName="libraryActions")
        self.actions_layout = QVBoxLayout(self.actions)
        self.actions_layout.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        if library == "warehouse":
            split = QSplitter(Qt.Orientation.Vertical)
            split.addWidget(self.table)
            split.addWidget(self.actions)
            split.setStretchFactor(0, 1)
            split.setStretchFactor(1, 1)
            layout.addWidget(split, 1)
        else:
            layout.addWidget(self.table, 1)
            layout.addWidget(self.actions)
        layout.addWidget(self.note)
        self._build_actions()
        self.dirty = True
        for seq, fn in ((QKeySequence.StandardKey.Find, self._focus_search), (QKeySequence.StandardKey.New,
                        self.new_record), (QKeySequence("F2"), self.edit_selected),
                        (QKeySequence("Ctrl+E"), lambda: self.choose_export_file("csv"))):
            sc = QShortcut(QKeySequence(seq), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
        self.retranslate()

    # ---- Public API ------------------------------------------------------------------------
    def reload(self) -> None:
        keep = self.selected_id()
        self.model.reload()
        self.dirty = False
        self.count.setText(tr("{n} 条").format(n=self.model.rowCount()))
        self.fit_columns()
        if keep:
            self.select_id(keep)
        self._refresh_details()

    def fit_columns(self) -> None:
        """Columns as wide as their first rows need, none wider than MAX_COLUMN px (names a bit more)."""
        header = self.table.horizontalHeader()
        header.setResizeContentsPrecision(60)  # never measures a 10,000-row library
        self.table.resizeColumnsToContents()
        for c, name in enumerate(self.model.columns):
            cap = MAX_COLUMN + 80 if name == "name" else MAX_COLUMN
            if header.sectionSize(c) > cap:
                header.resizeSection(c, cap)

    def selected_id(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(IdRole) if rows else ""

    def select_id(self, rid: str) -> bool:
        row = self.model.row_of(rid)
        if row < 0:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def selected_record(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.record(rows[0].row()) if rows else None

    def new_record(self) -> RecordForm | None:
        if self.host.read_only:
            return None
        return self._open_form(None)

    def edit_selected(self) -> RecordForm | None:
        rec = self.selected_record()
        if rec is None or self.host.read_only:
            return None
        return self._open_form(rec)

    def export(self, path: Path) -> int:
        """Write the list as shown (.csv) or the whole library with every field (.xlsx)."""
        path = Path(path)
        if path.suffix.lower() == ".xlsx":
            n = self.ctx.read(io.export_library, self.library, path, self.model.ids(), i18n.current())
        else:
            rows = self.model.export_rows()
            n = io.write_sheet(path, rows[0], rows[1:])
        self.note.setText(tr("已导出 {n} 行：{file}").format(n=n, file=path.name))
        self.note.show()
        return n

    def choose_export_file(self, suffix: str) -> None:
        stamp = clock.now().strftime("%Y%m%d-%H%M")
        dialog = QFileDialog(self, tr("导出"), str(Path.home() / f"{self.library}-{stamp}.{suffix}"),
                             f"{suffix.upper()} (*.{suffix})")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(suffix)
        dialog.fileSelected.connect(lambda p: self.export(Path(p)))
        dialog.open()
        self._file_dialog = dialog

    def choose_import_file(self) -> None:
        dialog = QFileDialog(self, tr("导入"), str(Path.home()), tr("表格 (*.xlsx *.csv)"))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda p: self.import_file(Path(p)))
        dialog.open()
        self._file_dialog = dialog

    def choose_stock_file(self) -> None:
        """A stock sheet (warehouse, item, quantity, unit, expiry) becomes inbound movements."""
        dialog = QFileDialog(self, tr("导入库存表"), str(Path.home()), tr("表格 (*.xlsx *.csv)"))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda p: self.import_file(Path(p), io.STOCK))
        dialog.open()
        self._file_dialog = dialog

    def import_file(self, path: Path, library: str | None = None) -> ImportDialog:
        dialog = ImportDialog(self.ctx, library or self.library, path, self)
        dialog.open()
        dialog.start()
        self._import_dialog = dialog
        return dialog

    def retranslate(self) -> None:
        lang = i18n.current()
        self.search.setPlaceholderText(tr("搜索名称、单位、专长…（Ctrl+F）"))
        self.new_button.setText(tr("新建"))
        self.new_button.setToolTip("Ctrl+N")
        self.edit_button.setText(tr("编辑"))
        self.edit_button.setToolTip("F2")
        self.import_button.setText(tr("导入…"))
        self.export_button.setText(tr("导出"))
        self.export_button.setToolTip(tr("导出当前列表（CSV，Ctrl+E）或整个库（XLSX）"))
        self.export_csv_action.setText(tr("导出 CSV…"))
        self.export_xlsx_action.setText(tr("导出 XLSX…"))
        if self.filter_field:
            current = self.filter.currentData()
            self.filter.blockSignals(True)
            self.filter.clear()
            self.filter.addItem(tr("全部") + " · " + io.label(self.filter_field, lang), None)
            for m in self.ent.field(self.filter_field).enum:
                self.filter.addItem(m.label(lang), m.value)
            self.filter.setCurrentIndex(max(self.filter.findData(current), 0))
            self.filter.blockSignals(False)
        self.count.setText(tr("{n} 条").format(n=self.model.rowCount()))
        self._retranslate_actions()
        self._refresh_details()

    # ---- Actions per library --------------------------------------------------------------
    def _build_actions(self) -> None:
        lib = self.library
        self.action_error = _error_style(QLabel(objectName="actionError"))
        self.action_error.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.detail = QLabel(objectName="libraryDetail", wordWrap=True)
        self.buttons: dict[str, QPushButton] = {}

        def button(key: str, fn) -> QPushButton:
            b = QPushButton(objectName=f"action_{key}")
            b.clicked.connect(fn)
            b.setVisible(not self.host.read_only)
            self.buttons[key] = b
            row.addWidget(b)
            return b

        if lib == "team":
            button("dispatch", self.dispatch_selected)
            button("en_route", lambda: self.advance_selected("en_route"))
            button("on_scene", lambda: self.advance_selected("on_scene"))
            button("returned", lambda: self.advance_selected("returned"))
        elif lib == "shelter":
            button("open", lambda: self.set_shelter(open_=True))
            button("close", lambda: self.set_shelter(open_=False))
            self.occupancy = QLineEdit(objectName="occupancyInput")
            self.occupancy.setMaximumWidth(120)
            self.occupancy.setVisible(not self.host.read_only)
            row.addWidget(self.occupancy)
            button("occupancy", self.set_occupancy)
        elif lib == "warehouse":
            button("movement", self.open_movement)
            button("stock_import", self.choose_stock_file)
        elif lib == "expert":
            self.draw_category = QComboBox(objectName="drawCategory")
            self.draw_count = QSpinBox(objectName="drawCount", minimum=1, maximum=20, value=3)
            row.addWidget(self.draw_category)
            row.addWidget(self.draw_count)
            self.draw_category.setVisible(not self.host.read_only)
            self.draw_count.setVisible(not self.host.read_only)
            button("draw", self.draw)
        row.addWidget(self.detail, 1)
        self.actions_layout.addLayout(row)
        self.actions_layout.addWidget(self.action_error)
        if lib == "warehouse":
            button("allocation", self.open_allocation)
            self.stock_table = self._plain_table("stockTable", 5)
            self.alerts = QLabel(objectName="stockAlerts", wordWrap=True)
            self.alerts.setStyleSheet("color: #b03a2e;")
            stock_page = QWidget()
            sl = QVBoxLayout(stock_page)
            sl.setContentsMargins(0, 0, 0, 0)
            sl.addWidget(self.stock_table, 1)
            sl.addWidget(self.alerts)
            self.orders_table = self._plain_table("ordersTable", 4)
            orders_page = QWidget()
            ol = QVBoxLayout(orders_page)
            ol.setContentsMargins(0, 0, 0, 0)
            ol.addWidget(self.orders_table, 1)
            order_row = QHBoxLayout()
            self.order_buttons: dict[str, QPushButton] = {}
            for status in ("approved", "shipped", "delivered", "cancelled"):
                b = QPushButton(objectName=f"order_{status}")
                b.clicked.connect(lambda _c=False, st=status: self.advance_order(st))
                b.setVisible(not self.host.read_only)
                self.order_buttons[status] = b
                order_row.addWidget(b)
            order_row.addStretch(1)
            ol.addLayout(order_row)
            self.detail_tabs = QTabWidget(objectName="warehouseTabs")
            self.detail_tabs.addTab(stock_page, "")
            self.detail_tabs.addTab(orders_page, "")
            self.actions_layout.addWidget(self.detail_tabs, 1)
        self.actions.setVisible(bool(self.buttons) or lib == "warehouse")

    def _plain_table(self, name: str, columns: int) -> QTableWidget:
        table = QTableWidget(0, columns, objectName=name)
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def _retranslate_actions(self) -> None:
        labels = {"dispatch": tr("调派到所选事件"), "en_route": tr("出发"), "on_scene": tr("到场"),
                  "returned": tr("返回"), "open": tr("开放"), "close": tr("关闭"), "occupancy": tr("更新安置人数"),
                  "movement": tr("出入库 / 盘点…"), "stock_import": tr("导入库存表…"), "draw": tr("随机抽取专家"),
                  "allocation": tr("新建调拨单…")}
        for key, b in self.buttons.items():
            b.setText(labels[key])
        if self.library == "shelter":
            self.occupancy.setPlaceholderText(tr("安置人数"))
        if self.library == "expert":
            current = self.draw_category.currentData()
            self.draw_category.clear()
            for m in ExpertCategory:
                self.draw_category.addItem(m.label(i18n.current()), m.value)
            self.draw_category.setCurrentIndex(max(self.draw_category.findData(current), 0))
        if self.library == "warehouse":
            self.stock_table.setHorizontalHeaderLabels([tr("物资"), tr("类别"), tr("库存"), tr("储备下限"),
                                                        tr("最早有效期")])
            self.orders_table.setHorizontalHeaderLabels([tr("状态"), tr("下单时间"), tr("送往"), tr("物资")])
            self.detail_tabs.setTabText(0, tr("库存情况"))
            self.detail_tabs.setTabText(1, tr("调拨单"))
            for status, b in self.order_buttons.items():
                b.setText({"approved": tr("批准"), "shipped": tr("出库"), "delivered": tr("送达"),
                           "cancelled": tr("取消调拨")}[status])

    def dispatch_selected(self) -> bool:
        team = self.selected_record()
        incident = self.panel.incident_id()
        if team is None:
            return self._fail(tr("请先选择一支队伍"))
        if not incident:
            return self._fail(tr("请先在概览或地图中选择一个事件"))
        return self._do(lambda: dsp.dispatch_team(self.ctx, team["id"], incident))

    def advance_selected(self, state: str) -> bool:
        team = self.selected_record()
        if team is None:
            return self._fail(tr("请先选择一支队伍"))
        active = self.ctx.read(dsp.active_dispatch, team["id"])
        if active is None:
            return self._fail(tr("该队伍没有进行中的调派"))
        return self._do(lambda: dsp.advance_dispatch(self.ctx, active.id, state))

    def set_shelter(self, open_: bool) -> bool:
        rec = self.selected_record()
        if rec is None:
            return self._fail(tr("请先选择一个避难场所"))
        return self._do(lambda: dsp.set_shelter(self.ctx, rec["id"], open_=open_,
                                                incident_id=self.panel.incident_id() or None))

    def set_occupancy(self) -> bool:
        rec = self.selected_record()
        if rec is None:
            return self._fail(tr("请先选择一个避难场所"))
        try:
            n = int(self.occupancy.text().strip())
        except ValueError:
            return self._fail(tr("安置人数应为整数"))
        return self._do(lambda: dsp.set_shelter(self.ctx, rec["id"], occupancy=n,
                                                incident_id=self.panel.incident_id() or None))

    def open_movement(self) -> MovementDialog | None:
        rec = self.selected_record()
        if rec is None:
            self._fail(tr("请先选择一个仓库"))
            return None
        item = None
        rows = self.stock_table.selectionModel().selectedRows()
        if rows:
            item = self.stock_table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        dialog = MovementDialog(self.ctx, rec["id"], self, item_id=item)
        dialog.open()
        self._movement_dialog = dialog
        return dialog

    def open_allocation(self):
        rec = self.selected_record()
        if rec is None:
            self._fail(tr("请先选择一个仓库"))
            return None
        dialog = AllocationDialog(self.ctx, rec["id"], self.panel.incident_id(), self)
        dialog.open()
        self._allocation_dialog = dialog
        return dialog

    def selected_order(self) -> str:
        rows = self.orders_table.selectionModel().selectedRows()
        return self.orders_table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole) if rows else ""

    def advance_order(self, status: str) -> bool:
        order = self.selected_order()
        if not order:
            return self._fail(tr("请先选择一张调拨单"))
        return self._do(lambda: dsp.advance_allocation(self.ctx, order, status))

    def draw(self) -> bool:
        category = self.draw_category.currentData()
        try:
            result = rq.draw_experts(self.ctx, category, self.draw_count.value(),
                                     incident_id=self.panel.incident_id() or None)
        except ValueError:
            return self._fail(tr("该类别的专家人数不足"))
        self.action_error.hide()
        self.detail.setText(tr("抽取结果（已记入值班日志）：{names}").format(names="、".join(result.names)))
        for rid in result.expert_ids[:1]:
            self.select_id(rid)
        return True

    # ---- Private ---------------------------------------------------------------------------
    def _do(self, fn) -> bool:
        try:
            fn()
        except dsp.DispatchRefused as e:
            return self._fail(e.message(i18n.current()))
        self.action_error.clear()
        self.action_error.hide()
        return True

    def _fail(self, text: str) -> bool:
        self.action_error.setText(text)
        self.action_error.show()
        return False

    def _open_form(self, record) -> RecordForm:
        form = RecordForm(self.ctx, self.library, record, self)
        form.saved.connect(self._after_save)
        form.open()
        self._form = form
        return form

    def _after_save(self, rid: str) -> None:
        self.reload()
        self.select_id(rid)

    def _focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _requery(self, *_args) -> None:
        self.model.set_query(self.search.text(), self.filter.currentData() if self.filter_field else None)
        self.count.setText(tr("{n} 条").format(n=self.model.rowCount()))

    def _on_selection(self, *_args) -> None:
        rid = self.selected_id()
        if rid:
            self.host.selection.select(self.library, (rid,), source=self)
        self._refresh_details()

    def _refresh_details(self) -> None:
        rec = self.selected_record()
        if self.library == "warehouse":
            self._refresh_stock(rec)
        elif self.library == "team" and rec is not None:
            active = self.ctx.read(dsp.active_dispatch, rec["id"])
            where = self.ctx.read(incident_title, active.incident_id) if active else ""
            self.detail.setText(tr("进行中的调派：{where}").format(where=where) if active else tr("当前无调派任务"))
        elif self.library == "shelter" and rec is not None:
            spare = (rec.get("capacity") or 0) - (rec.get("occupancy") or 0)
            self.detail.setText(tr("容量 {cap}（面积 ÷ 1.5㎡），已安置 {occ}，可再安置 {spare}").format(
                cap=rec.get("capacity"), occ=rec.get("occupancy") or 0, spare=spare))

    def _refresh_orders(self, rec) -> None:
        keep = self.selected_order()
        orders = self.ctx.read(dsp.allocation_orders, rec["id"]) if rec else []
        self.orders_table.setRowCount(len(orders))
        lang = i18n.current()
        for r, o in enumerate(orders):
            what = "、".join(f"{i.get('name')} {i.get('quantity')}{i.get('unit', '')}" for i in o["items"] or [])
            status = AllocationStatus(o["status"]).label(lang) if o["status"] in AllocationStatus.codes() \
                else o["status"]
            for c, text in enumerate((status, format_time(o["ordered_at"] or ""), o["to_place"] or "", what)):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, o["id"])
                self.orders_table.setItem(r, c, item)
            if o["id"] == keep:
                self.orders_table.selectRow(r)
        self.orders_table.resizeColumnsToContents()

    def _refresh_stock(self, rec) -> None:
        self._refresh_orders(rec)
        self.stock_table.setRowCount(0)
        if rec is None:
            self.alerts.setText(tr("选择一个仓库查看库存"))
            return
        levels = self.ctx.read(stock.warehouse_stock, rec["id"])
        self.stock_table.setRowCount(len(levels))
        for r, s in enumerate(levels):
            cells = (s.item_name, s.category, f"{s.quantity:,} {s.unit}",
                     "" if s.min_level is None else f"{s.min_level:,}", s.next_expiry or "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, s.item_id)
                if c == 2 and (s.below_min or s.quantity < 0):
                    item.setForeground(Qt.GlobalColor.red)
                    item.setText(text + " ⚠")
                self.stock_table.setItem(r, c, item)
        self.stock_table.resizeColumnsToContents()
        alerts = self.ctx.read(stock.stock_alerts, None, rec["id"])
        lang = i18n.current()
        self.alerts.setText("\n".join("⚠ " + a.message(lang) for a in alerts[:8])
                            + (f"\n… +{len(alerts) - 8}" if len(alerts) > 8 else "")
                            if alerts else tr("库存无告警"))


class ResourcesPanel(QWidget):
    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(parent, objectName="resourcesPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.host = host
        self.tabs = QTabWidget(objectName="resourceTabs")
        self.views: dict[str, LibraryView] = {}
        for lib in ORDER:
            view = LibraryView(self, lib)
            self.views[lib] = view
            self.tabs.addTab(view, "")
        self.tabs.currentChanged.connect(self._on_tab)
        self.incident_label = QLabel(objectName="selectedIncident")
        self.recommend_button = QPushButton(objectName="recommendButton")
        self.recommend_button.clicked.connect(self.open_recommend)
        self.recommend_button.setVisible(not host.read_only)
        top = QHBoxLayout()
        top.setContentsMargins(6, 6, 6, 0)
        top.addWidget(self.incident_label, 1)
        top.addWidget(self.recommend_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        host.changes.changes_applied.connect(self._on_changes)
        host.selection.selection_changed.connect(self._on_selection)
        i18n.notifier().language_changed.connect(self.retranslate)
        sc = QShortcut(QKeySequence("Ctrl+R"), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        sc.activated.connect(self.open_recommend)
        self.retranslate()
        self.current_view().reload()
        self.setFocusProxy(self.current_view().table)
        # The ledger summary (levels of every shelf) is built once, off the GUI thread, so the first
        # recommendation or alert list over a large ledger does not wait for it.
        background.run(self, host.ctx.read, stock.levels, done=lambda _r, _e: None)

    # ---- Public API ------------------------------------------------------------------------
    def current_view(self) -> LibraryView:
        return self.views[ORDER[self.tabs.currentIndex()]]

    def show_library(self, library: str) -> LibraryView:
        self.tabs.setCurrentIndex(ORDER.index(library))
        return self.views[library]

    def incident_id(self) -> str:
        ids = self.host.selection.current("incident")
        return ids[0] if ids else ""

    def open_recommend(self) -> RecommendDialog | None:
        incident = self.incident_id()
        if not incident or self.host.read_only:
            return None
        try:
            dialog = RecommendDialog(self.host.ctx, incident, self)
        except (KeyError, ValueError):
            self.incident_label.setText(tr("所选事件没有位置，无法推荐"))
            return None
        dialog.open()
        self._recommend = dialog
        return dialog

    def retranslate(self) -> None:
        lang = i18n.current()
        for i, lib in enumerate(ORDER):
            ent = entity(lib)
            self.tabs.setTabText(i, ent.label_zh if lang == "zh" else ent.label_en)
        self.recommend_button.setText(tr("推荐资源…"))
        self.recommend_button.setToolTip(tr("为所选事件推荐队伍、仓库、避难场所和专家（Ctrl+R）"))
        self._show_incident()
        for view in self.views.values():
            view.retranslate()

    # ---- Private ---------------------------------------------------------------------------
    def _show_incident(self) -> None:
        incident = self.incident_id()
        title = self.host.ctx.read(incident_title, incident) if incident else ""
        self.incident_label.setText(tr("所选事件：{title}").format(title=title) if title
                                    else tr("未选择事件（在概览或地图中选择一个事件以调派或推荐）"))
        self.recommend_button.setEnabled(bool(title))

    def _on_tab(self, _index: int) -> None:
        view = self.current_view()
        self.setFocusProxy(view.table)  # Ctrl+4 lands in the list of the library on show
        if view.dirty:
            view.reload()

    def _on_changes(self, changes) -> None:
        touched = {lib for lib in ORDER if changes.touches(lib)}
        if changes.touches("stock_movement", "supply_item", "allocation_order"):
            touched.add("warehouse")
        if changes.touches("dispatch"):
            touched.add("team")
        if changes.touches("incident"):
            self._show_incident()
        for lib in touched:
            view = self.views[lib]
            view.dirty = True
            if view is self.current_view():
                try:
                    view.reload()
                except Exception:  # a failed read must not take the window down
                    log.exception("resources reload failed")

    def _on_selection(self, entity_name: str, ids: tuple, source: object) -> None:
        if entity_name == "incident":
            self._show_incident()
            return
        view = self.views.get(entity_name)
        if view is None or source is view or not ids:
            return
        self.show_library(entity_name)
        if view.dirty:
            view.reload()
        view.select_id(ids[0])
