"""交接班 dock: three tabs (handover, roster, roll-calls) that refresh when what they show changes.

Each tab is built the first time it is shown (or asked for), so a console that keeps this
dock tabbed away pays nothing for it at start-up; a ChangeSet re-reads only built tabs.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from app.services.changes import ChangeSet
from app.ui import i18n
from app.ui.handover.handover_tab import HandoverTab
from app.ui.handover.rollcall_tab import RollCallTab
from app.ui.handover.roster_tab import RosterTab
from app.ui.i18n import N_, tr

COALESCE_MS = 300
TABS = ((N_("交接班"), HandoverTab), (N_("排班"), RosterTab), (N_("点名"), RollCallTab))
# What each tab lists, so a ChangeSet re-reads only the tabs it could have changed.
WATCHES = (("shift", "user", "handover", "incident", "incident_report", "instruction", "sync_conflict", "dispatch",
            "stock_movement", "supply_item", "warehouse", "warning"),
           ("shift", "user"),
           ("duty_log_entry", "user"))


class HandoverPanel(QWidget):
    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(parent, objectName="handoverPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.host = host
        self.tabs = QTabWidget(objectName="handoverTabs")
        self._built: list[QWidget | None] = [None] * len(TABS)
        self._pages: list[QWidget] = []
        for _ in TABS:
            page = QWidget()
            lay = QVBoxLayout(page)
            lay.setContentsMargins(0, 0, 0, 0)
            self._pages.append(page)
            self.tabs.addTab(page, "")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)
        self.tabs.currentChanged.connect(self._on_tab)
        self._pending: ChangeSet | None = None
        self._timer = QTimer(self, singleShot=True, interval=COALESCE_MS, timeout=self._apply)
        host.changes.changes_applied.connect(self._on_changes)
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()

    # ---- Public API ------------------------------------------------------------------------
    @property
    def handover(self) -> HandoverTab:
        return self.ensure(0)

    @property
    def roster(self) -> RosterTab:
        return self.ensure(1)

    @property
    def rollcalls(self) -> RollCallTab:
        return self.ensure(2)

    def ensure(self, index: int):
        tab = self._built[index]
        if tab is None:
            tab = self._built[index] = TABS[index][1](self.host)
            self._pages[index].layout().addWidget(tab)
        return tab

    def retranslate(self) -> None:
        for i, (text, _cls) in enumerate(TABS):
            self.tabs.setTabText(i, tr(text))

    # ---- Private ---------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.ensure(self.tabs.currentIndex())

    def _on_tab(self, index: int) -> None:
        if index >= 0 and self.isVisible():
            self.ensure(index)

    def _on_changes(self, changes: ChangeSet) -> None:
        self._pending = changes if self._pending is None else self._pending.merge(changes)
        self._timer.start()

    def _apply(self) -> None:
        changes, self._pending = self._pending, None
        if changes is None:
            return
        for tab, watched in zip(self._built, WATCHES, strict=True):
            if tab is not None and changes.touches(*watched):
                tab.reload()
