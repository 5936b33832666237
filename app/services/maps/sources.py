"""Tile sources: MBTiles files (read-only) and an online XYZ URL behind a persistent SQLite cache.

Sources hand out encoded tile bytes (PNG/JPEG/WebP); decoding is the UI's job, on its tile
worker thread. Every source is safe to call from several threads (one lock per connection).
A source may declare its frame as GCJ-02 (``crs``); records stay WGS-84 and the map shifts
them for display.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from app.services.maps import tiles as T

log = logging.getLogger(__name__)

IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF", b"GIF8")
FETCH_TIMEOUT_S = 8.0
USER_AGENT = "CommandDesk/1 (offline tile cache)"


class TileSourceError(Exception):
    """A tile source that cannot be used, said in Chinese and English."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en

    def message(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def looks_like_image(data: bytes | None) -> bool:
    return bool(data) and any(data.startswith(m) for m in IMAGE_MAGIC)


@dataclasses.dataclass
class ZoomCompleteness:
    zoom: int
    expected: int
    present: int

    @property
    def missing(self) -> int:
        return self.expected - self.present


@dataclasses.dataclass
class Completeness:
    """Tiles expected over an area and zoom range, and how many the source holds."""

    levels: list[ZoomCompleteness]
    missing_sample: list[tuple[int, int, int]]  # (z, x, y) XYZ, at most 20

    @property
    def expected(self) -> int:
        return sum(level.expected for level in self.levels)

    @property
    def present(self) -> int:
        return sum(level.present for level in self.levels)

    @property
    def percent(self) -> float:
        return 100.0 * self.present / self.expected if self.expected else 100.0


class _TileDb:
    """A connection to an MBTiles-shaped SQLite file, shared by threads under a lock."""

    def __init__(self, path: Path, readonly: bool):
        self.path = path
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10)
        self.lock = threading.Lock()

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, T.tms_y(z, y))).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def count_in(self, z: int, x0: int, x1: int, y0: int, y1: int) -> int:
        ty0, ty1 = T.tms_y(z, y1), T.tms_y(z, y0)
        with self.lock:
            return self.conn.execute(
                "SELECT count(*) FROM tiles WHERE zoom_level=? AND tile_column BETWEEN ? AND ? "
                "AND tile_row BETWEEN ? AND ?", (z, x0, x1, ty0, ty1)).fetchone()[0]

    def present_in(self, z: int, x0: int, x1: int, y0: int, y1: int) -> set[tuple[int, int]]:
        ty0, ty1 = T.tms_y(z, y1), T.tms_y(z, y0)
        with self.lock:
            rows = self.conn.execute(
                "SELECT tile_column, tile_row FROM tiles WHERE zoom_level=? AND tile_column BETWEEN ? AND ? "
                "AND tile_row BETWEEN ? AND ?", (z, x0, x1, ty0, ty1)).fetchall()
        return {(c, T.tms_y(z, r)) for c, r in rows}

    def close(self) -> None:
        with self.lock:
            self.conn.close()


class TileSource:
    """Base: name, zoom range, frame; ``tile(z, x, y)`` gives bytes or None (no such tile)."""

    kind = "base"

    def __init__(self, name: str, *, crs: str = "wgs84", min_zoom: int = 0, max_zoom: int = 19,
                 bounds: tuple[float, float, float, float] | None = None):
        self.name = name
        self.crs = crs  # "wgs84" or "gcj02"
        self.min_zoom, self.max_zoom = min_zoom, max_zoom
        self.bounds = bounds  # west, south, east, north
        self.opacity = 1.0
        self.as_of: str | None = None  # when the tiles were made / fetched (ISO date), if known

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        raise NotImplementedError

    def completeness(self, bbox: tuple[float, float, float, float], zmin: int, zmax: int) -> Completeness:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _completeness(db: _TileDb, bbox: tuple[float, float, float, float], zmin: int, zmax: int) -> Completeness:
    west, south, east, north = bbox
    levels, sample = [], []
    for z in range(zmin, zmax + 1):
        x0, y0 = T.tile_of_lonlat(z, west, north)
        x1, y1 = T.tile_of_lonlat(z, east, south)
        expected = (x1 - x0 + 1) * (y1 - y0 + 1)
        present = db.count_in(z, x0, x1, y0, y1)
        levels.append(ZoomCompleteness(z, expected, present))
        if present < expected and len(sample) < 20 and expected <= 100_000:
            have = db.present_in(z, x0, x1, y0, y1)
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    if (x, y) not in have and len(sample) < 20:
                        sample.append((z, x, y))
    return Completeness(levels, sample)


