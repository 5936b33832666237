"""Table models of the sync panel: ordered ids plus frozen rows, never ORM objects (STYLE.md §9.4).

``RowsModel`` holds what a service listing returned; a subclass names its columns and
how a row reads in each. A row's texts are worked out once and cached (until the row or
the language changes), and the model sorts itself on raw values (``sort_value``: times
and counts sort as times and counts), so a 5,000-change outbox sorts and filters in
milliseconds; ``ListProxy`` only filters, by state and by a search text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from app.services.sync_panel_queries import RejectedChange
from app.services.sync_queries import Conflict, QueuedChange
from app.ui import i18n
from app.ui.i18n import N_, tr
from app.ui.sync_panel import labels as L

IdRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2
StateRole = Qt.ItemDataRole.UserRole + 3  # what the state filter compares against
ExportRole = Qt.ItemDataRole.UserRole + 4  # the cell as written to CSV (full dates; the screen is terser)

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex


class RowsModel(QAbstractTableModel, Generic[T]):
    """Columns are (key, Chinese header); ``text``/``sort_value`` say how a row reads in each."""

    columns: tuple[tuple[str, str], ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._ids: list[str] = []
        self._rows: dict[str, T] = {}
        self._cells: dict[str, tuple[str, ...]] = {}  # display texts per row, filled as rows are shown
        self._search: dict[str, str] = {}  # all of a row's texts, case-folded, for the search box
        self._sort: tuple[int, Qt.SortOrder] | None = None
        i18n.notifier().language_changed.connect(self.retranslate)

    # ---- Public API ------------------------------------------------------------------------
    def set_rows(self, rows: Iterable[T]) -> None:
        by_id = {self.row_id(r): r for r in rows}
        ids = self._ordered(list(by_id), by_id)
        if ids == self._ids:
            # Same rows in the same order: keep the selection and the scroll, repaint what changed.
            changed = [i for i, rid in enumerate(ids) if by_id[rid] != self._rows.get(rid)]
            self._rows = by_id
            for i in changed:
                self._forget(ids[i])
            if changed:
                self.dataChanged.emit(self.index(min(changed), 0),
                                      self.index(max(changed), len(self.columns) - 1))
            return
        self.beginResetModel()
        self._ids, self._rows, self._cells, self._search = ids, by_id, {}, {}
        self.endResetModel()

    def row(self, i: int) -> T:
        return self._rows[self._ids[i]]

    def row_by_id(self, rid: str) -> T | None:
        return self._rows.get(rid)

    def ids(self) -> list[str]:
        return list(self._ids)

    def accepts(self, i: int, states: frozenset[str] | None, needle: str) -> bool:
        """Whether row ``i`` passes the state filter and contains the (case-folded) search text."""
        rid = self._ids[i]
        if states is not None and self.state(self._rows[rid]) not in states:
            return False
        if not needle:
            return True
        if rid not in self._search:
            self._search[rid] = "\n".join(self._cells_of(rid)).casefold()
        return needle in self._search[rid]

    def retranslate(self) -> None:
        self._cells, self._search = {}, {}
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.columns) - 1)
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(self.columns) - 1))

    # ---- For subclasses ----------------------------------------------------------------------
    def row_id(self, row: T) -> str:
        raise NotImplementedError

    def text(self, row: T, key: str) -> str:
        raise NotImplementedError

    def sort_value(self, row: T, key: str) -> Any:
        return self.text(row, key).casefold()

    def tooltip(self, row: T, key: str) -> str | None:
        return None

    def export_text(self, row: T, key: str) -> str:
        return self.text(row, key)

    def state(self, row: T) -> str:
        return ""

    # ---- Qt overrides ----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return tr(self.columns[section][1])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        rid = self._ids[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells_of(rid)[index.column()]
        if role == IdRole:
            return rid
        row, key = self._rows[rid], self.columns[index.column()][0]
        if role == SortRole:
            return self.sort_value(row, key)
        if role == StateRole:
            return self.state(row)
        if role == ExportRole:
            return self.export_text(row, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, key)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by one column's raw values (one Python sort; the view's proxy only filters)."""
        if not 0 <= column < len(self.columns):
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self._ids
        self._ids = self._ordered(before, self._rows)
        where = {rid: i for i, rid in enumerate(self._ids)}
        old = self.persistentIndexList()
        self.changePersistentIndexList(old, [self.index(where[before[i.row()]], i.column()) for i in old])
        self.layoutChanged.emit()

    # ---- Private ---------------------------------------------------------------------------
    def _ordered(self, ids: list[str], rows: dict[str, T]) -> list[str]:
        if self._sort is None:
            return ids
        column, order = self._sort
        key = self.columns[column][0]
        # Ties keep the listing's own order (newest first), so equal states stay in queue order.
        return sorted(ids, key=lambda rid: _sortable(self.sort_value(rows[rid], key)),
                      reverse=order == Qt.SortOrder.DescendingOrder)

    def _cells_of(self, rid: str) -> tuple[str, ...]:
        cells = self._cells.get(rid)
        if cells is None:
            row = self._rows[rid]
            cells = self._cells[rid] = tuple(self.text(row, key) for key, _ in self.columns)
        return cells

    def _forget(self, rid: str) -> None:
        self._cells.pop(rid, None)
        self._search.pop(rid, None)


