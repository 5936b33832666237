"""The resources panel's dialogs: recommendation, import (checked first, off the GUI thread), stock movement."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.enums import StockReason
from app.services import dispatching as dsp
from app.services import library_io as io
from app.services import recommend as rec
from app.services.dispatching import DispatchRefused
from app.services.stock import StockError, StockLedger, supply_items
from app.ui import background, i18n
from app.ui.i18n import N_, tr

KIND_TABS = (("teams", N_("救援队伍")), ("warehouses", N_("物资仓库")), ("shelters", N_("避难场所")),
             ("experts", N_("专家")))


def _err_label() -> QLabel:
    lab = QLabel(wordWrap=True, objectName="dialogError")
    lab.setStyleSheet("color: #c0392b;")
    return lab


class RecommendDialog(QDialog):
    """Ranked teams, warehouses, shelters and experts for one incident; pick, or override with a reason."""

    chosen = Signal(str, str)
    """(kind, id) of what the officer picked."""

    def __init__(self, ctx, incident_id: str, parent: QWidget | None = None):
        super().__init__(parent, objectName="recommendDialog")
        self.ctx, self.incident_id = ctx, incident_id
        # Ranked off the GUI thread (10,000 resources take a few hundred ms); empty until it answers.
        self.result = rec.Recommendation(incident_id, 0.0, 0.0, "", [], [], [], [])
        self.job = None
        title = ctx.read(rec.incident_title, incident_id)
        self.setWindowTitle(tr("推荐资源：{title}").format(title=title or ""))
        self.tabs = QTabWidget(objectName="recommendTabs")
        self.lists: dict[str, QListWidget] = {}
        for key, _text in KIND_TABS:
            lw = QListWidget(objectName=f"rec_{key}")
            lw.currentRowChanged.connect(self._on_pick)
            self.lists[key] = lw
            self.tabs.addTab(lw, "")
        self.need = QComboBox(objectName="neededItem")
        self.need.addItem(tr("不限物资"), None)
        for iid, name, unit in ctx.read(supply_items):
            self.need.addItem(f"{name}（{unit}）", iid)
        self.need.currentIndexChanged.connect(self._on_need)
        self.tabs.currentChanged.connect(self._on_pick)
        self.reason = QLineEdit(objectName="overrideReason")
        self.reason.setPlaceholderText(tr("未选第一位时必须说明理由"))
        self.note = QLineEdit(objectName="dispatchNote")
        self.note.setPlaceholderText(tr("任务（可选）"))
        self.error = _err_label()
        form = QFormLayout()
        form.addRow(tr("需要物资"), self.need)
        form.addRow(tr("理由"), self.reason)
        form.addRow(tr("任务"), self.note)
        self.hint = QLabel(tr("距离为直线距离，时间为估算（×1.4 路网系数，30 公里/小时）。"), wordWrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("关闭"))
        self.choose_button = buttons.addButton(tr("选定"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.choose_button.setObjectName("chooseButton")
        buttons.accepted.connect(self.choose)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.hint)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(760, 560)
        self._on_pick()
        self._rank(None)

    def set_needed_item(self, item_id: str | None) -> None:
        self.need.setCurrentIndex(max(self.need.findData(item_id), 0))

    def busy(self) -> bool:
        return self.job is not None and self.job.running

    def _on_need(self, _index: int) -> None:
        self._rank(self.need.currentData(), show_warehouses=True)

    def _rank(self, item: str | None, show_warehouses: bool = False) -> None:
        ctx, incident = self.ctx, self.incident_id

        def work() -> rec.Recommendation:
            return ctx.read(lambda c: rec.recommend(c, incident_id=incident, item_ids=[item] if item else ()))

        def done(result, error) -> None:
            if error is not None:
                self.error.setText(tr("无法推荐：{why}").format(why=error))
                return
            self.result = result
            self._fill()
            if show_warehouses:
                self.tabs.setCurrentIndex(1)  # the warehouses that hold it
            self.choose_button.setEnabled(True)

        self.choose_button.setEnabled(False)
        self.hint.setText(tr("正在计算…"))
        self.job = background.run(self, work, done=done)

    def _fill(self) -> None:
        lang = i18n.current()
        for i, (key, text) in enumerate(KIND_TABS):
            lw = self.lists[key]
            lw.blockSignals(True)
            lw.clear()
            for n, c in enumerate(getattr(self.result, key)):
                dist = "" if c.distance_m is None else tr("{km:.1f} 公里，约 {eta:.0f} 分钟").format(
                    km=c.distance_m / 1000, eta=max(1.0, c.eta_min or 0.0))
                item = QListWidgetItem(f"{n + 1}. {c.name}    {dist}\n    {c.detail(lang)}")
                item.setData(Qt.ItemDataRole.UserRole, n)
                lw.addItem(item)
            if lw.count():
                lw.setCurrentRow(0)
            lw.blockSignals(False)
            self.tabs.setTabText(i, f"{tr(text)} ({lw.count()})")
        self.hint.setText(tr("距离为直线距离，时间为估算（×1.4 路网系数，30 公里/小时）。"))

    def current(self) -> tuple[str, int]:
        key = KIND_TABS[self.tabs.currentIndex()][0]
        return key, self.lists[key].currentRow()

    def choose(self) -> bool:
        key, rank = self.current()
        candidates = getattr(self.result, key)
        if not 0 <= rank < len(candidates):
            self.error.setText(tr("请先选择一项"))
            return False
        if rank > 0 and not self.reason.text().strip():
            self.error.setText(tr("未选推荐第一位，请填写理由"))
            self.reason.setFocus()
            return False
        try:
            rec.choose(self.ctx, self.incident_id, candidates[rank], rank, self.reason.text(), self.note.text())
        except DispatchRefused as e:
            self.error.setText(e.message(i18n.current()))
            return False
        self.chosen.emit(candidates[rank].kind, candidates[rank].id)
        self.accept()
        return True

    def _on_pick(self, *_args) -> None:
        key, rank = self.current()
        self.choose_button.setText(tr("调派") if key == "teams" else tr("选定并记录"))
        self.error.clear()


class _Relay(QObject):
    progress = Signal(int, int)


class ImportDialog(QDialog):
    """Check a sheet off the GUI thread, show every bad row, write only when the officer accepts."""

    def __init__(self, ctx, library: str, path: Path, parent: QWidget | None = None):
        super().__init__(parent, objectName="importDialog")
        self.ctx, self.library, self.path = ctx, library, Path(path)
        self.check: io.ImportCheck | None = None
        self.written: list[str] | None = None
        self._cancel = threading.Event()
        self._job = None
        self.setWindowTitle(tr("导入：{file}").format(file=self.path.name))
        self.summary = QLabel(tr("正在检查…"), objectName="importSummary", wordWrap=True)
        self.progress = QProgressBar(objectName="importProgress")
        self.problems = QTableWidget(0, 3, objectName="importProblems")
        self.problems.setHorizontalHeaderLabels([tr("行"), tr("字段"), tr("问题")])
        self.problems.horizontalHeader().setStretchLastSection(True)
        self.problems.verticalHeader().hide()
        self.accept_button = QPushButton(tr("导入无误的行"), objectName="acceptImport", enabled=False)
        self.accept_button.clicked.connect(self.write)
        self.cancel_button = QPushButton(tr("取消"), objectName="cancelImport")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.accept_button)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.problems, 1)
        layout.addLayout(row)
        self.resize(760, 520)
        self.relay = _Relay(self)
        self.relay.progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        self._job = background.run(self, self._check_work, done=self._checked)

    def busy(self) -> bool:
        return self._job is not None and self._job.running

    def cancel(self) -> None:
        if self.busy():
            self._cancel.set()
        else:
            self.reject()

    def write(self) -> None:
        if self.check is None or not self.check.good:
            return
        self.accept_button.setEnabled(False)
        self.summary.setText(tr("正在写入 {n} 行…").format(n=len(self.check.good)))
        self._job = background.run(self, self._write_work, done=self._wrote)

    # ---- Private ---------------------------------------------------------------------------
    def _emit(self, done: int, total: int) -> None:
        try:
            self.relay.progress.emit(done, total)
        except RuntimeError:
            pass

    def _check_work(self) -> io.ImportCheck:
        return self.ctx.read(lambda c: io.check_file(c, self.library, self.path, progress=self._emit,
                                                     cancel=self._cancel.is_set))

    def _write_work(self) -> list[str]:
        return io.write_rows(self.ctx, self.check, progress=self._emit, cancel=self._cancel.is_set)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def _checked(self, result, error) -> None:
        if isinstance(error, io.Cancelled):
            self.summary.setText(tr("已取消，未写入任何数据。"))
            return
        if error is not None:
            self.summary.setText(tr("无法读取该文件：{why}").format(why=error))
            return
        self.check = result
        lang = i18n.current()
        self.problems.setRowCount(len(result.problems))
        for r, p in enumerate(result.problems):
            for c, text in enumerate((str(p.row), io.label(p.field, lang), p.message(lang))):
                self.problems.setItem(r, c, QTableWidgetItem(text))
        self.problems.resizeColumnsToContents()
        text = tr("共 {total} 行：{good} 行无误，{bad} 行有问题（见下表，不会导入）。").format(
            total=result.total, good=len(result.good), bad=result.bad_rows)
        if result.unknown_headers:
            text += " " + tr("未识别的列：{cols}").format(cols="、".join(result.unknown_headers))
        self.summary.setText(text)
        self.accept_button.setEnabled(bool(result.good))

    def _wrote(self, result, error) -> None:
        if isinstance(error, io.Cancelled):
            self.summary.setText(tr("已取消，未写入任何数据。"))
            self.accept_button.setEnabled(True)
            return
        if error is not None:
            self.summary.setText(tr("未保存：{why}").format(why=error))
            self.accept_button.setEnabled(True)
            return
        self.written = result
        self.summary.setText(tr("已导入 {n} 行，将随同步上传。").format(n=len(result)))
        self.cancel_button.setText(tr("关闭"))


class MovementDialog(QDialog):
    """One stock movement or a stocktake for a warehouse."""

    def __init__(self, ctx, warehouse_id: str, parent: QWidget | None = None, item_id: str | None = None):
        super().__init__(parent, objectName="movementDialog")
        self.ctx, self.warehouse_id = ctx, warehouse_id
        self.setWindowTitle(tr("出入库 / 盘点"))
        self.item = QComboBox(objectName="movementItem")
        for iid, name, unit in ctx.read(supply_items):
            self.item.addItem(f"{name}（{unit}）", iid)
        if item_id:
            self.item.setCurrentIndex(max(self.item.findData(item_id), 0))
        self.reason = QComboBox(objectName="movementReason")
        lang = i18n.current()
        for r in StockReason:
            if r.value not in ("transfer_in", "transfer_out"):
                self.reason.addItem(r.label(lang), r.value)
        self.quantity = QLineEdit(objectName="movementQuantity")
        self.quantity.setPlaceholderText(tr("数量（盘点时填实有数）"))
        self.expires = QLineEdit(objectName="movementExpires")
        self.expires.setPlaceholderText("2027-06-30")
        self.note = QLineEdit(objectName="movementNote")
        self.error = _err_label()
        # A stocktake is a snapshot (app/services/stock.py): say so where the officer types the count.
        hint = tr("盘点记下此刻的实有数：此前的出入库（含未同步的）都已算在其中，此后的在其上增减。")
        self.count_hint = QLabel(hint, objectName="movementCountHint", wordWrap=True)
        self.reason.currentIndexChanged.connect(self._reason_changed)
        form = QFormLayout()
        form.addRow(tr("物资"), self.item)
        form.addRow(tr("类型"), self.reason)
        form.addRow(tr("数量"), self.quantity)
        form.addRow("", self.count_hint)
        form.addRow("", self.error)
        form.addRow(tr("有效期至"), self.expires)
        form.addRow(tr("备注"), self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(tr("保存"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("取消"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._reason_changed()

    def _reason_changed(self, *_args) -> None:
        count = self.reason.currentData() == "count_adjust"
        self.count_hint.setVisible(count)
        self.expires.setEnabled(not count)  # a count carries no batch of its own

    def save(self) -> bool:
        self.error.clear()
        try:
            qty = int(self.quantity.text().strip())
        except ValueError:
            self.error.setText(tr("数量应为整数"))
            return False
        reason = self.reason.currentData()
        ledger = StockLedger(self.ctx)
        try:
            if reason == "count_adjust":
                ledger.stocktake(self.warehouse_id, self.item.currentData(), qty, self.note.text().strip() or None)
            else:
                delta = -abs(qty) if reason in ("allocation", "writeoff") else qty
                ledger.move(self.warehouse_id, self.item.currentData(), delta, reason,
                            note=self.note.text().strip() or None, expires_on=self.expires.text().strip() or None)
        except StockError as e:
            self.error.setText(e.message(i18n.current()))
            return False
        except ValueError as e:  # a bad expiry date, refused by the catalogue's validation
            self.error.setText(str(e))
            return False
        self.accept()
        return True


class AllocationDialog(QDialog):
    """A new allocation order (调拨单): up to five item lines from one warehouse to a place or the incident."""

    LINES = 5

    def __init__(self, ctx, warehouse_id: str, incident_id: str = "", parent: QWidget | None = None):
        super().__init__(parent, objectName="allocationDialog")
        self.ctx, self.warehouse_id, self.incident_id = ctx, warehouse_id, incident_id
        self.order_id: str | None = None
        self.setWindowTitle(tr("新建调拨单"))
        items = ctx.read(supply_items)
        self.items: list[QComboBox] = []
        self.quantities: list[QLineEdit] = []
        form = QFormLayout()
        for n in range(self.LINES):
            combo = QComboBox(objectName=f"allocationItem{n}")
            combo.addItem("—", None)
            for iid, name, unit in items:
                combo.addItem(f"{name}（{unit}）", iid)
            qty = QLineEdit(objectName=f"allocationQty{n}")
            qty.setPlaceholderText(tr("数量"))
            qty.setMaximumWidth(120)
            row = QHBoxLayout()
            row.addWidget(combo, 1)
            row.addWidget(qty)
            form.addRow(tr("物资 {n}").format(n=n + 1), row)
            self.items.append(combo)
            self.quantities.append(qty)
        self.to_place = QLineEdit(objectName="allocationPlace")
        self.to_place.setPlaceholderText(tr("送往地点（不填则送往所选事件现场）"))
        form.addRow(tr("送往"), self.to_place)
        self.error = _err_label()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(tr("保存"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("取消"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def set_line(self, n: int, item_id: str, quantity: str) -> None:
        self.items[n].setCurrentIndex(max(self.items[n].findData(item_id), 0))
        self.quantities[n].setText(quantity)

    def save(self) -> bool:
        lines = []
        for n, (combo, qty) in enumerate(zip(self.items, self.quantities, strict=True)):
            if combo.currentData() is None and not qty.text().strip():
                continue
            try:
                q = int(qty.text().strip())
            except ValueError:
                self.error.setText(tr("第 {n} 行：数量应为正整数").format(n=n + 1))
                qty.setFocus()
                return False
            if combo.currentData() is None:
                self.error.setText(tr("第 {n} 行：请选择物资").format(n=n + 1))
                return False
            lines.append(dsp.Line(combo.currentData(), q))
        try:
            self.order_id = dsp.create_allocation(self.ctx, self.warehouse_id, lines,
                                                  incident_id=self.incident_id or None,
                                                  to_place=self.to_place.text())
        except DispatchRefused as e:
            self.error.setText(e.message(i18n.current()))
            return False
        self.accept()
        return True
