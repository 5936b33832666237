"""Media thread → GUI thread: frames as QImage through a queued signal, newest frame wins.

The media loop (and each feed thread) calls ``push(source, rgb)``; the QImage is built
there, off the GUI thread. Only one delivery per source is ever queued: a frame that
arrives while the previous one waits simply replaces it, so a slow GUI drops frames
instead of piling up a queue (and never stalls).
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPainter


class FrameBridge(QObject):
    image = Signal(str, QImage)
    """(source id, image) on the GUI thread."""
    _ready = Signal(str)
    event = Signal(str, str, object)
    """(kind, peer/feed id, detail dict) from the media layer, on the GUI thread."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._latest: dict[str, QImage] = {}
        self._rgb: dict[str, np.ndarray] = {}
        self._targets: dict[str, tuple[int, int]] = {}
        self.delivered = 0
        self.dropped = 0
        self._ready.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def push(self, source: str, rgb: np.ndarray) -> None:
        """Any thread: hand over a decoded frame (H×W×3 uint8 RGB)."""
        h, w = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb)
        img = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        target = self._targets.get(source)
        if target is not None and (target[0] < w or target[1] < h):
            # scaled here, off the GUI thread, so painting the tile is a plain copy
            img = img.scaled(target[0], target[1], Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        # the window's backing store is 32-bit: converting here makes painting a plain copy
        img = img.convertToFormat(QImage.Format.Format_RGB32)
        with self._lock:
            first = source not in self._latest
            if not first:
                self.dropped += 1
            self._latest[source] = img
            self._rgb[source] = rgb
        if first:
            try:
                self._ready.emit(source)
            except RuntimeError:  # the panel closed while a frame was on its way
                pass

    def set_target(self, source: str, width: int, height: int) -> None:
        """GUI thread: the size the tile shows this source at (frames arrive pre-scaled to it)."""
        with self._lock:
            self._targets[source] = (max(16, width), max(16, height))

    def wants(self, source: str) -> bool:
        """Any thread: False while a frame of this source still waits for the GUI (skip converting another)."""
        with self._lock:
            return source not in self._latest

    def post_event(self, kind: str, peer: str, detail: dict) -> None:
        """Any thread: a state change for the GUI."""
        try:
            self.event.emit(kind, peer, dict(detail))
        except RuntimeError:
            pass

    def latest_rgb(self, sources: list[str]) -> list[np.ndarray]:
        """The newest frame of each source (for the recorder's grid), any thread."""
        with self._lock:
            return [self._rgb[s] for s in sources if s in self._rgb]

    def forget(self, source: str) -> None:
        with self._lock:
            self._latest.pop(source, None)
            self._rgb.pop(source, None)
            self._targets.pop(source, None)

    @Slot(str)
    def _deliver(self, source: str) -> None:
        with self._lock:
            img = self._latest.pop(source, None)
        if img is not None:
            self.delivered += 1
            self.image.emit(source, img)


def label_mask(text: str, height: int = 28) -> np.ndarray:
    """A participant's name (Chinese too) as a boolean mask, drawn with the UI font, for the test pattern."""
    font = QFont()
    font.setPixelSize(int(height * 0.8))
    font.setBold(True)
    img = QImage(max(8, height * (len(text) + 1)), height, QImage.Format.Format_Grayscale8)
    img.fill(0)
    p = QPainter(img)
    p.setFont(font)
    p.setPen(QColor(255, 255, 255))
    width = p.fontMetrics().horizontalAdvance(text)
    p.drawText(0, 0, img.width(), height, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
    p.end()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(height, img.bytesPerLine())[:, :img.width()]
    return (arr > 110)[:, :max(1, width + 2)].copy()