def _sortable(value: Any) -> tuple[int, Any]:
    # None sorts first and never meets a number or a string in a comparison.
    return (0, "") if value is None else (1, value)


class OutboxModel(RowsModel[QueuedChange]):
    columns = (("seq", N_("序号")), ("entity", N_("记录类型")), ("summary", N_("摘要")), ("op", N_("操作")),
               ("state", N_("状态")), ("attempts", N_("尝试次数")), ("error", N_("最近错误")),
               ("client_time", N_("本机时间")))

    def row_id(self, row: QueuedChange) -> str:
        return row.mutation_id

    def text(self, row: QueuedChange, key: str) -> str:
        if key == "seq":
            return str(row.device_seq)
        if key == "entity":
            return L.entity_label(row.entity)
        if key == "summary":
            return row.summary
        if key == "op":
            return L.op_label(row.op)
        if key == "state":
            return L.state_label(row.status)
        if key == "attempts":
            return str(row.attempts)
        if key == "error":
            return _error_text(row.last_error)
        return L.time_text(row.client_time, short=True)

    def export_text(self, row: QueuedChange, key: str) -> str:
        return L.time_text(row.client_time) if key == "client_time" else self.text(row, key)

    def sort_value(self, row: QueuedChange, key: str) -> Any:
        if key in ("seq", "client_time"):
            return row.device_seq  # client clocks may be wrong; the queue's own order is not
        if key == "attempts":
            return row.attempts
        return self.text(row, key)

    def tooltip(self, row: QueuedChange, key: str) -> str | None:
        if key == "error" and row.last_error:
            return _error_text(row.last_error)
        if key == "summary":
            return row.summary
        if key == "client_time":
            return L.time_text(row.client_time)
        return None

    def state(self, row: QueuedChange) -> str:
        return row.status


def _error_text(last_error: str | None) -> str:
    """The server words refusals "中文 / English": show the current language's half."""
    if not last_error:
        return ""
    code, _, message = last_error.partition(": ")
    if not message:
        return last_error
    zh, sep, en = message.partition(" / ")
    if not sep:
        return last_error
    return f"{code}: " + L.message(zh.strip(), en.strip())


class ConflictModel(RowsModel[Conflict]):
    columns = (("record", N_("记录")), ("field", N_("字段")), ("kind", N_("冲突类型")),
               ("kept", N_("当前值（已保留）")), ("lost", N_("被覆盖的值")), ("status", N_("处理状态")))

    def row_id(self, row: Conflict) -> str:
        return row.id

    def text(self, row: Conflict, key: str) -> str:
        if key == "record":
            return f"{L.entity_label(row.entity)} · {row.record_title}"
        if key == "field":
            return L.field_label(row.field)
        if key == "kind":
            return L.conflict_kind_label(row.kind)
        if key == "kept":
            return L.value_text(row.entity, row.field, row.winning_value)
        if key == "lost":
            return L.value_text(row.entity, row.field, row.losing_value)
        return L.conflict_status_label(row.status)

    def tooltip(self, row: Conflict, key: str) -> str | None:
        return self.text(row, key) if key in ("record", "kept", "lost") else None

    def state(self, row: Conflict) -> str:
        return row.status


class RejectedModel(RowsModel[RejectedChange]):
    columns = (("entity", N_("记录类型")), ("summary", N_("摘要")), ("op", N_("操作")),
               ("reason", N_("拒绝原因")), ("client_time", N_("本机时间")))

    def row_id(self, row: RejectedChange) -> str:
        return row.mutation_id

    def text(self, row: RejectedChange, key: str) -> str:
        if key == "entity":
            return L.entity_label(row.entity)
        if key == "summary":
            return row.summary
        if key == "op":
            return L.op_label(row.op)
        if key == "reason":
            return reason_text(row)
        return L.time_text(row.client_time, short=True)

    def export_text(self, row: RejectedChange, key: str) -> str:
        return L.time_text(row.client_time) if key == "client_time" else self.text(row, key)

    def sort_value(self, row: RejectedChange, key: str) -> Any:
        return row.device_seq if key == "client_time" else self.text(row, key)

    def tooltip(self, row: RejectedChange, key: str) -> str | None:
        if key == "client_time":
            return L.time_text(row.client_time)
        return reason_text(row) if key in ("reason", "summary") else None

    def state(self, row: RejectedChange) -> str:
        return "rejected"


def reason_text(row: RejectedChange) -> str:
    return L.message(row.reason_zh, row.reason_en) or row.code or "—"


class ListProxy(QSortFilterProxyModel):
    """Keeps the rows whose state is in ``states`` and that contain the search text; sorting is
    handed to the source model (``RowsModel.sort``), which sorts once in Python."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._states: frozenset[str] | None = None
        self._needle = ""
        self.setDynamicSortFilter(True)

    def set_states(self, states: Sequence[str] | None) -> None:
        self.beginFilterChange()
        self._states = frozenset(states) if states else None
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self._needle = text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802
        return self.sourceModel().accepts(source_row, self._states, self._needle)


def visible_rows(proxy: QSortFilterProxyModel) -> Iterator[list[str]]:
    """The rows as the view shows them (filtered, sorted, in the current language), header first."""
    columns = range(proxy.columnCount())
    yield [proxy.headerData(c, Qt.Orientation.Horizontal) for c in columns]
    for r in range(proxy.rowCount()):
        yield [proxy.index(r, c).data(ExportRole) or "" for c in columns]
