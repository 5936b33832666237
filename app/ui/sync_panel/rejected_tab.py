"""被拒绝 Rejected: changes the server refused, with its reason, and "correct and resubmit".

Nothing refused is ever dropped: the change stays here, with its content, until an
officer resubmits it (corrected or not) as a new change (SYNC_PROTOCOL.md invariant 6).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.services.sync_panel_queries import list_rejected
from app.ui.i18n import N_, tr
from app.ui.sync_panel import labels as L
from app.ui.sync_panel.list_tab import ListTab
from app.ui.sync_panel.models import RejectedModel, reason_text
from app.ui.sync_panel.resubmit_dialog import ResubmitDialog


class RejectedTab(ListTab):
    def __init__(self, host, on_changed: Callable[[], None], parent: QWidget | None = None):
        super().__init__(RejectedModel(), "rejected", N_("没有被服务器拒绝的修改。"), sort_column=4,
                         stretch_column=1, parent=parent)
        self.host = host
        self._on_changed = on_changed
        self.dialog: ResubmitDialog | None = None
        self.reason = QLabel(objectName="rejectReason", wordWrap=True)
        self.problems = QLabel(objectName="rejectProblems", wordWrap=True)
        self.resubmit_button = QPushButton(objectName="resubmitButton")
        self.resubmit_button.clicked.connect(self.open_resubmit)
        row = QHBoxLayout()
        row.addWidget(self.resubmit_button)
        row.addStretch(1)
        self.details.addWidget(self.reason)
        self.details.addWidget(self.problems)
        self.details.addLayout(row)
        self.selection_changed.connect(self._show_selected)
        self.table.doubleClicked.connect(lambda _index: self.open_resubmit())
        self.retranslate()

    # ---- Public API ------------------------------------------------------------------------
    def reload(self) -> None:
        self.model.set_rows(self.host.ctx.read(list_rejected))
        self._show_selected(self.selected_id())

    def open_resubmit(self) -> ResubmitDialog | None:
        change = self.model.row_by_id(self.selected_id())
        if change is None or not self._can_act():
            return None
        dialog = ResubmitDialog(self.host.ctx, change, self)
        dialog.resubmitted.connect(lambda _new_id: self._on_changed())
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()  # window-modal, no nested event loop (qasync #59)
        self.dialog = dialog
        return dialog

    def retranslate(self) -> None:
        super().retranslate()
        self.resubmit_button.setText(tr("更正后重新提交…"))
        self.resubmit_button.setToolTip(tr("打开这条修改的内容，更正后作为新的修改重新上传"))
        self._show_selected(self.selected_id())

    # ---- Private ---------------------------------------------------------------------------
    def _can_act(self) -> bool:
        user = self.host.ctx.user
        return not self.host.read_only and user is not None and user.role != "viewer"

    def _show_selected(self, mutation_id: str) -> None:
        change = self.model.row_by_id(mutation_id) if mutation_id else None
        self.resubmit_button.setVisible(self._can_act())
        self.resubmit_button.setEnabled(change is not None)
        if change is None:
            self.reason.setText(tr("选择一条查看拒绝原因。") if self.model.rowCount() else "")
            self.problems.setText("")
            self.problems.hide()
            return
        self.reason.setText(tr("拒绝原因：") + reason_text(change) + (f"  ({change.code})" if change.code else ""))
        lines = [L.labelled(L.field_label(p.field), L.message(p.message_zh, p.message_en)) for p in change.problems]
        self.problems.setText("\n".join(lines))
        self.problems.setVisible(bool(lines))
