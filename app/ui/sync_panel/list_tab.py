"""One list of the sync panel: search, optional state filter, sortable table, CSV export.

Every list in the console can be searched, sorted and exported; this is that shape once,
with a slot under the table (``details``) for what a tab shows about the selected row.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.services.spreadsheet import spreadsheet_cell
from app.ui import i18n
from app.ui.i18n import tr
from app.ui.record_table import record_table
from app.ui.sync_panel.models import IdRole, ListProxy, RowsModel, visible_rows

log = logging.getLogger(__name__)

Filters = Sequence[tuple[str, tuple[str, ...] | None]]  # (Chinese label, states; None = all)


def write_csv(rows, path: Path) -> int:
    """Write the rows (header first) as UTF-8 with a BOM, which Excel in Chinese opens correctly."""
    written = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        for row in rows:
            writer.writerow([spreadsheet_cell(str(cell)) for cell in row])
            written += 1
    return max(written - 1, 0)  # the header is not a row


def _level(wants: list[int], room: int) -> int:
    """The largest width cap under which the columns fit in ``room`` (water-filling: only the
    widest columns are narrowed, short ones like a state or a count keep their full width)."""
    if room <= 0 or sum(wants) <= room:
        return max(wants, default=0)
    remaining, left = room, len(wants)
    for want in sorted(wants):
        if want * left > remaining:
            return remaining // left
        remaining -= want
        left -= 1
    return max(wants)


class ListTab(QWidget):
    selection_changed = Signal(str)
    """The selected row changed; the argument is its id ("" when nothing is selected)."""

    def __init__(self, model: RowsModel, name: str, empty_text: str, filters: Filters = (),
                 sort_column: int = 0, stretch_column: int = 1, parent: QWidget | None = None):
        super().__init__(parent)
        self.model, self.name, self._empty_text, self._filters = model, name, empty_text, tuple(filters)
        model.setParent(self)
        self.proxy = ListProxy(self)
        self.proxy.setSourceModel(model)
        self._selected_id = ""

        self.search = QLineEdit(objectName="listSearch", clearButtonEnabled=True)
        self.search.textChanged.connect(self.proxy.set_search)
        self.filter = QComboBox(objectName="stateFilter")
        self.filter.setVisible(bool(self._filters))
        self.filter.currentIndexChanged.connect(self._on_filter)
        self.export_button = QPushButton(objectName="exportCsv")
        self.export_button.clicked.connect(self.choose_export_file)
        self.export_note = QLabel(objectName="exportNote")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search, 2)
        bar.addWidget(self.filter)
        bar.addWidget(self.export_button)
        bar.addWidget(self.export_note, 1)

        self.table = self._make_table(sort_column, stretch_column)
        self.empty = QLabel(objectName="listEmpty", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.details = QVBoxLayout()  # filled by the tab
        self.details.setContentsMargins(0, 0, 0, 0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        layout.addLayout(self.details)

        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, self.proxy.layoutChanged,
                       self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset):
            signal.connect(self._show_empty)
        model.modelAboutToBeReset.connect(self._remember_selection)
        model.modelReset.connect(self._restore_selection)
        self._show_empty()
        i18n.notifier().language_changed.connect(self.retranslate)
        ListTab.retranslate(self)  # a subclass relabels its own widgets at the end of its __init__

    # ---- Public API ------------------------------------------------------------------------
    def selected_id(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(IdRole) if rows else ""

    def select_id(self, rid: str) -> bool:
        for r in range(self.proxy.rowCount()):
            index = self.proxy.index(r, 0)
            if index.data(IdRole) == rid:
                self.table.selectRow(r)
                self.table.scrollTo(index)
                return True
        return False

    def set_filter(self, index: int) -> None:
        self.filter.setCurrentIndex(index)

    def export_csv(self, path: Path) -> int:
        """Write what the table shows (filter, search and order as on screen); returns the row count."""
        n = write_csv(visible_rows(self.proxy), path)
        self.export_note.setText(tr("已导出 {n} 行：{file}").format(n=n, file=path.name))
        self.export_note.setToolTip(str(path))
        return n

    def choose_export_file(self) -> None:
        stamp = clock.now().strftime("%Y%m%d-%H%M")
        dialog = QFileDialog(self, tr("导出 CSV"), str(Path.home() / f"{self.name}-{stamp}.csv"),
                             "CSV (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(lambda path: self._export_chosen(Path(path)))
        dialog.open()  # never a nested event loop under qasync (qasync #59)
        self._file_dialog = dialog

    def retranslate(self) -> None:
        self.search.setPlaceholderText(tr("搜索"))
        self.export_button.setText(tr("导出 CSV…"))
        self.export_button.setToolTip(tr("把当前列表（按当前筛选和排序）导出为 CSV 文件"))
        self.empty.setText(tr(self._empty_text))
        current = max(self.filter.currentIndex(), 0)
        self.filter.blockSignals(True)
        self.filter.clear()
        for label, _ in self._filters:
            self.filter.addItem(tr(label))
        self.filter.setCurrentIndex(current)
        self.filter.blockSignals(False)
        self.fit_columns()

    # ---- Private ---------------------------------------------------------------------------
    def _make_table(self, sort_column: int, stretch_column: int) -> QTableView:
        table = record_table(f"{self.name}Table", self.proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(sort_column, Qt.SortOrder.DescendingOrder)
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setResizeContentsPrecision(100)  # fitting columns never measures 5,000 rows
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
        table.selectionModel().selectionChanged.connect(self._on_selection)
        table.viewport().installEventFilter(self)  # columns are fitted to the list's own width
        return table

    def _on_filter(self, index: int) -> None:
        if 0 <= index < len(self._filters):
            self.proxy.set_states(self._filters[index][1])

    def _on_selection(self, *_args) -> None:
        self.selection_changed.emit(self.selected_id())

    def _remember_selection(self) -> None:
        self._selected_id = self.selected_id()

    def _restore_selection(self) -> None:
        if not (self._selected_id and self.select_id(self._selected_id)):
            self.selection_changed.emit("")
        self.fit_columns()

    def fit_columns(self) -> None:
        """Columns take what they need (measured on the first 100 rows); when they do not all fit,
        the stretching column (summary, record) keeps at least its text or a third of the list,
        and the widest of the others give way first."""
        header = self.table.horizontalHeader()
        stretch = [c for c in range(header.count()) if header.sectionResizeMode(c) == QHeaderView.ResizeMode.Stretch]
        columns = [c for c in range(header.count()) if c not in stretch]
        widest = self.table.fontMetrics().horizontalAdvance("M") * 24  # a long error never takes the row
        wants = [min(widest, self._want(c)) for c in columns]
        width = self.table.viewport().width()
        keep = sum(min(self._want(c), width // 3) for c in stretch)
        cap = _level(wants, width - keep)
        for c, want in zip(columns, wants, strict=True):
            header.resizeSection(c, max(min(want, cap), header.minimumSectionSize()))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    def _want(self, column: int) -> int:
        return max(self.table.sizeHintForColumn(column), self.table.horizontalHeader().sectionSizeHint(column))

    def _show_empty(self, *_args) -> None:
        self.stack.setCurrentWidget(self.empty if self.proxy.rowCount() == 0 else self.table)

    def _export_chosen(self, path: Path) -> None:
        try:
            self.export_csv(path)
        except OSError as e:
            log.warning("CSV export to %s failed: %s", path, e)
            self.export_note.setText(tr("导出失败：{error}").format(error=e.strerror or e))
