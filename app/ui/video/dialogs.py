"""Forms of the video panel: schedule a consultation, add a field feed. Problems show beside the field."""

from __future__ import annotations

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.services.consultations import check_schedule
from app.ui import i18n
from app.ui.i18n import tr
from app.video.feeds import feed_kind


def _error_label() -> QLabel:
    label = QLabel(objectName="fieldError", wordWrap=True)
    label.setStyleSheet("color: #c0392b;")
    label.hide()
    return label


def _with_error(field: QWidget, error: QLabel) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    lay.addWidget(field)
    lay.addWidget(error)
    return box


class ScheduleDialog(QDialog):
    """安排会商: title, linked incident, time, participants (one per line), agenda."""

    def __init__(self, incidents: list[tuple[str, str]], parent: QWidget | None = None,
                 incident_id: str | None = None):
        super().__init__(parent, objectName="scheduleDialog")
        self.setWindowTitle(tr("安排视频会商"))
        self.title = QLineEdit(objectName="title")
        self.incident = QComboBox(objectName="incident")
        self.incident.addItem(tr("（不关联事件）"), None)
        for iid, title in incidents:
            self.incident.addItem(title, iid)
        if incident_id:
            i = self.incident.findData(incident_id)
            if i >= 0:
                self.incident.setCurrentIndex(i)
        self.when = QDateTimeEdit(QDateTime.currentDateTime().addSecs(1800), objectName="when")
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.when.setCalendarPopup(True)
        self.participants = QPlainTextEdit(objectName="participants")
        self.participants.setPlaceholderText(tr("每行一个参会方，如：登峰街应急办"))
        self.participants.setTabChangesFocus(True)
        self.participants.setFixedHeight(90)
        self.agenda = QPlainTextEdit(objectName="agenda")
        self.agenda.setTabChangesFocus(True)
        self.agenda.setFixedHeight(90)
        self.errors = {k: _error_label() for k in ("title", "scheduled_at", "participants")}
        form = QFormLayout()
        form.addRow(tr("会商主题"), _with_error(self.title, self.errors["title"]))
        form.addRow(tr("关联事件"), self.incident)
        form.addRow(tr("会商时间"), _with_error(self.when, self.errors["scheduled_at"]))
        form.addRow(tr("参会方"), _with_error(self.participants, self.errors["participants"]))
        form.addRow(tr("议程"), self.agenda)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("安排"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("取消"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.resize(520, 480)

    def values(self) -> dict:
        when = self.when.dateTime().toPython().replace(tzinfo=clock.BEIJING, second=0, microsecond=0)
        parts = [ln.strip() for ln in self.participants.toPlainText().splitlines() if ln.strip()]
        return {"title": self.title.text().strip(), "incident_id": self.incident.currentData(),
                "scheduled_at": clock.iso(when), "participants": parts,
                "agenda": self.agenda.toPlainText().strip()}

    def show_problems(self, problems) -> bool:
        lang = i18n.current()
        for label in self.errors.values():
            label.hide()
        for p in problems:
            label = self.errors.get(p.field)
            if label is not None:
                label.setText(p.message(lang))
                label.show()
        return not problems

    def accept(self) -> None:
        v = self.values()
        if self.show_problems(check_schedule(v["title"], v["scheduled_at"], v["participants"])):
            super().accept()


class FeedDialog(QDialog):
    """接入图传: a name, a URL (file, udp://, rtsp://, rtmp://, http(s)://…m3u8 / .flv), an optional position."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="feedDialog")
        self.setWindowTitle(tr("接入现场图传"))
        self.name = QLineEdit(objectName="feedName")
        self.url = QLineEdit(objectName="feedUrl")
        self.url.setPlaceholderText("rtsp://…  udp://…  http://…/index.m3u8  /path/file.ts")
        self.lon = QLineEdit(objectName="feedLon")
        self.lat = QLineEdit(objectName="feedLat")
        self.lon.setPlaceholderText(tr("经度（可不填）"))
        self.lat.setPlaceholderText(tr("纬度（可不填）"))
        self.errors = {k: _error_label() for k in ("name", "url", "position")}
        form = QFormLayout()
        form.addRow(tr("名称"), _with_error(self.name, self.errors["name"]))
        form.addRow(tr("地址"), _with_error(self.url, self.errors["url"]))
        pos = QWidget()
        pl = QVBoxLayout(pos)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.lon)
        pl.addWidget(self.lat)
        form.addRow(tr("位置"), _with_error(pos, self.errors["position"]))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("接入"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("取消"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.resize(480, 280)

    def values(self) -> dict:
        def num(edit: QLineEdit):
            text = edit.text().strip()
            return float(text) if text else None
        out = {"name": self.name.text().strip(), "url": self.url.text().strip(), "position": None}
        try:
            lon, lat = num(self.lon), num(self.lat)
        except ValueError:
            out["position"] = "bad"
            return out
        if lon is not None and lat is not None:
            out["position"] = (lon, lat)
        elif lon is not None or lat is not None:
            out["position"] = "half"
        return out

    def problems(self) -> dict[str, str]:
        v = self.values()
        out = {}
        if not v["name"]:
            out["name"] = tr("请填写名称")
        if not v["url"]:
            out["url"] = tr("请填写地址")
        elif feed_kind(v["url"]) == "file" and "://" in v["url"]:
            out["url"] = tr("不支持的地址类型：请用 rtsp、rtmp、udp、http(s) 或本地文件")
        pos = v["position"]
        if pos in ("bad", "half"):
            out["position"] = tr("经度和纬度须同时填写，且为数字")
        elif pos is not None and not (-180 <= pos[0] <= 180 and -90 <= pos[1] <= 90):
            out["position"] = tr("经纬度超出范围")
        return out

    def accept(self) -> None:
        problems = self.problems()
        for key, label in self.errors.items():
            label.setVisible(key in problems)
            label.setText(problems.get(key, ""))
        if not problems:
            super().accept()


