"""立为事件: the few things an intake does not say (category, sub-type, severity), asked in a small form.

Opened with ``open()`` (never ``exec()``): the watch goes on while it is up. The title
preview follows the "M·D + place + type" convention as the officer types.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.enums import IncidentCategory, ResponseLevel, Severity
from app.services.intake import incident_title
from app.ui import i18n
from app.ui.i18n import N_, tr

# Sub-types are data (DOMAIN.md: a configurable list), stored and shown as the district writes them.
SUBTYPES = ("火灾", "道路交通", "燃气管道", "危险化学品", "建筑施工", "城市生命线", "三防", "地质灾害", "森林火灾",
            "公共卫生", "社会安全")


class IncidentDialog(QDialog):
    def __init__(self, place: str, when, parent: QWidget | None = None):
        super().__init__(parent, objectName="openIncidentDialog")
        self.place, self.when = place, when or clock.now()
        self.category = QComboBox(objectName="incidentCategory")
        self.category.addItem("", None)
        for c in IncidentCategory:
            self.category.addItem(c.label(i18n.current()), c.value)
        self.subtype = QComboBox(objectName="incidentSubtype", editable=True)
        self.subtype.addItems(SUBTYPES)
        self.subtype.setCurrentIndex(-1)
        self.severity = QComboBox(objectName="incidentSeverity")
        self.severity.addItem("", None)
        for s in Severity:
            self.severity.addItem(s.label(i18n.current()), s.value)
        self.response = QComboBox(objectName="incidentResponse")
        self.response.addItem(tr("未启动响应"), None)
        for r in ResponseLevel:
            self.response.addItem(r.label(i18n.current()), r.value)
        self.drill = QCheckBox(tr("演练"), objectName="incidentDrill")
        self.preview = QLabel(objectName="titlePreview", wordWrap=True)
        self.problem = QLabel(objectName="fieldProblem", wordWrap=True)
        self.problem.hide()
        form = QFormLayout()
        form.addRow(tr("事件类别 *"), self.category)
        form.addRow(tr("事件类型"), self.subtype)
        form.addRow(tr("事件级别 *"), self.severity)
        form.addRow(tr("响应等级"), self.response)
        form.addRow("", self.drill)
        form.addRow(tr("事件名称"), self.preview)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("立为事件并保存接报"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("取消"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.setWindowTitle(tr("立为事件"))
        for w in (self.category, self.severity):
            w.currentIndexChanged.connect(self._update_preview)
        self.subtype.currentTextChanged.connect(self._update_preview)
        self._update_preview()

    def values(self) -> dict:
        return {"category": self.category.currentData(), "subtype": self.subtype.currentText().strip() or None,
                "severity": self.severity.currentData(), "response_level": self.response.currentData(),
                "drill": self.drill.isChecked()}

    def accept(self) -> None:
        v = self.values()
        needed = (("category", N_("事件类别")), ("severity", N_("事件级别")))
        missing = [tr(label) for key, label in needed if not v[key]]
        if missing:
            self.problem.setText(tr("请选择：") + "、".join(missing))
            self.problem.show()
            (self.category if not v["category"] else self.severity).setFocus()
            return
        super().accept()

    def _update_preview(self, *_args) -> None:
        v = self.values()
        label = v["subtype"] or (IncidentCategory(v["category"]).zh if v["category"] else "")
        self.preview.setText(incident_title(self.when, self.place or "", label))
