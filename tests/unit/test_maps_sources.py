"""Tile maths, MBTiles files, the XYZ tile cache and area download (real files, a real local HTTP server)."""

from __future__ import annotations

import http.server
import socket
import sqlite3
import struct
import threading
import time
import zlib

import pytest

from app.domain.geo import to_mercator
from app.services.maps import gcj02
from app.services.maps import tiles as T
from app.services.maps.sources import MBTilesSource, TileCache, TileSourceError, XyzSource, download_area

GZ = (113.2644, 23.1291)  # Guangzhou, in the demo district's neighbourhood


def solid_png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A real PNG (no Qt): one colour, ``size`` × ``size``."""
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def make_mbtiles(path, tiles: dict[tuple[int, int, int], bytes], metadata: dict | None = None) -> None:
    """tiles keyed by XYZ (z, x, y); stored TMS-flipped as the MBTiles spec says."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    meta = {"name": "test", "format": "png", **(metadata or {})}
    conn.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
    conn.executemany("INSERT INTO tiles VALUES (?,?,?,?)",
                     [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()])
    conn.commit()
    conn.close()


# ---- tile maths -------------------------------------------------------------------------------
def test_tile_of_a_point_contains_it():
    for z in (0, 5, 12, 17):
        x, y = T.tile_of_lonlat(z, *GZ)
        xmin, ymin, xmax, ymax = T.tile_bounds_m(z, x, y)
        mx, my = to_mercator(*GZ)
        assert xmin <= mx < xmax and ymin <= my < ymax
    assert T.tile_of_lonlat(0, *GZ) == (0, 0)
    assert T.tile_of_lonlat(1, *GZ) == (1, 0)  # east and north of (0, 0)


def test_count_tiles_matches_enumeration():
    bbox = (113.228, 23.111, 113.314, 23.162)
    listed = sum(len(list(T.tiles_in_bbox(z, *bbox))) for z in range(10, 15))
    assert T.count_tiles(*bbox, 10, 14) == listed


def test_zoom_for_resolution_is_sharper_on_high_dpi():
    mpp = T.tile_size_m(14) / 256  # one screen pixel = one tile pixel at zoom 14
    assert T.zoom_for_resolution(mpp) == 14
    assert T.zoom_for_resolution(mpp, device_ratio=2.0) == 15


# ---- MBTiles ---------------------------------------------------------------------------------
def test_mbtiles_reads_tiles_with_tms_flip_and_metadata(tmp_path):
    z, (x, y) = 12, T.tile_of_lonlat(12, *GZ)
    red, blue = solid_png((255, 0, 0)), solid_png((0, 0, 255))
    path = tmp_path / "base.mbtiles"
    make_mbtiles(path, {(z, x, y): red, (z, x, y + 1): blue},
                 {"bounds": "113.2,23.1,113.3,23.2", "minzoom": "10", "maxzoom": "12", "date": "2026-05-01"})
    src = MBTilesSource(path)
    assert src.tile(z, x, y) == red  # XYZ row y maps to TMS row 2^z-1-y
    assert src.tile(z, x, y + 1) == blue
    assert src.tile(z, x + 5, y) is None  # a missing tile is None, not an error
    assert (src.min_zoom, src.max_zoom) == (10, 12)
    assert src.bounds == (113.2, 23.1, 113.3, 23.2)
    assert src.as_of == "2026-05-01"
    assert src.crs == "wgs84"
    src.close()


def test_mbtiles_may_declare_gcj02(tmp_path):
    path = tmp_path / "gcj.mbtiles"
    make_mbtiles(path, {(0, 0, 0): solid_png((1, 2, 3))}, {"crs": "GCJ-02"})
    assert MBTilesSource(path).crs == "gcj02"