class MBTilesSource(TileSource):
    """A raster MBTiles file, opened read-only and checked before use."""

    kind = "mbtiles"

    def __init__(self, path: Path | str, crs: str | None = None):
        path = Path(path)
        self.path = path
        if not path.is_file():
            raise TileSourceError(f"找不到底图文件：{path}", f"Base map file not found: {path}")
        with open(path, "rb") as fh:
            header = fh.read(16)
        if header != b"SQLite format 3\x00":
            raise TileSourceError(f"{path.name} 不是 MBTiles 底图文件（不是 SQLite 数据库）。",
                                  f"{path.name} is not an MBTiles base map (not an SQLite database).")
        try:
            self._db = _TileDb(path, readonly=True)
            names = {r[0] for r in self._db.conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table','view')")}
            if "tiles" not in names:
                raise TileSourceError(f"{path.name} 不是 MBTiles 底图文件（没有 tiles 表）。",
                                      f"{path.name} is not an MBTiles base map (no tiles table).")
            cols = {r[1] for r in self._db.conn.execute("PRAGMA table_info(tiles)")}
            if not {"zoom_level", "tile_column", "tile_row", "tile_data"} <= cols:
                raise TileSourceError(f"{path.name} 的 tiles 表缺少必要的列。",
                                      f"{path.name}: the tiles table lacks the MBTiles columns.")
            meta = dict(self._db.conn.execute("SELECT name, value FROM metadata").fetchall()) \
                if "metadata" in names else {}
            zooms = self._db.conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        except sqlite3.DatabaseError as e:
            raise TileSourceError(f"{path.name} 已损坏，无法读取：{e}",
                                  f"{path.name} is damaged and cannot be read: {e}") from e
        self.metadata = meta
        self.present_zooms = (zooms[0], zooms[1]) if zooms and zooms[0] is not None else None
        bounds = _parse_bounds(meta.get("bounds"))
        min_zoom = _int(meta.get("minzoom"), zooms[0] if zooms and zooms[0] is not None else 0)
        max_zoom = _int(meta.get("maxzoom"), zooms[1] if zooms and zooms[1] is not None else 19)
        declared = (crs or meta.get("crs") or meta.get("coordinate_system") or "wgs84").lower()
        super().__init__(meta.get("name") or path.stem, crs="gcj02" if "gcj" in declared else "wgs84",
                         min_zoom=min_zoom, max_zoom=max_zoom, bounds=bounds)
        self.as_of = meta.get("date") or meta.get("created") or time.strftime(
            "%Y-%m-%d", time.localtime(path.stat().st_mtime))
        self.format = meta.get("format", "png")

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        try:
            return self._db.tile(z, x, y)
        except sqlite3.DatabaseError as e:  # a damaged page: this tile is missing, the map goes on
            log.warning("mbtiles %s: tile %s/%s/%s unreadable: %s", self.path, z, x, y, e)
            return None

    def completeness(self, bbox, zmin, zmax) -> Completeness:
        return _completeness(self._db, bbox, zmin, zmax)

    def close(self) -> None:
        self._db.close()


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _parse_bounds(text: str | None) -> tuple[float, float, float, float] | None:
    try:
        w, s, e, n = (float(v) for v in (text or "").split(","))
    except ValueError:
        return None
    if -180 <= w < e <= 180 and -90 <= s < n <= 90:
        return w, s, e, n
    return None


class TileCache:
    """A persistent tile cache in MBTiles layout (so the file is itself a usable MBTiles)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = _TileDb(self.path, readonly=False)
        with self._db.lock:
            c = self._db.conn
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("CREATE TABLE IF NOT EXISTS metadata (name TEXT PRIMARY KEY, value TEXT)")
            c.execute("CREATE TABLE IF NOT EXISTS tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
                      " tile_data BLOB, source TEXT NOT NULL DEFAULT '', fetched_at REAL,"
                      " PRIMARY KEY (source, zoom_level, tile_column, tile_row))")
            c.commit()

    def get(self, source: str, z: int, x: int, y: int) -> bytes | None:
        with self._db.lock:
            row = self._db.conn.execute(
                "SELECT tile_data FROM tiles WHERE source=? AND zoom_level=? AND tile_column=? AND tile_row=?",
                (source, z, x, T.tms_y(z, y))).fetchone()
        return bytes(row[0]) if row else None

    def put(self, source: str, z: int, x: int, y: int, data: bytes) -> None:
        with self._db.lock:
            self._db.conn.execute("INSERT OR REPLACE INTO tiles VALUES (?,?,?,?,?,?)",
                                  (z, x, T.tms_y(z, y), data, source, time.time()))
            self._db.conn.commit()

    def count(self, source: str) -> int:
        with self._db.lock:
            return self._db.conn.execute("SELECT count(*) FROM tiles WHERE source=?", (source,)).fetchone()[0]

    def present_in(self, source: str, z: int, x0: int, x1: int, y0: int, y1: int) -> set[tuple[int, int]]:
        ty0, ty1 = T.tms_y(z, y1), T.tms_y(z, y0)
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT tile_column, tile_row FROM tiles WHERE source=? AND zoom_level=? AND tile_column BETWEEN ? "
                "AND ? AND tile_row BETWEEN ? AND ?", (source, z, x0, x1, ty0, ty1)).fetchall()
        return {(c, T.tms_y(z, r)) for c, r in rows}

    def close(self) -> None:
        self._db.close()


class XyzSource(TileSource):
    """An online ``…/{z}/{x}/{y}.png`` URL; every tile fetched is kept in the cache for offline use."""

    kind = "xyz"

    def __init__(self, name: str, url: str, cache: TileCache, *, crs: str = "wgs84", min_zoom: int = 0,
                 max_zoom: int = 19, online: bool = True):
        if not all(k in url for k in ("{z}", "{x}", "{y}")):
            raise TileSourceError("瓦片地址须含 {z}、{x}、{y}。", "A tile URL must contain {z}, {x} and {y}.")
        super().__init__(name, crs=crs, min_zoom=min_zoom, max_zoom=max_zoom)
        self.url, self.cache, self.online = url, cache, online
        self.key = url  # tiles of one URL share cache rows, whatever the source is called
        self._failed: dict[tuple[int, int, int], float] = {}  # no retry storm against a dead server
        self.fetched = 0

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        data = self.cache.get(self.key, z, x, y)
        if data is not None or not self.online:
            return data
        return self.fetch(z, x, y)

    def fetch(self, z: int, x: int, y: int) -> bytes | None:
        """Fetch from the network (and cache); None when the server has no usable tile."""
        if time.monotonic() - self._failed.get((z, x, y), -1e9) < 60:
            return None
        url = self.url.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
        try:
            req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(req, timeout=FETCH_TIMEOUT_S) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            log.info("tile %s failed: %s", url, e)
            self._failed[(z, x, y)] = time.monotonic()
            return None
        if not looks_like_image(data):  # an HTML error page is not a tile; do not cache it
            self._failed[(z, x, y)] = time.monotonic()
            return None
        self.cache.put(self.key, z, x, y, data)
        self.fetched += 1
        return data

    def completeness(self, bbox, zmin, zmax) -> Completeness:
        west, south, east, north = bbox
        levels, sample = [], []
        for z in range(zmin, zmax + 1):
            x0, y0 = T.tile_of_lonlat(z, west, north)
            x1, y1 = T.tile_of_lonlat(z, east, south)
            have = self.cache.present_in(self.key, z, x0, x1, y0, y1)
            levels.append(ZoomCompleteness(z, (x1 - x0 + 1) * (y1 - y0 + 1), len(have)))
            if len(sample) < 20 and len(have) < levels[-1].expected:
                sample += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)
                           if (x, y) not in have][:20 - len(sample)]
        return Completeness(levels, sample)


@dataclasses.dataclass
class DownloadReport:
    completeness: Completeness
    fetched: int
    failed: int
    cancelled: bool


def download_area(source: XyzSource, bbox: tuple[float, float, float, float], zmin: int, zmax: int, *,
                  progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] = lambda: False, workers: int = 4) -> DownloadReport:
    """Fetch every tile over ``bbox`` for zooms zmin..zmax that the cache lacks; ends with a report.

    Runs on a worker thread; ``progress(done, total)`` is called from it; ``cancelled()`` is
    polled between tiles, and tiles already fetched stay in the cache.
    """
    import concurrent.futures as cf

    west, south, east, north = bbox
    wanted: list[tuple[int, int, int]] = []
    for z in range(zmin, zmax + 1):
        x0, y0 = T.tile_of_lonlat(z, west, north)
        x1, y1 = T.tile_of_lonlat(z, east, south)
        have = source.cache.present_in(source.key, z, x0, x1, y0, y1)
        wanted += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1) if (x, y) not in have]
    total = len(wanted)
    done = fetched = failed = 0
    lock = threading.Lock()
    if progress:
        progress(0, total)

    def one(t: tuple[int, int, int]) -> None:
        nonlocal done, fetched, failed
        if cancelled():
            return
        ok = source.fetch(*t) is not None
        with lock:
            done += 1
            fetched += ok
            failed += not ok
            d = done
        if progress:
            progress(d, total)

    with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tile-download") as pool:
        for chunk in _chunks(wanted, 64):
            if cancelled():
                break
            list(pool.map(one, chunk))
    return DownloadReport(source.completeness(bbox, zmin, zmax), fetched, failed, cancelled())


def _chunks(items: list, n: int) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]
