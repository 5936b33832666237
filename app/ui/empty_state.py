"""What a dock shows until its panel is written: what will be there, in the officer's language."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.ui import i18n, icons
from app.ui.i18n import tr


class EmptyState(QWidget):
    def __init__(self, title: str, description: str, icon_name: str, failure: str | None = None,
                 focusable: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        # At a desk Ctrl+N lands somewhere visible; the wall has no keyboard user and no focus ring.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus if focusable else Qt.FocusPolicy.NoFocus)
        self._title, self._description, self._failure = title, description, failure
        self._icon_name = icon_name
        self.icon = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.title_label = QLabel(objectName="emptyTitle", alignment=Qt.AlignmentFlag.AlignCenter)
        self.text_label = QLabel(objectName="emptyText", alignment=Qt.AlignmentFlag.AlignCenter,
                                 wordWrap=True)
        self.note_label = QLabel(objectName="emptyNote", alignment=Qt.AlignmentFlag.AlignCenter,
                                 wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        for w in (self.icon, self.title_label, self.text_label, self.note_label):
            layout.addWidget(w)
        layout.addStretch(3)
        layout.setSpacing(8)
        layout.setContentsMargins(24, 16, 24, 16)
        self.retranslate()
        i18n.notifier().language_changed.connect(self.retranslate)

    def retranslate(self) -> None:
        self.title_label.setText(tr(self._title))
        self.text_label.setText(tr(self._description))
        if self._failure:
            self.note_label.setText(tr("面板加载失败，请联系系统管理员。") + f"\n{self._failure}")
        else:
            self.note_label.setText(tr("此面板接入后将在这里显示。"))
        self.setAccessibleName(tr(self._title))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        # Sized from the current font so the icon grows with the briefing wall's type.
        px = max(32, self.fontMetrics().height() * 3)
        self.icon.setPixmap(icons.pixmap(self._icon_name, px, self.devicePixelRatioF()))
        super().showEvent(event)
