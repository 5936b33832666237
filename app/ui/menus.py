"""The menu bar and keyboard shortcuts of the main window.

Every action is reachable from the keyboard: menu accelerators (&V …), and the
shortcuts below. Labels are Chinese source text re-read through tr() whenever the
language changes, so menus are built once and relabelled, never rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from app.ui.i18n import N_, tr
from app.ui.layouts import NAMED_LAYOUTS

LANGUAGE_NAMES = (("zh", "中文"), ("en", "English"))  # each in its own language, never translated
THEME_NAMES = (("day", N_("日间主题")), ("night", N_("夜间主题")))

SHORTCUT_HELP = (
    ("F1", N_("快捷键与关于")), ("Ctrl+1 … Ctrl+9", N_("转到面板")), ("F11", N_("全屏")),
    ("Ctrl+Shift+L", N_("切换语言")), ("Ctrl+Shift+T", N_("切换主题")), ("Ctrl+Q", N_("退出")),
)


class Menus:
    """Builds the menus on ``window`` and remembers each label for retranslation."""

    def __init__(self, window: QMainWindow):
        self.window = window
        self._labels: list[tuple[QAction | QMenu, str]] = []
        self.language_actions: dict[str, QAction] = {}
        self.theme_actions: dict[str, QAction] = {}
        self.layout_actions: dict[str, QAction] = {}

    # ---- Building ----------------------------------------------------------------------------
    def menu(self, parent, label: str) -> QMenu:
        m = QMenu(parent)
        self._labels.append((m, label))
        parent.addMenu(m)
        return m

    def action(self, menu: QMenu | None, label: str, slot: Callable,
               shortcut: str | QKeySequence | None = None, checkable: bool = False) -> QAction:
        a = QAction(self.window)
        self._labels.append((a, label))
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setCheckable(checkable)
        a.triggered.connect(lambda checked=False: slot())
        # Added to the window too, so shortcuts work with the menu bar hidden (briefing wall).
        self.window.addAction(a)
        if menu is not None:
            menu.addAction(a)
        return a

    def retranslate(self) -> None:
        for item, label in self._labels:
            if isinstance(item, QMenu):
                item.setTitle(tr(label))
            else:
                item.setText(tr(label))

    # ---- The menus of the main window -------------------------------------------------------
    def build(self, w) -> None:
        """``w`` is the MainWindow (its slots are wired here; it owns the behaviour)."""
        bar = w.menuBar()
        file_menu = self.menu(bar, N_("文件(&F)"))
        self.sign_in = self.action(file_menu, N_("登录/切换用户(&S)…"), w.open_sign_in)
        file_menu.addSeparator()
        self.action(file_menu, N_("退出(&Q)"), w.close, "Ctrl+Q")  # StandardKey.Quit is empty on Windows

        view = self.menu(bar, N_("视图(&V)"))
        for dock in w.docks.values():
            view.addAction(dock.toggleViewAction())
        go = self.menu(view, N_("转到面板(&G)"))
        for n, (dock_id, _dock) in enumerate(w.docks.items(), start=1):
            shortcut = f"Ctrl+{n}" if n <= 9 else None
            a = self.action(go, w.dock_title(dock_id), lambda i=dock_id: w.focus_dock(i), shortcut)
            a.setObjectName(f"focus_{dock_id}")
        view.addSeparator()
        layouts = self.menu(view, N_("布局(&L)"))
        for name, label in NAMED_LAYOUTS:
            self.layout_actions[name] = self.action(layouts, label, lambda n=name: w.apply_layout(n))
        layouts.addSeparator()
        self.reset_layout = self.action(layouts, N_("重置布局(&R)"), w.reset_layout)

        language = self.menu(view, N_("语言(&A)"))
        group = QActionGroup(self.window)
        for code, name in LANGUAGE_NAMES:
            a = QAction(name, self.window, checkable=True)
            a.triggered.connect(lambda checked=False, c=code: w.set_language(c))
            group.addAction(a)
            language.addAction(a)
            self.language_actions[code] = a
        language.addSeparator()
        self.toggle_language = self.action(language, N_("切换语言"), w.toggle_language, "Ctrl+Shift+L")

        themes = self.menu(view, N_("主题(&T)"))
        group = QActionGroup(self.window)
        for code, label in THEME_NAMES:
            a = self.action(themes, label, lambda c=code: w.set_theme(c), checkable=True)
            group.addAction(a)
            self.theme_actions[code] = a
        themes.addSeparator()
        self.toggle_theme = self.action(themes, N_("切换主题"), w.toggle_theme, "Ctrl+Shift+T")

        view.addSeparator()
        self.full_screen = self.action(view, N_("全屏(&U)"), w.toggle_full_screen, "F11", checkable=True)

        help_menu = self.menu(bar, N_("帮助(&H)"))
        self.action(help_menu, N_("快捷键与关于(&K)"), w.show_help, "F1")
        self.retranslate()

    def show_state(self, language: str, theme: str, full_screen: bool) -> None:
        self.language_actions[language].setChecked(True)
        self.theme_actions[theme].setChecked(True)
        self.full_screen.setChecked(full_screen)
