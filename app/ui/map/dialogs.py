"""Small dialogs of the map: a new incident at a point, a "nearest" query, an area download."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain import enums as E
from app.domain.entities import entity
from app.domain.validate import check_record
from app.services.changes import ChangeSet
from app.services.maps.layers import create_incident_at
from app.services.maps.sources import DownloadReport, XyzSource, download_area
from app.services.maps.tiles import count_tiles
from app.ui import background, i18n
from app.ui.i18n import tr


def _combo(enum: type[E.Coded], any_text: str | None = None, default: str | None = None) -> QComboBox:
    box = QComboBox()
    if any_text is not None:
        box.addItem(any_text, None)
    for member in enum:
        box.addItem(member.label(i18n.current()), member.value)
    if default is not None:
        box.setCurrentIndex(box.findData(default))
    return box


class NewIncidentDialog(QDialog):
    """"New incident here": title, category, severity and place; saved as a reported incident."""

    def __init__(self, ctx, lon: float, lat: float, parent: QWidget | None = None):
        super().__init__(parent, objectName="mapNewIncident")
        self.ctx, self.lon, self.lat = ctx, lon, lat
        self.created_id: str | None = None
        self.setWindowTitle(tr("在此新建事件"))
        self.title = QLineEdit(objectName="title")
        self.title_error = QLabel(objectName="fieldError")
        self.title_error.setStyleSheet("color: #c62828;")
        self.category = _combo(E.IncidentCategory, default="accident")
        self.severity = _combo(E.Severity, default="IV")
        self.place = QLineEdit(objectName="place")
        self.where = QLabel(f"{lon:.6f}, {lat:.6f} (WGS-84)")
        form = QFormLayout()
        form.addRow(tr("标题"), self.title)
        form.addRow("", self.title_error)
        form.addRow(tr("类别"), self.category)
        form.addRow(tr("级别"), self.severity)
        form.addRow(tr("地点"), self.place)
        form.addRow(tr("坐标"), self.where)
        self.save_error = QLabel(objectName="saveError", wordWrap=True)
        self.save_error.setStyleSheet("color: #c62828;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.save_error)
        layout.addWidget(buttons)
        self.title.textChanged.connect(lambda _t: self.title_error.clear())

    def data(self) -> dict:
        return {"title": self.title.text().strip(), "category": self.category.currentData(),
                "severity": self.severity.currentData(), "place": self.place.text().strip() or None}

    def save(self) -> None:
        d = self.data()
        record = {**d, "status": "reported", "lon": self.lon, "lat": self.lat, "occurred_at": clock.now_iso()}
        problems = [p for p in check_record(entity("incident"), record) if p.field == "title"]
        if problems or not d["title"]:
            self.title_error.setText(problems[0].message(i18n.current()) if problems else tr("请填写事件标题"))
            self.title.setFocus()
            return
        user = self.ctx.user
        now = clock.now_iso()
        try:
            rid = self.ctx.store.write_sync(lambda conn: create_incident_at(
                conn, lon=self.lon, lat=self.lat, title=d["title"], category=d["category"], severity=d["severity"],
                place=d["place"], author_id=user.id if user else None, device_id=self.ctx.device_id, now=now))
        except Exception as e:  # say it beside the form; what was typed stays
            message = e.message(i18n.current()) if callable(getattr(e, "message", None)) else str(e)
            self.save_error.setText(tr("未保存：{e}").format(e=message))
            return
        self.created_id = rid
        self.ctx.publish(ChangeSet.of("incident", (rid,)).merge(ChangeSet.of("duty_log_entry")))
        self.accept()


class NearestDialog(QDialog):
    """What to look for around a point: teams by type and status, warehouses holding an item, shelters."""

    def __init__(self, items: list[str], parent: QWidget | None = None, what: str = "team"):
        super().__init__(parent, objectName="mapNearest")
        self.setWindowTitle(tr("查找最近"))
        self.what = QComboBox()
        for code, text in (("team", tr("救援队伍")), ("warehouse", tr("物资仓库")), ("shelter", tr("避难场所"))):
            self.what.addItem(text, code)
        self.what.setCurrentIndex(self.what.findData(what))
        self.team_type = _combo(E.TeamType, tr("任意类型"))
        self.team_status = _combo(E.TeamStatus, tr("任意状态"), default="standby")
        self.item = QComboBox(editable=True)
        self.item.addItem(tr("任意物资"), None)
        for name in items:
            self.item.addItem(name, name)
        self.min_spare = QSpinBox(minimum=1, maximum=1_000_000, value=1)
        form = QFormLayout()
        form.addRow(tr("查找"), self.what)
        form.addRow(tr("队伍类型"), self.team_type)
        form.addRow(tr("队伍状态"), self.team_status)
        form.addRow(tr("储备物资"), self.item)
        form.addRow(tr("至少可容纳"), self.min_spare)
        self.form = form
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.what.currentIndexChanged.connect(self._enable)
        self._enable()

    def _enable(self) -> None:
        w = self.what.currentData()
        for widget, on in ((self.team_type, w == "team"), (self.team_status, w == "team"),
                           (self.item, w == "warehouse"), (self.min_spare, w == "shelter")):
            self.form.setRowVisible(widget, on)

    def query(self) -> dict:
        w = self.what.currentData()
        item = self.item.currentText().strip() if self.item.currentIndex() != 0 else None
        return {"what": w, "team_type": self.team_type.currentData() if w == "team" else None,
                "team_status": self.team_status.currentData() if w == "team" else None,
                "item_name": (item or None) if w == "warehouse" else None, "min_spare": self.min_spare.value()}


class DownloadDialog(QDialog):
    """Zoom levels a–b over the current view or the district; shows how many tiles that is."""

    def __init__(self, bboxes: dict[str, tuple[float, float, float, float]], parent: QWidget | None = None):
        super().__init__(parent, objectName="mapDownload")
        self.setWindowTitle(tr("下载区域底图"))
        self.bboxes = bboxes
        self.area = QComboBox()
        for key, text in (("district", tr("全区范围")), ("view", tr("当前视图"))):
            self.area.addItem(text, key)
        self.zmin = QSpinBox(minimum=0, maximum=19, value=12)
        self.zmax = QSpinBox(minimum=0, maximum=19, value=16)
        self.count = QLabel()
        form = QFormLayout()
        form.addRow(tr("范围"), self.area)
        form.addRow(tr("最小级别"), self.zmin)
        form.addRow(tr("最大级别"), self.zmax)
        form.addRow(tr("瓦片数"), self.count)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        for w in (self.zmin, self.zmax):
            w.valueChanged.connect(self._count)
        self.area.currentIndexChanged.connect(self._count)
        self._count()

    def choice(self) -> tuple[tuple[float, float, float, float], int, int]:
        a, b = sorted((self.zmin.value(), self.zmax.value()))
        return self.bboxes[self.area.currentData()], a, b

    def _count(self) -> None:
        bbox, a, b = self.choice()
        self.count.setText(f"{count_tiles(*bbox, a, b):,}")


class _Progress(QObject):
    moved = Signal(int, int)


class AreaDownload:
    """Runs download_area on a worker thread with a cancellable progress dialog; ``done(report)`` at the end."""

    def __init__(self, parent: QWidget, source: XyzSource, bbox, zmin: int, zmax: int, done):
        self.cancel_flag = threading.Event()
        self.progress = QProgressDialog(tr("正在下载底图瓦片…"), tr("取消"), 0, 0, parent)
        self.progress.setObjectName("mapDownloadProgress")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(0)
        self.progress.canceled.connect(self.cancel_flag.set)
        self.signals = _Progress(parent)
        self.signals.moved.connect(self._moved, Qt.ConnectionType.QueuedConnection)
        self.report: DownloadReport | None = None

        def finished(result, error) -> None:
            self.progress.reset()
            self.report = result
            done(result, error)

        self.job = background.run(parent, self._run, source, bbox, zmin, zmax, done=finished)

    def _run(self, source, bbox, zmin, zmax) -> DownloadReport:
        return download_area(source, bbox, zmin, zmax, progress=self.signals.moved.emit,
                             cancelled=self.cancel_flag.is_set)

    def _moved(self, done: int, total: int) -> None:
        if self.cancel_flag.is_set():
            return  # the last few tiles in flight; the dialog is gone
        if self.progress.maximum() != total:
            self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.progress.setLabelText(tr("正在下载底图瓦片… {done}/{total}").format(done=f"{done:,}", total=f"{total:,}"))
