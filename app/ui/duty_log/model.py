"""The duty log as a table that fetches on demand (canFetchMore / fetchMore, keyset pages).

The model holds only the pages the view has scrolled through; each next page is one
keyset query (app.services.duty_log_queries.page), so the millionth row costs what
the first does. Pending marks (待上传) and the 已更正 marks are small id sets beside
the rows; a ChangeSet on duty_log_entry re-reads the first page only when it can
show something new (the officer's place in a long list is kept otherwise).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from app.domain import clock
from app.domain.enums import LogKind
from app.services.duty_log_queries import LogFilter, LogRow, page, rows_by_id
from app.services.sync_queries import pending_ids
from app.ui import i18n, icons
from app.ui.i18n import N_, tr

IdRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2  # the frozen LogRow
PendingRole = Qt.ItemDataRole.UserRole + 3
CorrectedRole = Qt.ItemDataRole.UserRole + 4  # ids of the corrections of this entry (empty: none)

COLUMNS = (("occurred_at", N_("时间")), ("kind", N_("类别")), ("incident", N_("事件")),
           ("author", N_("记录人")), ("body", N_("内容")))
PAGE = 200

Reader = Callable[..., Any]


def kind_label(code: str) -> str:
    try:
        return LogKind(code).label(i18n.current())
    except ValueError:
        return code or "—"


def format_time(iso_text: str) -> str:
    try:
        t = clock.to_beijing(dt.datetime.fromisoformat(iso_text))
    except (TypeError, ValueError):
        return iso_text or "—"
    return t.strftime("%Y-%m-%d %H:%M")


def first_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


class DutyLogModel(QAbstractTableModel):
    """Columns: time, kind, incident, author, text. ``IdRole`` gives the entry id."""

    def __init__(self, read: Reader, parent=None):
        super().__init__(parent)
        self._read = read
        self.filter = LogFilter()
        self._rows: list[LogRow] = []
        self._index: dict[str, int] = {}
        self._more = True
        self._pending: set[str] = set()
        self._corrected: dict[str, list[str]] = {}
        i18n.notifier().language_changed.connect(self.retranslate)

    # ---- Public API ------------------------------------------------------------------------
    def set_filter(self, flt: LogFilter, first: list[LogRow] | None = None) -> None:
        """Show ``flt``; ``first`` is its first page when already read (off the GUI thread)."""
        self.filter = flt
        self.reload(first)

    def reload(self, first: list[LogRow] | None = None) -> None:
        """Start over from the first page (filter changed, or new rows at the top)."""
        if first is None:
            first = self._read(page, self.filter, None, PAGE)
        pending = self._read(pending_ids, "duty_log_entry")
        self.beginResetModel()
        self._rows = first
        self._index = {r.id: i for i, r in enumerate(first)}
        self._more = len(first) == PAGE
        self._pending = pending
        self.endResetModel()

    def apply_changes(self, ids: frozenset[str]) -> None:
        """Rows were written (ids known, or empty for "any"): show new ones, refresh known ones."""
        self._pending = self._read(pending_ids, "duty_log_entry")
        if ids:
            for row in self._read(rows_by_id, list(ids)).values():
                fixes = self._corrected.setdefault(row.corrects_id, []) if row.corrects_id else None
                if fixes is not None and row.id not in fixes:
                    fixes.append(row.id)
                    self._refresh_rows({row.corrects_id})
            if all(i in self._index for i in ids):
                self._refresh_rows(ids)
                return
        self._merge_top()

    def set_corrected(self, corrected: dict[str, list[str]]) -> None:
        self._corrected = corrected
        self._emit_all()

    def reload_pending(self) -> None:
        pending = self._read(pending_ids, "duty_log_entry")
        changed = pending ^ self._pending
        self._pending = pending
        self._refresh_rows(changed)

    def row_at(self, row: int) -> LogRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, entry_id: str) -> int | None:
        return self._index.get(entry_id)

    def corrections_of(self, entry_id: str) -> list[str]:
        return list(self._corrected.get(entry_id, ()))

    def is_pending(self, entry_id: str) -> bool:
        return entry_id in self._pending

    def loaded(self) -> int:
        return len(self._rows)

    def has_more(self) -> bool:
        return self._more

    def iter_all(self, chunk: int = 2000):
        """Every row the filter selects, page by page (for the CSV export; never all at once)."""
        after = None
        while True:
            rows = self._read(page, self.filter, after, chunk)
            yield from rows
            if len(rows) < chunk:
                return
            after = rows[-1].key

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        self._emit_all()

    # ---- Qt overrides ----------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        return not parent.isValid() and self._more

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:  # noqa: N802
        if parent.isValid() or not self._more:
            return
        after = self._rows[-1].key if self._rows else None
        more = self._read(page, self.filter, after, PAGE)
        self._more = len(more) == PAGE
        if not more:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(more) - 1)
        self._rows.extend(more)
        for i, r in enumerate(more, start):
            self._index[r.id] = i
        self.endInsertRows()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        ascending = order == Qt.SortOrder.AscendingOrder
        if column == 0 and ascending != self.filter.ascending:  # only time sorts: it is the keyset
            self.set_filter(dataclasses.replace(self.filter, ascending=ascending))

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return tr(COLUMNS[section][1])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = COLUMNS[index.column()][0]
        corrected = row.id in self._corrected
        if role == IdRole:
            return row.id
        if role == RowRole:
            return row
        if role == PendingRole:
            return row.id in self._pending
        if role == CorrectedRole:
            return list(self._corrected.get(row.id, ()))
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column, corrected)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, corrected)
        if role == Qt.ItemDataRole.DecorationRole and column == "occurred_at" and row.id in self._pending:
            return icons.icon("pending")
        if role == Qt.ItemDataRole.ForegroundRole and corrected:
            return QBrush(QColor("#8d9bad"))
        if role == Qt.ItemDataRole.FontRole and (corrected or row.kind == "correction"):
            font = QFont()
            font.setStrikeOut(corrected and column == "body")
            font.setItalic(row.kind == "correction")
            return font
        return None

    # ---- Private ---------------------------------------------------------------------------
    def _display(self, row: LogRow, column: str, corrected: bool) -> str:
        if column == "occurred_at":
            return format_time(row.occurred_at)
        if column == "kind":
            return kind_label(row.kind)
        if column == "incident":
            return row.incident_title or ("—" if not row.incident_id else row.incident_id[:8])
        if column == "author":
            return row.author_name or "—"
        text = first_line(row.body)
        if corrected:
            return tr("［已更正］") + text
        return text

    def _tooltip(self, row: LogRow, corrected: bool) -> str:
        parts = [f"{format_time(row.occurred_at)} · {kind_label(row.kind)} · {row.author_name or '—'}", row.body]
        if corrected:
            parts.append(tr("已更正：见其后的更正记录（双击跳转）"))
        if row.kind == "correction" and row.corrects_id:
            parts.append(tr("更正的是另一条记录（双击跳转）"))
        if row.id in self._pending:
            parts.append(tr("待上传：本机的记录尚未被服务器确认"))
        return "\n".join(parts)

    def _merge_top(self) -> None:
        """Re-read the first page; keep the rest of what is loaded when the pages still join."""
        first = self._read(page, self.filter, None, PAGE)
        if not self._rows or not first:
            self.reload()
            return
        known = {r.id for r in first}
        tail = [r for r in self._rows if r.id not in known]
        key = first[-1].key
        keep = [r for r in tail if (r.key > key) == self.filter.ascending and r.key != key]
        if len(first) < PAGE:
            keep = []
        new_ids = [r.id for r in first if r.id not in self._index]
        k = len(new_ids)
        if k and [r.id for r in first[:k]] == new_ids and \
                [r.id for r in first[k:]] == [r.id for r in self._rows[:len(first) - k]]:
            # The common case (a new entry, from here or from sync): rows inserted at the top, nothing reset,
            # so the selection and what the officer has loaded further down stay.
            self.beginInsertRows(QModelIndex(), 0, k - 1)
            self._rows[0:0] = first[:k]
            self._index = {r.id: i for i, r in enumerate(self._rows)}
            self.endInsertRows()
            return
        if not new_ids:
            self._rows_replace(first + keep)
            return
        self.beginResetModel()
        self._rows = first + keep
        self._index = {r.id: i for i, r in enumerate(self._rows)}
        self._more = len(first) == PAGE
        self.endResetModel()

    def _rows_replace(self, rows: list[LogRow]) -> None:
        if [r.id for r in rows] != [r.id for r in self._rows]:
            self.beginResetModel()
            self._rows = rows
            self._index = {r.id: i for i, r in enumerate(rows)}
            self.endResetModel()
        else:
            self._rows = rows
            self._emit_all()

    def _refresh_rows(self, ids) -> None:
        rows = [self._index[i] for i in ids if i in self._index]
        if rows:
            fresh = self._read(rows_by_id, [self._rows[r].id for r in rows])
            for r in rows:
                if self._rows[r].id in fresh:
                    self._rows[r] = fresh[self._rows[r].id]
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(COLUMNS) - 1))

    def _emit_all(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))
