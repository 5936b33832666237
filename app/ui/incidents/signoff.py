"""待签发: every report awaiting a leader's sign-off, whichever console it was written on.

Officers' reports are synced at once (signed by nobody); a leader on any console sees them
here, soonest due first, and approves (签发) or returns one with a comment. Enter (or a
double click) opens the report in its incident's tab. The list is searchable, sortable and
exportable like every list; the sign-off controls are shown to leaders only, never on the wall.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.services import incidents as S
from app.services import reporting as R
from app.ui import i18n
from app.ui.i18n import N_, tr
from app.ui.incidents.form import FieldRow
from app.ui.incidents.models import AwaitingModel
from app.ui.sync_panel.list_tab import ListTab

CHIP_STYLE = {
    "busy": "QPushButton#signoffChip {background:#fff3d6;color:#7a4d00;border:1px solid #e0b04c;"
            "border-radius:9px;padding:2px 9px;font-weight:bold;}",
    "idle": "QPushButton#signoffChip {background:#eef1f4;color:#4a5561;border:1px solid #c5ccd3;"
            "border-radius:9px;padding:2px 9px;}",
}


class SignoffQueue(ListTab):
    open_report = Signal(str, str)  # incident id, report id
    decided = Signal(str)  # report id

    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(AwaitingModel(), "signoff", N_("没有待签发的报告"), sort_column=4, stretch_column=5,
                         parent=parent)
        self.setObjectName("signoffQueue")
        self.host, self.ctx = host, host.ctx
        self.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
        self.comment = QLineEdit(objectName="queueComment")
        self.comment_row = FieldRow(self.comment)
        self.sign_button = QPushButton(objectName="queueSign")
        self.return_button = QPushButton(objectName="queueReturn")
        self.open_button = QPushButton(objectName="queueOpen")
        self.note = QLabel(objectName="signoffNote", wordWrap=True)
        self.controls = QWidget(objectName="queueControls")
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.comment_row, 1)
        row.addWidget(self.sign_button)
        row.addWidget(self.return_button)
        bar = QHBoxLayout()
        bar.addWidget(self.controls, 1)
        bar.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignRight)
        self.details.addLayout(bar)
        self.details.addWidget(self.note)
        self.sign_button.clicked.connect(lambda: self.decide("approved"))
        self.return_button.clicked.connect(lambda: self.decide("returned"))
        self.comment.returnPressed.connect(lambda: self.decide("approved"))
        self.open_button.clicked.connect(self.open_selected)
        self.table.activated.connect(lambda _index: self.open_selected())
        self.selection_changed.connect(self._update_buttons)
        self.retranslate()

    @property
    def leader(self) -> bool:
        user = self.ctx.user
        return user is not None and user.role in S.LEADER_ROLES and not self.host.read_only

    def reload(self) -> None:
        self.show_rows(self.ctx.read(R.awaiting_signoff))

    def show_rows(self, rows: list[R.ReportRow]) -> None:
        self.model.set_rows(rows)
        self._update_buttons()

    def open_selected(self) -> None:
        row = self.model.row_by_id(self.selected_id())
        if row is not None:
            self.open_report.emit(row.incident_id, row.id)

    def decide(self, decision: str) -> bool:
        rid = self.selected_id()
        if not rid:
            self.note.setText(tr("请先选中一份待签发的报告。"))
            return False
        try:
            R.sign_report(self.ctx, rid, decision, self.comment.text())
        except S.CheckFailed as e:
            self.comment_row.show_problem(next(iter(e.errors), None))
            self.comment.setFocus()
            return False
        except (S.NotAllowed, KeyError) as e:
            message = e.message(i18n.current()) if isinstance(e, S.NotAllowed) else str(e)
            self.note.setText(tr("未能签发：{error}").format(error=message))
            self.reload()
            return False
        self.comment_row.show_problem(None)
        self.comment.clear()
        self.note.setText(tr("已签发并报送。") if decision == "approved" else tr("已退回，并记入值班日志。"))
        self.reload()
        self.decided.emit(rid)
        return True

    def _update_buttons(self, *_args) -> None:
        if not hasattr(self, "controls"):
            return
        selected = self.model.row_by_id(self.selected_id()) is not None
        self.controls.setVisible(self.leader)
        self.sign_button.setEnabled(selected)
        self.return_button.setEnabled(selected)
        self.open_button.setEnabled(selected)

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "controls"):
            return
        self.comment.setPlaceholderText(tr("签发意见（退回时必填）"))
        self.sign_button.setText(tr("签发所选"))
        self.sign_button.setToolTip(tr("签发后报告即视为已报送，并记入值班日志"))
        self.return_button.setText(tr("退回所选"))
        self.open_button.setText(tr("在事件中查看 (Enter)"))
        self._update_buttons()


def chip_text(n: int) -> str:
    return tr("待签发 {n} 份").format(n=n)
