"""Open incidents as a table: ids in order, rows fetched a page at a time (Anki's DataModel).

The model never holds ORM objects or a copy of the table: ``reload`` re-reads the
id list; rows are read lazily for the pages the view actually shows. Incidents with
a change this console has not yet had confirmed carry a "待上传 pending" clock mark
(SYNC_RESEARCH.md §3.14); ``reload_pending`` re-reads just those marks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from app.domain import clock
from app.domain.enums import IncidentStatus, Severity
from app.services.incident_queries import IncidentRow, incident_rows, open_incident_ids
from app.services.sync_queries import pending_ids
from app.ui import i18n, icons
from app.ui.i18n import N_, tr

IdRole = Qt.ItemDataRole.UserRole + 1
PendingRole = Qt.ItemDataRole.UserRole + 2  # True while a local change awaits the server

COLUMNS = (("title", N_("事件")), ("severity", N_("级别")), ("status", N_("状态")),
           ("occurred_at", N_("发生时间")))
PAGE = 100

# National grading colours (I red … IV blue), with text beside them for colour-blind readers.
SEVERITY_COLOURS = {"I": "#d7261e", "II": "#f07d00", "III": "#f2c200", "IV": "#2f74d0"}
RESPONDING_COLOUR = "#d7261e"
GRADE_NUMERALS = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ"}

Reader = Callable[..., Any]  # AppContext.read: read(fn, *args) -> fn(conn, *args)


def _swatch(colour: str, px: int = 64) -> QIcon:
    # Drawn large and scaled down by the view, so it stays crisp at the wall's 3x type.
    pm = QPixmap(px, px)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(0, 0, px, px, px / 6, px / 6)
    p.end()
    return QIcon(pm)


def _label(enum_cls: type, code: str) -> str:
    try:
        return enum_cls(code).label(i18n.current())
    except ValueError:
        return code or "—"


def format_time(iso_text: str, today: dt.date | None = None) -> str:
    """Beijing time; the date only when it is not today (the watch thinks in today's hours)."""
    try:
        t = clock.to_beijing(dt.datetime.fromisoformat(iso_text))
    except (TypeError, ValueError):
        return iso_text or "—"
    today = today or clock.now().date()
    return t.strftime("%H:%M") if t.date() == today else t.strftime("%m-%d %H:%M")


class OpenIncidentsModel(QAbstractTableModel):
    """Columns: title, severity, status, occurred_at. ``IdRole`` gives the incident id.

    ``compact`` (the briefing wall) also puts the severity in the title cell, as a colour swatch
    and the grade numeral, so the view can hide the severity column and give titles the room.
    """

    def __init__(self, read: Reader, parent=None, compact: bool = False):
        super().__init__(parent)
        self._read = read
        self.compact = compact
        self._ids: list[str] = []
        self._rows: dict[str, IncidentRow] = {}
        self._pending: set[str] = set()
        self._swatches: dict[str, QIcon] = {}
        i18n.notifier().language_changed.connect(self.retranslate)

    # ---- Public API ------------------------------------------------------------------------
    def reload(self) -> None:
        ids = self._read(open_incident_ids)
        pending = self._read(pending_ids, "incident")
        if ids == self._ids:
            # Same incidents in the same order: keep selection and scroll, just refetch the rows.
            self._rows.clear()
            self._pending = pending
            if ids:
                self.dataChanged.emit(self.index(0, 0), self.index(len(ids) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._ids, self._rows, self._pending = ids, {}, pending
        self.endResetModel()

    def reload_pending(self) -> None:
        """Re-read only which incidents have unconfirmed local changes (after the outbox moved)."""
        pending = self._read(pending_ids, "incident")
        changed = pending ^ self._pending
        self._pending = pending
        for i, rid in enumerate(self._ids):
            if rid in changed:
                self.dataChanged.emit(self.index(i, 0), self.index(i, 0))

    def is_pending(self, incident_id: str) -> bool:
        return incident_id in self._pending

    def incident_id(self, row: int) -> str:
        return self._ids[row]

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(COLUMNS) - 1))

    # ---- Qt overrides ----------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return tr(COLUMNS[section][1])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        if role == IdRole:
            return self._ids[index.row()]
        if role == PendingRole:
            return self._ids[index.row()] in self._pending
        row = self._row(index.row())
        if row is None:
            return "—" if role == Qt.ItemDataRole.DisplayRole else None
        column = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if (role == Qt.ItemDataRole.DecorationRole and column == "title" and not self.compact
                and row.id in self._pending):
            return icons.icon("pending")  # a clock beside the title; the tooltip says it in words
        if role == Qt.ItemDataRole.DecorationRole and (column == "severity"
                                                       or (self.compact and column == "title")):
            return self._swatch(SEVERITY_COLOURS.get(row.severity, "#8d9bad"))
        if role == Qt.ItemDataRole.DecorationRole and column == "status" and row.status == "responding":
            return self._swatch(RESPONDING_COLOUR)
        if role == Qt.ItemDataRole.FontRole and row.status == "responding":
            font = QFont()
            font.setBold(True)
            return font
        return None

    # ---- Private ---------------------------------------------------------------------------
    def _row(self, i: int) -> IncidentRow | None:
        rid = self._ids[i]
        if rid not in self._rows:
            start = (i // PAGE) * PAGE
            page = [x for x in self._ids[start:start + PAGE] if x not in self._rows]
            self._rows.update(self._read(incident_rows, page))
        return self._rows.get(rid)  # None: deleted since the ids were read; the next reload drops it

    def _display(self, row: IncidentRow, column: str) -> str:
        if column == "severity":
            return _label(Severity, row.severity)
        if column == "status":
            return _label(IncidentStatus, row.status)
        if column == "occurred_at":
            return format_time(row.occurred_at)
        if self.compact:
            return f"{GRADE_NUMERALS.get(row.severity, row.severity)}  {row.title}"
        return row.title

    def _tooltip(self, row: IncidentRow) -> str:
        parts = [row.title, f"{tr('级别')}: {_label(Severity, row.severity)}",
                 f"{tr('状态')}: {_label(IncidentStatus, row.status)}",
                 f"{tr('发生时间')}: {format_time(row.occurred_at, today=dt.date.min)}"]
        if row.place:
            parts.append(f"{tr('地点')}: {row.place}")
        if row.id in self._pending:
            parts.append(tr("待上传：本机的修改尚未被服务器确认"))
        return "\n".join(parts)

    def _swatch(self, colour: str) -> QIcon:
        if colour not in self._swatches:
            self._swatches[colour] = _swatch(colour)
        return self._swatches[colour]