def test_completeness_report_lists_missing_tiles(tmp_path):
    bbox = (113.25, 23.12, 113.28, 23.14)
    wanted = [t for z in (12, 13) for t in T.tiles_in_bbox(z, *bbox)]
    have = {t: solid_png((0, 255, 0)) for t in wanted[:-2]}  # the last two are missing
    path = tmp_path / "partial.mbtiles"
    make_mbtiles(path, have)
    report = MBTilesSource(path).completeness(bbox, 12, 13)
    assert report.expected == len(wanted)
    assert report.present == len(wanted) - 2
    assert sorted(report.missing_sample) == sorted(wanted[-2:])
    assert [lv.zoom for lv in report.levels] == [12, 13]


@pytest.mark.parametrize("content, words", [
    (b"this is a text file, not a database", "not an MBTiles"),
    (b"", "not an MBTiles"),
])
def test_non_mbtiles_files_are_refused_with_a_message(tmp_path, content, words):
    path = tmp_path / "bad.mbtiles"
    path.write_bytes(content)
    with pytest.raises(TileSourceError) as e:
        MBTilesSource(path)
    assert words in e.value.en and "MBTiles" in e.value.zh


def test_sqlite_without_tiles_table_is_refused(tmp_path):
    path = tmp_path / "other.mbtiles"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE something (a)")
    conn.commit()
    conn.close()
    with pytest.raises(TileSourceError, match="no tiles table"):
        MBTilesSource(path)


def test_damaged_mbtiles_is_refused_not_crashing(tmp_path):
    path = tmp_path / "damaged.mbtiles"
    make_mbtiles(path, {(0, 0, 0): solid_png((1, 1, 1))})
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # trash the schema page after the header
    path.write_bytes(bytes(data))
    with pytest.raises(TileSourceError) as e:
        MBTilesSource(path)
    assert "damaged" in e.value.en or "not an MBTiles" in e.value.en


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(TileSourceError, match="not found"):
        MBTilesSource(tmp_path / "nope.mbtiles")


# ---- XYZ + cache over a real local HTTP server --------------------------------------------------
class TileServer:
    """http.server on 127.0.0.1 generating a PNG per tile; records every request."""

    def __init__(self):
        self.requests: list[str] = []
        self.broken: set[str] = set()  # paths answered with an HTML error page (status 200)
        self.delay = 0.0  # seconds per answer: a slow link, simulated on the server's side
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def setup(self):
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self):  # noqa: N802
                owner.requests.append(self.path)
                if owner.delay:
                    time.sleep(owner.delay)
                parts = self.path.strip("/").removesuffix(".png").split("/")
                if self.path in owner.broken:
                    body, ctype, status = b"<html>quota exceeded</html>", "text/html", 200
                elif len(parts) == 3 and all(p.isdigit() for p in parts) and parts[0] != "19":
                    z, x, y = map(int, parts)
                    body, ctype, status = solid_png(((x * 40) % 256, (y * 40) % 256, z * 10)), "image/png", 200
                else:
                    body, ctype, status = b"not found", "text/plain", 404
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 64
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tile_server():
    server = TileServer()
    yield server
    server.close()


def test_xyz_tiles_seen_online_are_there_offline(tmp_path, tile_server):
    cache = TileCache(tmp_path / "tiles.mbtiles")
    src = XyzSource("osm-like", tile_server.url, cache)
    x, y = T.tile_of_lonlat(14, *GZ)
    first = src.tile(14, x, y)
    assert first is not None and first.startswith(b"\x89PNG")
    assert len(tile_server.requests) == 1
    assert src.tile(14, x, y) == first and len(tile_server.requests) == 1  # from the cache
    cache.close()
    tile_server.close()  # the network is gone; a new session reads the same file
    cache2 = TileCache(tmp_path / "tiles.mbtiles")
    offline = XyzSource("osm-like", tile_server.url, cache2, online=False)
    assert offline.tile(14, x, y) == first
    assert offline.tile(14, x + 1, y) is None  # never seen: missing, no hang
    # The cache is itself an MBTiles file another console (or QGIS) can open.
    cache2.close()
    assert MBTilesSource(tmp_path / "tiles.mbtiles").tile(14, x, y) == first


