"""Raster base maps on the map: a worker pool fetches and decodes tiles, the GUI thread only draws.

Each stacked source is one ``TileLayerItem``. While it paints, it asks the loader for the
tiles of the current view at the zoom whose pixels match the device's (so 4K/high-DPI get
sharper tiles), draws the ones in memory, and fills the gaps with a scaled-up parent tile
until the right one arrives. A tile the source lacks, or whose bytes do not decode, is
drawn as a hatched square: visibly missing, never a hang.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import logging
import threading

import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen

from app.services.maps import tiles as T
from app.services.maps.sources import TileSource

log = logging.getLogger(__name__)

MISSING, CORRUPT = "missing", "corrupt"
MEMORY_TILES = 384  # decoded tiles kept (256 KB each)


class TileLoader(QObject):
    """Fetch + decode off the GUI thread; results arrive through ``loaded`` (queued, GUI thread)."""

    loaded = Signal(object, object)  # (key, QImage | "missing" | "corrupt")
    _done = Signal(object, object)

    def __init__(self, parent: QObject | None = None, workers: int = 2):
        super().__init__(parent)
        self._pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="map-tiles")
        self._lock = threading.Lock()
        self._wanted: set = set()  # keys still wanted; a worker skips a key dropped meanwhile
        self._inflight: set = set()
        self._done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self.closed = False

    def request(self, source: TileSource, key: tuple) -> None:
        with self._lock:
            self._wanted.add(key)
            if key in self._inflight:
                return
            self._inflight.add(key)
        self._pool.submit(self._work, source, key)

    def retain_only(self, sid: int, keys: set) -> None:
        """Forget one source's requests for tiles no longer in view (a long pan does not queue the whole way)."""
        with self._lock:
            self._wanted = {k for k in self._wanted if k[0] != sid or k in keys}

    def pending(self) -> int:
        with self._lock:
            return len(self._inflight)

    def _work(self, source: TileSource, key: tuple) -> None:
        with self._lock:
            if key not in self._wanted or self.closed:
                self._inflight.discard(key)
                return
        _, z, x, y = key
        try:
            data = source.tile(z, x, y)
            if data is None:
                result = MISSING
            else:
                image = QImage()
                if image.loadFromData(data) and not image.isNull():
                    result = image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
                else:
                    result = CORRUPT
        except Exception:  # a broken source must not kill the worker
            log.exception("tile %s failed", key)
            result = CORRUPT
        try:
            self._done.emit(key, result)
        except RuntimeError:  # the map closed meanwhile
            pass

    def _on_done(self, key, result) -> None:
        with self._lock:
            self._inflight.discard(key)
            self._wanted.discard(key)
        self.loaded.emit(key, result)

    def close(self) -> None:
        self.closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)


class TileLayerItem(pg.GraphicsObject):
    """One stacked raster source drawn in mercator metres."""

    def __init__(self, source: TileSource, loader: TileLoader, memory: collections.OrderedDict):
        super().__init__()
        self.source = source
        self.loader = loader
        self.memory = memory  # shared LRU: key -> QImage | MISSING | CORRUPT
        self.sid = id(source)
        self.setOpacity(source.opacity)
        self.last_zoom: int | None = None
        self.hatch = QBrush(QColor(150, 150, 150, 90), Qt.BrushStyle.DiagCrossPattern)
        loader.loaded.connect(self._on_loaded)
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption, False)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(-T.HALF_WORLD, -T.HALF_WORLD, T.WORLD_M, T.WORLD_M)

    def _on_loaded(self, key, _result) -> None:
        if key[0] == self.sid:
            self.update()

    def zoom_for(self, painter: QPainter) -> int:
        px_per_m = abs(painter.deviceTransform().m11()) or 1e-9
        z = T.zoom_for_resolution(1.0 / px_per_m)
        return max(self.source.min_zoom, min(self.source.max_zoom, z))

    def visible_tiles(self, z: int) -> list[tuple[int, int, int]]:
        vb = self.getViewBox()
        if vb is None:
            return []
        r = vb.viewRect()
        tiles = list(T.tiles_in_rect_m(z, r.left(), r.top(), r.right(), r.bottom()))
        return tiles if len(tiles) <= 1200 else []  # a degenerate view never floods the loader

    def paint(self, painter: QPainter, *_args) -> None:
        z = self.zoom_for(painter)
        self.last_zoom = z
        wanted = set()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        for _, x, y in self.visible_tiles(z):
            key = (self.sid, z, x, y)
            got = self.memory.get(key)
            if got is None:
                wanted.add(key)
                self.loader.request(self.source, key)
                self._draw_fallback(painter, z, x, y)
            elif isinstance(got, QImage):
                self.memory.move_to_end(key)
                self._draw(painter, got, z, x, y, QRectF(0, 0, got.width(), got.height()))
            else:  # missing or corrupt: a hatched square, so nobody mistakes it for empty land
                if not self._draw_fallback(painter, z, x, y):
                    xmin, ymin, xmax, ymax = T.tile_bounds_m(z, x, y)
                    painter.fillRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin), self.hatch)
        self.loader.retain_only(self.sid, wanted)

    def _draw(self, painter: QPainter, image: QImage, z: int, x: int, y: int, src: QRectF) -> None:
        xmin, _ymin, _xmax, ymax = T.tile_bounds_m(z, x, y)
        s = T.tile_size_m(z)
        painter.save()
        painter.translate(xmin, ymax)
        painter.scale(1, -1)  # image rows run north to south; the view's y runs up
        painter.drawImage(QRectF(0, 0, s, s), image, src)
        painter.restore()

    def _draw_fallback(self, painter: QPainter, z: int, x: int, y: int) -> bool:
        """Draw the part of an ancestor tile (up to 5 levels up) that covers this one."""
        for up in range(1, 6):
            pz = z - up
            if pz < 0:
                return False
            px, py = x >> up, y >> up
            got = self.memory.get((self.sid, pz, px, py))
            if isinstance(got, QImage):
                n = 1 << up
                w = got.width() / n
                src = QRectF((x - (px << up)) * w, (y - (py << up)) * w, w, w)
                self._draw(painter, got, z, x, y, src)
                return True
        return False


class TileMemory(collections.OrderedDict):
    """LRU of decoded tiles, trimmed as tiles arrive."""

    def __init__(self, limit: int = MEMORY_TILES):
        super().__init__()
        self.limit = limit

    def store(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


def missing_pen() -> QPen:
    return QPen(QColor(150, 150, 150), 0)
