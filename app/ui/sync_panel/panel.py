"""同步 Sync: the outbox, the conflict queue, the refused changes and the sync facts, as four tabs.

Refreshes when a ChangeSet could have changed what it lists (any local change queues a
mutation; sync_conflict and outbox name themselves) and when the engine reports a new
SyncStatus, at most every 200 ms, and only while the panel is on screen: a hidden
panel just remembers to re-read when it is shown (SYNC_RESEARCH.md §3.14).
"""

from __future__ import annotations

import logging
import weakref

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import QDockWidget, QFrame, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from app.domain import clock
from app.services import quarantine as quarantine_service
from app.services.changes import ChangeSet
from app.services.sync_panel_queries import WAITING, sync_facts
from app.services.sync_status import SyncStatus
from app.ui import i18n, icons
from app.ui.i18n import N_, tr
from app.ui.sync_panel.conflicts_tab import ConflictsTab
from app.ui.sync_panel.list_tab import ListTab
from app.ui.sync_panel.outbox_tab import OutboxTab
from app.ui.sync_panel.quarantine_tab import QuarantineTab
from app.ui.sync_panel.rejected_tab import RejectedTab
from app.ui.sync_panel.status_tab import Counts, StatusTab

log = logging.getLogger(__name__)

COALESCE_MS = 200
TABS = (("outbox", N_("待上传")), ("conflicts", N_("冲突")), ("rejected", N_("被拒绝")), ("status", N_("状态")))
LEADER_TAB = ("quarantine", N_("待审核"))  # a shift leader's console only (quarantine_tab.py)
TAB_ICONS = {"conflicts": "conflict", "rejected": "rejected"}


class StatusRelay(QObject):
    status_changed = Signal(object)
    """The engine reported a SyncStatus (delivered on the GUI thread)."""

    def subscribe(self, engine) -> None:
        # The engine keeps its subscribers for life: hold this object weakly, and hop to the GUI thread.
        ref = weakref.ref(self)

        def on_status(status: SyncStatus) -> None:
            relay = ref()
            if relay is not None:
                try:
                    relay.status_changed.emit(status)
                except RuntimeError:  # the C++ side was deleted first
                    pass
        engine.subscribe(on_status)


