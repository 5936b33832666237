"""Video tiles: one per participant or feed, in a grid or a speaker view."""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QMenu, QSizePolicy, QVBoxLayout, QWidget

from app.ui.i18n import N_, tr

STATE_TEXT = {
    "connecting": N_("连接中…"),
    "new": N_("连接中…"),
    "checking": N_("连接中…"),
    "connected": "",
    "live": "",
    "audio_only": N_("仅音频（链路质量差）"),
    "camera_off": N_("摄像头已关闭"),
    "retrying": N_("无信号，自动重试中"),
    "failed": N_("连接失败"),
    "closed": N_("已离开"),
    "stopped": N_("已停止"),
    "stalled": N_("画面中断"),
}
ALERT_STATES = {"retrying", "failed", "stalled", "audio_only"}


class VideoTile(QWidget):
    clicked = Signal(str)
    double_clicked = Signal(str)
    resized = Signal(str, int, int)  # source id, width, height in device pixels
    audio_mute_toggled = Signal(str, bool)  # source id, True: stop playing this participant's voice here

    def __init__(self, source_id: str, name: str, kind: str = "peer", parent: QWidget | None = None):
        super().__init__(parent, objectName="videoTile")
        self.source_id, self.name, self.kind = source_id, name, kind
        self.image: QImage | None = None
        self.state = "connecting"
        self.detail: object = ""
        self.muted = False
        self.audio_muted = False  # a remote participant's voice is not played on this console
        self.speaking = False
        self.frames = 0
        self.setMinimumSize(QSize(160, 90))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(name)
        if kind == "peer":
            self.setToolTip(tr("M 或右键：关闭/打开此方声音"))

    def set_audio_muted(self, muted: bool) -> None:
        """A remote participant's tile: stop (or resume) playing their voice here."""
        if self.kind != "peer" or muted == self.audio_muted:
            return
        self.audio_muted = muted
        self.update()
        self.audio_mute_toggled.emit(self.source_id, muted)

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        if self.kind != "peer":
            return
        menu = QMenu(self)
        action = menu.addAction(tr("打开此方声音") if self.audio_muted else tr("关闭此方声音"))
        action.triggered.connect(lambda: self.set_audio_muted(not self.audio_muted))
        menu.exec(event.globalPos())

    def set_image(self, img: QImage) -> None:
        self.image = img
        self.frames += 1
        if self.state in ("connecting", "new", "checking", "stalled", "retrying"):
            self.state = "live"
        self.update()

    def set_state(self, state: str, detail: object = "") -> None:
        self.state, self.detail = state, detail
        self.update()

    def status_text(self) -> str:
        text = STATE_TEXT.get(self.state, "")
        return tr(text) if text else ""

    def detail_text(self) -> str:
        d = self.detail
        if isinstance(d, dict):
            return tr("{why}，{s} 秒后重试").format(why=tr(d.get("why", "")), s=d.get("s", ""))
        return str(d or "")

    def display_name(self) -> str:
        suffix = {"self": tr("（本席）"), "feed": tr("（图传）")}.get(self.kind, "")
        return f"{self.name} {suffix}".strip()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        r = self.rect()
        p.fillRect(r, QColor(20, 24, 30))
        if self.image is not None and self.state not in ("audio_only", "closed", "stopped"):
            img = self.image
            if img.width() <= r.width() and img.height() <= r.height() and \
                    (img.width() == r.width() or img.height() == r.height()):
                p.drawImage(r.center().x() - img.width() // 2 + 1, r.center().y() - img.height() // 2 + 1, img)
            else:  # not pre-scaled yet (the first frames, or right after a resize)
                scaled = img.size().scaled(r.size(), Qt.AspectRatioMode.KeepAspectRatio)
                target = QRect(0, 0, scaled.width(), scaled.height())
                target.moveCenter(r.center())
                p.drawImage(target, img)
        font = QFont(self.font())
        font.setPixelSize(max(12, min(18, r.height() // 14)))
        p.setFont(font)
        fm = p.fontMetrics()
        # the name bar along the bottom
        bar = QRect(r.left(), r.bottom() - fm.height() - 8, r.width(), fm.height() + 8)
        p.fillRect(bar, QColor(0, 0, 0, 150))
        p.setPen(QColor(240, 240, 240))
        name = self.display_name() + ("  [" + tr("已静音") + "]" if self.muted else "") + \
            ("  [" + tr("声音已关") + "]" if self.audio_muted else "")
        p.drawText(bar.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                   fm.elidedText(name, Qt.TextElideMode.ElideRight, bar.width() - 16))
        status = self.status_text()
        if status:
            alert = self.state in ALERT_STATES
            detail = self.detail_text()
            text = status if not detail else f"{status}\n{detail}"
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap
            need = fm.boundingRect(QRect(0, 0, r.width() - 32, 10_000), flags, text)
            box = QRect(r.left() + 8, r.top() + 8, r.width() - 16, min(need.height() + 12, r.height() // 2))
            p.fillRect(box, QColor(150, 40, 30, 210) if alert else QColor(0, 0, 0, 160))
            p.setPen(QColor(255, 255, 255))
            p.drawText(box.adjusted(8, 4, -8, -4), flags, text)
        if self.speaking or self.hasFocus():
            p.setPen(QPen(QColor(80, 200, 120) if self.speaking else QColor(90, 150, 250), 3))
            p.drawRect(r.adjusted(1, 1, -2, -2))
        p.end()

    def resizeEvent(self, event) -> None:  # noqa: N802
        ratio = self.devicePixelRatioF()
        self.resized.emit(self.source_id, int(self.width() * ratio), int(self.height() * ratio))
        super().resizeEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.setFocus()
        self.clicked.emit(self.source_id)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        self.double_clicked.emit(self.source_id)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.double_clicked.emit(self.source_id)
            return
        if event.key() == Qt.Key.Key_M and self.kind == "peer" and not event.modifiers():
            self.set_audio_muted(not self.audio_muted)
            return
        super().keyPressEvent(event)


class TileStage(QWidget):
    """Lays tiles out as a grid, or one big speaker tile with a strip of the others."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="tileStage")
        self.tiles: dict[str, VideoTile] = {}
        self.mode = "grid"
        self.speaker: str | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._inner: QWidget | None = None

    def add(self, tile: VideoTile) -> None:
        self.tiles[tile.source_id] = tile
        tile.double_clicked.connect(self._focus_speaker)
        self.relayout()

    def remove(self, source_id: str) -> None:
        tile = self.tiles.pop(source_id, None)
        if tile is not None:
            tile.setParent(None)
            tile.deleteLater()
        if self.speaker == source_id:
            self.speaker = None
        self.relayout()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.relayout()

    def set_speaker(self, source_id: str | None) -> None:
        if source_id != self.speaker:
            self.speaker = source_id
            for sid, tile in self.tiles.items():
                tile.speaking = sid == source_id
                tile.update()
            if self.mode == "speaker":
                self.relayout()

    def _focus_speaker(self, source_id: str) -> None:
        self.speaker = source_id
        self.set_mode("speaker")

    def relayout(self) -> None:
        for tile in self.tiles.values():
            tile.setParent(None)
        if self._inner is not None:
            self._layout.removeWidget(self._inner)
            self._inner.deleteLater()
        inner = QWidget(self)
        tiles = list(self.tiles.values())
        if self.mode == "speaker" and tiles:
            main_id = self.speaker if self.speaker in self.tiles else tiles[0].source_id
            box = QVBoxLayout(inner)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(4)
            box.addWidget(self.tiles[main_id], 4)
            strip = QHBoxLayout()
            strip.setSpacing(4)
            for t in tiles:
                if t.source_id != main_id:
                    strip.addWidget(t)
            box.addLayout(strip, 1)
        else:
            grid = QGridLayout(inner)
            grid.setContentsMargins(0, 0, 0, 0)
            grid.setSpacing(4)
            cols = max(1, math.ceil(math.sqrt(len(tiles))))
            for i, t in enumerate(tiles):
                grid.addWidget(t, i // cols, i % cols)
        for t in tiles:
            t.show()
        self._inner = inner
        self._layout.addWidget(inner)
