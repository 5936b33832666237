"""Small pieces the three tabs share: problem labels, searchable tables, CSV export, time editors."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QDateTime, QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.services.spreadsheet import spreadsheet_cell
from app.ui import i18n
from app.ui.i18n import tr

IdRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2


def problem_label(name: str) -> QLabel:
    """The message beside a field: hidden while the field is fine."""
    label = QLabel(objectName="fieldProblem", wordWrap=True)
    label.setProperty("field", name)
    label.hide()
    return label


def show_problem(label: QLabel, text: str | None) -> None:
    label.setText(text or "")
    label.setVisible(bool(text))


def problem_text(problem) -> str:
    return problem.message(i18n.current())


def time_edit(name: str) -> QDateTimeEdit:
    edit = QDateTimeEdit(objectName=name, calendarPopup=True)
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    return edit


def set_edit_time(edit: QDateTimeEdit, t: dt.datetime) -> None:
    b = clock.to_beijing(t)
    edit.setDateTime(QDateTime(b.year, b.month, b.day, b.hour, b.minute, b.second))


def edit_time(edit: QDateTimeEdit) -> dt.datetime:
    """The edit's wall time read as Beijing time (the console works in Beijing time only)."""
    return edit.dateTime().toPython().replace(tzinfo=clock.BEIJING, microsecond=0)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
    """UTF-8 with a BOM (Excel in Chinese opens it right); returns the rows written."""
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([spreadsheet_cell("" if c is None else str(c)) for c in r])
    return len(rows)


class SearchProxy(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        self.setSortRole(SortRole)


class SearchableTable(QWidget):
    """A read-only, sortable table over a QStandardItemModel, with a search box and CSV export."""

    def __init__(self, name: str, headers: Sequence[str], sort_column: int = 0, descending: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.headers = list(headers)  # Chinese source texts
        self.model = QStandardItemModel(0, len(headers), self)
        self.proxy = SearchProxy(self)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit(objectName=f"{name}Search", clearButtonEnabled=True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.export_button = QPushButton(objectName=f"{name}Export")
        self.export_button.clicked.connect(self.choose_export_file)
        self.note = QLabel(objectName=f"{name}Note")
        self.table = QTableView(objectName=f"{name}Table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setResizeContentsPrecision(60)  # widths from the first rows, not all
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.table.sortByColumn(sort_column, order)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search, 2)
        bar.addWidget(self.export_button)
        bar.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.retranslate()

    def retranslate(self) -> None:
        self.search.setPlaceholderText(tr("搜索…"))
        self.export_button.setText(tr("导出 CSV"))
        self.model.setHorizontalHeaderLabels([tr(h) for h in self.headers])

    def set_rows(self, rows: Sequence[tuple[str, Sequence[tuple[str, object]]]], bold_id: str | None = None) -> None:
        """Each row: (id, [(text, sort key), …]). Keeps the selection by id."""
        keep = self.selected_id()
        self.table.setSortingEnabled(False)
        self.model.removeRows(0, self.model.rowCount())
        for rid, cells in rows:
            items = []
            for text, key in cells:
                item = QStandardItem(text)
                item.setData(rid, IdRole)
                item.setData(key if key is not None else text, SortRole)
                item.setToolTip(text)
                if rid == bold_id:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                items.append(item)
            self.model.appendRow(items)
        self.table.setSortingEnabled(True)
        if keep:
            self.select_id(keep)

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

    def visible_rows(self) -> list[list[str]]:
        return [[self.proxy.index(r, c).data() or "" for c in range(self.proxy.columnCount())]
                for r in range(self.proxy.rowCount())]

    def export_to(self, path: Path) -> int:
        n = write_csv(path, [tr(h) for h in self.headers], self.visible_rows())
        self.note.setText(tr("已导出 {n} 行").format(n=n))
        return n

    def choose_export_file(self) -> None:
        default = str(Path.home() / f"{self.name}-{clock.now():%Y%m%d-%H%M}.csv")
        path, _ = QFileDialog.getSaveFileName(self, tr("导出 CSV"), default, "CSV (*.csv)")
        if path:
            try:
                self.export_to(Path(path))
            except OSError as e:
                self.note.setText(tr("导出失败：{error}").format(error=e.strerror or str(e)))
