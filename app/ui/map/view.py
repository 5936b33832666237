"""The map canvas: a pyqtgraph ViewBox in Web Mercator metres (aspect locked), with base tiles,
the vector district base, point layers with clustering and labels, warning areas, tools and
overlays (scale bar, coordinate readout, "as of", legend).

Coordinates are stored WGS-84. When the top base map declares GCJ-02, every feature is shifted
into that frame for display (``frame``), and the readout shifts back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QVBoxLayout, QWidget

from app.domain import geo
from app.services.maps import gcj02
from app.services.maps import tiles as T
from app.services.maps.boundaries import load_boundaries
from app.services.maps.layers import AreaLayer, PointLayer
from app.services.maps.sources import TileSource
from app.ui import i18n
from app.ui.i18n import tr
from app.ui.map import style as S
from app.ui.map.tiles import TileLayerItem, TileLoader, TileMemory

log = logging.getLogger(__name__)

MIN_SPAN_M = 120.0  # closest zoom: about a street block across the view
MAX_SPAN_M = 4_000_000.0  # farthest: the whole of southern China
CLUSTER_PX = 32  # points closer than this on screen merge into one bubble…
CLUSTER_MIN = 3  # …when there are at least this many of them
CLUSTER_BELOW_ZOOM = 16  # closer than this every point is drawn on its own
LABEL_MAX_MPP = 2.5  # labels appear below this many metres per pixel
PULSE_MAX = 400  # more open incidents drawn than this: a steady ring instead of a pulse
HALO_MAX = 2000  # more than this: no ring at all
PULSE_MAX_DRAWN = 15_000  # more points than this on screen: the rings stop pulsing (each step repaints)
BACKGROUND = "#eef0ec"


def project(lon, lat, frame: str = "wgs84") -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if frame == "gcj02":
        lon, lat = gcj02.wgs84_to_gcj02_arrays(lon, lat)
    return gcj02.to_mercator_arrays(lon, lat)


class TextLabels(pg.GraphicsObject):
    """Many short texts at map points, drawn in screen pixels (only those in view, capped)."""

    def __init__(self, colour: str = "#1d1d1d", halo: str = "#ffffff", centred: bool = False, cap: int = 300):
        super().__init__()
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.texts: list[str] = []
        self.colour, self.halo, self.centred, self.cap = QColor(colour), QColor(halo), centred, cap
        self.font = QFont()
        self.offset = QPointF(9, 4)
        self.setZValue(50)

    def set(self, x: np.ndarray, y: np.ndarray, texts: list[str]) -> None:
        self.prepareGeometryChange()
        self.x, self.y, self.texts = np.asarray(x), np.asarray(y), list(texts)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(-T.HALF_WORLD, -T.HALF_WORLD, T.WORLD_M, T.WORLD_M)

    def paint(self, painter: QPainter, *_args) -> None:
        vb = self.getViewBox()
        if vb is None or not len(self.x):
            return
        r = vb.viewRect()
        inside = np.flatnonzero((self.x >= r.left()) & (self.x <= r.right()) & (self.y >= r.top())
                                & (self.y <= r.bottom()))[: self.cap]
        if not len(inside):
            return
        t = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setFont(self.font)
        fm = painter.fontMetrics()
        halo, colour = QPen(self.halo), QPen(self.colour)
        d = max(1.0, fm.height() / 14)
        shifts = [QPointF(dx * d, dy * d) for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1))]
        for i in inside:
            p = t.map(QPointF(self.x[i], self.y[i]))
            text = self.texts[i]
            if self.centred:
                p = QPointF(p.x() - fm.horizontalAdvance(text) / 2, p.y() + fm.ascent() / 2 - 1)
            else:
                p = p + self.offset
            painter.setPen(halo)  # a halo from shifted copies: glyph-cached, far cheaper than stroking paths
            for s in shifts:
                painter.drawText(p + s, text)
            painter.setPen(colour)
            painter.drawText(p, text)
        painter.restore()


class PointLayerView:
    """One store layer on the map: a scatter per style key (pre-built brushes), clusters when zoomed out."""

    def __init__(self, vb: pg.ViewBox, style: S.LayerStyle, z: float):
        self.vb, self.style, self.z = vb, style, z
        self.data: PointLayer | None = None
        self.mx = np.zeros(0)
        self.my = np.zeros(0)
        self.lon = np.zeros(0)
        self.lat = np.zeros(0)
        self.ids = np.zeros(0, dtype=object)
        self.codes = np.zeros(0, dtype=object)
        self.rank = np.zeros(0, dtype=np.int16)
        self.stale = np.zeros(0, dtype=bool)  # drawn faded (ANCHORS 4.9); set by the panel
        self.visible = style.visible
        self.clustering = True
        self.scale = 1.0
        self.groups: dict[str, pg.ScatterPlotItem] = {}
        self.cluster_item = pg.ScatterPlotItem(pxMode=True, symbol=style.symbol)
        self.cluster_item.setZValue(z + 0.5)
        self.cluster_text = TextLabels("#ffffff", "#333333", centred=True, cap=500)
        self.cluster_text.setZValue(z + 0.6)
        self.labels = TextLabels()
        self.labels.setZValue(z + 0.7)
        for item in (self.cluster_item, self.cluster_text, self.labels):
            vb.addItem(item, ignoreBounds=True)
        self._cell: float | None = None
        self.single_idx = np.zeros(0, dtype=np.int64)
        self.cluster_members: list[np.ndarray] = []
        self.cluster_xy = (np.zeros(0), np.zeros(0))

    def set_data(self, data: PointLayer, frame: str) -> None:
        self.data = data
        self.lon = np.asarray(data.lon, dtype=float)
        self.lat = np.asarray(data.lat, dtype=float)
        data.lon, data.lat = self.lon, self.lat  # one copy of the coordinates, as arrays (100k floats boxed: 5 MB)
        self.mx, self.my = project(self.lon, self.lat, frame)
        self.ids = np.asarray(data.ids, dtype=object)
        self.codes = np.asarray(data.style, dtype=object)
        ranks = {c: i for i, (c, _) in enumerate(self.style.colours)}
        if len(self.codes):
            uniq, inverse = np.unique(self.codes.astype(str), return_inverse=True)  # a handful of codes: no loop
            self.rank = np.array([ranks.get(c, len(ranks)) for c in uniq], dtype=np.int16)[inverse]
        else:
            self.rank = np.zeros(0, dtype=np.int16)
        self.stale = np.zeros(len(self.ids), dtype=bool)
        self._cell = None

    def set_stale(self, mask) -> bool:
        """Which points are stale; True if that changed (the caller then redraws)."""
        mask = np.asarray(mask, dtype=bool)
        if len(mask) != len(self.ids):
            mask = np.zeros(len(self.ids), dtype=bool)
        if np.array_equal(mask, self.stale):
            return False
        self.stale = mask
        self._cell = None
        return True

    def stale_count(self) -> int:
        return int(self.stale.sum())

    def reproject(self, frame: str) -> None:
        if self.data is not None:
            self.mx, self.my = project(self.lon, self.lat, frame)
            self._cell = None

    def index_of(self, record_id: str) -> int | None:
        hits = np.flatnonzero(self.ids == record_id)
        return int(hits[0]) if len(hits) else None

    # ---- drawing ---------------------------------------------------------------------------
    def refresh(self, mpp: float, force: bool = False) -> None:
        """Recompute what is drawn for this scale (metres per pixel); a pan alone costs nothing."""
        if not self.visible or self.data is None:
            self._show(np.zeros(0, dtype=np.int64), [], force=True)
            self.labels.set([], [], [])
            return
        zoom = T.zoom_for_resolution(mpp)
        if self.clustering and zoom < CLUSTER_BELOW_ZOOM and len(self.mx) > 1:
            cell = 2.0 ** math.ceil(math.log2(CLUSTER_PX * mpp))  # power of two: stable while zooming a little
        else:
            cell = 0.0
        if cell != self._cell or force:
            self._cell = cell
            if cell:
                singles, clusters = self._cluster(cell)
            else:
                singles, clusters = np.arange(len(self.mx)), []
            self._show(singles, clusters, force=True)
        if (mpp <= LABEL_MAX_MPP or self.style.always_label) and self.data is not None:
            idx = self.single_idx
            self.labels.set(self.mx[idx], self.my[idx], [self.data.label[i] for i in idx])
        else:
            self.labels.set([], [], [])

    def _cluster(self, cell: float) -> tuple[np.ndarray, list[np.ndarray]]:
        gx = np.floor(self.mx / cell).astype(np.int64)
        gy = np.floor(self.my / cell).astype(np.int64)
        keys = gx * 4_000_003 + gy
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        per_point = counts[inverse]
        singles = np.flatnonzero(per_point < CLUSTER_MIN)
        multi = np.flatnonzero(per_point >= CLUSTER_MIN)
        if not len(multi):
            return singles, []
        order = multi[np.argsort(inverse[multi], kind="stable")]
        bounds = np.flatnonzero(np.diff(inverse[order])) + 1
        return singles, np.split(order, bounds)

    def _show(self, singles: np.ndarray, clusters: list[np.ndarray], force: bool = False) -> None:
        self.single_idx = singles
        self.cluster_members = clusters
        s = self.style
        size = s.size * self.scale
        by_code: dict[str, np.ndarray] = {}  # "code" (fresh) or "code~stale" (faded)
        if len(singles):
            codes = self.codes[singles]
            stale = self.stale[singles] if len(self.stale) == len(self.codes) else np.zeros(len(singles), dtype=bool)
            for code in set(codes.tolist()):
                same = codes == code
                fresh, old = singles[same & ~stale], singles[same & stale]
                if len(fresh):
                    by_code[code] = fresh
                if len(old):
                    by_code[f"{code}~stale"] = old
        for code in list(self.groups):
            if code not in by_code:
                self.groups[code].setData(x=[], y=[])
        for key, idx in by_code.items():
            item = self.groups.get(key)
            if item is None:
                code, _, faded = key.partition("~")
                if faded:  # under the fresh ones of any colour: what is known now is on top
                    item = pg.ScatterPlotItem(pxMode=True, symbol=s.symbol, size=size,
                                              brush=S.brush(s.colour(code), S.STALE_ALPHA),
                                              pen=S.pen(S.STALE_OUTLINE, 1.2 * self.scale, 200))
                    item.setZValue(self.z - 0.05)
                else:
                    item = pg.ScatterPlotItem(pxMode=True, symbol=s.symbol, size=size,
                                              brush=S.brush(s.colour(code)), pen=S.pen(s.outline, 1.2 * self.scale))
                    item.setZValue(self.z + 0.1 * (len(s.colours) - s.rank(code)) / max(1, len(s.colours)))
                self.vb.addItem(item, ignoreBounds=True)
                self.groups[key] = item
            item.setData(x=self.mx[idx], y=self.my[idx], size=size, symbol=s.symbol)
        if clusters:
            cx = np.array([self.mx[m].mean() for m in clusters])
            cy = np.array([self.my[m].mean() for m in clusters])
            counts = np.array([len(m) for m in clusters])
            worst = [int(self.rank[m].min()) for m in clusters]
            colours = [s.colours[w][1] if w < len(s.colours) else "#7f7f7f" for w in worst]
            sizes = (20 + 8 * np.log10(counts)) * self.scale
            self.cluster_item.setData(x=cx, y=cy, size=sizes, brush=[S.brush(c, 225) for c in colours],
                                      pen=S.pen(S.OUTLINE, 1.5 * self.scale))
            self.cluster_text.set(cx, cy, [f"{n:,}" if n < 10000 else f"{n // 1000}k" for n in counts])
            self.cluster_xy = (cx, cy)
        else:
            self.cluster_item.setData(x=[], y=[])
            self.cluster_text.set([], [], [])
            self.cluster_xy = (np.zeros(0), np.zeros(0))

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        font = QFont()
        font.setPointSizeF(font.pointSizeF() * scale)
        self.labels.font = font
        bold = QFont(font)
        bold.setBold(True)
        self.cluster_text.font = bold
        self.labels.offset = QPointF(9 * scale, 4 * scale)
        for key, item in self.groups.items():
            item.setPen(S.pen(S.STALE_OUTLINE, 1.2 * scale, 200) if key.endswith("~stale")
                        else S.pen(self.style.outline, 1.2 * scale))
        self._cell = None

    def hit(self, x: float, y: float, tol_m: float) -> tuple[str, object] | None:
        """('point', index) or ('cluster', members) nearest to (x, y) within tol_m metres."""
        if not self.visible or self.data is None:
            return None
        best = None
        if len(self.single_idx):
            d = np.hypot(self.mx[self.single_idx] - x, self.my[self.single_idx] - y)
            k = int(np.argmin(d))
            if d[k] <= tol_m:
                best = (float(d[k]), ("point", int(self.single_idx[k])))
        cx, cy = self.cluster_xy
        if len(cx):
            d = np.hypot(cx - x, cy - y)
            k = int(np.argmin(d))
            if d[k] <= tol_m * 1.6 and (best is None or d[k] < best[0]):
                best = (float(d[k]), ("cluster", self.cluster_members[k]))
        return best[1] if best else None


class ScaleBar(QWidget):
    """A bar of a round length (1, 2 or 5 × 10ⁿ metres) for the current scale at the view's centre."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.ground_mpp = 1.0
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def set_mpp(self, ground_mpp: float) -> None:
        self.ground_mpp = ground_mpp
        self.update()

    def bar(self, max_px: float) -> tuple[float, str]:
        metres = max_px * self.ground_mpp
        if metres <= 0 or not math.isfinite(metres):
            return 0.0, ""
        p = 10 ** math.floor(math.log10(metres))
        nice = max(m * p for m in (1, 2, 5) if m * p <= metres)
        text = f"{nice / 1000:g} km" if nice >= 1000 else f"{nice:g} m"
        return nice / self.ground_mpp, text

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        em = self.fontMetrics().height()
        px, text = self.bar(self.width() - em)
        if not px:
            return
        x0, y0 = em * 0.3, self.height() - em * 0.4
        painter.fillRect(QRectF(0, 0, px + em * 0.6 + self.fontMetrics().horizontalAdvance(text) * 0, self.height()),
                         QColor(255, 255, 255, 190))
        pen = QPen(QColor("#222222"), max(2.0, em / 8))
        painter.setPen(pen)
        painter.drawLine(QPointF(x0, y0), QPointF(x0 + px, y0))
        painter.drawLine(QPointF(x0, y0), QPointF(x0, y0 - em * 0.4))
        painter.drawLine(QPointF(x0 + px, y0), QPointF(x0 + px, y0 - em * 0.4))
        painter.drawText(QRectF(x0, 0, px, y0 - em * 0.45), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()


class Legend(QWidget):
    """What each colour means, for the visible layers; included in exported views."""

    def __init__(self, parent: QWidget):
        super().__init__(parent, objectName="mapLegend")
        self.entries: list[tuple[str, list[tuple[str, str, str]]]] = []  # (layer, [(symbol, colour, text)])
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def set_entries(self, entries) -> None:
        self.entries = entries
        self.adjustSize()
        self.update()

    def sizeHint(self):  # noqa: N802
        from PySide6.QtCore import QSize

        fm = self.fontMetrics()
        em = fm.height()
        lines = sum(1 + len(items) for _, items in self.entries)
        widths = [fm.horizontalAdvance(t) + em * 1.6 for _, items in self.entries for _, _, t in items]
        widths += [fm.horizontalAdvance(name) for name, _ in self.entries]
        return QSize(int(max(widths, default=0) + em), int(lines * em * 1.15 + em * 0.6))

    def paintEvent(self, _event) -> None:  # noqa: N802
        if not self.entries:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(255, 255, 255, 215))
        fm = self.fontMetrics()
        em = fm.height()
        y = em * 0.3
        bold = QFont(self.font())
        bold.setBold(True)
        for name, items in self.entries:
            painter.setFont(bold)
            painter.setPen(QColor("#111111"))
            painter.drawText(QPointF(em * 0.4, y + fm.ascent()), name)
            y += em * 1.15
            painter.setFont(self.font())
            for symbol, colour, text in items:
                r = em * 0.32
                c = QPointF(em * 0.8, y + em * 0.5)
                painter.setPen(QPen(QColor("#ffffff"), 1))
                painter.setBrush(QColor(colour))
                if symbol in ("s", "area"):
                    painter.drawRect(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r))
                elif symbol == "d":
                    painter.drawPolygon([c + QPointF(0, -r * 1.3), c + QPointF(r * 1.3, 0), c + QPointF(0, r * 1.3),
                                         c + QPointF(-r * 1.3, 0)])
                elif symbol == "star":
                    pts = []
                    for k in range(10):
                        a = math.pi / 2 + k * math.pi / 5
                        rr = r * 1.45 if k % 2 == 0 else r * 0.6
                        pts.append(c + QPointF(rr * math.cos(a), -rr * math.sin(a)))
                    painter.drawPolygon(pts)
                elif symbol == "t1":
                    painter.drawPolygon([c + QPointF(0, -r * 1.2), c + QPointF(r * 1.2, r), c + QPointF(-r * 1.2, r)])
                else:
                    painter.drawEllipse(c, r * 1.1, r * 1.1)
                painter.setPen(QColor("#222222"))
                painter.drawText(QPointF(em * 1.5, y + fm.ascent()), text)
                y += em * 1.15
        painter.end()