class SyncPanel(QWidget):
    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(parent, objectName="syncPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.host = host
        sync = host.ctx.sync
        self.status: SyncStatus | None = sync.status if sync is not None else None
        self.counts = Counts()
        self.built = False
        self._dirty = True
        self._dock: QDockWidget | None = None
        self._check_pending = False
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._timer = QTimer(self, singleShot=True, interval=COALESCE_MS, timeout=self._refresh_if_shown)
        self.relay = StatusRelay(self)
        self.relay.status_changed.connect(self._on_status)
        if sync is not None:
            self.relay.subscribe(sync)
        host.changes.changes_applied.connect(self._on_changes)
        i18n.notifier().language_changed.connect(self.retranslate)
        # The four tabs (three tables, a form) are built the first time the panel is shown: most
        # watches open it rarely, and building and styling it would cost every start-up ~0.3 s.

    # ---- Public API ------------------------------------------------------------------------
    def ensure_built(self) -> None:
        """Build the tabs and read everything (done by itself the first time the panel is shown)."""
        if self.built:
            return
        self.built = True
        host = self.host
        self.tabs = QTabWidget(objectName="syncTabs")
        self.outbox = OutboxTab(host)
        self.conflicts = ConflictsTab(host, self.refresh_now)
        self.rejected = RejectedTab(host, self.refresh_now)
        self.status_tab = StatusTab(host)
        self.pages: dict[str, QWidget] = {"outbox": self.outbox, "conflicts": self.conflicts,
                                          "rejected": self.rejected, "status": self.status_tab}
        # The status form is tall: scrolled, so the dock never forces a small window to grow.
        status_scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        status_scroll.setWidget(self.status_tab)
        self._containers: dict[str, QWidget] = {**self.pages, "status": status_scroll}
        self.tab_list = list(TABS)
        self.quarantine: QuarantineTab | None = None
        if quarantine_service.can_decide(host.ctx) and not host.read_only:
            self.quarantine = QuarantineTab(host, self._label_tabs)
            self.pages["quarantine"] = self._containers["quarantine"] = self.quarantine
            self.tab_list.insert(3, LEADER_TAB)  # before the status form
        for key, _ in self.tab_list:
            self.tabs.addTab(self._containers[key], "")
        self.tabs.currentChanged.connect(self._on_tab)
        self.as_of = QLabel(objectName="asOfLabel")
        self.tabs.setCornerWidget(self.as_of, Qt.Corner.TopRightCorner)  # beside the tabs, not a row of its own
        self._layout.addWidget(self.tabs, 1)
        if self.isVisible():  # children added to a shown widget are otherwise shown one event later
            self.tabs.show()
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self,
                         context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self._focus_search)
        self.retranslate()
        self.refresh_now()

    def on_screen(self) -> bool:
        """Shown and not behind another dock's tab."""
        if not self.isVisible():
            return False
        return self._dock is None or not self._dock.visibleRegion().isEmpty()

    def show_tab(self, key: str) -> None:
        """Bring one tab to the front: "outbox", "conflicts", "rejected", "status" (or "quarantine")."""
        self.ensure_built()
        page = self.pages[key]
        self.tabs.setCurrentWidget(self._containers[key])
        if isinstance(page, ListTab):
            if key in ("conflicts", "rejected") and page.proxy.rowCount() and not page.selected_id():
                page.table.selectRow(0)  # land on the first item, ready for its one-click action
            page.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def current_tab(self) -> str:
        self.ensure_built()
        return next(k for k, p in self._containers.items() if p is self.tabs.currentWidget())

    def refresh_now(self) -> None:
        if not self.built:
            self._dirty = True  # read when first shown; nobody is looking at it yet
            return
        self._timer.stop()
        self._dirty = False
        try:
            self.outbox.reload()
            self.conflicts.reload()
            self.rejected.reload()
            facts = self.host.ctx.read(sync_facts)
        except Exception:  # a failed read must not take the window down; keep the old lists
            log.exception("sync panel read failed")
            self.as_of.setText(tr("读取失败") + f" {clock.now():%H:%M:%S}")
            return
        waiting = sum(facts.states.get(s, 0) for s in WAITING)
        open_conflicts = sum(1 for i in range(self.conflicts.model.rowCount())
                             if self.conflicts.model.row(i).status == "open")
        self.counts = Counts(waiting=waiting, conflicts=open_conflicts, rejected=self.rejected.model.rowCount())
        self.status_tab.show_state(self.status, facts, self.counts)
        self.as_of.setText(tr("数据截至") + f" {clock.now():%H:%M:%S}")
        self._label_tabs()

    def refresh_pending(self) -> bool:
        return self._timer.isActive()

    def retranslate(self) -> None:
        if self.built:
            self._label_tabs()

    # ---- Qt overrides ----------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._check_on_screen()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ParentChange:
            dock = self.parentWidget()
            while dock is not None and not isinstance(dock, QDockWidget):  # the dock holds a scroll area
                dock = dock.parentWidget()
            if dock is not None and dock is not self._dock:
                # A dock behind another tab stays "visible" to Qt; its visibilityChanged says when the
                # officer actually brings it to the front.
                self._dock = dock
                dock.visibilityChanged.connect(self._on_dock_visibility)
        return super().event(event)

    # ---- Private ---------------------------------------------------------------------------
    def _label_tabs(self) -> None:
        counts = self.counts
        numbers = {"outbox": counts.waiting, "conflicts": counts.conflicts, "rejected": counts.rejected}
        if self.quarantine is not None:
            numbers["quarantine"] = self.quarantine.model.rowCount()
        for i, (key, label) in enumerate(self.tab_list):
            n = numbers.get(key, 0)
            self.tabs.setTabText(i, f"{tr(label)} ({n:,})" if n else tr(label))
            icon = TAB_ICONS.get(key)
            self.tabs.setTabIcon(i, icons.icon(icon) if icon and n else QIcon())  # icon + count: never colour alone

    def _on_tab(self, _index: int) -> None:
        # The held list lives on the server: read when the leader opens the tab (F5 reads again).
        if self.quarantine is not None and self.tabs.currentWidget() is self.quarantine and not self.quarantine.loaded:
            self.quarantine.load()

    def _schedule(self) -> None:
        # Throttle, not debounce: a steady stream of sync pages still refreshes every 200 ms.
        if not self._timer.isActive():
            self._timer.start()

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible and self.on_screen():
            self._on_screen_now()  # at once, so focus_dock (Ctrl+8) finds the built panel's controls
        else:
            self._check_on_screen()

    def _check_on_screen(self) -> None:
        # Deferred: the main window shows every dock once before its tab groups put all but the
        # front one behind, and a panel nobody is looking at is neither built nor re-read.
        if not self._check_pending:
            self._check_pending = True
            QTimer.singleShot(0, self, self._on_screen_now)

    def _on_screen_now(self) -> None:
        self._check_pending = False
        if not self.on_screen():
            return
        if not self.built:
            self.ensure_built()
        elif self._dirty:
            self.refresh_now()

    def _refresh_if_shown(self) -> None:
        if self.built and self.on_screen():
            self.refresh_now()
        else:
            self._dirty = True  # re-read when the officer opens the panel, not while nobody looks

    def _on_changes(self, changes: ChangeSet) -> None:
        # Every local change queued a mutation, whatever entity it names.
        if changes.touches("sync_conflict", "outbox") or changes.origin != "sync":
            self._schedule()

    def _on_status(self, status: SyncStatus) -> None:
        before, self.status = self.status, status
        if not self.built:
            return
        self.status_tab.show_state(status, self.status_tab.facts, self.status_tab.counts)
        keys = ("waiting", "conflicts", "rejected", "last_push_ok", "server_rev", "state")
        if before is None or any(getattr(before, k) != getattr(status, k) for k in keys):
            self._schedule()

    def _focus_search(self) -> None:
        page = self.tabs.currentWidget()
        if isinstance(page, ListTab):
            page.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
            page.search.selectAll()
