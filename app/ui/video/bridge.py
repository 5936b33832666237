"""Media thread → GUI thread: frames as QImage through a queued signal, newest frame wins.

The media loop (and each feed thread) calls ``push(source, rgb)``; the QImage is built
there, off the GUI thread. Only one delivery is ever queued, for every source at once: a
frame that arrives while the previous one of its source waits simply replaces it, so a
slow GUI drops frames instead of piling up a queue (and never stalls).
"""

from __future__ import annotations

import sys
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
        """Any thread: hand over a decoded frame: H×W×3 uint8 RGB, or H×W×4 BGRA (libswscale's "bgra" is
        QImage's RGB32 in memory on a little-endian machine: no conversion at all, and a frame already
        at its tile's size (``fit``) needs no scaling either).

        PySide holds the GIL through QImage's C++ calls (a smooth 640×480 scale and conversion made a
        thread sleeping 1 ms wait up to 27 ms): the media layer does both in libswscale, which lets go
        of the GIL, and what is left here is one copy of a tile-sized image.
        """
        h, w = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb)
        target = self._targets.get(source)
        if rgb.shape[2] == 4 and sys.byteorder == "little":
            img = QImage(rgb.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()  # copy: own its pixels
        else:
            img = QImage(rgb.data, w, h, rgb.shape[2] * w,
                         QImage.Format.Format_RGB888 if rgb.shape[2] == 3 else QImage.Format.Format_RGBX8888)
            if target is not None and (target[0] < w or target[1] < h):
                # scaled here, off the GUI thread, so painting the tile is a plain copy
                img = img.scaled(target[0], target[1], Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
            # the window's backing store is 32-bit: converting here makes painting a plain copy
            img = img.convertToFormat(QImage.Format.Format_RGB32)
        with self._lock:
            if source in self._latest:
                self.dropped += 1
            # One queued delivery per batch, not per frame: whoever finds nothing waiting posts it, and
            # the GUI takes every source's newest frame in one go. Six tiles at 25–30 fps were ~170 GUI
            # wake-ups a second, each one a wait for the GIL; now it is as many as the GUI can take.
            wake = not self._latest
            self._latest[source] = img
            self._rgb[source] = rgb
        if wake:
            try:
                self._ready.emit(source)
            except RuntimeError:  # the panel closed while a frame was on its way
                pass

    def set_target(self, source: str, width: int, height: int) -> None:
        """GUI thread: the size the tile shows this source at (frames arrive pre-scaled to it)."""
        with self._lock:
            self._targets[source] = (max(16, width), max(16, height))

    def fit(self, source: str, width: int, height: int) -> tuple[int, int] | None:
        """Any thread: the size to convert a ``width``×``height`` frame of this source to, so it arrives
        already at its tile's size (the conversion then happens once, in libswscale, on the media or feed
        thread); None: keep it as it is (no tile size known yet, or the tile is larger)."""
        with self._lock:
            target = self._targets.get(source)
        if target is None or (target[0] >= width and target[1] >= height):
            return None
        scale = min(target[0] / width, target[1] / height)
        return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)

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
        """The newest frame of each source as RGB (for the recorder's grid), any thread."""
        with self._lock:
            frames = [self._rgb[s] for s in sources if s in self._rgb]
        return [f[..., 2::-1] if f.shape[2] == 4 else f for f in frames]  # BGRA → RGB (a view)

    def forget(self, source: str) -> None:
        with self._lock:
            self._latest.pop(source, None)
            self._rgb.pop(source, None)
            self._targets.pop(source, None)

    @Slot(str)
    def _deliver(self, _source: str) -> None:
        with self._lock:
            batch, self._latest = self._latest, {}
        for source, img in batch.items():
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
