"""待审核 Held for approval: changes the server quarantined, for a shift leader to approve or decline.

Shown on a leader's (or administrator's) console only. The list comes from the server
(GET /api/v1/quarantine) on a worker thread when the tab is opened or refreshed (F5);
批准 applies the change as the officer who wrote it, 不批准 ends it refused on that
officer's console (app/services/quarantine.py). The GUI thread never waits on the network.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.services import quarantine as Q
from app.ui import background, i18n
from app.ui.i18n import N_, tr
from app.ui.sync_panel import labels as L
from app.ui.sync_panel.list_tab import ListTab
from app.ui.sync_panel.models import RowsModel

REASONS = {"author_unverified": N_("录入人未在本终端登录过"), "author_role": N_("录入人的角色无权修改"),
           "client_time_outside_window": N_("录入时间超出终端离线时段")}


class HeldModel(RowsModel[Q.HeldChange]):
    columns = (("received", N_("收到时间")), ("entity", N_("记录类型")), ("summary", N_("摘要")),
               ("op", N_("操作")), ("author", N_("录入人")), ("pushed_by", N_("上传人")), ("reason", N_("原因")))

    def row_id(self, row: Q.HeldChange) -> str:
        return row.mutation_id

    def text(self, row: Q.HeldChange, key: str) -> str:
        if key == "received":
            return L.time_text(row.received_at, short=True)
        if key == "entity":
            return L.entity_label(row.entity)
        if key == "summary":
            return row.summary
        if key == "op":
            return L.op_label(row.op)
        if key == "author":
            return row.author_name or row.author_id or "—"
        if key == "pushed_by":
            return row.pushed_by_name or row.pushed_by
        return tr(REASONS[row.code]) if row.code in REASONS else row.code

    def export_text(self, row: Q.HeldChange, key: str) -> str:
        return L.time_text(row.received_at) if key == "received" else self.text(row, key)

    def sort_value(self, row: Q.HeldChange, key: str) -> Any:
        if key == "received":
            return (row.received_at, row.device_seq)
        return self.text(row, key)

    def tooltip(self, row: Q.HeldChange, key: str) -> str | None:
        if key == "summary":
            return row.summary
        if key == "reason":
            return L.either(row.message)
        return None

    def state(self, row: Q.HeldChange) -> str:
        return row.status


class QuarantineTab(ListTab):
    def __init__(self, host, on_changed, parent: QWidget | None = None):
        super().__init__(HeldModel(), "quarantine", N_("没有待审核的修改。"), sort_column=0, stretch_column=2,
                         parent=parent)
        self.host = host
        self._on_changed = on_changed
        self._job: background.Job | None = None
        self.loaded = False
        self._note = ""  # what the last decision did, kept in front of the list's count
        self.refresh_button = QPushButton(objectName="quarantineRefresh")
        self.approve_button = QPushButton(objectName="quarantineApprove")
        self.decline_button = QPushButton(objectName="quarantineDecline")
        self.refresh_button.clicked.connect(self.load)
        self.approve_button.clicked.connect(lambda: self.decide(True))
        self.decline_button.clicked.connect(lambda: self.decide(False))
        self.detail = QLabel(objectName="quarantineDetail", wordWrap=True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel(objectName="actionMessage", wordWrap=True)
        row = QHBoxLayout()
        row.addWidget(self.approve_button)
        row.addWidget(self.decline_button)
        row.addStretch(1)
        row.addWidget(self.refresh_button)
        self.details.addWidget(self.detail)
        self.details.addLayout(row)
        self.details.addWidget(self.message)
        refresh = QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self,
                            context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        refresh.activated.connect(self.load)
        self.selection_changed.connect(self._show_selected)
        self.retranslate()

    # ---- Public API ------------------------------------------------------------------------
    def busy(self) -> bool:
        return self._job is not None and self._job.running

    def load(self) -> None:
        """Ask the server for the held changes (on a worker thread)."""
        if self.busy():
            return
        self.message.setText(tr("正在读取服务器上的待审核修改…"))
        self._set_enabled()
        self._job = background.run(self, Q.held, self.host.ctx, done=self._loaded)
        self._set_enabled()

    def decide(self, approve: bool) -> None:
        change = self.model.row_by_id(self.selected_id())
        if change is None or self.busy() or self.host.read_only:
            return
        self.message.setText(tr("正在提交…"))
        self._job = background.run(self, Q.decide, self.host.ctx, change.mutation_id, approve,
                                   done=lambda result, error: self._decided(change, approve, result, error))
        self._set_enabled()

    def retranslate(self) -> None:
        super().retranslate()
        self.refresh_button.setText(tr("刷新"))
        self.refresh_button.setToolTip(tr("重新读取服务器上的待审核修改（F5）"))
        self.approve_button.setText(tr("批准"))
        self.approve_button.setToolTip(tr("以录入人的名义写入这条修改"))
        self.decline_button.setText(tr("不批准"))
        self.decline_button.setToolTip(tr("不写入这条修改；录入人的终端会显示为被拒绝"))
        self._show_selected(self.selected_id())

    # ---- Private ---------------------------------------------------------------------------
    def _set_enabled(self) -> None:
        change = self.model.row_by_id(self.selected_id()) if self.selected_id() else None
        can = change is not None and not self.busy() and not self.host.read_only
        self.approve_button.setEnabled(can)
        self.decline_button.setEnabled(can)
        self.approve_button.setVisible(not self.host.read_only)
        self.decline_button.setVisible(not self.host.read_only)
        self.refresh_button.setEnabled(not self.busy())

    def _loaded(self, rows: list[Q.HeldChange] | None, error: BaseException | None) -> None:
        if error is not None:
            self.message.setText(self._failure(error))
            self._set_enabled()
            return
        self.loaded = True
        self.model.set_rows(rows or [])
        note, self._note = self._note, ""
        self.message.setText((note + "  " if note else "") + tr("共 {n} 条待审核。").format(n=len(rows or [])))
        if self.proxy.rowCount() and not self.selected_id():
            self.table.selectRow(0)
        self._set_enabled()
        self._on_changed()

    def _decided(self, change: Q.HeldChange, approve: bool, result: dict | None,
                 error: BaseException | None) -> None:
        self._job = None
        if error is not None:
            self.message.setText(self._failure(error))
            self._set_enabled()
            return
        if approve and (result or {}).get("outcome") == "rejected":
            text = tr("已批准，但服务器拒绝写入：{reason}").format(reason=L.either((result or {}).get("message") or ""))
        else:
            text = tr("已批准：{summary}") if approve else tr("未批准：{summary}")
            text = text.format(summary=change.summary)
        self._note = text
        self.load()

    def _failure(self, error: BaseException) -> str:
        if isinstance(error, Q.QuarantineUnavailable):
            return L.message(error.message_zh, error.message_en)
        return tr("操作失败：{error}").format(error=error)

    def _show_selected(self, mutation_id: str) -> None:
        change = self.model.row_by_id(mutation_id) if mutation_id else None
        self._set_enabled()
        if change is None:
            self.detail.setText(tr("选择一条查看内容，再批准或不批准。") if self.model.rowCount() else "")
            return
        # Ids (org unit, references) say nothing to a reader; the record type and fields do.
        fields = ("；" if i18n.current() == "zh" else "; ").join(
            L.labelled(L.field_label(k), L.value_text(change.entity, k, v))
            for k, v in sorted(change.payload.items()) if k != "id" and not k.endswith("_id"))
        self.detail.setText("\n".join((
            L.labelled(tr("原因"), L.either(change.message)),
            L.labelled(tr("录入时间"), L.time_text(change.client_time)),
            L.labelled(tr("修改的内容"), fields or "—"))))
