"""概览 Overview: live counts from the cache and the list of open incidents.

Counts come from app.services.overview.read_overview. A ChangeSet touching a watched
entity schedules one refresh at most every 200 ms, so a 100,000-row sync page
costs a handful of re-reads, not 100,000.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QItemSelection, QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.services.changes import ChangeSet
from app.services.overview import WATCHED_ENTITIES, Overview, read_overview
from app.ui import i18n
from app.ui.docks import PanelHost, register_panel
from app.ui.i18n import N_, tr
from app.ui.incidents.chips import DueReportsStrip
from app.ui.models.open_incidents import IdRole, OpenIncidentsModel
from app.ui.record_table import record_table

log = logging.getLogger(__name__)

COALESCE_MS = 200
PERIODIC_MS = 60_000  # keeps "as of" honest and rolls the stock-expiry horizon over at midnight


def _detail(template: str, alert: Callable[[Overview], bool] = lambda o: False, **fields: str):
    return lambda o: (tr(template).format(**{k: getattr(o, v) for k, v in fields.items()}), alert(o))


# (key, caption, value, detail) — detail gives (text, alert?) for the small line under the number.
TILES = (
    ("open_incidents", N_("在办事件"), lambda o: o.open_incidents,
     _detail(N_("其中响应中 {n} 起"), lambda o: o.responding_incidents > 0, n="responding_incidents")),
    ("teams", N_("备勤队伍"), lambda o: o.teams_standby,
     _detail(N_("已出动 {n} 支"), n="teams_dispatched")),
    ("shelters", N_("开放避难场所"), lambda o: o.shelters_open,
     _detail(N_("尚可容纳 {n} 人"), n="shelter_spare")),
    ("stock_alerts", N_("物资告警"), lambda o: o.stock_alerts,
     _detail(N_("低于下限 {a} · 临期 {b}"), lambda o: o.stock_alerts > 0, a="stock_below_min",
             b="stock_expiring")),
    ("warnings", N_("生效预警"), lambda o: o.warnings_active,
     _detail(N_("已发布或已更新"), lambda o: o.warnings_active > 0)),
    ("risk_major", N_("重大风险点"), lambda o: o.risk_major, _detail(N_("重大和较大等级"))),
)


def _set_alert(widget: QWidget, alert: bool) -> None:
    if widget.property("alert") != alert:
        widget.setProperty("alert", alert)
        widget.style().unpolish(widget)  # QSS property selectors only re-match on repolish
        widget.style().polish(widget)


class Tile(QFrame):
    def __init__(self, key: str, caption: str, parent: QWidget | None = None):
        super().__init__(parent, objectName="overviewTile")
        self.key, self.caption = key, caption
        self.caption_label = QLabel(objectName="tileCaption")
        self.value_label = QLabel("—", objectName="tileValue")
        self.detail_label = QLabel(objectName="tileDetail", wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 10, 8)
        layout.setSpacing(0)
        for w in (self.caption_label, self.value_label, self.detail_label):
            layout.addWidget(w)
        layout.addStretch(1)  # neighbours' figures line up even when one detail wraps
        self.retranslate()

    def retranslate(self) -> None:
        self.caption_label.setText(tr(self.caption))

    def needed_width(self) -> int:
        """Width that shows caption, figure and detail each on one line."""
        widths = []
        for label in (self.caption_label, self.value_label, self.detail_label):
            label.ensurePolished()  # the stylesheet's font, not the default one
            widths.append(label.fontMetrics().horizontalAdvance(label.text()))
        margins = self.layout().contentsMargins()
        return max(widths) + margins.left() + margins.right() + 8

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            # Margins follow the type size, so the wall's larger figures still have room to breathe.
            em = self.fontMetrics().height()
            margins = (round(em * f) for f in (0.6, 0.25, 0.4, 0.3))
            self.layout().setContentsMargins(*margins)
        super().changeEvent(event)


class OverviewPanel(QWidget):
    def __init__(self, host: PanelHost, parent: QWidget | None = None):
        super().__init__(parent, objectName="overviewPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.host = host
        self.overview: Overview | None = None
        self.as_of = None
        self.heading = QLabel(objectName="overviewHeading")
        self.as_of_label = QLabel(objectName="asOfLabel")
        self.tiles = {key: Tile(key, caption) for key, caption, _, _ in TILES}
        self._grid = QGridLayout()
        self._grid.setSpacing(8)
        self._columns = 0
        self.list_label = QLabel(objectName="sectionLabel")
        self.due_strip = DueReportsStrip(host.ctx.read, self, limit=3)  # reports due upward, counting down
        self.due_strip.open_incident.connect(lambda iid: host.selection.select("incident", [iid], source=self))
        self.model = OpenIncidentsModel(host.ctx.read, self, compact=host.read_only)
        self.table = self._make_table()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        top = QGridLayout()
        top.addWidget(self.heading, 0, 0)
        top.addWidget(self.as_of_label, 0, 1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(top)
        layout.addLayout(self._grid)
        layout.addWidget(self.due_strip)
        layout.addWidget(self.list_label)
        layout.addWidget(self.table, 1)
        self._reflow(2)

        self._timer = QTimer(self, singleShot=True, interval=COALESCE_MS, timeout=self.refresh_now)
        self._periodic = QTimer(self, interval=PERIODIC_MS, timeout=self.refresh_now)
        self._periodic.start()
        host.changes.changes_applied.connect(self._on_changes)
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()
        self.refresh_now()

    # ---- Public API ------------------------------------------------------------------------
    def refresh_now(self) -> None:
        self._timer.stop()
        try:
            # Beijing's date, not the machine's: "expires within 30 days" turns over at midnight here.
            overview = self.host.ctx.read(read_overview, clock.now().date())
            self.model.reload()
            self.due_strip.reload()
        except Exception:  # a failed read must not take the window down; say so and keep the old figures
            log.exception("overview read failed")
            self.as_of_label.setText(tr("读取失败") + f" {clock.now():%H:%M:%S}")
            return
        self.overview, self.as_of = overview, clock.now()
        self._show_counts()

    def refresh_pending(self) -> bool:
        return self._timer.isActive()

    def retranslate(self) -> None:
        self.heading.setText(tr("当前态势"))
        self.list_label.setText(tr("在办事件（最新在前）"))
        for tile in self.tiles.values():
            tile.retranslate()
        self._show_counts()

    # ---- Qt overrides ----------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_columns()
        self._fit_table_columns()

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            em = self.table.fontMetrics().height()
            self.table.verticalHeader().setDefaultSectionSize(round(em * 1.7))
            self.table.setIconSize(QSize(round(em * 0.6), round(em * 0.6)))
            self._grid.setSpacing(round(em * 0.45))
            self._fit_table_columns()
        super().changeEvent(event)

    # ---- Private ---------------------------------------------------------------------------
    def _make_table(self) -> QTableView:
        table = record_table("openIncidents", self.model)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        if self.model.compact:
            table.hideColumn(1)  # the wall: severity is shown in the title cell instead
            table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # nobody types at the wall: no cursor cell
        self.model.modelReset.connect(self._fit_table_columns)
        self.model.headerDataChanged.connect(self._fit_table_columns)
        table.selectionModel().selectionChanged.connect(self._on_selection)
        return table

    def _fit_columns(self) -> None:
        # Three tiles a row when every tile's text fits on one line, else two: this depends on the
        # language (English is longer) and on the type size (the briefing wall), so it is measured.
        needed = max(tile.needed_width() for tile in self.tiles.values())
        room = self.width() - self.layout().contentsMargins().left() - self.layout().contentsMargins().right()
        self._reflow(3 if room >= 3 * needed + 2 * self._grid.spacing() else 2)

    def _fit_table_columns(self) -> None:
        # Severity, status and time take what they need, shrunk together if they would leave the
        # incident's title less than a third of the list (long English labels on the wall).
        header = self.table.horizontalHeader()
        columns = [c for c in range(1, self.model.columnCount()) if not self.table.isColumnHidden(c)]
        wants = [max(self.table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in columns]
        room = int(self.table.viewport().width() * 0.66)
        shrink = min(1.0, room / sum(wants)) if room > 0 and sum(wants) else 1.0
        for col, want in zip(columns, wants, strict=True):
            header.resizeSection(col, int(want * shrink))

    def _reflow(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        for tile in self.tiles.values():
            self._grid.removeWidget(tile)
        for i, tile in enumerate(self.tiles.values()):
            self._grid.addWidget(tile, i // columns, i % columns)
        for c in range(3):
            self._grid.setColumnStretch(c, 1 if c < columns else 0)

    def _show_counts(self) -> None:
        o = self.overview
        if o is None:
            return
        for key, _, value, detail in TILES:
            tile = self.tiles[key]
            tile.value_label.setText(f"{value(o):,}")
            text, alert = detail(o)
            tile.detail_label.setText(text)
            _set_alert(tile, alert)
            _set_alert(tile.detail_label, alert)
        self.as_of_label.setText(tr("数据截至") + f" {self.as_of:%H:%M:%S}")
        self._fit_columns()

    def _on_changes(self, changes: ChangeSet) -> None:
        # Throttle, not debounce: a steady stream of sync pages still refreshes every 200 ms.
        if changes.touches(*WATCHED_ENTITIES, "incident_report") and not self._timer.isActive():
            self._timer.start()
        elif changes.touches("outbox"):
            self.model.reload_pending()  # the pending marks moved (e.g. a resubmitted change)

    def _on_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = {i.row() for i in selected.indexes()}
        ids = [self.model.index(r, 0).data(IdRole) for r in sorted(rows)]
        if ids:
            self.host.selection.select("incident", ids, source=self)


register_panel("overview", OverviewPanel)
