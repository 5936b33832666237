"""Table models of the video panel: the consultations, and the log lines written during a call."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from app.services.consultations import CallLogEntry, ConsultationRow, fmt_call_time
from app.ui.i18n import N_, tr

IdRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2
_ROOT = QModelIndex()

STATUS = {"live": N_("进行中"), "scheduled": N_("已安排"), "ended": N_("已结束")}
ACTIONS = {"start": N_("开始"), "minute": N_("纪要"), "decision": N_("决定"), "end": N_("结束"),
           "feed_state": N_("图传")}


def _hhmm(iso: str | None) -> str:
    if not iso:
        return ""
    return iso[5:16].replace("T", " ")  # MM-DD HH:MM


class _ListModel(QAbstractTableModel):
    """A flat list of rows, with translated headers (subclasses give HEADERS and data)."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802
        return len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.HEADERS[section])
        return None


class ConsultationsModel(_ListModel):
    HEADERS = (N_("状态"), N_("会商主题"), N_("关联事件"), N_("时间"), N_("参会方"))

    def cell(self, row: ConsultationRow, col: int) -> str:
        if col == 0:
            return tr(STATUS[row.status])
        if col == 1:
            return row.title
        if col == 2:
            return row.incident_title or ""
        if col == 3:
            return _hhmm(row.started_at or row.scheduled_at)
        return str(row.participant_count)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.cell(row, index.column())
        if role == IdRole:
            return row.id
        if role == SortRole:
            if index.column() == 3:
                return row.started_at or row.scheduled_at or ""
            if index.column() == 4:
                return row.participant_count
            return self.cell(row, index.column())
        return None

    def csv_rows(self, order: list[int] | None = None):
        yield [tr(h) for h in self.HEADERS]
        for i in (order if order is not None else range(len(self.rows))):
            yield [self.cell(self.rows[i], c) for c in range(len(self.HEADERS))]


class CallLogModel(_ListModel):
    HEADERS = (N_("通话时间"), N_("类型"), N_("内容"))

    def cell(self, row: CallLogEntry, col: int) -> str:
        if col == 0:
            return fmt_call_time(row.call_time_s) or row.occurred_at[11:19]
        if col == 1:
            return tr(ACTIONS.get(row.action, N_("记录")))
        return row.body

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.cell(row, index.column())
        if role == IdRole:
            return row.id
        if role == SortRole:
            return row.call_time_s if index.column() == 0 and row.call_time_s is not None else \
                self.cell(row, index.column())
        return None

    def csv_rows(self):
        yield [tr(h) for h in self.HEADERS]
        for r in self.rows:
            yield [self.cell(r, c) for c in range(len(self.HEADERS))]
