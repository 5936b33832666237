"""The incident form of one tab: every field with its message beside it, drafts kept as typed.

The form holds what the officer typed until saved; ``values()`` reads it as record
fields, ``problems`` are shown beside their field. ``edited`` fires on any change so
the tab can save a draft (app.services.incidents.save_draft) a moment later.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.enums import IncidentCategory, IncidentStatus, ResponseLevel, Severity
from app.domain.validate import Problem
from app.services.incidents import CASUALTY_FIELDS, SUBTYPES, allowed_statuses, suggested_name
from app.ui import i18n
from app.ui.i18n import N_, tr

GRADE = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ"}
LABELS = {
    "title": N_("事件名称"), "category": N_("类别"), "subtype": N_("子类"), "severity": N_("事件分级"),
    "response_level": N_("响应等级"), "status": N_("状态"), "place": N_("地点"), "lon": N_("经度"),
    "lat": N_("纬度"), "occurred_at": N_("发生时间"), "summary": N_("事件概况"), "dead": N_("死亡"),
    "injured": N_("受伤"), "missing": N_("失踪"), "trapped": N_("被困"), "affected": N_("受影响人数"),
    "commander": N_("现场指挥"), "drill": N_("演练"),
}


def _to_qdt(value: str | None) -> QDateTime:
    try:
        t = clock.to_beijing(dt.datetime.fromisoformat(value)) if value else clock.now()
    except ValueError:
        t = clock.now()
    return QDateTime(t.year, t.month, t.day, t.hour, t.minute, t.second)


def from_qdt(q: QDateTime) -> str:
    d, t = q.date(), q.time()
    return clock.iso(dt.datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second(),
                                 tzinfo=clock.BEIJING))


def datetime_edit(value: str | None = None) -> QDateTimeEdit:
    edit = QDateTimeEdit(_to_qdt(value))
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    edit.setCalendarPopup(True)
    return edit


class FieldRow(QWidget):
    """A field with its message under it (red: refused; amber: a question to confirm)."""

    def __init__(self, field: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.field = field
        self.message = QLabel(objectName="fieldError", wordWrap=True)
        self.message.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(field)
        layout.addWidget(self.message)

    def show_problem(self, problem: Problem | None) -> None:
        if problem is None:
            self.message.clear()
            self.message.hide()
            return
        colour = "#b26a00" if problem.code == "question" else "#c62828"
        self.message.setStyleSheet(f"color:{colour};")
        self.message.setText(problem.message(i18n.current()))
        self.message.show()


class IncidentForm(QWidget):
    edited = Signal()
    save_requested = Signal()
    coordinates_changed = Signal()

    def __init__(self, role: str | None, read_only: bool = False, parent: QWidget | None = None):
        super().__init__(parent, objectName="incidentForm")
        self.role = role
        self._loading = False
        self._status_now = "reported"
        self.title = QLineEdit(objectName="title")
        self.suggest = QPushButton(objectName="suggestName")
        self.suggest.clicked.connect(self.use_suggestion)
        self.category = QComboBox(objectName="category")
        for c in IncidentCategory:
            self.category.addItem("", c.value)
        self.subtype = QComboBox(objectName="subtype", editable=True)
        self.severity = QComboBox(objectName="severity")
        for s in Severity:
            self.severity.addItem("", s.value)
        self.response_level = QComboBox(objectName="responseLevel")
        self.response_level.addItem("", None)
        for r in ResponseLevel:
            self.response_level.addItem("", r.value)
        self.status = QComboBox(objectName="status")
        self.place = QLineEdit(objectName="place")
        self.lon = QLineEdit(objectName="lon")
        self.lat = QLineEdit(objectName="lat")
        self.street = QLabel(objectName="streetLabel")
        self.occurred_at = datetime_edit()
        self.occurred_at.setObjectName("occurredAt")
        self.casualties = {name: QLineEdit(objectName=name) for name in CASUALTY_FIELDS}
        self.commander = QLineEdit(objectName="commander")
        self.drill = QCheckBox(objectName="drill")
        self.summary = QPlainTextEdit(objectName="summary")
        self.summary.setTabChangesFocus(True)
        self.summary.setMinimumHeight(70)
        self.save_button = QPushButton(objectName="saveIncident")
        self.save_button.clicked.connect(self.save_requested)
        self.save_note = QLabel(objectName="saveNote", wordWrap=True)

        self.rows: dict[str, FieldRow] = {}
        self.captions: dict[str, QLabel] = {}
        grid = QFormLayout()
        grid.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        title_box = QWidget()
        tb = QHBoxLayout(title_box)
        tb.setContentsMargins(0, 0, 0, 0)
        tb.addWidget(self.title, 1)
        tb.addWidget(self.suggest)
        self._add(grid, "title", title_box)
        two = QGridLayout()
        two.setHorizontalSpacing(12)
        pairs = [("category", self.category), ("subtype", self.subtype), ("severity", self.severity),
                 ("response_level", self.response_level), ("status", self.status),
                 ("occurred_at", self.occurred_at), ("lon", self.lon), ("lat", self.lat)]
        for i, (name, widget) in enumerate(pairs):
            caption = QLabel()
            self.captions[name] = caption
            row = FieldRow(widget)
            self.rows[name] = row
            two.addWidget(caption, i // 2, (i % 2) * 2, Qt.AlignmentFlag.AlignTop)
            two.addWidget(row, i // 2, (i % 2) * 2 + 1)
        two.setColumnStretch(1, 1)
        two.setColumnStretch(3, 1)
        self._add(grid, "place", self.place)
        grid.addRow(two)
        self.street_caption = QLabel()
        grid.addRow(self.street_caption, self.street)
        cas = QGridLayout()
        for i, name in enumerate(CASUALTY_FIELDS):
            caption = QLabel()
            self.captions[name] = caption
            self.casualties[name].setMaximumWidth(110)
            row = FieldRow(self.casualties[name])
            self.rows[name] = row
            cas.addWidget(caption, 0, i * 2, Qt.AlignmentFlag.AlignTop)
            cas.addWidget(row, 0, i * 2 + 1)
        cas.setColumnStretch(len(CASUALTY_FIELDS) * 2, 1)
        self.casualty_caption = QLabel()
        grid.addRow(self.casualty_caption, cas)
        self._add(grid, "commander", self.commander)
        self._add(grid, "summary", self.summary)
        grid.addRow("", self.drill)
        bottom = QHBoxLayout()
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.save_note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(grid)
        layout.addLayout(bottom)
        layout.addStretch(1)

        self.category.currentIndexChanged.connect(self._fill_subtypes)
        for w in (self.title, self.place, self.lon, self.lat, self.commander, *self.casualties.values()):
            w.textChanged.connect(self._changed)
        for w in (self.category, self.severity, self.response_level, self.status):
            w.currentIndexChanged.connect(self._changed)
        self.subtype.currentTextChanged.connect(self._changed)
        self.occurred_at.dateTimeChanged.connect(self._changed)
        self.summary.textChanged.connect(self._changed)
        self.drill.toggled.connect(self._changed)
        for w in (self.place, self.subtype, self.occurred_at):
            (w.currentTextChanged if w is self.subtype else
             w.dateTimeChanged if w is self.occurred_at else w.textChanged).connect(self._update_suggestion)
        self.lon.editingFinished.connect(self.coordinates_changed)
        self.lat.editingFinished.connect(self.coordinates_changed)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save_requested.emit,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if read_only:
            for w in self.findChildren(QWidget):
                if isinstance(w, (QLineEdit, QPlainTextEdit)):
                    w.setReadOnly(True)
                elif isinstance(w, (QComboBox, QCheckBox, QDateTimeEdit, QPushButton)):
                    w.setEnabled(False)
        self._fill_subtypes()
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()

    def _add(self, grid: QFormLayout, name: str, widget: QWidget) -> None:
        caption = QLabel()
        self.captions[name] = caption
        row = FieldRow(widget)
        self.rows[name] = row
        grid.addRow(caption, row)

    # ---- Public API ------------------------------------------------------------------------
    def load(self, record: dict[str, Any], draft: dict[str, Any] | None = None) -> None:
        """Show the record (then the unsaved draft over it, when there is one)."""
        self._loading = True
        try:
            self._status_now = record.get("status") or "reported"
            self._fill_statuses()
            values = dict(record)
            if draft:
                values.update(draft)
            self.title.setText(values.get("title") or "")
            self._set_combo(self.category, values.get("category"))
            self._fill_subtypes()
            self.subtype.setEditText(values.get("subtype") or "")
            self._set_combo(self.severity, values.get("severity"))
            self._set_combo(self.response_level, values.get("response_level"))
            self._set_combo(self.status, values.get("status"))
            self.place.setText(values.get("place") or "")
            self.lon.setText(_num(values.get("lon")))
            self.lat.setText(_num(values.get("lat")))
            self.occurred_at.setDateTime(_to_qdt(values.get("occurred_at")))
            for name, edit in self.casualties.items():
                edit.setText(_num(values.get(name)))
            self.commander.setText(values.get("commander") or "")
            self.drill.setChecked(bool(values.get("drill")))
            self.summary.setPlainText(values.get("summary") or "")
        finally:
            self._loading = False
        self.show_problems([])
        self._update_suggestion()

    def values(self) -> tuple[dict[str, Any], list[Problem]]:
        """The form as record fields, and the problems of fields that do not even parse."""
        problems: list[Problem] = []
        out: dict[str, Any] = {
            "title": self.title.text().strip(), "category": self.category.currentData(),
            "subtype": self.subtype.currentText().strip() or None, "severity": self.severity.currentData(),
            "response_level": self.response_level.currentData(), "status": self.status.currentData(),
            "place": self.place.text().strip() or None, "occurred_at": from_qdt(self.occurred_at.dateTime()),
            "commander": self.commander.text().strip() or None, "drill": self.drill.isChecked(),
            "summary": self.summary.toPlainText().strip() or None,
        }
        for name, edit in (("lon", self.lon), ("lat", self.lat)):
            text = edit.text().strip()
            try:
                out[name] = float(text) if text else None
            except ValueError:
                problems.append(Problem(name, "format", "应为数字，如 113.2665", "must be a number, e.g. 113.2665"))
        for name, edit in self.casualties.items():
            text = edit.text().strip()
            if not text:
                out[name] = None if name == "affected" else 0
                continue
            try:
                out[name] = int(text)
            except ValueError:
                problems.append(Problem(name, "format", "应为整数", "must be a whole number"))
                continue
            if out[name] < 0:
                problems.append(Problem(name, "negative", "不能为负数", "cannot be negative"))
        return out, problems

    def texts(self) -> dict[str, Any]:
        """What is typed, verbatim (for the draft: a half-typed number is kept as typed)."""
        return {"title": self.title.text(), "category": self.category.currentData(),
                "subtype": self.subtype.currentText(), "severity": self.severity.currentData(),
                "response_level": self.response_level.currentData(), "status": self.status.currentData(),
                "place": self.place.text(), "lon": self.lon.text(), "lat": self.lat.text(),
                "occurred_at": from_qdt(self.occurred_at.dateTime()), "commander": self.commander.text(),
                "drill": self.drill.isChecked(), "summary": self.summary.toPlainText(),
                **{name: edit.text() for name, edit in self.casualties.items()}}

    def show_problems(self, problems: list[Problem]) -> None:
        by_field: dict[str, Problem] = {}
        for p in problems:
            by_field.setdefault(p.field, p)
        for name, row in self.rows.items():
            row.show_problem(by_field.get(name))

    def set_street(self, name: str | None) -> None:
        self.street.setText(name or tr("（坐标不在任何街道范围内）"))

    def use_suggestion(self) -> None:
        self.title.setText(self._suggestion())

    def set_status_now(self, status: str) -> None:
        self._status_now = status
        self._fill_statuses()
        self._set_combo(self.status, status)

    def retranslate(self) -> None:
        for name, caption in self.captions.items():
            caption.setText(tr(LABELS[name]))
        self.street_caption.setText(tr("属地街道"))
        self.casualty_caption.setText(tr("人员伤亡"))
        self.drill.setText(tr("演练"))
        lang = i18n.current()
        for i, c in enumerate(IncidentCategory):
            self.category.setItemText(i, c.label(lang))
        for i, s in enumerate(Severity):
            self.severity.setItemText(i, f"{GRADE[s.value]} {s.label(lang)}" if lang == "zh" else s.label(lang))
        self.response_level.setItemText(0, tr("未启动"))
        for i, r in enumerate(ResponseLevel, start=1):
            self.response_level.setItemText(i, r.label(lang))
        for i in range(self.status.count()):
            self.status.setItemText(i, IncidentStatus(self.status.itemData(i)).label(lang))
        self.save_button.setText(tr("保存 (Ctrl+S)"))
        self.lon.setPlaceholderText("113.2665")
        self.lat.setPlaceholderText("23.1291")
        self.casualties["affected"].setPlaceholderText(tr("未统计"))
        self._update_suggestion()

    # ---- Private ---------------------------------------------------------------------------
    def _suggestion(self) -> str:
        return suggested_name(from_qdt(self.occurred_at.dateTime()), self.place.text(), self.subtype.currentText())

    def _update_suggestion(self, *_args) -> None:
        suggestion = self._suggestion()
        short = suggestion if len(suggestion) <= 18 else suggestion[:17] + "…"
        self.suggest.setText(tr("建议：{name}").format(name=short))
        self.suggest.setToolTip(tr("按“月·日+地点+类型”命名，点击采用") + "\n" + suggestion)
        self.suggest.setEnabled(suggestion != self.title.text())

    def _fill_statuses(self) -> None:
        current = self.status.currentData()
        self.status.blockSignals(True)
        self.status.clear()
        for code in allowed_statuses(self._status_now, self.role):
            self.status.addItem(IncidentStatus(code).label(i18n.current()), code)
        self._set_combo(self.status, current or self._status_now)
        self.status.blockSignals(False)
        self.status.setToolTip(tr("只列出允许的状态变更；重新打开已结案事件须由带班领导操作"))

    def _fill_subtypes(self, *_args) -> None:
        text = self.subtype.currentText()
        self.subtype.blockSignals(True)
        self.subtype.clear()
        self.subtype.addItems(SUBTYPES.get(self.category.currentData() or "", ()))
        self.subtype.setEditText(text)
        self.subtype.blockSignals(False)

    @staticmethod
    def _set_combo(combo: QComboBox, value: Any) -> None:
        i = combo.findData(value)
        combo.setCurrentIndex(i if i >= 0 else 0 if value is None else combo.currentIndex())

    def _changed(self, *_args) -> None:
        if not self._loading:
            self.edited.emit()


def _num(value: Any) -> str:
    if value is None:
        return ""
    return str(value)
