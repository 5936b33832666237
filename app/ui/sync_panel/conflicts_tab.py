"""冲突 Conflicts: the open sync conflicts, the two values side by side, one click to settle one.

A leader restores the overwritten value or keeps the current one; an officer acknowledges
(the server accepts nothing else from an officer). Each click is an ordinary local change
through the outbox (app.services.sync_queries), so it syncs and is audited like any other.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services import sync_queries as Q
from app.services.sync_panel_queries import list_conflict_queue
from app.ui.i18n import N_, tr
from app.ui.sync_panel import labels as L
from app.ui.sync_panel.list_tab import ListTab
from app.ui.sync_panel.models import ConflictModel


class ValueBox(QFrame):
    """One side of a conflict: a caption and the whole value (scrolls when long), selectable for copying."""

    LINES = 2

    def __init__(self, caption: str, object_name: str, parent: QWidget | None = None):
        super().__init__(parent, objectName=object_name)
        self.caption = caption
        self.caption_label = QLabel(objectName="valueCaption")
        self.value = QPlainTextEdit(objectName="valueText", readOnly=True)
        self.value.setFrameShape(QFrame.Shape.NoFrame)
        self.value.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Tab walks the list and the buttons
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 8, 4)
        layout.setSpacing(2)
        layout.addWidget(self.caption_label)
        layout.addWidget(self.value, 1)

    def set_text(self, text: str) -> None:
        self.value.setPlainText(text)
        self.value.setToolTip(text if len(text) > 40 else "")

    def text(self) -> str:
        return self.value.toPlainText()

    def retranslate(self) -> None:
        self.caption_label.setText(tr(self.caption))

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override: room for two lines at any type size
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.value.ensurePolished()
            lines = self.value.fontMetrics().lineSpacing() * self.LINES
            self.value.setFixedHeight(lines + 2 * round(self.value.document().documentMargin()) + 2)


class ConflictsTab(ListTab):
    def __init__(self, host, on_changed: Callable[[], None], parent: QWidget | None = None):
        super().__init__(ConflictModel(), "conflicts", N_("没有待处理的同步冲突。"), stretch_column=0,
                         parent=parent)
        self.host = host
        self._on_changed = on_changed
        self.heading = QLabel(objectName="conflictHeading", wordWrap=True)
        self.kept = ValueBox(N_("当前值（已保留）"), "keptValue")
        self.lost = ValueBox(N_("被覆盖的值"), "lostValue")
        self.restore_button = QPushButton(objectName="restoreButton")
        self.keep_button = QPushButton(objectName="keepButton")
        self.ack_button = QPushButton(objectName="acknowledgeButton")
        self.message = QLabel(objectName="actionMessage", wordWrap=True)
        # The two values side by side, the one-click actions beside them: the list keeps the height.
        buttons = QVBoxLayout()
        for b in (self.restore_button, self.keep_button, self.ack_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        sides = QGridLayout()
        sides.addWidget(self.kept, 0, 0)
        sides.addWidget(self.lost, 0, 1)
        sides.addLayout(buttons, 0, 2)
        sides.setColumnStretch(0, 1)
        sides.setColumnStretch(1, 1)
        self.details.addWidget(self.heading)
        self.details.addLayout(sides)
        self.details.addWidget(self.message)
        self.restore_button.clicked.connect(lambda: self._act(Q.restore_losing_value))
        self.keep_button.clicked.connect(lambda: self._act(Q.keep_winning_value))
        self.ack_button.clicked.connect(lambda: self._act(Q.keep_winning_value))
        self.selection_changed.connect(self._show_selected)
        self.message.hide()
        self.retranslate()

    # ---- Public API ------------------------------------------------------------------------
    def reload(self) -> None:
        self.model.set_rows(self.host.ctx.read(list_conflict_queue, self.is_leader()))
        self._show_selected(self.selected_id())

    def is_leader(self) -> bool:
        user = self.host.ctx.user
        return user is not None and user.role in Q.LEADER_ROLES

    def can_act(self) -> bool:
        user = self.host.ctx.user
        return not self.host.read_only and user is not None and user.role != "viewer"

    def retranslate(self) -> None:
        super().retranslate()
        self.kept.retranslate()
        self.lost.retranslate()
        self.restore_button.setText(tr("恢复被覆盖的值"))
        self.restore_button.setToolTip(tr("把被覆盖的值写回记录，并把冲突标为已解决"))
        self.keep_button.setText(tr("保留当前值"))
        self.keep_button.setToolTip(tr("保留服务器上的当前值，并把冲突标为已解决"))
        self.ack_button.setText(tr("知悉"))
        self.ack_button.setToolTip(tr("确认已看到此冲突；由带班领导决定保留哪个值"))
        self._show_selected(self.selected_id())

    # ---- Private ---------------------------------------------------------------------------
    def _show_selected(self, conflict_id: str) -> None:
        c = self.model.row_by_id(conflict_id) if conflict_id else None
        leader, can_act = self.is_leader(), self.can_act()
        self.restore_button.setVisible(can_act and leader)
        self.keep_button.setVisible(can_act and leader)
        self.ack_button.setVisible(can_act and not leader)
        for box in (self.kept, self.lost):
            box.setVisible(c is not None)
        if c is None:
            self.heading.setText(tr("选择一条冲突查看两个值。") if self.model.rowCount() else "")
            for b in (self.restore_button, self.keep_button, self.ack_button):
                b.setEnabled(False)
            return
        self.heading.setText(" · ".join((L.entity_label(c.entity), c.record_title, L.field_label(c.field),
                                         L.conflict_kind_label(c.kind), L.conflict_status_label(c.status))))
        self.kept.set_text(L.value_text(c.entity, c.field, c.winning_value))
        self.lost.set_text(L.value_text(c.entity, c.field, c.losing_value))
        restorable = c.kind == "concurrent_edit" and bool(c.field)
        self.restore_button.setEnabled(restorable)
        self.restore_button.setToolTip(tr("把被覆盖的值写回记录，并把冲突标为已解决") if restorable
                                       else tr("此类冲突不能一键恢复，请核实后在相应面板中处理"))
        self.keep_button.setEnabled(True)
        self.ack_button.setEnabled(c.status == "open")

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))  # no empty row under the values when there is nothing to say

    def _act(self, action: Callable) -> None:
        conflict_id = self.selected_id()
        if not conflict_id:
            return
        try:
            action(self.host.ctx, conflict_id)
        except Q.NotAllowed as e:
            self._say(L.message(e.message_zh, e.message_en))
            return
        except KeyError:
            self._say(tr("这条冲突已不存在（可能已被他人处理）。"))
        else:
            self._say("")
        self._on_changed()
