"""The edit form of any library record, built from the catalogue; problems sit beside their fields.

Numbers are typed as text so that a wrong entry ("-3", "abc") stays on screen with the
reason beside it instead of being silently refused by a spin box. Nothing is saved
until every check passes; the service repeats the checks inside the write transaction.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.entities import entity
from app.domain.validate import Problem, ValidationError
from app.services import resource_queries as rq
from app.services.library_io import label
from app.services.log_drafts import clear_draft, load_draft, save_draft
from app.ui import i18n
from app.ui.i18n import tr


class RecordForm(QDialog):
    saved = Signal(str)
    """The record was saved; the argument is its id."""

    def __init__(self, ctx, library: str, record: dict[str, Any] | None = None, parent: QWidget | None = None):
        super().__init__(parent, objectName="resourceForm")
        self.ctx, self.library, self.record = ctx, library, record
        self.ent = entity(library)
        lang = i18n.current()
        title = self.ent.label_zh if lang == "zh" else self.ent.label_en
        self.setWindowTitle((tr("编辑：{what}") if record else tr("新建：{what}")).format(what=title))
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for f in self.ent.fields:
            if f.name in rq.HIDDEN_FIELDS:
                continue
            w = self._editor(f)
            w.setObjectName(f"field_{f.name}")
            self.inputs[f.name] = w
            err = QLabel(objectName=f"error_{f.name}", wordWrap=True)
            err.setStyleSheet("color: #c0392b;")
            err.hide()
            self.errors[f.name] = err
            box = QVBoxLayout()
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(2)
            box.addWidget(w)
            box.addWidget(err)
            holder = QWidget()
            holder.setLayout(box)
            name = label(f.name, lang) + (" *" if f.name in self.ent.required else "")
            form.addRow(name, holder)
        self.general = QLabel(objectName="formError", wordWrap=True)
        self.general.hide()
        if library == "shelter":
            self.inputs["area_m2"].textChanged.connect(self._suggest_capacity)  # type: ignore[attr-defined]
        inner = QWidget()
        inner.setLayout(form)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(inner)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText(tr("保存"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("取消"))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.general)
        layout.addWidget(self.buttons)
        self.resize(560, 640)
        if record:
            self._fill(record)
        # What is typed is kept as a draft (written as it is typed), so a crash or a closed window loses
        # nothing: the form reopens with it. Saving or cancelling on purpose discards the draft.
        self.draft_key = f"resources.{library}:{record['id'] if record else 'new'}"
        self.restored = False
        draft = ctx.read(load_draft, self.draft_key)
        if draft:
            for name, value in draft.items():
                if name in self.inputs:
                    self.set_value(name, value)
            self.restored = True
            self.general.setText(tr("已恢复上次未保存的修改。"))
            self.general.setStyleSheet("")
            self.general.show()
        self._draft_timer = QTimer(self, singleShot=True, interval=400, timeout=self.save_draft)
        for w in self.inputs.values():
            signal = (w.currentIndexChanged if isinstance(w, QComboBox) else w.toggled if isinstance(w, QCheckBox)
                      else w.textChanged)
            signal.connect(lambda *_a: self._draft_timer.start())
        self.rejected.connect(self.discard_draft)

    # ---- Public API ------------------------------------------------------------------------
    def values(self) -> tuple[dict[str, Any], list[Problem]]:
        """What the form holds, converted to field kinds, and the problems of conversion."""
        out: dict[str, Any] = {}
        problems: list[Problem] = []
        for f in self.ent.fields:
            w = self.inputs.get(f.name)
            if w is None:
                continue
            if isinstance(w, QComboBox):
                out[f.name] = w.currentData() or None
            elif isinstance(w, QCheckBox):
                out[f.name] = w.isChecked()
            elif isinstance(w, QPlainTextEdit):
                out[f.name] = w.toPlainText().strip() or None
            else:
                text = w.text().strip()  # type: ignore[attr-defined]
                if not text:
                    out[f.name] = None
                elif f.kind == "int":
                    try:
                        out[f.name] = int(text.replace(",", ""))
                    except ValueError:
                        problems.append(Problem(f.name, "type", "应为整数", "must be a whole number"))
                elif f.kind == "float":
                    try:
                        out[f.name] = float(text.replace(",", ""))
                    except ValueError:
                        problems.append(Problem(f.name, "type", "应为数字", "must be a number"))
                else:
                    out[f.name] = text
        return out, problems

    def raw_values(self) -> dict[str, Any]:
        """Every field as typed (text, code or bool): what a draft keeps."""
        out: dict[str, Any] = {}
        for name, w in self.inputs.items():
            if isinstance(w, QComboBox):
                out[name] = w.currentData() or ""
            elif isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, QPlainTextEdit):
                out[name] = w.toPlainText()
            else:
                out[name] = w.text()  # type: ignore[attr-defined]
        return out

    def save_draft(self) -> None:
        self._draft_timer.stop()
        self._write(save_draft, self.draft_key, self.raw_values(), clock.now_iso())

    def discard_draft(self) -> None:
        self._draft_timer.stop()
        self._write(clear_draft, self.draft_key)

    def _write(self, fn, *args) -> None:
        try:
            self.ctx.store.write(fn, *args)  # queued on the writer thread; the form never waits
        except RuntimeError:  # the console is closing and the store with it
            pass

    def set_value(self, field: str, text: str) -> None:
        w = self.inputs[field]
        if isinstance(w, QComboBox):
            w.setCurrentIndex(max(w.findData(text), 0))
        elif isinstance(w, QPlainTextEdit):
            w.setPlainText(text)
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(text))
        else:
            w.setText(text)  # type: ignore[attr-defined]

    def error_text(self, field: str) -> str:
        err = self.errors[field]
        return err.text() if not err.isHidden() else ""

    def save(self) -> bool:
        self._clear_errors()
        data, problems = self.values()
        if not problems:
            if self.record is None:
                data = {k: v for k, v in data.items() if v is not None}
            try:
                rid = rq.save(self.ctx, self.library, data, self.record["id"] if self.record else None)
            except ValidationError as e:
                problems = e.problems
            else:
                self._draft_timer.stop()
                self.ctx.store.write_sync(clear_draft, self.draft_key)
                self.saved.emit(rid)
                self.accept()
                return True
        self._show(problems)
        return False

    # ---- Private ---------------------------------------------------------------------------
    def _editor(self, f) -> QWidget:
        lang = i18n.current()
        if f.enum is not None:
            combo = QComboBox()
            if f.name not in self.ent.required:
                combo.addItem("—", None)
            for m in f.enum:
                combo.addItem(m.label(lang), m.value)
            return combo
        if f.kind == "bool":
            return QCheckBox()
        if f.kind == "text":
            edit = QPlainTextEdit()
            edit.setTabChangesFocus(True)
            edit.setFixedHeight(72)
            return edit
        edit = QLineEdit()
        if f.max_len:
            edit.setMaxLength(f.max_len)
        if f.name == "lon":
            edit.setPlaceholderText("113.26")
        if f.name == "lat":
            edit.setPlaceholderText("23.13")
        return edit

    def _fill(self, record: dict[str, Any]) -> None:
        for name in self.inputs:
            v = record.get(name)
            if v is None:
                continue
            if isinstance(v, float) and v == int(v) and name not in ("lon", "lat"):
                v = int(v)
            self.set_value(name, v if isinstance(v, (str, bool)) else str(v))

    def _suggest_capacity(self, text: str) -> None:
        cap = self.inputs["capacity"]
        try:
            area = float(text)
        except ValueError:
            return
        if area > 0 and (not cap.text() or cap.property("suggested")):  # type: ignore[attr-defined]
            cap.setText(str(rq.max_capacity(area)))  # type: ignore[attr-defined]
            cap.setProperty("suggested", True)

    def _clear_errors(self) -> None:
        for err in self.errors.values():
            err.hide()
            err.clear()
        self.general.hide()

    def _show(self, problems: list[Problem]) -> None:
        lang = i18n.current()
        first = None
        other = []
        for p in problems:
            err = self.errors.get(p.field)
            if err is None:
                other.append(p.message(lang))
                continue
            err.setText((err.text() + "；" if err.text() else "") + p.message(lang))
            err.show()
            first = first or self.inputs[p.field]
        if other:
            self.general.setText("；".join(other))
            self.general.setStyleSheet("color: #c0392b;")
            self.general.show()
        if first is not None:
            first.setFocus(Qt.FocusReason.OtherFocusReason)