def test_xyz_does_not_cache_errors_or_html(tmp_path, tile_server):
    cache = TileCache(tmp_path / "tiles.mbtiles")
    src = XyzSource("t", tile_server.url, cache)
    assert src.tile(19, 1, 1) is None  # 404
    tile_server.broken.add("/3/1/1.png")
    assert src.tile(3, 1, 1) is None  # a 200 with an HTML page is not a tile
    assert cache.count(src.key) == 0


def test_xyz_url_must_have_placeholders(tmp_path):
    with pytest.raises(TileSourceError):
        XyzSource("t", "http://127.0.0.1/tiles.png", TileCache(tmp_path / "c.mbtiles"))


def test_download_area_reports_progress_and_completeness(tmp_path, tile_server):
    cache = TileCache(tmp_path / "tiles.mbtiles")
    src = XyzSource("t", tile_server.url, cache)
    bbox = (113.25, 23.12, 113.28, 23.14)
    seen = []
    report = download_area(src, bbox, 11, 14, progress=lambda d, t: seen.append((d, t)))
    expected = T.count_tiles(*bbox, 11, 14)
    assert report.completeness.expected == expected
    assert report.completeness.present == expected and report.completeness.percent == 100.0
    assert report.fetched == expected and report.failed == 0 and not report.cancelled
    assert seen[0] == (0, expected) and seen[-1][0] == expected
    # A second run fetches nothing: everything is already there.
    before = len(tile_server.requests)
    again = download_area(src, bbox, 11, 14)
    assert again.fetched == 0 and len(tile_server.requests) == before


def test_download_area_can_be_cancelled_and_keeps_what_it_got(tmp_path, tile_server):
    cache = TileCache(tmp_path / "tiles.mbtiles")
    src = XyzSource("t", tile_server.url, cache)
    bbox = (113.22, 23.10, 113.32, 23.17)
    stop = threading.Event()

    def progress(done, total):
        if done >= 10:
            stop.set()

    report = download_area(src, bbox, 12, 16, progress=progress, cancelled=stop.is_set, workers=2)
    assert report.cancelled
    assert 10 <= report.completeness.present < report.completeness.expected
    assert report.completeness.missing_sample  # it says which are missing
    assert cache.count(src.key) == report.completeness.present


def test_download_reports_failures(tmp_path, tile_server):
    src = XyzSource("t", tile_server.url, TileCache(tmp_path / "tiles.mbtiles"))
    x, y = T.tile_of_lonlat(3, *GZ)
    tile_server.broken.add(f"/3/{x}/{y}.png")
    report = download_area(src, (113.2, 23.1, 113.3, 23.2), 3, 3)
    assert report.failed == 1 and report.completeness.present == report.completeness.expected - 1


# ---- GCJ-02 ------------------------------------------------------------------------------------
def test_gcj02_shift_and_inverse():
    glon, glat = gcj02.wgs84_to_gcj02(*GZ)
    # In Guangzhou GCJ-02 sits about 500 m east and 300 m south of WGS-84.
    assert 0.004 < glon - GZ[0] < 0.007 and -0.004 < glat - GZ[1] < -0.001
    back = gcj02.gcj02_to_wgs84(glon, glat)
    assert abs(back[0] - GZ[0]) < 1e-7 and abs(back[1] - GZ[1]) < 1e-7
    assert gcj02.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)  # Paris: outside China, unchanged


def test_gcj02_arrays_match_scalar():
    lons, lats = [113.2, 113.3, 2.35], [23.1, 23.2, 48.85]
    alon, alat = gcj02.wgs84_to_gcj02_arrays(lons, lats)
    for i in range(3):
        slon, slat = gcj02.wgs84_to_gcj02(lons[i], lats[i])
        assert abs(alon[i] - slon) < 1e-12 and abs(alat[i] - slat) < 1e-12
