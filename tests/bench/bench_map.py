"""The map: 100,000 point features panned and zoomed, tiles after a zoom step, memory.

    .venv/bin/python -m tests.bench.bench_map

Each figure is printed next to a baseline measured in the same run:
- frame time: our MapView (all its layers, boundaries, overlays) vs a bare pyqtgraph ViewBox holding
  one ScatterPlotItem of the same 100,000 points; both offscreen at 1200×800, each frame a forced
  full repaint (``grab()``) after a pan or zoom step;
- tiles: time from a zoom step until every tile of the view is drawn from an MBTiles file, vs raw
  sqlite3 + QImage.loadFromData + QPainter.drawImage of the same tiles on one thread;
- memory: RSS growth with 100,000 features, ours vs the bare scatter (each in a fresh process).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402

from tests.bench.common import report  # noqa: E402

N = 100_000
FRAMES = 12
SIZE = (1200, 800)
BBOX = (113.228, 23.111, 113.314, 23.162)


def points(n: int = N, seed: int = 7):
    rng = np.random.default_rng(seed)
    lon = rng.uniform(BBOX[0], BBOX[2], n)
    lat = rng.uniform(BBOX[1], BBOX[3], n)
    sev = rng.choice(["I", "II", "III", "IV"], n, p=[0.02, 0.08, 0.3, 0.6])
    return lon, lat, sev


def layer(lon, lat, sev):
    from app.services.maps.layers import PointLayer

    n = len(lon)
    return PointLayer("incident", [f"id{i}" for i in range(n)], lon.tolist(), lat.tolist(), sev.tolist(),
                      [f"事件{i}" for i in range(n)], ["reported"] * n)


def rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def ours_view(lon, lat, sev, clustering: bool):
    from app.ui.map.view import MapView

    view = MapView()
    view.resize(*SIZE)
    view.show()
    view.set_clustering(clustering)
    view.set_point_layer(layer(lon, lat, sev))
    view._pulse.stop()  # 100,000 open incidents: no pulse anyway (PULSE_MAX); keep timers out of the timing
    return view, view.vb, view


def bare_view(lon, lat, _sev):
    import pyqtgraph as pg

    from app.services.maps.gcj02 import to_mercator_arrays

    gv = pg.GraphicsView(background="#eef0ec")
    vb = pg.ViewBox(lockAspect=True, enableMenu=False)
    gv.setCentralItem(vb)
    x, y = to_mercator_arrays(lon, lat)
    sc = pg.ScatterPlotItem(x=x, y=y, pxMode=True, size=12, symbol="o", brush=pg.mkBrush("#2c7bb6"),
                            pen=pg.mkPen("#ffffff", width=1.2))
    vb.addItem(sc)
    gv.resize(*SIZE)
    gv.show()
    x0, y0 = to_mercator_arrays([BBOX[0]], [BBOX[1]])
    x1, y1 = to_mercator_arrays([BBOX[2]], [BBOX[3]])
    vb.setRange(xRange=(x0[0], x1[0]), yRange=(y0[0], y1[0]), padding=0.04)
    return gv, vb, gv


def frame_times(widget, vb, kind: str) -> float:
    a = app()
    for _ in range(2):  # warm-up: symbol atlases, glyph caches
        widget.grab()
    a.processEvents()
    times = []
    for i in range(FRAMES):
        t0 = time.perf_counter()
        if kind == "pan":
            r = vb.viewRect()
            vb.translateBy(x=r.width() * (0.03 if i % 2 == 0 else -0.03))
        else:
            f = 0.8 if (i // 3) % 2 == 0 else 1.25
            vb.scaleBy((f, f))
        widget.grab()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench_frames(rounds: int = 5) -> list[str]:
    """Bare and ours alternate, round after round, so the machine's load hits both alike; medians of rounds."""
    app()
    lon, lat, sev = points()
    bare_w, bare_vb, _ = bare_view(lon, lat, sev)
    view, vb, widget = ours_view(lon, lat, sev, clustering=False)
    x0, y0 = bare_vb.viewRect().topLeft().x(), bare_vb.viewRect().topLeft().y()
    home = bare_vb.viewRect()
    got: dict[str, list[float]] = {}
    for _ in range(rounds):
        for kind in ("pan", "zoom"):
            bare_vb.setRange(home, padding=0)
            got.setdefault(f"bare {kind}", []).append(frame_times(bare_w, bare_vb, kind))
            for clustering in (False, True):
                view.set_clustering(clustering)
                view.zoom_to_bbox(*BBOX)
                got.setdefault(f"ours {kind} {clustering}", []).append(frame_times(widget, vb, kind))
    del x0, y0
    med = {k: statistics.median(v) for k, v in got.items()}
    lines = []
    for kind in ("pan", "zoom"):
        lines.append(report(f"{kind} 100k points, every point drawn (ms/frame)", med[f"ours {kind} False"],
                            med[f"bare {kind}"], "ms", "bare pyqtgraph scatter"))
        lines.append(report(f"{kind} 100k points, clustered (ms/frame)", med[f"ours {kind} True"],
                            med[f"bare {kind}"], "ms", "bare pyqtgraph scatter"))
    view.close_loader()
    view.close()
    bare_w.close()
    return lines


