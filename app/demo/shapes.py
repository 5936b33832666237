"""Plane geometry for synthetic boundaries: outlines, Voronoi cells, sampling.

Shapes are built in a local metric frame (metres east/north of the district
centre); at district scale an equirectangular projection is exact to well under
a metre. Cells are Voronoi regions cut out of their parent by half-plane
clipping, so siblings share edges exactly and tile the parent without gaps or
overlaps: that is what lets a street's area equal the sum of its communities'.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence

from app.domain.geo import EARTH_RADIUS_M, point_in_ring

Point = tuple[float, float]
Ring = list[Point]  # open ring: the closing vertex is not repeated

_M_PER_DEG_LAT = math.pi * EARTH_RADIUS_M / 180


@dataclasses.dataclass(frozen=True)
class Frame:
    """Equirectangular frame centred on (lon0, lat0), in metres."""

    lon0: float
    lat0: float
    kx: float = dataclasses.field(init=False)  # metres per degree of longitude here

    def __post_init__(self) -> None:
        object.__setattr__(self, "kx", _M_PER_DEG_LAT * math.cos(math.radians(self.lat0)))

    def to_xy(self, lon: float, lat: float) -> Point:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * _M_PER_DEG_LAT

    def to_lonlat(self, x: float, y: float) -> Point:
        return self.lon0 + x / self.kx, self.lat0 + y / _M_PER_DEG_LAT


def signed_area(ring: Sequence[Point]) -> float:
    s = 0.0
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        s += x1 * y2 - x2 * y1
    return s / 2


def centroid(ring: Sequence[Point]) -> Point:
    a = cx = cy = 0.0
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        c = x1 * y2 - x2 * y1
        a += c
        cx += (x1 + x2) * c
        cy += (y1 + y2) * c
    if abs(a) < 1e-12:
        return sum(p[0] for p in ring) / n, sum(p[1] for p in ring) / n
    return cx / (3 * a), cy / (3 * a)


def clip_half_plane(ring: Sequence[Point], a: float, b: float, c: float) -> Ring:
    """Keep the part of ``ring`` where a·x + b·y <= c (Sutherland–Hodgman, one edge)."""
    out: Ring = []
    n = len(ring)
    for i in range(n):
        p, q = ring[i], ring[(i + 1) % n]
        dp = a * p[0] + b * p[1] - c
        dq = a * q[0] + b * q[1] - c
        if dp <= 0:
            out.append(p)
        if (dp < 0 < dq) or (dq < 0 < dp):
            t = dp / (dp - dq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def clip_convex(ring: Sequence[Point], clipper: Sequence[Point]) -> Ring:
    """Intersect ``ring`` with a convex counter-clockwise polygon."""
    out: Ring = list(ring)
    n = len(clipper)
    for i in range(n):
        (x1, y1), (x2, y2) = clipper[i], clipper[(i + 1) % n]
        # Inside of a CCW edge is to its left: (x2-x1)(y-y1) - (y2-y1)(x-x1) >= 0.
        a, b = y2 - y1, -(x2 - x1)
        out = clip_half_plane(out, a, b, a * x1 + b * y1)
        if not out:
            break
    return out


def voronoi_cells(region: Sequence[Point], seeds: Sequence[Point]) -> list[Ring]:
    """The Voronoi cell of each seed, cut out of ``region``."""
    cells: list[Ring] = []
    for i, (sx, sy) in enumerate(seeds):
        cell: Ring = list(region)
        for j, (tx, ty) in enumerate(seeds):
            if i == j:
                continue
            # Points nearer to s than to t: 2(t-s)·p <= |t|² - |s|².
            a, b = 2 * (tx - sx), 2 * (ty - sy)
            cell = clip_half_plane(cell, a, b, tx * tx + ty * ty - sx * sx - sy * sy)
            if not cell:
                break
        cells.append(_drop_repeats(cell))
    return cells


def _drop_repeats(ring: Ring, eps: float = 1e-6) -> Ring:
    out: Ring = []
    for p in ring:
        if not out or abs(p[0] - out[-1][0]) > eps or abs(p[1] - out[-1][1]) > eps:
            out.append(p)
    while len(out) > 1 and abs(out[0][0] - out[-1][0]) <= eps and abs(out[0][1] - out[-1][1]) <= eps:
        out.pop()
    return out


def relaxed_cells(rng: random.Random, region: Sequence[Point], count: int, rounds: int = 2) -> list[Ring]:
    """``count`` cells of fairly even size: random seeds moved to their cells' centroids."""
    seeds = [sample_point(rng, region) for _ in range(count)]
    cells = voronoi_cells(region, seeds)
    for _ in range(rounds):
        seeds = [centroid(c) if len(c) >= 3 else s for c, s in zip(cells, seeds, strict=True)]
        cells = voronoi_cells(region, seeds)
    return cells


