"""Vectorised geometry over layer arrays: inside a polygon or circle, path length, polygon area."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from app.domain.geo import EARTH_RADIUS_M


def points_in_ring(lon: np.ndarray, lat: np.ndarray, ring: Sequence[Sequence[float]]) -> np.ndarray:
    """Even-odd rule for many points against one ring (numpy, no Python loop over points)."""
    inside = np.zeros(lon.shape, dtype=bool)
    pts = np.asarray(ring, dtype=float)
    if len(pts) < 3:
        return inside
    xj, yj = pts[-1]
    for xi, yi in pts:
        cond = (yi > lat) != (yj > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = (xj - xi) * (lat - yi) / (yj - yi) + xi
        inside ^= cond & (lon < xint)
        xj, yj = xi, yi
    return inside


def points_in_geometry(lon: np.ndarray, lat: np.ndarray, geometry: dict) -> np.ndarray:
    kind = geometry.get("type")
    polys = [geometry["coordinates"]] if kind == "Polygon" else geometry.get("coordinates", []) \
        if kind == "MultiPolygon" else []
    result = np.zeros(lon.shape, dtype=bool)
    for poly in polys:
        if not poly:
            continue
        inside = points_in_ring(lon, lat, poly[0])
        for hole in poly[1:]:
            inside &= ~points_in_ring(lon, lat, hole)
        result |= inside
    return result


def distances_m(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    p1, p2 = np.radians(lat0), np.radians(lat)
    dp, dl = p2 - p1, np.radians(lon - lon0)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def path_length_m(points: Sequence[tuple[float, float]]) -> float:
    from app.domain.geo import haversine_m

    return sum(haversine_m(*a, *b) for a, b in zip(points, points[1:], strict=False))


def polygon_area_m2(ring: Sequence[tuple[float, float]]) -> float:
    """Area on the sphere (the formula of Chamberlain & Duquette, as OpenLayers uses)."""
    n = len(ring)
    if n < 3:
        return 0.0
    total = 0.0
    for i in range(n):
        lon1, lat1 = ring[i]
        lon2, lat2 = ring[(i + 1) % n]
        total += math.radians(lon2 - lon1) * (2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2)))
    return abs(total * EARTH_RADIUS_M ** 2 / 2.0)
