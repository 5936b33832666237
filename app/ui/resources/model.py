"""One table model for every library: ordered ids from SQL, rows fetched a page at a time.

Search (Chinese, any length), the filter and the sort all run in SQL through
app.services.resource_queries, so a 10,000-row library stays light: the model holds
the id list and the rows of the pages the view has actually shown. Columns come from
the catalogue (``LIBRARY_COLUMNS``) plus who last updated each row and when.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.domain.entities import entity
from app.services.library_io import label
from app.services.resource_queries import LIBRARY_COLUMNS, library_ids, library_rows
from app.services.sync_queries import pending_ids
from app.ui import i18n, icons
from app.ui.i18n import N_, tr
from app.ui.models.open_incidents import format_time

IdRole = Qt.ItemDataRole.UserRole + 1
PendingRole = Qt.ItemDataRole.UserRole + 2
ExportRole = Qt.ItemDataRole.UserRole + 4  # the full text written to CSV
PAGE = 200
META_COLUMNS = ("updated_at", "updated_by_name")
STATUS_COLOURS = {"red": "#d7261e", "orange": "#f07d00", "yellow": "#c9a000", "blue": "#2f74d0",
                  "standby": "#2e8b57", "dispatched": "#d7261e", "on_scene": "#f07d00", "open": "#2e8b57",
                  "full": "#d7261e", "identified": "#d7261e", "rectifying": "#f07d00", "closed_out": "#2e8b57"}

# Short codes of plain-text fields that the demo and the city platform use, shown in words.
CODE_LABELS: dict[tuple[str, str], dict[str, str]] = {
    ("warehouse", "kind"): {"district": N_("区级储备库"), "street": N_("街道储备点"), "community": N_("社区储备室"),
                            "agreement": N_("协议储备")},
    ("equipment", "status"): {"available": N_("可用"), "maintenance": N_("维修中"), "deployed": N_("使用中"),
                              "in_use": N_("使用中")},
}

Reader = Callable[..., Any]


class LibraryModel(QAbstractTableModel):
    def __init__(self, read: Reader, library: str, parent=None, me: tuple[str, str] | None = None):
        super().__init__(parent)
        self._read = read
        self._me = me  # (id, name) of the signed-in officer, who may not be in the cached user table yet
        self.library = library
        self.ent = entity(library)
        self.columns: tuple[str, ...] = LIBRARY_COLUMNS[library] + META_COLUMNS
        self._enums = {f.name: f.enum for f in self.ent.fields if f.enum is not None}
        self._ids: list[str] = []
        self._rows: dict[str, dict[str, Any]] = {}
        self._pending: set[str] = set()
        self.query = ""
        self.filter_value: str | None = None
        self.sort_field = "name"
        self.descending = False
        i18n.notifier().language_changed.connect(self.retranslate)

    # ---- Public API ------------------------------------------------------------------------
    def reload(self) -> None:
        ids = self._ids_now()
        pending = self._read(pending_ids, self.library)
        if ids == self._ids:
            self._rows.clear()
            self._pending = pending
            if ids:
                self.dataChanged.emit(self.index(0, 0), self.index(len(ids) - 1, len(self.columns) - 1))
            return
        self.beginResetModel()
        self._ids, self._rows, self._pending = ids, {}, pending
        self.endResetModel()

    def set_query(self, text: str, filter_value: str | None) -> None:
        self.query, self.filter_value = text, filter_value
        self.reload()

    def record_id(self, row: int) -> str:
        return self._ids[row]

    def ids(self) -> list[str]:
        return list(self._ids)

    def row_of(self, rid: str) -> int:
        try:
            return self._ids.index(rid)
        except ValueError:
            return -1

    def record(self, row: int) -> dict[str, Any] | None:
        return self._row(row)

    def is_pending(self, rid: str) -> bool:
        return rid in self._pending

    def text(self, row: dict[str, Any], column: str) -> str:
        v = row.get(column)
        if v is None or v == "":
            return ""
        enum = self._enums.get(column)
        if enum is not None:
            try:
                return enum(v).label(i18n.current())
            except ValueError:
                return str(v)
        if column == "updated_at":
            return format_time(v)
        words = CODE_LABELS.get((self.library, column), {}).get(v) if isinstance(v, str) else None
        if words:
            return tr(words)
        if isinstance(v, float):
            return f"{v:,.0f}" if v == int(v) else f"{v:,.1f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    def export_rows(self) -> list[list[str]]:
        """Header and every row as shown (filter, search, order), for CSV."""
        out = [[self.header(c) for c in self.columns]]
        for i in range(len(self._ids)):
            row = self._row(i)
            if row is not None:
                out.append([row.get(c) if c == "updated_at" else self.text(row, c) for c in self.columns])
        return out

    def header(self, column: str) -> str:
        if column == "updated_at":
            return tr("更新时间")
        if column == "updated_by_name":
            return tr("更新人")
        return label(column, i18n.current())

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.columns) - 1)
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(self.columns) - 1))

    # ---- Qt overrides ----------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.header(self.columns[section])
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        field = self.columns[column]
        self.sort_field = "updated_by" if field == "updated_by_name" else field
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.layoutAboutToBeChanged.emit()
        self._ids = self._ids_now()
        self.layoutChanged.emit()

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        rid = self._ids[index.row()]
        if role == IdRole:
            return rid
        if role == PendingRole:
            return rid in self._pending
        row = self._row(index.row())
        if row is None:
            return "—" if role == Qt.ItemDataRole.DisplayRole else None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, column)
        if role == ExportRole:
            return row.get(column) if column == "updated_at" else self.text(row, column)
        if role == Qt.ItemDataRole.DecorationRole and column == "name" and rid in self._pending:
            return icons.icon("pending")
        if role == Qt.ItemDataRole.ForegroundRole and column in self._enums:
            key = row.get(column)
            key = "closed_out" if (column == "status" and self.library == "risk_source" and key == "closed") else key
            colour = STATUS_COLOURS.get(key or "")
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = [str(row.get("name") or "")]
            tip.append(tr("最后更新：{when}，{who}").format(when=row.get("updated_at") or "—",
                                                       who=row.get("updated_by_name") or "—"))
            if rid in self._pending:
                tip.append(tr("待上传：本机的修改尚未被服务器确认"))
            return "\n".join(tip)
        if role == Qt.ItemDataRole.TextAlignmentRole and self.text(row, column)[:1].isdigit() \
                and column not in ("phone", "mobile", "updated_at"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # ---- Private ---------------------------------------------------------------------------
    def _ids_now(self) -> list[str]:
        lib, query, value, field, desc = (self.library, self.query, self.filter_value, self.sort_field,
                                          self.descending)
        return self._read(lambda conn: library_ids(conn, lib, query=query, filter_value=value, sort_field=field,
                                                   descending=desc))

    def _row(self, i: int) -> dict[str, Any] | None:
        rid = self._ids[i]
        if rid not in self._rows:
            start = (i // PAGE) * PAGE
            page = [x for x in self._ids[start:start + PAGE] if x not in self._rows]
            rows = self._read(library_rows, self.library, page)
            if self._me is not None:
                for row in rows.values():
                    if row.get("updated_by") == self._me[0]:
                        row["updated_by_name"] = self._me[1]
            self._rows.update(rows)
        return self._rows.get(rid)
