"""One incident's tab: header with the report countdown, then 事件信息 · 时间线 · 报送 · 批示.

Each tab keeps its own widgets, so switching tabs never loses what is typed; every edit
is also written to the draft table a moment later (a crash loses nothing), and a tab
reopened later restores its draft.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.validate import Problem
from app.services import incidents as S
from app.services import instructions as I
from app.services import reporting as R
from app.services.changes import ChangeSet
from app.services.sync_queries import pending_ids
from app.services.timeline import timeline
from app.ui import i18n, icons
from app.ui.i18n import N_, tr
from app.ui.incidents.chips import CountdownChip
from app.ui.incidents.form import FieldRow, IncidentForm, datetime_edit, from_qdt
from app.ui.incidents.models import InstructionsModel, ReportsModel, TimelineModel
from app.ui.sync_panel.list_tab import ListTab

log = logging.getLogger(__name__)

DRAFT_DELAY_MS = 600
SECTIONS = ("timeline", "reports", "instructions")
TIMELINE_ENTITIES = ("incident", "duty_log_entry", "incident_report", "report_signoff", "dispatch", "instruction")
KIND_CHOICES = (("flash", N_("速报")), ("first", N_("首报")), ("followup", N_("续报")), ("final", N_("终报")))


def _message(e: Exception) -> str:
    if isinstance(e, (S.NotAllowed,)):
        return e.message(i18n.current())
    return str(e)


class ReportsSection(ListTab):
    """The incident's reports (sent, awaiting sign-off, returned) and the composer for the next one.

    A leader approves (签发) or returns the selected report with a comment; an officer takes a
    returned report back into the composer to revise it and submit it anew.
    """

    export_pdf = Signal(str)  # report id

    def __init__(self, tab: IncidentTab):
        super().__init__(ReportsModel(), "reports", N_("尚未报送任何报告"), sort_column=0, stretch_column=4)
        self.tab = tab
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.kind = QComboBox(objectName="reportKind")
        for code, _ in KIND_CHOICES:
            self.kind.addItem("", code)
        self.recipient = QLineEdit(R.DEFAULT_RECIPIENT, objectName="recipient")
        self.body = QPlainTextEdit(objectName="reportBody")
        self.body.setTabChangesFocus(True)
        self.body.setMinimumHeight(60)
        self.body.setMaximumHeight(160)  # the list above takes the room the dock has to spare
        self.body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.prefill_button = QPushButton(objectName="prefillReport")
        self.submit_button = QPushButton(objectName="submitReport")
        self.sign_button = QPushButton(objectName="signReport")
        self.return_button = QPushButton(objectName="returnReport")
        self.comment = QLineEdit(objectName="signoffComment")
        self.revise_button = QPushButton(objectName="reviseReport")
        self.pdf_button = QPushButton(objectName="reportPdf")
        self.note = QLabel(objectName="reportNote", wordWrap=True)
        self.rows = {"kind": FieldRow(self.kind), "recipient": FieldRow(self.recipient), "body": FieldRow(self.body)}
        form = QFormLayout()
        self.captions = {name: QLabel() for name in self.rows}
        for name, row in self.rows.items():
            form.addRow(self.captions[name], row)
        buttons = QHBoxLayout()
        for b in (self.prefill_button, self.submit_button, self.revise_button, self.pdf_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.comment_row = FieldRow(self.comment)
        self.signoff_box = QWidget(objectName="signoffBox")  # a leader's: 签发 / 退回 the selected report
        sign = QHBoxLayout(self.signoff_box)
        sign.setContentsMargins(0, 0, 0, 0)
        sign.addWidget(self.comment_row, 1)
        sign.addWidget(self.sign_button)
        sign.addWidget(self.return_button)
        self.details.addWidget(self.signoff_box)
        self.details.addLayout(form)
        self.details.addLayout(buttons)
        self.details.addWidget(self.note)
        self.prefill_button.clicked.connect(self.prefill)
        self.submit_button.clicked.connect(self.submit)
        self.sign_button.clicked.connect(self.sign_selected)
        self.return_button.clicked.connect(self.return_selected)
        self.comment.returnPressed.connect(self.sign_selected)
        self.revise_button.clicked.connect(self.revise_selected)
        self.pdf_button.clicked.connect(lambda: self.selected_id() and self.export_pdf.emit(self.selected_id()))
        self.selection_changed.connect(self._update_buttons)
        for signal in (self.kind.currentIndexChanged, self.recipient.textChanged, self.body.textChanged):
            signal.connect(tab.schedule_draft)
        self.retranslate()

    @property
    def leader(self) -> bool:
        user = self.tab.ctx.user
        return user is not None and user.role in S.LEADER_ROLES

    def reload(self) -> None:
        self.model.set_rows(self.tab.ctx.read(R.list_reports, self.tab.incident_id))
        self._update_buttons()

    def suggest_kind(self, kind: str | None) -> None:
        if kind and not self.body.toPlainText().strip():
            self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))

    def prefill(self) -> None:
        self.body.setPlainText(self.tab.ctx.read(R.prefill, self.tab.incident_id, self.kind.currentData()))
        self.body.setFocus()

    def submit(self) -> None:
        try:
            key = R.compose_report(self.tab.ctx, self.tab.incident_id, self.kind.currentData(),
                                   self.body.toPlainText().strip(), self.recipient.text().strip())
        except S.CheckFailed as e:
            self._show(e.errors)
            return
        except Exception as e:
            self.note.setText(tr("未能提交：{error}").format(error=_message(e)))
            return
        self._show([])
        self.body.clear()
        self.note.setText(tr("已签发并报送。") if self.leader else tr("已提交，等待带班领导签发。"))
        self.tab.clear_part_draft("report")
        self.tab.refresh_lists()
        self.select_id(key)

    def sign_selected(self) -> None:
        self._decide("approved")

    def return_selected(self) -> None:
        self._decide("returned")

    def _decide(self, decision: str) -> None:
        rid = self.selected_id()
        row = self.model.row_by_id(rid)
        if row is None or not row.awaiting:
            self.note.setText(tr("请先选中一份待签发的报告。"))
            return
        try:
            R.sign_report(self.tab.ctx, rid, decision, self.comment.text())
        except S.CheckFailed as e:
            self.comment_row.show_problem(next(iter(e.errors), None))
            self.comment.setFocus()
            return
        except (S.NotAllowed, KeyError) as e:
            self.note.setText(tr("未能签发：{error}").format(error=_message(e)))
            return
        self.comment_row.show_problem(None)
        self.comment.clear()
        self.note.setText(tr("已签发并报送。") if decision == "approved" else tr("已退回，并记入值班日志。"))
        self.tab.refresh_lists()
        self.select_id(rid)

    def revise_selected(self) -> None:
        """A returned report back into the composer, to be revised and submitted anew."""
        row = self.model.row_by_id(self.selected_id())
        if row is None or not row.returned:
            return
        self.kind.setCurrentIndex(max(0, self.kind.findData(row.kind)))
        self.recipient.setText(row.recipient or "")
        self.body.setPlainText(row.body)
        self.body.setFocus()
        self.note.setText(tr("退回意见：{comment}。请修改后重新提交。").format(comment=row.comment or ""))

    def draft(self) -> dict[str, Any]:
        return {"kind": self.kind.currentData(), "recipient": self.recipient.text(), "body": self.body.toPlainText()}

    def restore(self, d: dict[str, Any]) -> None:
        self.kind.setCurrentIndex(max(0, self.kind.findData(d.get("kind"))))
        self.recipient.setText(d.get("recipient") or "")
        self.body.setPlainText(d.get("body") or "")

    def _show(self, problems: list[Problem]) -> None:
        by = {p.field: p for p in problems}
        for name, row in self.rows.items():
            row.show_problem(by.get(name))

    def _update_buttons(self, *_args) -> None:
        if not hasattr(self, "sign_button"):
            return
        row = self.model.row_by_id(self.selected_id())
        self.signoff_box.setVisible(self.leader and not self.tab.host.read_only)
        self.sign_button.setEnabled(bool(row and row.awaiting))
        self.return_button.setEnabled(bool(row and row.awaiting))
        self.revise_button.setEnabled(bool(row and row.returned))
        self.pdf_button.setEnabled(row is not None)

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "kind"):
            return
        for i, (_, label) in enumerate(KIND_CHOICES):
            self.kind.setItemText(i, tr(label))
        for name, text in (("kind", N_("报告类型")), ("recipient", N_("报送对象")), ("body", N_("正文"))):
            self.captions[name].setText(tr(text))
        self.prefill_button.setText(tr("按值班日志预填"))
        self.prefill_button.setToolTip(tr("续报：汇总上次报告以来值班日志记录的进展"))
        self.submit_button.setText(tr("签发并报送") if self.leader else tr("提交领导签发"))
        self.sign_button.setText(tr("签发所选"))
        self.sign_button.setToolTip(tr("签发后报告即视为已报送，并记入值班日志"))
        self.return_button.setText(tr("退回所选"))
        self.comment.setPlaceholderText(tr("签发意见（退回时必填）"))
        self.revise_button.setText(tr("取回退回的报告修改"))
        self.pdf_button.setText(tr("导出 PDF…"))
        self._update_buttons()


class InstructionsSection(ListTab):
    """Leader instructions (批示) of this incident: record one, close it when done."""

    def __init__(self, tab: IncidentTab):
        super().__init__(InstructionsModel(), "instructions", N_("暂无领导批示"), sort_column=5, stretch_column=2)
        self.tab = tab
        self.given_by = QLineEdit(objectName="givenBy")
        self.given_at = datetime_edit()
        self.given_at.setObjectName("givenAt")
        self.owner = QLineEdit(objectName="owner")
        self.has_due = QCheckBox(objectName="hasDue")
        self.due_at = datetime_edit(clock.iso(clock.now().replace(microsecond=0) + dt.timedelta(hours=2)))
        self.due_at.setObjectName("dueAt")
        self.body = QPlainTextEdit(objectName="instructionBody")
        self.body.setTabChangesFocus(True)
        self.body.setMaximumHeight(56)
        self.body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.add_button = QPushButton(objectName="addInstruction")
        self.close_note = QLineEdit(objectName="closeNote")
        self.close_button = QPushButton(objectName="closeInstruction")
        self.note = QLabel(objectName="instructionNote", wordWrap=True)
        self._confirm = False
        due_box = QWidget()
        db = QHBoxLayout(due_box)
        db.setContentsMargins(0, 0, 0, 0)
        db.addWidget(self.has_due)
        db.addWidget(self.due_at, 1)
        self.rows = {"given_by": FieldRow(self.given_by), "given_at": FieldRow(self.given_at),
                     "owner": FieldRow(self.owner), "due_at": FieldRow(due_box), "body": FieldRow(self.body)}
        self.captions = {name: QLabel() for name in self.rows}
        form = QGridLayout()  # two columns: the list above keeps its room in a short dock
        form.setContentsMargins(0, 0, 0, 0)
        for i, name in enumerate(("given_by", "given_at", "owner", "due_at")):
            form.addWidget(self.captions[name], i // 2, (i % 2) * 2, Qt.AlignmentFlag.AlignTop)
            form.addWidget(self.rows[name], i // 2, (i % 2) * 2 + 1)
        form.addWidget(self.captions["body"], 2, 0, Qt.AlignmentFlag.AlignTop)
        form.addWidget(self.rows["body"], 2, 1, 1, 3)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addSpacing(20)
        buttons.addWidget(self.close_note, 1)
        buttons.addWidget(self.close_button)
        self.details.addLayout(form)
        self.details.addLayout(buttons)
        self.details.addWidget(self.note)
        self.add_button.clicked.connect(self.add)
        self.close_button.clicked.connect(self.close_selected)
        self.selection_changed.connect(self._update_buttons)
        for signal in (self.given_by.textChanged, self.owner.textChanged, self.body.textChanged,
                       self.given_at.dateTimeChanged, self.due_at.dateTimeChanged, self.has_due.toggled):
            signal.connect(self._edited)
        self.has_due.toggled.connect(self.due_at.setEnabled)
        self.due_at.setEnabled(False)
        self.retranslate()

    def reload(self) -> None:
        self.model.set_rows(self.tab.ctx.read(I.list_instructions, self.tab.incident_id))
        self._update_buttons()

    def add(self) -> None:
        try:
            I.add_instruction(self.tab.ctx, self.tab.incident_id, given_by=self.given_by.text(),
                              given_at=from_qdt(self.given_at.dateTime()), body=self.body.toPlainText().strip(),
                              owner=self.owner.text(),
                              due_at=from_qdt(self.due_at.dateTime()) if self.has_due.isChecked() else None,
                              confirmed=self._confirm)
        except S.CheckFailed as e:
            self._show(e.errors + e.questions)
            if not e.errors:
                self._confirm = True
                self.add_button.setText(tr("确认登记"))
            return
        except S.NotAllowed as e:
            self.note.setText(_message(e))
            return
        self._show([])
        self.body.clear()
        self.note.setText(tr("批示已登记，待办结。"))
        self.tab.clear_part_draft("instruction")
        self.tab.refresh_lists()

    def close_selected(self) -> None:
        rid = self.selected_id()
        if not rid:
            self.note.setText(tr("请先选中一条批示。"))
            return
        try:
            I.close_instruction(self.tab.ctx, rid, self.close_note.text())
        except (S.NotAllowed, KeyError) as e:
            self.note.setText(_message(e))
            return
        self.close_note.clear()
        self.note.setText(tr("已办结，并记入值班日志。"))
        self.tab.refresh_lists()

    def draft(self) -> dict[str, Any]:
        return {"given_by": self.given_by.text(), "owner": self.owner.text(), "body": self.body.toPlainText()}

    def restore(self, d: dict[str, Any]) -> None:
        self.given_by.setText(d.get("given_by") or "")
        self.owner.setText(d.get("owner") or "")
        self.body.setPlainText(d.get("body") or "")

    def _edited(self, *_args) -> None:
        if self._confirm:
            self._confirm = False
            self.add_button.setText(tr("登记批示"))
        self.tab.schedule_draft()

    def _show(self, problems: list[Problem]) -> None:
        by = {p.field: p for p in problems}
        for name, row in self.rows.items():
            row.show_problem(by.get(name))

    def _update_buttons(self, *_args) -> None:
        if not hasattr(self, "close_button"):
            return
        row = self.model.row_by_id(self.selected_id())
        self.close_button.setEnabled(bool(row and row.status == "open"))

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "given_by"):
            return
        for name, text in (("given_by", N_("批示领导")), ("given_at", N_("批示时间")), ("owner", N_("承办单位/人")),
                           ("due_at", N_("办理时限")), ("body", N_("批示内容"))):
            self.captions[name].setText(tr(text))
        self.has_due.setText(tr("有时限"))
        self.add_button.setText(tr("确认登记") if self._confirm else tr("登记批示"))
        self.close_note.setPlaceholderText(tr("办结情况（可选）"))
        self.close_button.setText(tr("办结所选"))
        self._update_buttons()


def _hide_layout(layout) -> None:
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item.widget() is not None:
            item.widget().hide()
        elif item.layout() is not None:
            _hide_layout(item.layout())


def _opening(conn, incident_id: str):
    """(record, drafts, next report due, pending?, 属地 name) in one read snapshot."""
    record = S.load_incident(conn, incident_id)
    if record is None:
        return None, {}, None, False, None
    return (record, S.drafts_with_prefix(conn, S.draft_key(incident_id, "")), R.next_due(conn, incident_id),
            incident_id in pending_ids(conn, "incident"), S.org_unit_name(conn, record.get("org_unit_id")))


class IncidentTab(QWidget):
    title_changed = Signal(str)
    export_pdf = Signal(str)

    def __init__(self, host, incident_id: str, parent: QWidget | None = None):
        super().__init__(parent, objectName="incidentTab")
        self.host, self.ctx, self.incident_id = host, host.ctx, incident_id
        self.record: dict[str, Any] = {}
        self.dirty = False
        self._confirm = False
        self._is_pending = False
        self.title = QLabel(objectName="incidentTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.pending = QLabel(objectName="pendingMark")
        self.chip = CountdownChip(self)
        self.chip.clicked.connect(lambda: self.show_section("reports"))
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.pending)
        header.addWidget(self.chip)

        user = self.ctx.user
        self.form = IncidentForm(user.role if user else None, read_only=host.read_only)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # The other three sections are built when first shown (or when a draft needs them):
        # opening a tab then costs the form and one read, not four lists.
        self._built: dict[str, QWidget] = {}
        self._holders = {name: QWidget(objectName=f"{name}Holder") for name in SECTIONS}
        for holder in self._holders.values():
            QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
        self.sections = QTabWidget(objectName="incidentSections")
        self.sections.setDocumentMode(True)
        self.sections.addTab(scroll, "")
        for name in SECTIONS:
            self.sections.addTab(self._holders[name], "")
        self._stale: set[str] = set()
        self._next_kind: str | None = None
        self.sections.currentChanged.connect(self._refresh_current)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(header)
        layout.addWidget(self.sections, 1)

        self._draft_timer = QTimer(self, singleShot=True, interval=DRAFT_DELAY_MS, timeout=self.save_draft_now)
        self.form.edited.connect(self._form_edited)
        self.form.save_requested.connect(self.save)
        self.form.coordinates_changed.connect(self._update_street)
        i18n.notifier().language_changed.connect(self.retranslate)
        self.load()
        self.retranslate()

    # ---- Public API ------------------------------------------------------------------------
    def load(self) -> None:
        """Everything the tab opens with, read in one snapshot (one transaction, not six)."""
        iid = self.incident_id
        record, drafts, due, pending, org_name = self.ctx.read(_opening, iid)
        if record is None:
            self.title.setText(tr("事件已不存在"))
            self.setEnabled(False)
            return
        self.record = record
        form_draft = drafts.get(S.draft_key(iid, "form"))
        self.form.load(record, form_draft)
        self.dirty = form_draft is not None
        if form_draft:
            self.form.save_note.setText(tr("已恢复上次未保存的修改。"))
        if d := drafts.get(S.draft_key(iid, "report")):
            self.reports.restore(d)
        if d := drafts.get(S.draft_key(iid, "instruction")):
            self.instructions.restore(d)
        if self.form.lon.text().strip() or self.form.lat.text().strip():
            self._update_street()
        else:
            self.form.set_street(org_name)
        self._show_due(due)
        self._show_header(pending)

    def refresh_lists(self) -> None:
        """Re-read the countdown and the section on screen; the hidden lists when they are shown."""
        self._show_due(self.ctx.read(R.next_due, self.incident_id))

    def _show_due(self, due) -> None:
        self.chip.set_due(due)
        self._next_kind = due.kind if due else None
        self._stale = set(SECTIONS)
        self._refresh_current()

    def show_section(self, name: str) -> None:
        self.sections.setCurrentWidget(self.sections.widget(0) if name == "form" else self._holders[name])

    @property
    def timeline(self) -> ListTab:
        return self._section("timeline")

    @property
    def reports(self) -> ReportsSection:
        return self._section("reports")

    @property
    def instructions(self) -> InstructionsSection:
        return self._section("instructions")

    def _section(self, name: str):
        widget = self._built.get(name)
        if widget is None:
            if name == "timeline":
                widget = ListTab(TimelineModel(), "timeline", N_("暂无记录"), sort_column=0, stretch_column=2)
                widget.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
            elif name == "reports":
                widget = ReportsSection(self)
                widget.export_pdf.connect(self.export_pdf)
            else:
                widget = InstructionsSection(self)
            if self.host.read_only and name != "timeline":  # the wall shows lists, never forms that write
                _hide_layout(widget.details)
            self._built[name] = widget
            self._holders[name].layout().addWidget(widget)
            widget.show()  # a child added to a visible parent is otherwise only shown by a queued call
        return widget

    def _refresh_current(self, *_args) -> None:
        current = self.sections.currentWidget()
        name = next((n for n, h in self._holders.items() if h is current), None)
        if name is None or (name in self._built and name not in self._stale):
            return
        section = self._section(name)
        self._stale.discard(name)
        if name == "timeline":
            section.model.set_rows(self.ctx.read(timeline, self.incident_id))
        elif name == "reports":
            section.reload()
            section.suggest_kind(self._next_kind)
        else:
            section.reload()

    def on_changes(self, changes: ChangeSet) -> None:
        mine = changes.entities.get("incident")
        if mine is not None and (not mine or self.incident_id in mine):
            record = self.ctx.read(S.load_incident, self.incident_id)
            if record is not None:
                self.record = record
                if not self.dirty:
                    self.form.load(record)
                    self._update_street()
                else:
                    self.form.set_status_now(record.get("status") or "reported")
            self._show_header()
        if changes.touches(*TIMELINE_ENTITIES):
            self.refresh_lists()
        if changes.touches("outbox", "incident"):
            self._show_pending()

    def save(self) -> bool:
        if self.host.read_only:
            return False
        values, problems = self.form.values()
        if problems:
            self.form.show_problems(problems)
            self.form.save_note.setText(tr("有字段需要更正，未保存。"))
            return False
        try:
            saved = S.save_incident(self.ctx, self.incident_id, values, confirmed=self._confirm)
        except S.CheckFailed as e:
            self.form.show_problems(e.errors + e.questions)
            if e.errors:
                self.form.save_note.setText(tr("有字段需要更正，未保存。"))
            else:
                self._confirm = True
                self.form.save_note.setText(tr("请核实标出的时间；确认无误请再次保存。"))
                self.form.save_button.setText(tr("确认保存 (Ctrl+S)"))
            return False
        except S.NotAllowed as e:
            self.form.save_note.setText(_message(e))
            return False
        self._confirm = False
        self.form.save_button.setText(tr("保存 (Ctrl+S)"))
        self.form.show_problems([])
        self.dirty = False
        self._draft_timer.stop()
        S.clear_draft(self.ctx, S.draft_key(self.incident_id, "form"))
        self.record = self.ctx.read(S.load_incident, self.incident_id)
        self.form.load(self.record)
        self._update_street()
        self.refresh_lists()
        self.form.save_note.setText(tr("已保存 {time}").format(time=clock.now().strftime("%H:%M:%S")) if saved
                                    else tr("没有需要保存的修改。"))
        self._show_header()
        return True

    def schedule_draft(self) -> None:
        self._draft_timer.start()

    def save_draft_now(self):
        """Write this tab's unsaved edits to the draft table (returns the futures, for tests)."""
        self._draft_timer.stop()
        futures = []
        try:
            if self.dirty:
                futures.append(S.save_draft(self.ctx, S.draft_key(self.incident_id, "form"), self.form.texts()))
            for part, name in (("report", "reports"), ("instruction", "instructions")):
                section = self._built.get(name)
                if section is None:
                    continue
                d = section.draft()
                if (d.get("body") or "").strip():
                    futures.append(S.save_draft(self.ctx, S.draft_key(self.incident_id, part), d))
        except RuntimeError as e:  # the store is shutting down (the console is closing)
            log.warning("draft of incident %s not saved: %s", self.incident_id, e)
        return futures

    def clear_part_draft(self, part: str) -> None:
        S.clear_draft(self.ctx, S.draft_key(self.incident_id, part))

    def tick(self, now, blink: bool) -> None:
        self.chip.tick(now, blink)

    def overdue(self) -> bool:
        return self.chip.due is not None and self.chip.state == "overdue"

    def display_title(self) -> str:
        return self.record.get("title") or tr("事件")

    def retranslate(self) -> None:
        for i, text in enumerate((N_("事件信息"), N_("时间线"), N_("信息报送"), N_("领导批示"))):
            self.sections.setTabText(i, tr(text))
        self._show_pending(self._is_pending)

    # ---- Private ---------------------------------------------------------------------------
    def _form_edited(self) -> None:
        self.dirty = True
        if self._confirm:
            self._confirm = False
            self.form.save_button.setText(tr("保存 (Ctrl+S)"))
        self.form.save_note.setText(tr("有未保存的修改（已存草稿）"))
        self.schedule_draft()

    def _update_street(self) -> None:
        values, _ = self.form.values()
        street = self.ctx.read(S.street_for_point, values.get("lon"), values.get("lat"))
        if street is None and values.get("lon") is None:
            self.form.set_street(self.ctx.read(S.org_unit_name, self.record.get("org_unit_id")))
        else:
            self.form.set_street(street.name if street else None)

    def _show_header(self, pending: bool | None = None) -> None:
        title = self.display_title()
        self.title.setText(title)
        self.title_changed.emit(title)
        self._show_pending(pending)

    def _show_pending(self, pending: bool | None = None) -> None:
        if pending is None:
            pending = self.incident_id in self.ctx.read(pending_ids, "incident")
        self._is_pending = pending
        self.pending.setVisible(pending)
        if pending:
            self.pending.setPixmap(icons.pixmap("pending", 16))
            self.pending.setToolTip(tr("待上传：本机的修改尚未被服务器确认"))
