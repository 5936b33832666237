"""The keyboard-first entry bar: pick a kind (Alt+1…8), type, Ctrl+Enter saves.

Every keystroke schedules a draft save (300 ms later, on the writer thread), so a
crash or a power cut loses nothing typed; the draft is restored when the bar is
built again and dropped in the same transaction that saves the entry.
Times to question (future, before the shift began) show a confirm strip rather
than being accepted silently or refused.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.validate import Problem, ValidationError
from app.services import duty_log_queries as Q
from app.services import intake as I
from app.services.changes import ChangeSet
from app.services.incident_queries import incident_rows, open_incident_ids
from app.services.log_drafts import entry_bar_key, load_draft, save_draft
from app.services.shift_queries import current_shift
from app.ui import background, i18n
from app.ui.duty_log.fields import (
    FIELD_LABELS,
    KIND_BUTTONS,
    KIND_HINTS,
    KINDS,
    PLACEHOLDERS,
    TEXT_LABELS,
    parse_time,
)
from app.ui.i18n import tr

log = logging.getLogger(__name__)

DRAFT_DEBOUNCE_MS = 300


class FieldBox(QWidget):
    """One field: its label, the input, and the problem (if any) right under it."""

    changed = Signal()

    def __init__(self, key: str, kind: str, ftype: str, required: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.key, self.kind, self.required = key, kind, required
        self.label = QLabel()
        if ftype == "text":
            self.input: QLineEdit | QPlainTextEdit = QPlainTextEdit(objectName=f"field_{kind}_{key}")
            self.input.setTabChangesFocus(True)
            self.input.setFixedHeight(self.input.fontMetrics().lineSpacing() * 3 + 14)
            self.input.textChanged.connect(self.changed)
        else:
            self.input = QLineEdit(objectName=f"field_{kind}_{key}")
            self.input.textEdited.connect(self.changed)
            if ftype in ("int", "coord"):
                self.input.setMaximumWidth(140)
        self.label.setBuddy(self.input)
        self.problem = QLabel(objectName="fieldProblem", wordWrap=True)
        self.problem.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.label)
        layout.addWidget(self.input)
        layout.addWidget(self.problem)
        self.retranslate()

    def text(self) -> str:
        return self.input.toPlainText() if isinstance(self.input, QPlainTextEdit) else self.input.text()

    def set_text(self, text: str) -> None:
        if isinstance(self.input, QPlainTextEdit):
            self.input.setPlainText(text)
        else:
            self.input.setText(text)

    def show_problem(self, problem: Problem | None) -> None:
        self._problem = problem
        self.problem.setVisible(problem is not None)
        self.problem.setText(problem.message(i18n.current()) if problem else "")

    def retranslate(self) -> None:
        name = TEXT_LABELS.get(self.kind) if self.key == "text" and self.kind in TEXT_LABELS else FIELD_LABELS[self.key]
        self.label.setText(tr(name) + (" *" if self.required else ""))
        if self.key in PLACEHOLDERS and isinstance(self.input, QLineEdit):
            self.input.setPlaceholderText(tr(PLACEHOLDERS[self.key]))
        problem = getattr(self, "_problem", None)
        if problem is not None:
            self.problem.setText(problem.message(i18n.current()))


class KindPage(QWidget):
    """The fields of one kind, laid out in a grid: short fields three a row, long text across."""

    changed = Signal()

    def __init__(self, kind: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.kind = kind
        self.boxes: dict[str, FieldBox] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        row = col = 0
        width = 4
        for spec in I.KIND_FIELDS[kind]:
            box = FieldBox(spec.key, kind, spec.type, spec.required)
            box.changed.connect(self.changed)
            self.boxes[spec.key] = box
            span = width if spec.type == "text" else 1
            if col + span > width:
                row, col = row + 1, 0
            grid.addWidget(box, row, col, 1, span, Qt.AlignmentFlag.AlignTop)
            col += span
            if col >= width:
                row, col = row + 1, 0
        for c in range(width):
            grid.setColumnStretch(c, 1)
        grid.setRowStretch(row + 1, 1)

    def values(self) -> dict[str, str]:
        return {k: b.text() for k, b in self.boxes.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        for k, v in values.items():
            if k in self.boxes and isinstance(v, str):
                self.boxes[k].set_text(v)

    def clear(self) -> None:
        for b in self.boxes.values():
            b.set_text("")
            b.show_problem(None)

    def first_input(self) -> QWidget:
        return next(iter(self.boxes.values())).input


class EntryBar(QFrame):
    """Writes duty-log entries; ``saved(entry_id, incident_id)`` after each successful save."""

    saved = Signal(str, object)
    """An entry was written: (entry id, incident id opened with it or None)."""
    open_incident_requested = Signal()
    """Ctrl+Shift+Enter on an intake: the panel asks category / severity, then calls ``save``."""

    def __init__(self, host: Any, parent: QWidget | None = None, shortcut_owner: QWidget | None = None):
        """``shortcut_owner``: the widget whose focus scope takes Alt+1…8 (the whole panel, not just the bar)."""
        super().__init__(parent, objectName="dutyLogEntryBar")
        self.host = host
        self.ctx = host.ctx
        self.draft_key = entry_bar_key(self.ctx.user.id if self.ctx.user else None)
        self.kind = "receive"
        self.corrects: tuple[str, str] | None = None  # (entry id, a few words of it) for a correction
        self._restoring = False
        self._confirmed_time: str | None = None  # the time text the officer already confirmed
        self._last_future = None
        self._saving: tuple | None = None  # (kind, values, time text) while a save is on its way

        self.kind_buttons: dict[str, QToolButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        kinds_row = QHBoxLayout()
        kinds_row.setSpacing(4)
        self.kind_caption = QLabel()
        kinds_row.addWidget(self.kind_caption)
        for n, kind in enumerate(KINDS, 1):
            b = QToolButton(objectName=f"kind_{kind}", checkable=True)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.clicked.connect(lambda _=False, k=kind: self.set_kind(k))
            self._group.addButton(b)
            self.kind_buttons[kind] = b
            kinds_row.addWidget(b)
            sc = QShortcut(QKeySequence(f"Alt+{n}"), shortcut_owner or self,
                           context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda k=kind: self.set_kind(k, focus=True))
        self.hint = QLabel(objectName="kindHint")
        kinds_row.addWidget(self.hint, 1)

        self.time_label = QLabel()
        self.time_edit = QLineEdit(objectName="entryTime")
        self.time_edit.textEdited.connect(self._on_edited)
        self.time_label.setBuddy(self.time_edit)
        self.time_problem = QLabel(objectName="fieldProblem")
        self.time_problem.hide()
        self.incident_label = QLabel()
        self.incident_combo = QComboBox(objectName="entryIncident")
        self.incident_combo.setMinimumWidth(260)
        self.incident_combo.currentIndexChanged.connect(self._on_edited)
        self.incident_label.setBuddy(self.incident_combo)
        self.corrects_label = QLabel(objectName="correctsLabel", wordWrap=True)
        self.corrects_label.hide()
        common = QHBoxLayout()
        common.addWidget(self.time_label)
        common.addWidget(self.time_edit)
        common.addWidget(self.time_problem)
        common.addSpacing(12)
        common.addWidget(self.incident_label)
        common.addWidget(self.incident_combo, 1)

        self.stack = QStackedWidget()
        self.pages = _Pages(self._make_page)  # built when first shown: opening the panel stays quick

        self.confirm_strip = QFrame(objectName="confirmStrip")
        self.confirm_text = QLabel(objectName="formError", wordWrap=True)
        self.confirm_button = QPushButton(objectName="confirmSave")
        self.confirm_button.clicked.connect(self._confirm_and_save)
        strip = QHBoxLayout(self.confirm_strip)
        strip.setContentsMargins(0, 0, 0, 0)
        strip.addWidget(self.confirm_text, 1)
        strip.addWidget(self.confirm_button)
        self.confirm_strip.hide()

        self.message = QLabel(objectName="entryMessage", wordWrap=True)
        self.save_button = QPushButton(objectName="saveEntry")
        self.save_button.clicked.connect(self.save)
        self.incident_button = QPushButton(objectName="openIncident")
        self.incident_button.clicked.connect(self.open_incident_requested)
        self.clear_button = QPushButton(objectName="clearEntry")
        self.clear_button.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.incident_button)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        layout.addLayout(kinds_row)
        layout.addLayout(common)
        layout.addWidget(self.corrects_label)
        layout.addWidget(self.stack)
        layout.addWidget(self.confirm_strip)
        layout.addLayout(buttons)
        layout.addStretch(1)

        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(seq), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
                      activated=self.save)
        for seq in ("Ctrl+Shift+Return", "Ctrl+Shift+Enter"):
            QShortcut(QKeySequence(seq), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
                      activated=self._request_incident)

        self._draft_timer = QTimer(self, singleShot=True, interval=DRAFT_DEBOUNCE_MS, timeout=self.save_draft_now)
        self.reload_incidents()
        self._restore_draft()
        self._restoring = True
        self.set_kind(self.kind)
        self._restoring = False
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()

    # ---- Public API ------------------------------------------------------------------------
    def set_kind(self, kind: str, focus: bool = False) -> None:
        if kind == "correction" and self.corrects is None:
            self._say(tr("先在列表中选中要更正的记录，再按“更正”(F2)。"), alert=True)
            self.kind_buttons[self.kind].setChecked(True)
            return
        self.kind = kind
        self.kind_buttons[kind].setChecked(True)
        self.stack.setCurrentWidget(self.pages[kind])
        self.incident_button.setEnabled(kind == "receive")
        self.corrects_label.setVisible(kind == "correction" and self.corrects is not None)
        self.hint.setText(tr(KIND_HINTS[kind]))
        self._hide_confirm()
        if focus:
            self.pages[kind].first_input().setFocus()
        if not self._restoring:
            self._on_edited()

    def start_correction(self, entry_id: str, summary: str, incident_id: str | None) -> None:
        self.corrects = (entry_id, summary)
        self.corrects_label.setText(tr("更正记录：") + summary)
        self.set_incident(incident_id)
        self.set_kind("correction", focus=True)

    def set_incident(self, incident_id: str | None) -> None:
        i = self.incident_combo.findData(incident_id) if incident_id else 0
        if i < 0 and incident_id:
            title = self.ctx.read(Q.incident_title, incident_id) or incident_id[:8]
            self.incident_combo.addItem(title, incident_id)
            i = self.incident_combo.count() - 1
        self.incident_combo.setCurrentIndex(max(i, 0))

    def reload_incidents(self) -> None:
        current = self.incident_combo.currentData()
        ids = self.ctx.read(open_incident_ids)[:300]
        rows = self.ctx.read(incident_rows, ids)
        self.incident_combo.blockSignals(True)
        self.incident_combo.clear()
        self.incident_combo.addItem(tr("（不关联事件）"), None)
        for rid in ids:
            if rid in rows:
                self.incident_combo.addItem(rows[rid].title, rid)
        self.incident_combo.blockSignals(False)
        if current:
            self.set_incident(current)

    def values(self) -> dict[str, str]:
        return self.pages[self.kind].values()

    def clear(self) -> None:
        for page in self.pages.values():
            page.clear()
        self.time_edit.clear()
        self.incident_combo.setCurrentIndex(0)
        self.corrects = None
        self.corrects_label.hide()
        self._hide_confirm()
        if self.kind == "correction":
            self.set_kind("note")
        self.save_draft_now()

    def save(self, open_incident: dict | None = None) -> bool:
        """Check the entry and start writing it (with the incident, when given); ``saved`` follows.

        Returns False when nothing was sent: a problem is shown beside a field, or a time is questioned.
        """
        if not isinstance(open_incident, dict):
            open_incident = None
        if self._saving is not None:
            return False
        values = self.values()
        problems = I.check_fields(self.kind, values)
        when = parse_time(self.time_edit.text())
        self._show_problems(problems)
        self.time_problem.setVisible(when is None)
        self.time_problem.setText(tr("时间格式：14:32、11-23 14:32 或 2026-11-23 14:32"))
        if problems or when is None:
            self._say(tr("未保存：请按提示修改标红的项目。"), alert=True)
            return False
        now = clock.now()
        if self._confirmed_time != self.time_edit.text():
            shift = self.ctx.read(current_shift, now)
            questions = I.check_time(when, now, shift.starts_at if shift else None)
            if questions:
                self._ask_confirm(questions[0], open_incident)
                return False
        return self._write(values, when, open_incident)

    def save_draft_now(self) -> None:
        self._draft_timer.stop()
        state = self.draft_state()
        now = clock.now_iso()
        try:
            future = self.ctx.store.write(save_draft, self.draft_key, state, now)
        except RuntimeError:  # the cache was closed under a panel still on screen (shutdown)
            log.warning("duty-log draft not saved: the cache is closed")
            return
        future.add_done_callback(_log_failure)
        self._last_future = future

    def flush_draft(self) -> None:
        """Save the draft now and wait for it (closing the panel)."""
        if self._draft_timer.isActive():
            self.save_draft_now()
        if self._last_future is not None:
            self._last_future.result(timeout=5)

    def draft_state(self) -> dict[str, Any]:
        fields = {k: {f: v for f, v in p.values().items() if v} for k, p in self.pages.items()}
        return {"kind": self.kind, "time": self.time_edit.text(), "incident_id": self.incident_combo.currentData(),
                "corrects": list(self.corrects) if self.corrects else None,
                "fields": {k: v for k, v in fields.items() if v}}

    def retranslate(self) -> None:
        self.kind_caption.setText(tr("类别"))
        for n, (kind, b) in enumerate(self.kind_buttons.items(), 1):
            b.setText(tr(KIND_BUTTONS[kind]))
            b.setToolTip(f"{tr(KIND_HINTS[kind])} (Alt+{n})")
        self.hint.setText(tr(KIND_HINTS[self.kind]))
        self.time_label.setText(tr("时间"))
        self.time_edit.setPlaceholderText(tr("现在（或 14:32）"))
        self.time_edit.setToolTip(tr("时间格式：14:32、11-23 14:32 或 2026-11-23 14:32"))
        self.time_edit.ensurePolished()  # measure with the stylesheet's font
        fm = self.time_edit.fontMetrics()
        self.time_edit.setFixedWidth(max(fm.horizontalAdvance(self.time_edit.placeholderText()),
                                         fm.horizontalAdvance("2026-11-23 23:59")) + fm.horizontalAdvance("MMMM"))
        self.incident_label.setText(tr("关联事件"))
        self.incident_combo.setItemText(0, tr("（不关联事件）"))
        self.save_button.setText(tr("保存 Ctrl+Enter"))
        self.incident_button.setText(tr("立为事件 Ctrl+Shift+Enter"))
        self.clear_button.setText(tr("清空"))
        self.confirm_button.setText(tr("确认无误，保存"))
        if self.corrects:
            self.corrects_label.setText(tr("更正记录：") + self.corrects[1])
        for page in self.pages.values():
            for box in page.boxes.values():
                box.retranslate()

    # ---- Private ---------------------------------------------------------------------------
    def _make_page(self, kind: str) -> KindPage:
        page = KindPage(kind)
        page.changed.connect(self._on_edited)
        self.stack.addWidget(page)
        return page

    def _write(self, values: dict[str, str], when, open_incident: dict | None) -> bool:
        ctx, kind = self.ctx, self.kind
        user = ctx.user
        occurred = clock.iso(when)
        now = clock.now_iso()
        incident_id = self.incident_combo.currentData()
        corrects_id = self.corrects[0] if kind == "correction" and self.corrects else None
        # What stays typed once this entry is saved (the other kinds' text), written in the SAME transaction
        # as the entry: no moment exists where the entry is saved twice or the rest of the draft is lost.
        remaining = self.draft_state()
        remaining["fields"].pop(kind, None)
        remaining.update(time="", kind="note" if kind == "correction" else kind, corrects=None)

        def run(conn):
            if kind == "receive":
                result = I.record_intake(conn, user=user, device_id=ctx.device_id, now=now,
                                         intake={**values, "occurred_at": occurred, "incident_id": incident_id},
                                         open_incident=open_incident)
            else:
                details = I.clean(kind, values)
                result = (Q.write_entry(conn, kind=kind, body=I.compose_body(kind, details), details=details,
                                        author_id=user.id if user else None, device_id=ctx.device_id, now=now,
                                        occurred_at=occurred, incident_id=incident_id, corrects_id=corrects_id,
                                        org_unit_id=user.org_unit_id if user else None), None)
            save_draft(conn, self.draft_key, remaining, now)
            return result

        self._draft_timer.stop()
        self._saving = (kind, dict(values), self.time_edit.text())
        self.save_button.setEnabled(False)
        self._say(tr("正在保存…"), alert=False)
        # The write (fsync included) runs on the store's writer thread; the GUI keeps taking keystrokes.
        self._save_job = background.run(self, ctx.store.write_sync, run, done=self._write_done)
        return True

    def saving(self) -> bool:
        return self._saving is not None

    def _write_done(self, result, error) -> None:
        kind, values, time_text = self._saving
        self._saving = None
        self.save_button.setEnabled(True)
        if isinstance(error, ValidationError):
            self._show_problems(error.problems)
            self._say(tr("未保存：请按提示修改标红的项目。"), alert=True)
            return
        if error is not None:  # the officer must know it is NOT saved; what was typed stays
            log.error("saving a log entry failed: %r", error)
            message = error.message(i18n.current()) if hasattr(error, "message") else str(error)
            self._say(tr("未保存：") + message, alert=True)
            return
        entry_id, new_incident = result
        changes = ChangeSet.of("duty_log_entry", [entry_id])
        if new_incident:
            changes = changes.merge(ChangeSet.of("incident", [new_incident]))
        self.ctx.publish(changes)
        self._reset_after_save(kind, values, time_text)
        self._say(tr("已保存。"), alert=False)
        self.saved.emit(entry_id, new_incident)

    def _reset_after_save(self, kind: str, values: dict[str, str], time_text: str) -> None:
        # Only what was saved is cleared: anything typed while the write was on its way stays (and is drafted).
        self._restoring = True
        page = self.pages[kind]
        if page.values() == values:
            page.clear()
        if self.time_edit.text() == time_text:
            self.time_edit.clear()
        self._confirmed_time = None
        self._hide_confirm()
        if kind == "correction":
            self.corrects = None
            if self.kind == "correction":
                self.set_kind("note")
        self._restoring = False
        self.save_draft_now()
        if self.kind == kind:
            self.pages[self.kind].first_input().setFocus()

    def _ask_confirm(self, problem: Problem, open_incident: dict | None) -> None:
        self._pending_incident = open_incident
        self.confirm_text.setText(problem.message(i18n.current()) + " — " + tr("确认时间无误后再保存。"))
        self.confirm_strip.show()
        self.time_problem.setText(problem.message(i18n.current()))
        self.time_problem.show()
        self.confirm_button.setFocus()

    def _confirm_and_save(self) -> None:
        self._confirmed_time = self.time_edit.text()
        self.save(getattr(self, "_pending_incident", None))

    def _hide_confirm(self) -> None:
        self.confirm_strip.hide()
        self.time_problem.hide()

    def _request_incident(self) -> None:
        if self.kind != "receive":
            self._say(tr("只有接报可以立为事件：先按 Alt+2 切到“接”。"), alert=True)
            return
        self.open_incident_requested.emit()

    def _show_problems(self, problems: list[Problem]) -> None:
        by_field = {p.field: p for p in problems}
        main = "what" if self.kind == "receive" else "text"
        if "body" in by_field and main not in by_field:  # the store's own check on the composed body
            by_field[main] = by_field["body"]
        for box in self.pages[self.kind].boxes.values():
            box.show_problem(by_field.get(box.key))
        first = next((b for b in self.pages[self.kind].boxes.values() if b.key in by_field), None)
        if first is not None:
            first.input.setFocus()

    def _say(self, text: str, alert: bool) -> None:
        self.message.setText(text)
        self.message.setObjectName("formError" if alert else "entryMessage")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def _on_edited(self, *_args) -> None:
        if self._restoring:
            return
        if self._confirmed_time is not None and self._confirmed_time != self.time_edit.text():
            self._confirmed_time = None
        self._draft_timer.start()

    def _restore_draft(self) -> None:
        state = self.ctx.read(load_draft, self.draft_key)
        if not state:
            return
        self._restoring = True
        try:
            for kind, values in (state.get("fields") or {}).items():
                if kind in KINDS and isinstance(values, dict):
                    self.pages[kind].set_values(values)
            self.time_edit.setText(state.get("time") or "")
            corrects = state.get("corrects")
            if isinstance(corrects, list) and len(corrects) == 2:
                self.corrects = (str(corrects[0]), str(corrects[1]))
                self.corrects_label.setText(tr("更正记录：") + self.corrects[1])
            if state.get("incident_id"):
                self.set_incident(state["incident_id"])
            if state.get("kind") in KINDS and (state["kind"] != "correction" or self.corrects):
                self.kind = state["kind"]
        finally:
            self._restoring = False
        self._say(tr("已恢复上次未保存的输入。"), alert=False)


class _Pages(dict):
    """kind → KindPage, each made the first time it is asked for."""

    def __init__(self, make):
        super().__init__()
        self._make = make

    def __missing__(self, kind: str) -> KindPage:
        if kind not in KINDS:
            raise KeyError(kind)
        page = self[kind] = self._make(kind)
        return page


def _log_failure(future) -> None:
    if future.exception() is not None:
        log.error("saving the entry bar's draft failed: %s", future.exception())