def png_tile(rng) -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QImage

    arr = (rng.integers(0, 40, (256, 256, 4), dtype=np.uint8) + np.array([180, 190, 170, 0], dtype=np.uint8))
    arr[..., 3] = 255
    image = QImage(arr.tobytes(), 256, 256, QImage.Format.Format_RGBA8888).copy()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return bytes(buf.data())


def bench_tiles() -> list[str]:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    from app.services.maps import tiles as T
    from app.services.maps.sources import MBTilesSource
    from app.ui.map.view import MapView

    a = app()
    rng = np.random.default_rng(3)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.mbtiles"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
                     "tile_data BLOB, PRIMARY KEY (zoom_level, tile_column, tile_row))")
        pool = [png_tile(rng) for _ in range(16)]
        rows = [(z, x, (1 << z) - 1 - y, pool[(x * 7 + y) % 16])
                for z in range(12, 18) for _, x, y in T.tiles_in_bbox(z, *BBOX)]
        conn.executemany("INSERT INTO tiles VALUES (?,?,?,?)", rows)
        conn.commit()
        conn.close()
        view = MapView()
        view.resize(*SIZE)
        view.show()
        view.set_boundaries_visible(False)
        src = MBTilesSource(path)
        view.set_tile_sources([src])
        centre = ((BBOX[0] + BBOX[2]) / 2, (BBOX[1] + BBOX[3]) / 2)
        fills, raws = [], []
        for step in range(4):
            view.tile_memory.clear()
            view.centre_on(*centre, span_m=6000 if step % 2 == 0 else 5000)
            view.grab()
            while view.tiles_pending():
                a.processEvents()
            view.tile_memory.clear()
            t0 = time.perf_counter()
            view.zoom_by(0.5)  # the zoom step
            view.grab()
            while view.tiles_pending():
                a.processEvents()
            view.grab()
            fills.append(time.perf_counter() - t0)
            # baseline: the same tiles, raw sqlite3 + decode + draw on one thread
            item = view.tile_items[0]
            z = item.last_zoom
            wanted = item.visible_tiles(z)
            t0 = time.perf_counter()
            c = sqlite3.connect(path)
            canvas = QImage(*SIZE, QImage.Format.Format_ARGB32_Premultiplied)
            painter = QPainter(canvas)
            for i, (zz, x, y) in enumerate(wanted):
                data = c.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                                 (zz, x, (1 << zz) - 1 - y)).fetchone()[0]
                img = QImage()
                img.loadFromData(data)
                painter.drawImage(QRectF((i % 8) * 150, (i // 8) * 100, 256, 256), img)
            painter.end()
            c.close()
            raws.append(time.perf_counter() - t0)
        lines.append(report(f"fill view from MBTiles after zoom ({len(wanted)} tiles, ms)",
                            statistics.median(fills) * 1000, statistics.median(raws) * 1000, "ms",
                            "raw sqlite3+decode+draw, 1 thread"))
        view.close_loader()
        src.close()
    return lines


def mem_child(which: str) -> None:
    """RSS growth from an empty, painted map to the same map holding 100,000 features (imports, fonts and
    the district's boundaries are loaded before the first reading, on both sides)."""
    a = app()
    lon, lat, sev = points()
    empty = np.zeros(0)
    if which == "ours":
        view, _vb, w = ours_view(empty, empty, np.zeros(0, dtype=object), clustering=False)
        view.zoom_to_bbox(*BBOX)
    else:
        w, _vb, _ = bare_view(empty, empty, None)
    w.grab()
    a.processEvents()
    before = rss_kb()
    if which == "ours":
        data = layer(lon, lat, sev)
        del lon, lat, sev
        view.set_point_layer(data)
        del data  # the view keeps what it needs
    else:
        import pyqtgraph as pg

        from app.services.maps.gcj02 import to_mercator_arrays

        x, y = to_mercator_arrays(lon, lat)
        del lon, lat, sev
        sc = pg.ScatterPlotItem(x=x, y=y, pxMode=True, size=12, symbol="o", brush=pg.mkBrush("#2c7bb6"),
                                pen=pg.mkPen("#ffffff", width=1.2))
        _vb.addItem(sc)
        del x, y
    w.grab()
    a.processEvents()
    print(rss_kb() - before)


def bench_memory() -> list[str]:
    def run(which: str) -> float:
        out = subprocess.run([sys.executable, "-m", "tests.bench.bench_map", "--mem", which], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).resolve().parents[2])
        return int(out.stdout.strip().splitlines()[-1]) / 1024

    ours, bare = run("ours"), run("bare")
    return [report("RSS growth with 100k point features (MB)", ours, bare, "MB", "bare pyqtgraph scatter")]


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--mem":
        mem_child(sys.argv[2])
        return 0
    lines = bench_frames() + bench_tiles() + bench_memory()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
