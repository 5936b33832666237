"""状态 Status: when this console last reached the server, where, how far, its clock, and two actions.

"Sync now" wakes the engine; "Export outbox for USB transfer" writes the unconfirmed
changes as signed files for a courier when the network is down for days
(app.services.sneakernet), off the GUI thread because a USB stick can be slow.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.sneakernet import NoDeviceKey, export_outbox
from app.services.sync_panel_queries import SyncFacts
from app.services.sync_status import SyncStatus
from app.ui import background, i18n, icons, sync_text
from app.ui.i18n import N_, tr
from app.ui.sync_panel import labels as L

ROWS = (("server", N_("服务器地址")), ("last_push", N_("上次上传成功")),
        ("last_pull", N_("上次下载成功")), ("server_rev", N_("服务器版本号")), ("epoch", N_("服务器纪元")),
        ("offset", N_("时钟偏差")), ("device", N_("设备编号")), ("waiting", N_("等待上传")),
        ("conflicts", N_("冲突")), ("rejected", N_("被拒绝")), ("error", N_("最近错误")))


@dataclasses.dataclass(frozen=True)
class Counts:
    waiting: int = 0
    conflicts: int = 0
    rejected: int = 0


class StatusTab(QWidget):
    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(parent, objectName="syncStatusTab")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.host = host
        self.status: SyncStatus | None = None
        self.facts: SyncFacts | None = None
        self.counts = Counts()
        self.export_box: QMessageBox | None = None
        self._export_job: background.Job | None = None
        self.icon = QLabel()
        self.headline = QLabel(objectName="syncHeadline", wordWrap=True)
        self.skew_warning = QLabel(objectName="clockWarning", wordWrap=True)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.captions: dict[str, QLabel] = {}
        self.values: dict[str, QLabel] = {}
        for key, _ in ROWS:
            self.captions[key] = QLabel(objectName="factCaption")
            value = QLabel(objectName="factValue", wordWrap=True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[key] = value
            self.form.addRow(self.captions[key], value)
        self.sync_button = QPushButton(objectName="syncNowButton")
        self.sync_button.clicked.connect(self.sync_now)
        self.export_button = QPushButton(objectName="exportOutboxButton")
        self.export_button.clicked.connect(self.choose_export_folder)
        self.note = QLabel(objectName="actionMessage", wordWrap=True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(self.icon)
        top.addWidget(self.headline, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sync_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addLayout(top)
        layout.addWidget(self.skew_warning)
        layout.addLayout(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addStretch(1)
        for b in (self.sync_button, self.export_button):
            b.setVisible(not host.read_only)  # the wall shows, never acts
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()

    # ---- Public API ------------------------------------------------------------------------
    def show_state(self, status: SyncStatus | None, facts: SyncFacts | None, counts: Counts) -> None:
        self.status, self.facts, self.counts = status, facts, counts
        self._fill()

    def sync_now(self) -> None:
        if self.host.ctx.sync is None:
            return
        self.host.ctx.sync.wake()
        self.note.setText(tr("已请求立即同步。"))

    def choose_export_folder(self) -> None:
        dialog = QFileDialog(self, tr("选择导出到的文件夹（如 U 盘）"), str(Path.home()))
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda folder: self.export_to(Path(folder)))
        dialog.open()  # never a nested event loop under qasync (qasync #59)
        self._folder_dialog = dialog

    def export_to(self, folder: Path) -> background.Job:
        """Write the signed outbox files into ``folder`` off the GUI thread; the result is shown when done."""
        self.export_button.setEnabled(False)
        self.note.setText(tr("正在导出…"))
        self._export_job = background.run(self, export_outbox, self.host.ctx, folder,
                                          done=lambda paths, error: self._exported(folder, paths, error))
        return self._export_job

    def export_running(self) -> bool:
        return self._export_job is not None and self._export_job.running

    def retranslate(self) -> None:
        for key, caption in ROWS:
            self.captions[key].setText(tr(caption))
        self.sync_button.setText(tr("立即同步"))
        self.sync_button.setToolTip(tr("不等下一轮，马上上传和下载"))
        self.export_button.setText(tr("导出待上传变更（U 盘转移）…"))
        self.export_button.setToolTip(tr("网络长时间中断时，把未确认的修改签名导出到文件，由专人带到服务器导入"))
        self._fill()

    # ---- Private ---------------------------------------------------------------------------
    def _fill(self) -> None:
        s, f, c = self.status, self.facts, self.counts
        ctx = self.host.ctx
        described = sync_text.describe(s)
        px = self.headline.fontMetrics().height() * 2
        self.icon.setPixmap(icons.pixmap(described.icon, px, self.devicePixelRatioF()))
        self.headline.setText(described.text)
        skew = sync_text.clock_skew(s)
        self.skew_warning.setVisible(skew is not None)
        if skew:
            self.skew_warning.setText("⚠ " + skew + " · " + tr("记录的时间以服务器为准；请联系管理员校准本机时钟。"))
        rev = max(s.server_rev if s else 0, f.pull_cursor if f else 0)
        values = {
            "server": ctx.server_url or tr("未连接服务器（本地模式）"),
            "last_push": L.when_text(s.last_push_ok if s else None),
            "last_pull": L.when_text(s.last_pull_ok if s else None),
            "server_rev": f"{rev:,}" if rev else "—",
            "epoch": (f.server_epoch if f and f.server_epoch else "—"),
            "offset": sync_text.clock_offset_text(s.clock_offset_s if s else None),
            "device": (f.device_id if f else ctx.device_id) or "—",
            "waiting": f"{c.waiting:,}", "conflicts": f"{c.conflicts:,}", "rejected": f"{c.rejected:,}",
            "error": (L.either(s.message) if s and s.message else "—"),
        }
        for key, text in values.items():
            self.values[key].setText(text)
        self.values["offset"].setProperty("alert", skew is not None)
        self.values["offset"].style().polish(self.values["offset"])
        self.sync_button.setEnabled(ctx.sync is not None)
        self.sync_button.setToolTip(tr("不等下一轮，马上上传和下载") if ctx.sync is not None
                                    else tr("未连接服务器（本地模式）"))

    def _exported(self, folder: Path, paths: list[Path] | None, error: BaseException | None) -> None:
        self.export_button.setEnabled(True)
        if isinstance(error, NoDeviceKey):
            text = tr("本机还没有设备密钥（从未在线登录过），无法签名导出文件。请先在网络可用时登录一次。")
            icon = QMessageBox.Icon.Warning
        elif isinstance(error, OSError):
            text = tr("写入失败：{error}").format(error=error.strerror or error)
            icon = QMessageBox.Icon.Critical
        elif error is not None:
            text = tr("导出失败：{error}").format(error=error)
            icon = QMessageBox.Icon.Critical
        elif not paths:
            text = tr("没有待上传的修改，无需导出。")
            icon = QMessageBox.Icon.Information
        else:
            names = "\n".join(p.name for p in paths)
            text = (tr("已导出 {n} 个文件到 {folder}：").format(n=len(paths), folder=folder) + "\n\n" + names
                    + "\n\n" + tr("请在服务器上按文件名顺序逐个导入。"))
            icon = QMessageBox.Icon.Information
        self.note.setText(text)
        box = QMessageBox(icon, tr("导出待上传变更"), text, QMessageBox.StandardButton.Close, self)
        box.setWindowModality(Qt.WindowModality.NonModal)  # never block the watch
        box.open()
        self.export_box = box
