"""Web Mercator tile maths (XYZ scheme: y counted from the north, as slippy maps do)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from app.domain.geo import MERCATOR_R, from_mercator, to_mercator

WORLD_M = 2 * math.pi * MERCATOR_R  # width of the mercator world in metres
HALF_WORLD = WORLD_M / 2
TILE_PX = 256
MAX_ZOOM = 22


def tile_size_m(z: int) -> float:
    return WORLD_M / (1 << z)


def tile_bounds_m(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of an XYZ tile in mercator metres (y up)."""
    s = tile_size_m(z)
    xmin = -HALF_WORLD + x * s
    ymax = HALF_WORLD - y * s
    return xmin, ymax - s, xmin + s, ymax


def tile_of_m(z: int, mx: float, my: float) -> tuple[int, int]:
    s = tile_size_m(z)
    n = (1 << z) - 1
    x = int(math.floor((mx + HALF_WORLD) / s))
    y = int(math.floor((HALF_WORLD - my) / s))
    return min(max(x, 0), n), min(max(y, 0), n)


def tile_of_lonlat(z: int, lon: float, lat: float) -> tuple[int, int]:
    return tile_of_m(z, *to_mercator(lon, lat))


def tiles_in_rect_m(z: int, xmin: float, ymin: float, xmax: float, ymax: float) -> Iterator[tuple[int, int, int]]:
    """Every XYZ tile at zoom z touching the mercator rectangle."""
    x0, y0 = tile_of_m(z, xmin, ymax)
    x1, y1 = tile_of_m(z, xmax, ymin)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield z, x, y


def tiles_in_bbox(z: int, west: float, south: float, east: float, north: float) -> Iterator[tuple[int, int, int]]:
    xmin, ymin = to_mercator(west, south)
    xmax, ymax = to_mercator(east, north)
    return tiles_in_rect_m(z, xmin, ymin, xmax, ymax)


def count_tiles(west: float, south: float, east: float, north: float, zmin: int, zmax: int) -> int:
    total = 0
    for z in range(zmin, zmax + 1):
        xmin, ymin = to_mercator(west, south)
        xmax, ymax = to_mercator(east, north)
        x0, y0 = tile_of_m(z, xmin, ymax)
        x1, y1 = tile_of_m(z, xmax, ymin)
        total += (x1 - x0 + 1) * (y1 - y0 + 1)
    return total


def zoom_for_resolution(metres_per_px: float, device_ratio: float = 1.0) -> int:
    """The tile zoom whose pixels are no larger than the screen's (device) pixels."""
    if metres_per_px <= 0:
        return MAX_ZOOM
    z = math.log2(WORLD_M / (TILE_PX * metres_per_px / max(device_ratio, 1.0)))
    return max(0, min(MAX_ZOOM, math.ceil(z - 0.25)))  # a quarter level of slack: no blur, no 4x tile count


def tms_y(z: int, y: int) -> int:
    """XYZ row <-> TMS row (MBTiles stores TMS: y counted from the south)."""
    return (1 << z) - 1 - y


def tile_centre_lonlat(z: int, x: int, y: int) -> tuple[float, float]:
    xmin, ymin, xmax, ymax = tile_bounds_m(z, x, y)
    return from_mercator((xmin + xmax) / 2, (ymin + ymax) / 2)
