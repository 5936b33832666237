"""事件 Incident workspace: several incidents open at once, one tab each.

- The shared selection names an incident → "open in a tab" (Ctrl+O); an incident already
  open is brought forward. Ctrl+W closes the current tab (its unsaved edits stay in
  the draft table and come back when it is reopened; tabs with drafts reopen at start).
- A strip of countdown chips shows the reports due upward; when any is overdue the tabs
  concerned and the dock's title blink, so a late report cannot go unnoticed.
- 值班日报 / a report export to PDF in the background.
- "待签发 N 份" (Ctrl+Shift+S) shows the reports of every incident awaiting a leader's
  sign-off, synced from every console; a leader approves or returns them there.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDateEdit,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.services import incidents as S
from app.services import reporting as R
from app.services.changes import ChangeSet
from app.ui import background, i18n
from app.ui.docks import PanelHost
from app.ui.i18n import N_, tr
from app.ui.incidents.chips import DueReportsStrip
from app.ui.incidents.pdf import write_pdf
from app.ui.incidents.signoff import CHIP_STYLE, SignoffQueue, chip_text
from app.ui.incidents.tab import IncidentTab

log = logging.getLogger(__name__)

DOCK_TITLE = N_("事件")
OVERDUE_TAB = QColor("#d7261e")


def export_report_pdf(read, report_id: str, path: Path) -> int:
    title, html = read(R.report_document, report_id)
    return write_pdf(path, title, html)


def export_daily_pdf(read, day, path: Path) -> int:
    data = read(R.daily_report, day)
    title, html = R.daily_report_document(data)
    return write_pdf(path, title, html)


class IncidentsPanel(QWidget):
    def __init__(self, host: PanelHost, parent: QWidget | None = None):
        super().__init__(parent, objectName="incidentsPanel")
        self.host, self.ctx = host, host.ctx
        self.tabs_by_id: dict[str, IncidentTab] = {}
        self.blink = False
        self.jobs: list = []

        self.strip = DueReportsStrip(self.ctx.read, self, limit=3)
        self.strip.open_incident.connect(self.open_incident)
        self.strip.timer.stop()  # the panel's own timer ticks the strip and the tabs together
        self.open_button = QPushButton(objectName="openSelected")
        self.open_button.clicked.connect(self.open_selected)
        self.day = QDateEdit(objectName="dailyDay", calendarPopup=True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        today = clock.now().date()
        self.day.setDate(today)
        self.daily_button = QPushButton(objectName="dailyReport")
        self.daily_button.clicked.connect(self.choose_daily_file)
        self.note = QLabel(objectName="exportNote", wordWrap=True)
        self.signoff_chip = QPushButton(objectName="signoffChip", checkable=True, flat=True)
        self.signoff_chip.toggled.connect(self._show_queue)
        self.signoff = SignoffQueue(host, self)
        self.signoff.setMaximumHeight(300)
        self.signoff.hide()
        self.signoff.open_report.connect(self.open_report)
        self.signoff.decided.connect(lambda _rid: self.reload_signoff())
        self.awaiting = -1  # reports awaiting sign-off; -1 until the first count arrives
        self._count_job = None
        self._count_again = False
        self.tabs = QTabWidget(objectName="incidentTabs", tabsClosable=True, movable=True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(self._on_current_tab)
        self.empty = QLabel(objectName="listEmpty", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)

        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.signoff_chip)
        top.addStretch(1)
        top.addWidget(self.day)
        top.addWidget(self.daily_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.strip)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.signoff)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.empty, 1)

        QShortcut(QKeySequence("Ctrl+W"), self, activated=self.close_current,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+O"), self, activated=self.open_selected,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+Shift+S"), self, activated=self.signoff_chip.toggle,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.timer = QTimer(self, interval=1000, timeout=self.tick)
        self.timer.start()
        host.changes.changes_applied.connect(self._on_changes)
        host.selection.selection_changed.connect(self._on_selection)
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()
        self.strip.reload()
        self.reload_signoff()
        self._reopen_drafts()
        self._update_empty()

    # ---- Public API ------------------------------------------------------------------------
    def open_incident(self, incident_id: str) -> IncidentTab:
        tab = self.tabs_by_id.get(incident_id)
        if tab is None:
            tab = IncidentTab(self.host, incident_id, self)
            tab.title_changed.connect(lambda title, t=tab: self._retitle(t, title))
            tab.export_pdf.connect(self.choose_report_file)
            self.tabs_by_id[incident_id] = tab
            self.tabs.addTab(tab, tab.display_title())
            self._retitle(tab, tab.display_title())
        self.tabs.setCurrentWidget(tab)
        self._update_empty()
        return tab

    def open_report(self, incident_id: str, report_id: str) -> IncidentTab:
        tab = self.open_incident(incident_id)
        tab.show_section("reports")
        tab.reports.select_id(report_id)
        tab.reports.table.setFocus()
        return tab

    def reload_signoff(self) -> None:
        """Re-count the reports awaiting sign-off off the GUI thread (a scan of the reports: tens
        of ms on years of history), and the list with it when it is shown."""
        if self._count_job is not None:
            self._count_again = True
            return
        listing = self.signoff_chip.isChecked()
        fn = (lambda conn: (R.count_awaiting(conn), R.awaiting_signoff(conn))) if listing else (
            lambda conn: (R.count_awaiting(conn), None))
        self._count_job = background.run(self, self.ctx.read, fn, done=self._counted)

    def signoff_loading(self) -> bool:
        return self._count_job is not None

    def _counted(self, result, error) -> None:
        self._count_job = None
        if self._count_again:
            self._count_again = False
            self.reload_signoff()
        if error is not None:  # the old count stays; the next change retries
            log.warning("sign-off count failed: %s", error)
            return
        n, rows = result
        first = self.awaiting < 0
        if n != self.awaiting:
            self.awaiting = n
            self._label_chip()
        if rows is not None and self.signoff_chip.isChecked():
            self.signoff.show_rows(rows)
        user = self.ctx.user
        if first and n > 0 and user is not None and user.role in S.LEADER_ROLES and not self.host.read_only:
            self.signoff_chip.setChecked(True)  # a leader starts with what waits for them in view

    def open_selected(self) -> IncidentTab | None:
        ids = self.host.selection.current("incident")
        return self.open_incident(ids[0]) if ids else None

    def close_current(self) -> None:
        if self.tabs.currentIndex() >= 0:
            self.close_tab(self.tabs.currentIndex())

    def close_tab(self, index: int) -> None:
        tab = self.tabs.widget(index)
        if not isinstance(tab, IncidentTab):
            return
        tab.save_draft_now()  # what is typed stays in the draft table; reopening restores it
        self.tabs.removeTab(index)
        self.tabs_by_id.pop(tab.incident_id, None)
        tab.deleteLater()
        self._update_empty()

    def current_tab(self) -> IncidentTab | None:
        tab = self.tabs.currentWidget()
        return tab if isinstance(tab, IncidentTab) else None

    def tick(self) -> None:
        self.blink = not self.blink
        now = clock.now()
        self.strip.tick()
        overdue_tabs = 0
        for i in range(self.tabs.count()):
            tab = self.tabs.widget(i)
            tab.tick(now, self.blink)
            late = tab.overdue()
            overdue_tabs += late
            self.tabs.tabBar().setTabTextColor(i, OVERDUE_TAB if late and self.blink else QColor())
        self._set_dock_title(self.strip.overdue + overdue_tabs > 0)

    def export_report(self, report_id: str, path: Path) -> None:
        self._export(export_report_pdf, report_id, path)

    def export_daily(self, day, path: Path) -> None:
        self._export(export_daily_pdf, day, path)

    def choose_report_file(self, report_id: str) -> None:
        self._choose(f"report-{clock.now():%Y%m%d-%H%M}.pdf", lambda p: self.export_report(report_id, p))

    def choose_daily_file(self) -> None:
        day = self.day.date().toPython()
        self._choose(f"值班日报-{day:%Y%m%d}.pdf", lambda p: self.export_daily(day, p))

    def retranslate(self) -> None:
        self.open_button.setText(tr("在标签页中打开所选事件 (Ctrl+O)"))
        self._update_open_button()
        self.daily_button.setText(tr("值班日报 PDF…"))
        self.daily_button.setToolTip(tr("导出所选日期的值班日报：事件、报送、调派、批示和值班记录摘要"))
        self.empty.setText(tr("在概览、地图或值班日志中选中一起事件，再按 Ctrl+O 在此打开。可同时打开多起事件。"))
        self._label_chip()

    # ---- Private ---------------------------------------------------------------------------
    def _export(self, fn, arg, path: Path) -> None:
        self.note.setText(tr("正在导出 {file}…").format(file=path.name))

        def done(pages, error) -> None:
            if error is not None:
                log.warning("PDF export to %s failed: %s", path, error)
                self.note.setText(tr("导出失败：{error}").format(error=error))
            else:
                self.note.setText(tr("已导出 {file}（{n} 页）").format(file=path.name, n=pages))
            self.note.setToolTip(str(path))
        self.jobs.append(background.run(self, fn, self.ctx.read, arg, path, done=done))

    def _choose(self, name: str, then) -> None:
        dialog = QFileDialog(self, tr("导出 PDF"), str(Path.home() / name), "PDF (*.pdf)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("pdf")
        dialog.fileSelected.connect(lambda p: then(Path(p)))
        dialog.open()
        self._file_dialog = dialog

    def _retitle(self, tab: IncidentTab, title: str) -> None:
        i = self.tabs.indexOf(tab)
        if i >= 0:
            short = title if len(title) <= 14 else title[:13] + "…"
            self.tabs.setTabText(i, short)
            self.tabs.setTabToolTip(i, title)

    def _set_dock_title(self, alarm: bool) -> None:
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is None:
            return
        base = tr(DOCK_TITLE)
        title = ("⚠ " if self.blink else "　 ") + base + " · " + tr("报送逾期") if alarm else base
        if dock.windowTitle() != title:
            dock.setWindowTitle(title)

    def _reopen_drafts(self) -> None:
        keys = self.ctx.read(S.drafts_with_prefix, "incident:")
        for iid in dict.fromkeys(k.split(":")[1] for k in keys):
            if self.ctx.read(S.load_incident, iid) is not None:
                self.open_incident(iid)

    def _update_empty(self) -> None:
        has = self.tabs.count() > 0
        self.tabs.setVisible(has)
        self.empty.setVisible(not has)

    def _update_open_button(self) -> None:
        ids = self.host.selection.current("incident")
        self.open_button.setEnabled(bool(ids))

    def _on_current_tab(self, _index: int) -> None:
        tab = self.current_tab()
        if tab is not None:  # the map, the log and the resources light the incident up too
            self.host.selection.select("incident", [tab.incident_id], source=self)

    def _on_selection(self, entity: str, ids: tuple, source: object) -> None:
        if entity != "incident" or source is self:
            return
        self._update_open_button()
        if ids and ids[0] in self.tabs_by_id:
            self.tabs.setCurrentWidget(self.tabs_by_id[ids[0]])

    def _label_chip(self) -> None:
        n = max(self.awaiting, 0)
        self.signoff_chip.setText(chip_text(n) + (" ▾" if self.signoff_chip.isChecked() else " ▸"))
        self.signoff_chip.setToolTip(tr("各席位提交、等待带班领导签发的报告 (Ctrl+Shift+S)"))
        self.signoff_chip.setStyleSheet(CHIP_STYLE["busy" if n else "idle"])

    def _show_queue(self, shown: bool) -> None:
        if shown:
            self.reload_signoff()  # the list comes with the next count
        self.signoff.setVisible(shown)
        self._label_chip()

    def _on_changes(self, changes: ChangeSet) -> None:
        if changes.touches("incident", "incident_report", "report_signoff"):
            self.strip.reload()
        if changes.touches("incident", "incident_report", "report_signoff", "user"):
            self.reload_signoff()
        for tab in list(self.tabs_by_id.values()):
            tab.on_changes(changes)
