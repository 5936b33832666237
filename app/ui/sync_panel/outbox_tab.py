"""待上传 Outbox: every change this console queued, with its state, attempts and last error."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from app.services.sync_panel_queries import UPLOADED, WAITING
from app.services.sync_queries import list_outbox
from app.ui.i18n import N_, tr
from app.ui.sync_panel.list_tab import ListTab
from app.ui.sync_panel.models import OutboxModel

LIMIT = 5000  # the newest this many; a longer queue is still all there, and all uploaded

FILTERS = ((N_("全部状态"), None), (N_("等待上传"), WAITING), (N_("已上传"), UPLOADED),
           (N_("被拒绝"), ("rejected",)), (N_("已重新提交"), ("resubmitted",)),
           (N_("待带班领导审核"), ("quarantined",)))


class OutboxTab(ListTab):
    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(OutboxModel(), "outbox", N_("本机没有排队的修改。"), filters=FILTERS, sort_column=0,
                         stretch_column=2, parent=parent)
        self.host = host
        self.limit = LIMIT
        self.limit_note = QLabel(objectName="actionMessage", wordWrap=True)
        self.limit_note.hide()
        self.details.addWidget(self.limit_note)

    def reload(self) -> None:
        rows = self.host.ctx.read(list_outbox, None, self.limit)
        self.model.set_rows(rows)
        self.limit_note.setText(tr("只列出最新的 {n} 条修改。").format(n=f"{self.limit:,}"))
        self.limit_note.setVisible(len(rows) >= self.limit)
