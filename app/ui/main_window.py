"""The main window: docks from the registry, menus, status bar, layouts, language and theme.

It knows the slots, never the panels: each dock's widget comes from the factory a
panel registered in app.ui.docks (or an empty state until one does).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QFrame, QMainWindow, QMessageBox, QScrollArea, QWidget

from app.ui import docks as registry
from app.ui import i18n, icons, layouts, theme
from app.ui.bus_adapter import ChangeBridge
from app.ui.empty_state import EmptyState
from app.ui.i18n import tr
from app.ui.menus import SHORTCUT_HELP, Menus
from app.ui.selection import Selection
from app.ui.settings import Settings
from app.ui.signin_dialog import REASON_RESUME, REASON_START, SignInDialog, apply_sign_in
from app.ui.status_bar import StatusBar

log = logging.getLogger(__name__)

_F = QDockWidget.DockWidgetFeature
_MOVABLE = _F.DockWidgetMovable | _F.DockWidgetFloatable | _F.DockWidgetClosable
_O = QMainWindow.DockOption
_DOCK_OPTIONS = _O.AnimatedDocks | _O.AllowNestedDocks | _O.AllowTabbedDocks



class PanelDock(QDockWidget):
    """A dock whose panel sits in a scroll area.

    A panel's minimum size is the sum of its parts (an entry form, a row of buttons); tabbed
    and stacked with others, those minimums would add up to a window larger than the screen,
    and Qt then grows the window past it. In a scroll area a panel squeezed below its minimum
    scrolls instead, and the window keeps the size of the screen.
    """

    def set_panel(self, panel: QWidget) -> None:
        self._panel = panel
        scroll = QScrollArea(objectName="panelScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWidget(scroll)
        scroll.setWidget(panel)  # after: the panel's ParentChange then finds this dock among its ancestors

    def panel(self) -> QWidget:
        return self._panel

class MainWindow(QMainWindow):
    closed = Signal()
    """The window closed (after saving its layout); the event loop may stop."""

    def __init__(self, ctx, *, settings: Settings, briefing: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.ctx, self.settings, self.briefing = ctx, settings, briefing
        self.mode = "briefing" if briefing else "duty"
        self._scale = 0.0
        self.changes = ChangeBridge(ctx.bus, self)
        self.selection = Selection(self)
        self.host = registry.PanelHost(ctx=ctx, changes=self.changes, selection=self.selection,
                                       read_only=briefing, settings=settings)
        self.setWindowIcon(icons.icon("app"))
        self.setDockOptions(_DOCK_OPTIONS)

        registry.load_panel_modules()
        self.specs = {s.id: s for s in registry.dock_specs()}
        self.docks = {dock_id: self._make_dock(spec) for dock_id, spec in self.specs.items()}
        self.status = StatusBar(ctx, self.changes, self)
        self.setStatusBar(self.status)
        self.status.conflicts_clicked.connect(lambda: self._show_sync_queue("conflicts"))
        self.status.rejected_clicked.connect(lambda: self._show_sync_queue("rejected"))
        self.status.skew_clicked.connect(lambda: self._show_sync_queue("status"))
        self.status.signin_clicked.connect(lambda: self.open_sign_in(REASON_RESUME))
        self._signin: SignInDialog | None = None
        self._shown_once = False
        self.menus = Menus(self)
        self.menus.build(self)
        self._help: QMessageBox | None = None

        self.resize(1600, 960)
        self._restore_layout()
        if briefing:
            self.menuBar().hide()  # the wall shows the picture; F-keys and Ctrl+N still work
            self.setWindowState(Qt.WindowState.WindowFullScreen)
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()
        self.apply_theme()

    # ---- Public API ------------------------------------------------------------------------
    def dock_title(self, dock_id: str) -> str:
        return self.specs[dock_id].title

    def focus_dock(self, dock_id: str) -> None:
        dock = self.docks[dock_id]
        dock.show()
        dock.raise_()
        widget = dock.panel()
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            # Land on the panel's first control (e.g. the incident list), not on its frame.
            focusable = [c for c in widget.findChildren(QWidget)
                         if c.focusPolicy() & Qt.FocusPolicy.TabFocus and c.isVisibleTo(widget)]
            widget = focusable[0] if focusable else widget
        widget.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def apply_layout(self, name: str) -> None:
        layouts.arrange(self, self.docks, name, {i: s.area for i, s in self.specs.items()})

    def reset_layout(self) -> None:
        self.settings.clear_layout(self.mode)
        self.apply_layout(self.mode)

    def save_layout(self) -> None:
        geometry = None if self.briefing else self.saveGeometry().data()
        self.settings.set_layout(self.mode, self.saveState(layouts.LAYOUT_VERSION).data(), geometry)

    def set_language(self, lang: str) -> None:
        self.settings.set("language", lang)
        i18n.set_language(lang)  # every widget relabels itself on language_changed
        self.menus.show_state(i18n.current(), self.settings.theme, self.isFullScreen())

    def toggle_language(self) -> None:
        self.set_language("en" if i18n.current() == "zh" else "zh")

    def set_theme(self, name: str) -> None:
        self.settings.set("theme", name)
        self.apply_theme(force=True)

    def toggle_theme(self) -> None:
        self.set_theme("night" if self.settings.theme == "day" else "day")

    def apply_theme(self, force: bool = False) -> None:
        scale = self._type_scale()
        if force or abs(scale - self._scale) > 0.05 * max(scale, 1):
            self._scale = scale
            theme.apply(QApplication.instance(), self.settings.theme, scale)
            # Drawn things the stylesheet cannot reach (map symbols, labels) follow the wall's type size.
            for dock in self.docks.values() if self.briefing else ():
                rescale = getattr(dock.panel(), "set_ui_scale", None)
                if callable(rescale):
                    rescale(scale)
        self.menus.show_state(i18n.current(), self.settings.theme, self.isFullScreen())

    def toggle_full_screen(self) -> None:
        self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)
        self.menus.full_screen.setChecked(self.isFullScreen())

    def refresh_now(self) -> None:
        """Re-read every panel that can (skips the 200 ms coalescing; for screenshots and tests)."""
        for dock in self.docks.values():
            refresh = getattr(dock.panel(), "refresh_now", None)
            if callable(refresh):
                refresh()

    def open_sign_in(self, reason: str = "") -> SignInDialog:
        """The sign-in dialog (File → Sign in / switch user, or the status bar when sync needs it)."""
        if self._signin is not None and self._signin.isVisible():
            self._signin.raise_()
            self._signin.activateWindow()
            return self._signin
        user = self.ctx.user
        dialog = SignInDialog(self.ctx, self, username=user.username if user else "", reason=reason)
        dialog.signed_in.connect(self._on_signed_in)
        dialog.finished.connect(lambda _result: self._forget_sign_in(dialog))
        dialog.open()  # window-modal without a nested event loop (qasync #59)
        self._signin = dialog
        return dialog

    def retranslate(self) -> None:
        title = tr("应急指挥台")
        self.setWindowTitle(title + (" · " + tr("大屏") if self.briefing else ""))
        for dock_id, dock in self.docks.items():
            dock.setWindowTitle(tr(self.specs[dock_id].title))
        self.menus.retranslate()

    def show_help(self) -> None:
        rows = "".join(f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{tr(what)}</td></tr>"
                       for keys, what in SHORTCUT_HELP)
        box = QMessageBox(QMessageBox.Icon.Information, tr("快捷键与关于"),
                          f"<h3>{tr('应急指挥台')}</h3><p>{tr('区应急指挥中心值班台')}</p><table>{rows}</table>",
                          QMessageBox.StandardButton.Close, self)
        box.setWindowModality(Qt.WindowModality.NonModal)  # never block the watch (qasync #59)
        box.open()
        self._help = box

    # ---- Qt overrides ----------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if self.ctx.user is None and self.ctx.server_url:
                # Started against a server with nobody signed in (--server without --user): ask first.
                QTimer.singleShot(0, lambda: self.open_sign_in(REASON_START))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.briefing:
            self.apply_theme()  # the wall's type follows its size

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        try:
            self.save_layout()
            self.settings.save()
        except OSError:
            log.exception("could not save settings")  # closing must still work on a full disk
        # Qt does not close child widgets with their window: close each panel so it saves its
        # drafts and stops its threads (video engine, tile loaders) before the cache closes.
        for dock in self.docks.values():
            try:
                dock.panel().close()
            except Exception:  # one panel's cleanup must not keep the others from theirs
                log.exception("panel %s failed to close", dock.objectName())
        self.changes.close()
        super().closeEvent(event)
        self.closed.emit()

    # ---- Private ---------------------------------------------------------------------------
    def _make_dock(self, spec: registry.DockSpec) -> PanelDock:
        dock = PanelDock(tr(spec.title), self)
        dock.setObjectName(spec.id)  # the key saveState/restoreState use
        dock.setFeatures(_F.NoDockWidgetFeatures if self.briefing else _MOVABLE)
        widget = None
        if spec.factory is not None:
            try:
                widget = spec.factory(self.host)
            except Exception:  # one broken panel must not keep the console from starting
                log.exception("panel %s failed to build", spec.id)
                widget = EmptyState(spec.title, spec.description, spec.icon, failure="factory error",
                                    focusable=not self.briefing)
        dock.set_panel(widget or EmptyState(spec.title, spec.description, spec.icon,
                                            failure=registry.load_failure(spec.id), focusable=not self.briefing))
        return dock

    def _restore_layout(self) -> None:
        state, geometry = self.settings.layout(self.mode)
        self.apply_layout(self.mode)  # also places docks the saved state does not know yet
        if state and not self.restoreState(QByteArray(state), layouts.LAYOUT_VERSION):
            log.info("saved %s layout is from another version; using the default", self.mode)
        # Geometry last. Restoring the dock state into a window already marked maximised makes Qt
        # defer it to the first resize, and moving a dock before then crashes Qt 6.11 inside
        # QLayout::removeWidget (tests/ui/test_layouts.py reproduces it).
        if geometry:
            self.restoreGeometry(QByteArray(geometry))
        elif not self.briefing:
            self.setWindowState(Qt.WindowState.WindowMaximized)  # first start at a desk: use the screen

    def _type_scale(self) -> float:
        if not self.briefing:
            return 1.0
        # 1.6x on a 1080-line wall, growing with the wall (a 2160-line 4K wall at 100% gets 3.2x).
        return theme.BRIEFING_SCALE * max(1.0, self.height() / 1080)

    def _forget_sign_in(self, dialog: SignInDialog) -> None:
        if self._signin is dialog:
            self._signin = None
        dialog.deleteLater()

    def _on_signed_in(self, user, username: str, password: str) -> None:
        apply_sign_in(self.ctx, user, username, password)
        self.status.retranslate()  # who is on watch, and the sync state they resume
        self.refresh_now()  # panels whose actions depend on the role (e.g. the conflict queue)

    def _show_sync_queue(self, which: str) -> None:
        if "sync" in self.docks:
            self.focus_dock("sync")
            show_tab = getattr(self.docks["sync"].panel(), "show_tab", None)
            if callable(show_tab):
                show_tab(which)  # conflicts → the conflict queue, rejected → the refused changes
            return
        status = self.status.sync_status
        n = (status.conflicts if which == "conflicts" else status.rejected) if status else 0
        if which == "conflicts":
            text = tr("有 {n} 条同步冲突待处理。")
        else:
            text = tr("有 {n} 条修改被服务器拒绝。")
        text = text.format(n=n) + "\n" + tr("请在同步面板中逐条查看和处理；本机的修改不会丢失。")
        box = QMessageBox(QMessageBox.Icon.Warning, tr("同步"), text, QMessageBox.StandardButton.Close, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.open()
        self._help = box
