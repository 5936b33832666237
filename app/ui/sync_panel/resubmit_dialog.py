"""更正后重新提交: a refused change's fields, editable, checked as the server will check them.

Each field of the refused payload gets an editor by its kind (a list for enums and org
units, a tick box for yes/no, text otherwise) and a message beside it: the local check
(app.domain.validate.check_record, the server's own rule) in the current language, or
until the officer edits that field, what the server said about it. Submitting queues
the corrected change as a NEW mutation (sync_queries.resubmit); the refused one stays on
record as "resubmitted".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.domain.entities import ENTITIES, Field
from app.domain.validate import check_record
from app.services import sync_queries as Q
from app.services.sync_panel_queries import RejectedChange, org_unit_choices
from app.ui import i18n
from app.ui.i18n import tr
from app.ui.sync_panel import labels as L
from app.ui.sync_panel.models import reason_text

_INVALID_JSON = object()


class FieldEditor:
    """A widget for one payload field: ``value()`` reads it back as the wire value."""

    def __init__(self, field: Field | None, name: str, value: Any, org_units: list[tuple[str, str]]):
        self.name, self.field, self.original = name, field, value
        kind = field.kind if field is not None else "json"
        self.edited = False
        self.extra = False  # not in the refused payload: sent only when filled in
        self.read_only = field is None  # a field the entity does not have: shown, never editable
        if field is not None and field.enum is not None:
            self.widget = self._combo([(m.label(i18n.current()), m.value) for m in field.enum], value,
                                      allow_empty=not field.required)
        elif name == "org_unit_id" and org_units:
            self.widget = self._combo([(n, i) for i, n in org_units], value, allow_empty=not field.required)
        elif kind == "bool":
            self.widget = QCheckBox()
            self.widget.setChecked(bool(value))
            self.widget.toggled.connect(self._mark)
        elif kind == "text":
            self.widget = QPlainTextEdit(value if isinstance(value, str) else "")
            self.widget.setTabChangesFocus(True)
            self.widget.setMaximumHeight(self.widget.fontMetrics().height() * 5)
            self.widget.textChanged.connect(self._mark)
        else:
            text = json.dumps(value, ensure_ascii=False) if kind == "json" and value is not None else (
                "" if value is None else str(value))
            self.widget = QLineEdit(text)
            self.widget.textEdited.connect(self._mark)
        self.widget.setObjectName(f"edit_{name}")
        self.widget.setEnabled(not self.read_only)
        self.kind = kind
        self.on_change: Callable[[], None] = lambda: None

    def value(self) -> Any:
        w = self.widget
        if self.read_only:
            return self.original
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        text = w.toPlainText() if isinstance(w, QPlainTextEdit) else w.text()
        if self.kind in ("text", "str"):
            return text if text or self.original is not None else None
        text = text.strip()
        if not text:
            return None
        if self.kind == "int":
            return _number(text, int)
        if self.kind == "float":
            return _number(text, float)
        if self.kind == "json":
            try:
                return json.loads(text)
            except ValueError:
                return _INVALID_JSON
        return text

    def retranslate(self) -> None:
        if not isinstance(self.widget, QComboBox):
            return
        enum = self.field.enum if self.field is not None else None
        for i in range(self.widget.count()):
            code = self.widget.itemData(i)
            if code is None:
                self.widget.setItemText(i, tr("（空）"))
            elif enum is not None and code in enum.codes():
                self.widget.setItemText(i, enum(code).label(i18n.current()))

    def _combo(self, items: list[tuple[str, Any]], value: Any, allow_empty: bool) -> QComboBox:
        combo = QComboBox()
        if allow_empty:
            combo.addItem(tr("（空）"), None)
        for label, code in items:
            combo.addItem(label, code)
        index = combo.findData(value)
        if index < 0 and value is not None:  # a value the list does not know: keep it, never lose it
            combo.addItem(str(value), value)
            index = combo.count() - 1
        combo.setCurrentIndex(max(index, 0))
        combo.currentIndexChanged.connect(self._mark)
        return combo

    def _mark(self, *_args) -> None:
        self.edited = True
        self.on_change()


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        return text  # check_record then says "must be a number" in the officer's language


class ResubmitDialog(QDialog):
    resubmitted = Signal(str)
    """The corrected change was queued; the argument is the new mutation id."""

    def __init__(self, ctx, change: RejectedChange, parent: QWidget | None = None):
        super().__init__(parent, objectName="resubmitDialog")
        self.ctx, self.change = ctx, change
        self.entity = ENTITIES.get(change.entity)
        self.server_problems = {p.field: p for p in change.problems}
        self.editors: dict[str, FieldEditor] = {}
        self.problem_labels: dict[str, QLabel] = {}
        self.name_labels: dict[str, QLabel] = {}
        self.heading = QLabel(objectName="dialogHeading", wordWrap=True)
        self.reason = QLabel(objectName="rejectReason", wordWrap=True)
        grid = QGridLayout()
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 2)
        wanted = self._fields_to_show()
        org_units = ctx.read(org_unit_choices) if "org_unit_id" in wanted else []
        names = [f for f in (self.entity.field_names if self.entity else ()) if f in wanted]
        names += [k for k in wanted if k not in names]
        for row, name in enumerate(names):
            field = self.entity.field(name) if self.entity and name in self.entity.field_names else None
            editor = FieldEditor(field, name, change.payload.get(name), org_units)
            editor.extra = name not in change.payload
            editor.on_change = self.validate
            label = QLabel(objectName="fieldName")
            label.setBuddy(editor.widget)
            label.setToolTip(name)
            problem = QLabel(objectName="fieldProblem", wordWrap=True)
            grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(editor.widget, row, 1)
            grid.addWidget(problem, row, 2, Qt.AlignmentFlag.AlignTop)
            self.editors[name], self.name_labels[name], self.problem_labels[name] = editor, label, problem
        form = QWidget()
        form.setLayout(grid)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(form)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.message = QLabel(objectName="formError", wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.submit_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.submit_button.setDefault(True)  # Enter submits; Esc cancels (QDialog)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.reason)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(760, min(680, 200 + 44 * len(names)))
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()

    # ---- Public API ------------------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        """The corrected payload: the refused one's fields, plus any added field the officer filled in."""
        values = {name: editor.value() for name, editor in self.editors.items()}
        return {k: v for k, v in values.items() if not (self.editors[k].extra and v is None)}

    def validate(self) -> bool:
        """Show each field's problem beside it; True when the change may be submitted."""
        payload = self.payload()
        lang = i18n.current()
        local: dict[str, str] = {}
        for name, value in payload.items():
            if value is _INVALID_JSON:
                local[name] = tr("JSON 格式无效")
        clean = {k: v for k, v in payload.items() if v is not _INVALID_JSON}
        if self.entity is not None:
            for p in check_record(self.entity, clean, partial=self.change.op != "create"):
                local.setdefault(p.field, p.message(lang))
        for name, label in self.problem_labels.items():
            text = local.get(name, "")
            server = self.server_problems.get(name)
            if not text and server is not None and not self.editors[name].edited:
                text = tr("服务器：") + L.message(server.message_zh, server.message_en)
            label.setText(text)
        general = [m for f, m in local.items() if f not in self.problem_labels]
        self.message.setText("；".join(general) if lang == "zh" else "; ".join(general))
        ok = not local
        self.submit_button.setEnabled(ok)
        return ok

    def submit(self) -> None:
        if not self.validate():
            return
        try:
            new_id = Q.resubmit(self.ctx, self.change.mutation_id, self.payload())
        except Q.NotAllowed as e:
            self.message.setText(L.message(e.message_zh, e.message_en))
            return
        self.resubmitted.emit(new_id)
        self.accept()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("更正后重新提交"))
        self.heading.setText(" · ".join((L.entity_label(self.change.entity), L.op_label(self.change.op),
                                         self.change.summary)))
        self.reason.setText(tr("服务器拒绝原因：") + reason_text(self.change))
        for name, label in self.name_labels.items():
            label.setText(L.field_label(name))
            self.editors[name].retranslate()
        self.submit_button.setText(tr("重新提交"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("取消"))
        self.validate()

    # ---- Private ---------------------------------------------------------------------------
    def _fields_to_show(self) -> list[str]:
        # The refused payload's fields; also those the server complained about, and the org unit
        # when the refusal was about scope, so the one thing to correct is there to correct.
        names = list(self.change.payload)
        known = self.entity.field_names if self.entity else ()
        extra = [p.field for p in self.change.problems if p.field in known]
        if self.change.code == "out_of_scope" and "org_unit_id" in known:
            extra.append("org_unit_id")
        return names + [f for f in dict.fromkeys(extra) if f not in names]