class MapView(QWidget):
    """The map canvas and its overlays. Layers are filled by the panel (``set_point_layer`` …)."""

    feature_clicked = Signal(str, str)  # (layer key, record id)
    overlay_clicked = Signal(str, int)  # (overlay name, feature index)
    context_requested = Signal(float, float, object)  # (lon, lat, global QPoint)
    tool_result = Signal(str, object)  # (tool, {"points": [(lon, lat)…], "length_m"/"area_m2"/"radius_m"})
    cursor_moved = Signal(float, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="mapView")
        self.frame = "wgs84"
        self.scale = 1.0
        self.gv = pg.GraphicsView(self, background=BACKGROUND)
        self.gv.setAntialiasing(True)
        self.gv.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.vb = pg.ViewBox(lockAspect=True, enableMenu=False, invertY=False, defaultPadding=0.02)
        self.gv.setCentralItem(self.vb)
        self.vb.setLimits(xMin=-T.HALF_WORLD, xMax=T.HALF_WORLD, yMin=-T.HALF_WORLD, yMax=T.HALF_WORLD,
                          minXRange=MIN_SPAN_M, minYRange=MIN_SPAN_M / 3, maxXRange=MAX_SPAN_M, maxYRange=MAX_SPAN_M)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.gv)

        self.loader = TileLoader(self)
        self.tile_memory = TileMemory()
        self.loader.loaded.connect(self.tile_memory.store)  # connected first: the items repaint after
        self.tile_items: list[TileLayerItem] = []
        self.boundary_items: dict[str, pg.PlotCurveItem] = {}
        self.boundary_labels = {"street": TextLabels("#3b3b6b", centred=True, cap=60),
                                "community": TextLabels("#6b6b6b", centred=True, cap=120)}
        for item in self.boundary_labels.values():
            self.vb.addItem(item, ignoreBounds=True)
        self.show_boundaries = True
        self.layers: dict[str, PointLayerView] = {}
        for z, s in enumerate(S.LAYERS):
            if s.key in S.POINT_LAYERS:
                self.layers[s.key] = PointLayerView(self.vb, s, 55 if s.on_top else 20 + 2 * z)
        self.area_items: list[QGraphicsPathItem] = []
        self.area_data: AreaLayer | None = None
        self.areas_visible = True
        self.overlays: list[tuple[str, list[dict], list[QGraphicsPathItem | pg.ScatterPlotItem]]] = []
        self.halo = pg.ScatterPlotItem(pxMode=True, symbol="o", brush=None)
        self.halo.setZValue(60)
        self.vb.addItem(self.halo, ignoreBounds=True)
        self.highlight = pg.ScatterPlotItem(pxMode=True, symbol="o", size=30, brush=None,
                                            pen=S.pen("#00e5ff", 3.5))
        self.highlight.setZValue(70)
        self.vb.addItem(self.highlight, ignoreBounds=True)
        self.tool_curve = pg.PlotCurveItem(pen=S.pen("#c2185b", 2.5), fillLevel=None)
        self.tool_curve.setZValue(80)
        self.tool_dots = pg.ScatterPlotItem(pxMode=True, size=8, brush=S.brush("#c2185b"), pen=S.pen("#ffffff"))
        self.tool_dots.setZValue(81)
        for item in (self.tool_curve, self.tool_dots):
            self.vb.addItem(item, ignoreBounds=True)
        self.tool: str | None = None
        self.tool_points: list[tuple[float, float]] = []  # lon, lat (WGS-84)
        self._last_tool: str | None = None
        self._last_measure: dict = {}
        self._selected: tuple[str | None, tuple[str, ...]] = (None, ())
        self.stale_notes: dict[str, str] = {}  # layer -> legend text for its faded points (set by the panel)
        self._halo_token: tuple | None = None
        self.pulse_phase = 0.0
        self._pulse = QTimer(self, interval=90, timeout=self._pulse_step)
        self._pulse.start()

        # overlays on top of the canvas
        self.scale_bar = ScaleBar(self)
        self.coords = QLabel(self, objectName="mapCoords")
        self.as_of = QLabel(self, objectName="mapAsOf")
        self.tool_label = QLabel(self, objectName="mapToolLabel")
        self.legend = Legend(self)
        for label in (self.coords, self.as_of, self.tool_label):
            label.setStyleSheet("background: rgba(255,255,255,200); color: #111; padding: 2px 6px;")
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.tool_label.hide()
        self.card_overlay = QLabel(self, objectName="mapCardOverlay", wordWrap=True,
                                   textFormat=Qt.TextFormat.RichText)
        self.card_overlay.setStyleSheet("background: rgba(255,255,255,225); color: #111; padding: 4px 8px;")
        self.card_overlay.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                                  | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.card_overlay.hide()
        self._last_cursor: tuple[float, float] | None = None

        self.vb.sigRangeChanged.connect(self._on_range)
        self.auto_home = True  # keep the district framed on resize until the officer moves the map
        self.vb.sigRangeChangedManually.connect(self._moved_by_hand)
        self.gv.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.gv.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self._load_boundaries()
        self.zoom_to_bbox(*self.district_bbox())
        self.auto_home = True
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()

    # ---- geometry ----------------------------------------------------------------------
    def to_view(self, lon: float, lat: float) -> tuple[float, float]:
        x, y = project([lon], [lat], self.frame)
        return float(x[0]), float(y[0])

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        lon, lat = geo.from_mercator(x, y)
        if self.frame == "gcj02":
            lon, lat = gcj02.gcj02_to_wgs84(lon, lat)
        return lon, lat

    def mpp(self) -> float:
        """Metres (mercator) per logical pixel of the view."""
        w = self.vb.width()
        return self.vb.viewRect().width() / w if w > 0 else 1.0

    def zoom_level(self) -> float:
        return math.log2(T.WORLD_M / (T.TILE_PX * self.mpp()))

    def district_bbox(self) -> tuple[float, float, float, float]:
        from app.services.maps.boundaries import district_bbox

        return district_bbox()

    def zoom_to_bbox(self, west: float, south: float, east: float, north: float, pad: float = 0.04) -> None:
        self.auto_home = False
        x0, y0 = self.to_view(west, south)
        x1, y1 = self.to_view(east, north)
        if x1 - x0 < MIN_SPAN_M:
            cx = (x0 + x1) / 2
            x0, x1 = cx - MIN_SPAN_M * 2, cx + MIN_SPAN_M * 2
        if y1 - y0 < MIN_SPAN_M / 3:
            cy = (y0 + y1) / 2
            y0, y1 = cy - MIN_SPAN_M, cy + MIN_SPAN_M
        dx, dy = (x1 - x0) * pad, (y1 - y0) * pad
        x0, x1, y0, y1 = x0 - dx, x1 + dx, y0 - dy, y1 + dy
        w = self.vb.width()
        cover = self.legend.width() + self.fontMetrics().height() if self.legend.isVisible() else 0
        if w > 0 and 0 < cover < 0.4 * w:  # frame the area beside the legend, not under it
            span = (x1 - x0) * w / (w - cover)
            x0 = x1 - span
        self.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def centre_on(self, lon: float, lat: float, span_m: float | None = None) -> None:
        self.auto_home = False
        x, y = self.to_view(lon, lat)
        r = self.vb.viewRect()
        w = span_m or r.width()
        h = w * (r.height() / r.width() if r.width() else 1)
        self.vb.setRange(xRange=(x - w / 2, x + w / 2), yRange=(y - h / 2, y + h / 2), padding=0)

    def zoom_by(self, factor: float) -> None:
        """factor < 1 zooms in (0.5: twice as close)."""
        self.auto_home = False
        self.vb.scaleBy((factor, factor))

    def pan_by(self, fx: float, fy: float) -> None:
        self.auto_home = False
        r = self.vb.viewRect()
        self.vb.translateBy(x=r.width() * fx, y=r.height() * fy)

    # ---- base maps -----------------------------------------------------------------------
    def set_tile_sources(self, sources: Iterable[TileSource]) -> None:
        for item in self.tile_items:
            self.vb.removeItem(item)
            try:
                self.loader.loaded.disconnect(item._on_loaded)
            except (RuntimeError, TypeError):
                pass
        self.tile_items = []
        for i, src in enumerate(sources):
            item = TileLayerItem(src, self.loader, self.tile_memory)
            item.setZValue(-100 + i)
            self.vb.addItem(item, ignoreBounds=True)
            self.tile_items.append(item)
        frame = self.tile_items[-1].source.crs if self.tile_items else "wgs84"
        if frame != self.frame:
            self.set_frame(frame)

    def set_frame(self, frame: str) -> None:
        """Shift every feature into the base map's frame (records stay WGS-84)."""
        r = self.vb.viewRect()
        centre = self.to_lonlat(r.center().x(), r.center().y())
        self.frame = frame
        self._load_boundaries()
        for layer in self.layers.values():
            layer.reproject(frame)
        self._draw_areas()
        self._redraw_overlays()
        self.refresh_layers(force=True)
        self.centre_on(*centre)

    def tiles_pending(self) -> int:
        return self.loader.pending()

    # ---- vector base -----------------------------------------------------------------------
    def _load_boundaries(self) -> None:
        for item in self.boundary_items.values():
            self.vb.removeItem(item)
        self.boundary_items = {}
        try:
            bounds = load_boundaries()
        except (OSError, ValueError):
            log.exception("district boundaries unreadable")
            return
        pens = {"district": S.pen("#3f3f8f", 3.0), "street": S.pen("#5a5aa0", 1.6),
                "community": S.pen("#9a9ab8", 0.8, 200)}  # solid: a dashed pen costs 10× to draw
        for kind, zv in (("community", 5), ("street", 6), ("district", 7)):
            xs, ys = [], []
            for b in bounds:
                if b.kind != kind:
                    continue
                for ring in b.rings:
                    x, y = project([p[0] for p in ring], [p[1] for p in ring], self.frame)
                    xs += [x, [np.nan]]
                    ys += [y, [np.nan]]
            if not xs:
                continue
            item = pg.PlotCurveItem(np.concatenate(xs), np.concatenate(ys), pen=pens[kind], connect="finite")
            item.setZValue(zv)
            self.vb.addItem(item, ignoreBounds=True)
            self.boundary_items[kind] = item
            if kind in self.boundary_labels:
                names = [b for b in bounds if b.kind == kind]
                cx, cy = project([b.centroid[0] for b in names], [b.centroid[1] for b in names], self.frame)
                self.boundary_labels[kind].set(cx, cy, [b.name for b in names])
        self._update_boundary_visibility()

    def set_boundaries_visible(self, on: bool) -> None:
        self.show_boundaries = on
        self._update_boundary_visibility()

    def _update_boundary_visibility(self) -> None:
        zoom = self.zoom_level() if self.vb.width() > 0 else 13
        for kind, item in self.boundary_items.items():
            item.setVisible(self.show_boundaries and (kind != "community" or zoom >= 13.5))
        self.boundary_labels["street"].setVisible(self.show_boundaries and 12.5 <= zoom < 16)
        self.boundary_labels["community"].setVisible(self.show_boundaries and zoom >= 15.5)

    # ---- store layers --------------------------------------------------------------------
    def set_point_layer(self, data: PointLayer) -> None:
        layer = self.layers[data.key]
        layer.set_data(data, self.frame)
        layer.refresh(self.mpp(), force=True)
        self._update_halo()
        self._update_highlight()

    def set_stale(self, key: str, mask) -> None:
        """Draw these points of a layer faded (stale: not updated within the layer's threshold)."""
        layer = self.layers.get(key)
        if layer is not None and layer.set_stale(mask):
            layer.refresh(self.mpp(), force=True)

    def set_layer_visible(self, key: str, on: bool) -> None:
        if key == "warning":
            self.areas_visible = on
            for item in self.area_items:
                item.setVisible(on)
        elif key in self.layers:
            self.layers[key].visible = on
            self.layers[key].refresh(self.mpp(), force=True)
            self._update_halo()
        self.update_legend()

    def set_clustering(self, on: bool) -> None:
        for layer in self.layers.values():
            layer.clustering = on
        self.refresh_layers(force=True)

    def refresh_layers(self, force: bool = False) -> None:
        mpp = self.mpp()
        for layer in self.layers.values():
            layer.refresh(mpp, force=force)
        self._update_halo()

    def set_warning_areas(self, data: AreaLayer) -> None:
        self.area_data = data
        self._draw_areas()
        self.update_legend()

    def _draw_areas(self) -> None:
        for item in self.area_items:
            self.vb.removeItem(item)
        self.area_items = []
        data = self.area_data
        if data is None:
            return
        st = S.STYLES["warning"]
        for title, level, geometry in zip(data.title, data.level, data.geometry, strict=True):
            item = QGraphicsPathItem(self._path(geometry))
            colour = st.colour(level)
            item.setBrush(S.brush(colour, 38))
            item.setPen(S.pen(colour, 2.0))
            item.setZValue(10 + st.rank("blue") - st.rank(level))
            item.setToolTip(title)
            item.setVisible(self.areas_visible)
            self.vb.addItem(item, ignoreBounds=True)
            self.area_items.append(item)

    def _path(self, geometry: dict) -> QPainterPath:
        path = QPainterPath()
        path.setFillRule(Qt.FillRule.OddEvenFill)
        polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for poly in polys:
            for ring in poly:
                x, y = project([p[0] for p in ring], [p[1] for p in ring], self.frame)
                path.moveTo(x[0], y[0])
                for i in range(1, len(x)):
                    path.lineTo(x[i], y[i])
                path.closeSubpath()
        return path

    # ---- imported overlays -----------------------------------------------------------------
    def add_overlay(self, name: str, features: list[dict], colour: str = "#6a1b9a") -> int:
        self.overlays.append((name, features, []))
        self._draw_overlay(len(self.overlays) - 1, colour)
        return len(self.overlays) - 1

    def remove_overlay(self, index: int) -> None:
        _, _, items = self.overlays[index]
        for item in items:
            self.vb.removeItem(item)
        self.overlays[index] = (self.overlays[index][0], [], [])

    def _draw_overlay(self, index: int, colour: str = "#6a1b9a") -> None:
        name, features, items = self.overlays[index]
        for item in items:
            self.vb.removeItem(item)
        items.clear()
        px, py = [], []
        for f in features:
            g = f["geometry"]
            kind, coords = g["type"], g["coordinates"]
            if kind == "Point":
                px.append(coords[0])
                py.append(coords[1])
            elif kind == "MultiPoint":
                px += [c[0] for c in coords]
                py += [c[1] for c in coords]
            else:
                path = QPainterPath()
                lines = {"LineString": [coords], "MultiLineString": coords}.get(kind)
                if lines is not None:
                    for line in lines:
                        x, y = project([p[0] for p in line], [p[1] for p in line], self.frame)
                        path.moveTo(x[0], y[0])
                        for i in range(1, len(x)):
                            path.lineTo(x[i], y[i])
                    item = QGraphicsPathItem(path)
                    item.setBrush(Qt.BrushStyle.NoBrush)
                else:
                    item = QGraphicsPathItem(self._path(g))
                    item.setBrush(S.brush(colour, 45))
                item.setPen(S.pen(colour, 2.0))
                item.setZValue(15)
                self.vb.addItem(item, ignoreBounds=True)
                items.append(item)
        if px:
            x, y = project(px, py, self.frame)
            sc = pg.ScatterPlotItem(x=x, y=y, pxMode=True, size=9 * self.scale, symbol="star",
                                    brush=S.brush(colour), pen=S.pen("#ffffff"))
            sc.setZValue(16)
            self.vb.addItem(sc, ignoreBounds=True)
            items.append(sc)

    def _redraw_overlays(self) -> None:
        for i in range(len(self.overlays)):
            self._draw_overlay(i)

    # ---- selection, halo -------------------------------------------------------------------
    def select(self, key: str, ids: Iterable[str]) -> list[tuple[float, float]]:
        """Highlight these records; returns their (lon, lat) for centring."""
        self._selected = (key, tuple(ids))
        return self._update_highlight()

    def _update_highlight(self) -> list[tuple[float, float]]:
        key, ids = self._selected
        layer = self.layers.get(key) if key else None
        xs, ys, where = [], [], []
        if layer is not None:
            for rid in ids:
                i = layer.index_of(rid)
                if i is not None:
                    xs.append(layer.mx[i])
                    ys.append(layer.my[i])
                    where.append((float(layer.lon[i]), float(layer.lat[i])))
        self.highlight.setData(x=xs, y=ys, size=30 * self.scale, pen=S.pen("#00b8d4", 3.5 * self.scale))
        return where

    def _update_halo(self) -> None:
        """A ring round every open incident drawn on its own (not for huge numbers: the colour says enough)."""
        layer = self.layers.get("incident")
        idx = layer.single_idx if layer is not None and layer.visible and layer.data is not None else None
        if idx is not None and len(idx) > HALO_MAX:
            idx = None
        token = (id(idx), len(idx) if idx is not None else -1, self.frame, self.scale)
        if token == self._halo_token:
            return
        self._halo_token = token
        if idx is None or not len(idx):
            self.halo.setData(x=[], y=[])
            return
        self.halo.setData(x=layer.mx[idx], y=layer.my[idx], size=self._halo_size(), brush=None,
                          pen=S.pen("#d7191c", 2 * self.scale, 170))

    def _halo_size(self) -> float:
        return (16 + 12 * self.pulse_phase) * self.scale

    def _pulse_step(self) -> None:
        n = len(self.halo.data)
        if not n or n > PULSE_MAX or not self.isVisible():
            return
        # Each step repaints the view: with a heavy picture on screen the ring stays still instead.
        drawn = sum(len(layer.single_idx) for layer in self.layers.values() if layer.visible)
        if drawn > PULSE_MAX_DRAWN:
            return
        self.pulse_phase = (self.pulse_phase + 0.08) % 1.0
        alpha = int(200 * (1 - self.pulse_phase))
        self.halo.setSize(self._halo_size())
        self.halo.setPen(S.pen("#d7191c", 2 * self.scale, max(alpha, 10)))

    # ---- tools ------------------------------------------------------------------------------
    def start_tool(self, tool: str | None) -> None:
        """tool: "distance", "area", "polygon", "circle" or None (off)."""
        self.tool = tool
        self.tool_points = []
        self._draw_tool()
        self.tool_label.setVisible(bool(tool))
        self._tool_text()
        self.gv.setCursor(Qt.CursorShape.CrossCursor if tool else Qt.CursorShape.ArrowCursor)

    def add_tool_point(self, lon: float, lat: float) -> None:
        if not self.tool:
            return
        self.tool_points.append((lon, lat))
        if self.tool == "circle" and len(self.tool_points) == 2:
            self.finish_tool()
            return
        self._draw_tool()
        self._tool_text()

    def finish_tool(self) -> None:
        if not self.tool:
            return
        result = self.tool_measure()
        tool = self.tool
        self._draw_tool(closed=tool in ("area", "polygon", "circle"))
        self._tool_text(final=True)
        self.tool_result.emit(tool, result)
        self.tool = None
        self.gv.setCursor(Qt.CursorShape.ArrowCursor)

    def tool_measure(self) -> dict:
        from app.services.maps import spatial

        pts = list(self.tool_points)
        out: dict = {"points": pts}
        if self.tool == "distance":
            out["length_m"] = spatial.path_length_m(pts)
        elif self.tool in ("area", "polygon"):
            out["area_m2"] = spatial.polygon_area_m2(pts)
            out["length_m"] = spatial.path_length_m([*pts, pts[0]] if pts else [])
        elif self.tool == "circle" and len(pts) >= 2:
            out["radius_m"] = geo.haversine_m(*pts[0], *pts[1])
        return out

    def tool_polygon(self) -> list[tuple[float, float]]:
        """The drawn shape as a ring of (lon, lat) (a circle as 64 points)."""
        pts = self.tool_points
        if self.tool_kind() == "circle" and len(pts) >= 2:
            r = geo.haversine_m(*pts[0], *pts[1])
            lon0, lat0 = pts[0]
            dlat = math.degrees(r / geo.EARTH_RADIUS_M)
            dlon = dlat / math.cos(math.radians(lat0))
            return [(lon0 + dlon * math.cos(a), lat0 + dlat * math.sin(a))
                    for a in np.linspace(0, 2 * math.pi, 65)]
        return list(pts)

    def tool_kind(self) -> str | None:
        return self._last_tool if self.tool is None else self.tool

    def _draw_tool(self, closed: bool = False) -> None:
        if self.tool:
            self._last_tool = self.tool
        pts = self.tool_polygon() if self.tool_kind() == "circle" and len(self.tool_points) >= 2 else self.tool_points
        if closed and pts and self.tool_kind() != "circle":
            pts = [*pts, pts[0]]
        if pts:
            x, y = project([p[0] for p in pts], [p[1] for p in pts], self.frame)
            self.tool_curve.setData(x, y)
            dx, dy = project([p[0] for p in self.tool_points], [p[1] for p in self.tool_points], self.frame)
            self.tool_dots.setData(x=dx, y=dy)
        else:
            self.tool_curve.setData([], [])
            self.tool_dots.setData(x=[], y=[])

    def _tool_text(self, final: bool = False) -> None:
        tool = self.tool_kind() if final else self.tool
        if not tool:
            return
        m = self.tool_measure() if self.tool else self._last_measure
        self._last_measure = m
        hint = {"distance": tr("单击添加点，双击或回车结束，Esc 取消"),
                "area": tr("单击添加顶点，双击或回车结束，Esc 取消"),
                "polygon": tr("单击添加顶点，双击或回车结束，Esc 取消"),
                "circle": tr("单击圆心，再单击确定半径，Esc 取消")}[tool]
        parts = []
        if "length_m" in m and tool == "distance":
            parts.append(tr("距离 {d}").format(d=format_distance(m["length_m"])))
        if "area_m2" in m:
            parts.append(tr("面积 {a}").format(a=format_area(m["area_m2"])))
        if "radius_m" in m:
            parts.append(tr("半径 {d}").format(d=format_distance(m["radius_m"])))
        self.tool_label.setText(" · ".join(parts) if final and parts else " · ".join([*parts, hint]))
        self.tool_label.adjustSize()
        self.place_overlays()

    def clear_tool(self) -> None:
        self.tool = None
        self.tool_points = []
        self._draw_tool()
        self.tool_label.hide()
        self.gv.setCursor(Qt.CursorShape.ArrowCursor)

    # ---- events -------------------------------------------------------------------------------
    def _on_range(self, *_args) -> None:
        mpp = self.mpp()
        r = self.vb.viewRect()
        _, lat = self.to_lonlat(r.center().x(), r.center().y())
        self.scale_bar.set_mpp(mpp * math.cos(math.radians(lat)))
        for layer in self.layers.values():
            layer.refresh(mpp)
        self._update_halo()
        self._update_boundary_visibility()

    def _on_mouse_moved(self, pos) -> None:
        if not self.vb.sceneBoundingRect().contains(pos):
            return
        p = self.vb.mapSceneToView(pos)
        lon, lat = self.to_lonlat(p.x(), p.y())
        self._last_cursor = (lon, lat)
        self.coords.setText(format_lonlat(lon, lat))
        self.coords.adjustSize()
        self.place_overlays()
        self.cursor_moved.emit(lon, lat)

    def _on_mouse_clicked(self, ev) -> None:
        p = self.vb.mapSceneToView(ev.scenePos())
        lon, lat = self.to_lonlat(p.x(), p.y())
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if ev.button() == Qt.MouseButton.RightButton:
            if self.tool:
                self.finish_tool()
            else:
                self.context_requested.emit(lon, lat, ev.screenPos().toPoint())
            ev.accept()
            return
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        if self.tool:
            if ev.double():
                self.finish_tool()
            else:
                self.add_tool_point(lon, lat)
            ev.accept()
            return
        self.click_at(p.x(), p.y())

    def click_at(self, x: float, y: float) -> tuple[str, str] | None:
        """Select what lies under this view point (a cluster zooms in instead)."""
        tol = 10 * self.scale * self.mpp()
        for key in reversed(list(self.layers)):  # top layer first
            hit = self.layers[key].hit(x, y, tol)
            if hit is None:
                continue
            kind, what = hit
            layer = self.layers[key]
            if kind == "cluster":
                xs, ys = layer.mx[what], layer.my[what]
                self.vb.setRange(xRange=(xs.min(), xs.max()), yRange=(ys.min(), ys.max()), padding=0.3)
                return None
            rid = str(layer.ids[what])
            self.feature_clicked.emit(key, rid)
            return key, rid
        return None

    def keyPressEvent(self, event) -> None:  # noqa: N802
        k = event.key()
        step = 0.25 if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 0.05
        moves = {Qt.Key.Key_Left: (-step, 0), Qt.Key.Key_Right: (step, 0), Qt.Key.Key_Up: (0, step),
                 Qt.Key.Key_Down: (0, -step)}
        if k in moves:
            self.pan_by(*moves[k])
        elif k in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(0.5)
        elif k in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_by(2.0)
        elif k == Qt.Key.Key_Home:
            self.zoom_to_bbox(*self.district_bbox())
        elif k == Qt.Key.Key_Escape and self.tool:
            self.clear_tool()
        elif k in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.tool:
            self.finish_tool()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.auto_home:
            QTimer.singleShot(0, self._rehome)  # after the view box has its new size
        self.place_overlays()

    def _rehome(self) -> None:
        if self.auto_home:
            self.zoom_to_bbox(*self.district_bbox())
            self.auto_home = True  # zoom_to_bbox is not the officer's move

    def _moved_by_hand(self, *_args) -> None:
        self.auto_home = False

    def place_overlays(self) -> None:
        em = self.fontMetrics().height()
        m = int(em * 0.5)
        self.scale_bar.setGeometry(m, self.height() - int(em * 2.4) - m, int(em * 9), int(em * 2.4))
        self.coords.adjustSize()
        self.coords.move(self.width() - self.coords.width() - m, self.height() - self.coords.height() - m)
        self.as_of.adjustSize()
        self.as_of.move(self.width() - self.as_of.width() - m, m)
        hint = self.legend.sizeHint()
        self.legend.resize(hint)
        self.legend.move(m, m)
        # A narrow map (a slim dock) keeps its picture: the legend steps aside rather than cover half of it.
        self.legend.setVisible(hint.width() * 3.2 < self.width() and hint.height() < self.height() - 4 * em)
        if self.card_overlay.isVisible():
            w = min(self.width() - 2 * m, int(em * 18))
            self.card_overlay.setFixedWidth(w)
            self.card_overlay.setMinimumHeight(0)  # unpin the last card's height before measuring this one
            self.card_overlay.setMaximumHeight(16_777_215)
            self.card_overlay.setFixedHeight(self.card_overlay.heightForWidth(w))  # no blank band above the text
            self.card_overlay.move(m, self.height() - self.card_overlay.height() - int(em * 2.4) - 2 * m)
        self.tool_label.adjustSize()
        self.tool_label.move((self.width() - self.tool_label.width()) // 2, m)

    # ---- text ---------------------------------------------------------------------------------
    def set_as_of(self, text: str) -> None:
        self.as_of.setText(text)
        self.place_overlays()

    def update_legend(self) -> None:
        entries = []
        for s in reversed(S.LAYERS):
            on = self.areas_visible if s.key == "warning" else self.layers[s.key].visible
            if not on:
                continue
            sym = "area" if s.key == "warning" else s.symbol
            codes = s.colours if s.key != "incident_closed" else s.colours[:1]
            items = [(sym, colour, s.label(code) if s.key != "incident_closed" else tr("已结案/已撤销"))
                     for code, colour in codes]
            note = self.stale_notes.get(s.key)
            if note and s.key in self.layers and self.layers[s.key].stale_count():
                sample = s.colour(S.STALE_SAMPLE.get(s.key, s.colours[0][0]))
                items.append((sym, f"#{S.STALE_ALPHA + 40:02x}{sample[1:]}", note))
            entries.append((tr(s.name), items))
        self.legend.set_entries(entries)
        self.place_overlays()

    def retranslate(self) -> None:
        if self._last_cursor:
            self.coords.setText(format_lonlat(*self._last_cursor))
        else:
            self.coords.setText(tr("移动鼠标查看经纬度"))
        self.update_legend()
        self.place_overlays()

    def set_ui_scale(self, scale: float) -> None:
        """Symbols, labels and overlays larger (the 4K wall, the briefing display)."""
        self.scale = scale
        font = QFont(self.font())
        font.setPointSizeF(QFont().pointSizeF() * scale)
        for w in (self.scale_bar, self.coords, self.as_of, self.tool_label, self.legend):
            w.setFont(font)
        for layer in self.layers.values():
            layer.set_scale(scale)
        for lab in self.boundary_labels.values():
            lab.font = font
        self.refresh_layers(force=True)
        self._update_highlight()
        self.update_legend()

    # ---- export --------------------------------------------------------------------------------
    def render_image(self, scale: float = 1.0) -> QImage:
        """The view as drawn (tiles, layers, legend, scale bar, "as of"), ``scale`` × the widget's pixels."""
        image = QImage(int(self.width() * scale), int(self.height() * scale), QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(scale)
        image.fill(QColor(BACKGROUND))
        self.render(image)
        return image

    def close_loader(self) -> None:
        self.loader.close()


def format_lonlat(lon: float, lat: float) -> str:
    ew = tr("东经") if lon >= 0 else tr("西经")
    ns = tr("北纬") if lat >= 0 else tr("南纬")
    return tr("{ew} {lon}° {ns} {lat}°").format(ew=ew, lon=f"{abs(lon):.5f}", ns=ns, lat=f"{abs(lat):.5f}")


def format_distance(m: float) -> str:
    return f"{m / 1000:.2f} km" if m >= 1000 else f"{m:.0f} m"


def format_area(m2: float) -> str:
    return f"{m2 / 1e6:.3f} km²" if m2 >= 1e5 else f"{m2:,.0f} m²"