def bbox(ring: Sequence[Point]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    return min(xs), max(xs), min(ys), max(ys)


def sample_point(rng: random.Random, ring: Sequence[Point],
                 box: tuple[float, float, float, float] | None = None) -> Point:
    x0, x1, y0, y1 = box or bbox(ring)
    while True:
        x = x0 + (x1 - x0) * rng.random()
        y = y0 + (y1 - y0) * rng.random()
        if point_in_ring(x, y, ring):
            return x, y


def outline(rng: random.Random, rx: float, ry: float, area_m2: float, vertices: int = 120) -> Ring:
    """A star-shaped irregular outline of exactly ``area_m2`` (CCW, centred on 0,0).

    Low harmonics and a few lobes give it the look of an old-town district:
    a bulge to the north (the hills), a ragged west, a flatter south (the
    river). Being star-shaped keeps most half-plane cuts in one piece; the
    caller still checks, and draws again if a cell came out in two.
    """
    harmonics = [(k, rng.uniform(0.02, 0.06) / k ** 0.5, rng.uniform(0, 2 * math.pi)) for k in range(2, 10)]
    lobes = [(math.radians(rng.uniform(95, 120)), 0.30, math.radians(22)),
             (math.radians(rng.uniform(150, 175)), 0.12, math.radians(15)),
             (math.radians(rng.uniform(20, 45)), -0.10, math.radians(14))]
    ring: Ring = []
    for i in range(vertices):
        t = 2 * math.pi * i / vertices
        r = 1 + sum(a * math.cos(k * t + ph) for k, a, ph in harmonics)
        for centre, amp, width in lobes:
            d = math.atan2(math.sin(t - centre), math.cos(t - centre))
            r += amp * math.exp(-(d / width) ** 2)
        r *= 1 + rng.uniform(-0.015, 0.015)
        y = ry * r * math.sin(t)
        if y < 0:
            y *= 0.8  # the river bank runs straighter than the rest
        ring.append((rx * r * math.cos(t), y))
    s = math.sqrt(area_m2 / signed_area(ring))
    return [(x * s, y * s) for x, y in ring]


def ellipse(cx: float, cy: float, rx: float, ry: float, vertices: int = 32) -> Ring:
    return [(cx + rx * math.cos(2 * math.pi * i / vertices), cy + ry * math.sin(2 * math.pi * i / vertices))
            for i in range(vertices)]


def to_lonlat_ring(frame: Frame, ring: Sequence[Point], ndigits: int = 6) -> list[list[float]]:
    """A closed GeoJSON ring, counter-clockwise as RFC 7946 asks."""
    pts = [frame.to_lonlat(x, y) for x, y in ring]
    if signed_area(pts) < 0:
        pts.reverse()
    out = [[round(lon, ndigits), round(lat, ndigits)] for lon, lat in pts]
    out.append(list(out[0]))
    return out


def polygon(ring: list[list[float]]) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


def ring_area_m2(ring: Sequence[Sequence[float]]) -> float:
    """Area of a lon/lat ring on the sphere (Chamberlain–Duquette), in m².

    Each edge contributes a term of its own, so adjoining cells' shared edges
    cancel and the areas of a tiling add up exactly to the area of the whole.
    """
    total = 0.0
    n = len(ring)
    for i in range(n):
        lon1, lat1 = ring[i][0], ring[i][1]
        lon2, lat2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        total += math.radians(lon2 - lon1) * (2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2)))
    return abs(total) * EARTH_RADIUS_M ** 2 / 2


def geometry_area_m2(geometry: dict) -> float:
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return sum(ring_area_m2(p[0]) - sum(ring_area_m2(h) for h in p[1:]) for p in polys)


def is_simple(ring: Sequence[Point]) -> bool:
    """No two edges meet except adjacent ones at their shared vertex.

    Half-plane clipping of a concave outline can in principle return two
    pieces joined by a zero-width bridge; such a ring touches itself, and this
    check (used by the tests) says so.
    """
    n = len(ring)
    edges = [(ring[i], ring[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            adjacent = j == i + 1 or (i == 0 and j == n - 1)
            if adjacent:
                if _backtracks(*edges[i], *edges[j]):
                    return False
            elif _meet(*edges[i], *edges[j]):
                return False
    return True


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Point, b: Point, c: Point) -> bool:
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


def _meet(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return ((d1 == 0 and _on_segment(q1, q2, p1)) or (d2 == 0 and _on_segment(q1, q2, p2))
            or (d3 == 0 and _on_segment(p1, p2, q1)) or (d4 == 0 and _on_segment(p1, p2, q2)))


def _backtracks(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Two consecutive edges that fold back onto each other."""
    if _orient(p1, p2, q2 if q1 == p2 else q1) != 0:
        return False
    u = (p2[0] - p1[0], p2[1] - p1[1])
    v = (q2[0] - q1[0], q2[1] - q1[1])
    return u[0] * v[0] + u[1] * v[1] < 0
