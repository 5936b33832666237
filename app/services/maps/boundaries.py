"""The vector base: district, street and community boundaries from the shipped GeoJSON."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from pathlib import Path

from app.paths import resources_dir

DEMO_BOUNDARIES = "geo/yuexiu_demo.geojson"


@dataclasses.dataclass(frozen=True)
class Boundary:
    id: str
    name: str
    kind: str  # district / street / community
    parent_id: str | None
    rings: tuple[tuple[tuple[float, float], ...], ...]  # outer rings (lon, lat)
    centroid: tuple[float, float]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        lons = [p[0] for r in self.rings for p in r]
        lats = [p[1] for r in self.rings for p in r]
        return min(lons), min(lats), max(lons), max(lats)


@cache
def load_boundaries(path: Path | None = None) -> tuple[Boundary, ...]:
    doc = json.loads((path or resources_dir() / DEMO_BOUNDARIES).read_text(encoding="utf-8"))
    out = []
    for f in doc.get("features", []):
        g, p = f.get("geometry") or {}, f.get("properties") or {}
        polys = [g.get("coordinates")] if g.get("type") == "Polygon" else g.get("coordinates") or []
        rings = tuple(tuple((float(x), float(y)) for x, y, *_ in poly[0]) for poly in polys if poly)
        if not rings:
            continue
        ring = rings[0]
        c = p.get("centroid") or [sum(x for x, _ in ring) / len(ring), sum(y for _, y in ring) / len(ring)]
        out.append(Boundary(str(p.get("id") or f.get("id")), p.get("name", ""), p.get("kind", ""),
                            p.get("parent_id"), rings, (float(c[0]), float(c[1]))))
    return tuple(out)


def district_bbox() -> tuple[float, float, float, float]:
    ds = [b for b in load_boundaries() if b.kind == "district"] or list(load_boundaries())
    boxes = [b.bbox for b in ds]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
