"""The synthetic org tree: 广州市 → 越秀区 → 18 streets → 222 communities, with boundaries.

The district outline is an irregular polygon of 33.8 km² around 113.272°E
23.132°N; streets are Voronoi cells of seeds placed roughly where the real
streets lie, communities are relaxed Voronoi cells inside their street. All of
it is marked ``synthetic`` on the records: it is not the real map.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import random

from app.demo import shapes
from app.demo.ids import org_id
from app.demo.names import STREETS, StreetSpec, community_names
from app.demo.numbers import largest_remainder
from app.domain.geo import point_in_ring

CENTRE = (113.272, 23.132)
DISTRICT_AREA_M2 = 33.8e6
COMMUNITIES = 222
POPULATION = 1_034_000  # ≈ 1.03 M residents
CITY_POPULATION = 18_827_000
CITY_CODE, DISTRICT_CODE = "440100", "440104"


@dataclasses.dataclass
class Unit:
    id: str
    name: str
    kind: str
    code: str
    parent_id: str | None
    lon: float
    lat: float
    population: int
    boundary: dict | None = None
    ring: shapes.Ring = dataclasses.field(default_factory=list)  # local metres, for sampling
    spec: StreetSpec | None = None  # streets only
    street: int = -1  # index of the street this unit is (or lies in)
    box: tuple[float, float, float, float] | None = None  # bounding box of ``ring``, once needed

    @property
    def short(self) -> str:
        """The name as officers say it: 北京街, 洪桥街 …"""
        return self.name.removesuffix("街道") + "街" if self.kind == "street" else self.name


@dataclasses.dataclass
class District:
    frame: shapes.Frame
    city: Unit
    district: Unit
    streets: list[Unit]
    communities: list[list[Unit]]  # per street, same order as ``streets``

    def units(self) -> list[Unit]:
        """Parents before children."""
        out = [self.city, self.district, *self.streets]
        for group in self.communities:
            out.extend(group)
        return out

    def point_in(self, rng: random.Random, unit: Unit) -> tuple[float, float]:
        """A random lon/lat inside ``unit`` (rounded as stored, and still inside once rounded)."""
        if unit.box is None:
            unit.box = shapes.bbox(unit.ring)
        while True:
            x, y = shapes.sample_point(rng, unit.ring, unit.box)
            lon, lat = self.frame.to_lonlat(x, y)
            lon, lat = round(lon, 6), round(lat, 6)
            if unit.boundary is None or point_in_ring(lon, lat, unit.boundary["coordinates"][0]):
                return lon, lat


def _unit(frame: shapes.Frame, name: str, kind: str, code: str, parent: str, ring: shapes.Ring,
          population: int) -> Unit:
    lonlat = shapes.to_lonlat_ring(frame, ring)
    cx, cy = shapes.centroid(ring)
    lon, lat = frame.to_lonlat(cx, cy)
    return Unit(org_id(code), name, kind, code, parent, round(lon, 6), round(lat, 6), population,
                shapes.polygon(lonlat), ring)


def _street_seeds(rng: random.Random, region: shapes.Ring, rx: float, ry: float) -> list[shapes.Point]:
    seeds = []
    for spec in STREETS:
        x = spec.u * rx * 0.8 + rng.gauss(0, 90)
        y = spec.v * ry * 0.8 + rng.gauss(0, 90)
        while not shapes.point_in_ring(x, y, region):
            x, y = x * 0.92, y * 0.92
        seeds.append((x, y))
    return seeds


@functools.lru_cache(maxsize=4)
def build(seed: int) -> District:
    """The org tree for ``seed``; ids depend only on codes, shapes on the seed."""
    rng = random.Random(f"{seed}/geography")
    frame = shapes.Frame(*CENTRE)
    rx, ry = 4300.0, 2900.0
    while True:
        region = shapes.outline(rng, rx, ry, DISTRICT_AREA_M2)
        street_rings = shapes.voronoi_cells(region, _street_seeds(rng, region, rx, ry))
        if all(len(r) >= 3 and shapes.is_simple(r) for r in street_rings):
            break

    areas = [shapes.signed_area(r) for r in street_rings]
    per_street = largest_remainder([0.5 * a / sum(areas) + 0.5 / len(areas) for a in areas], COMMUNITIES)
    names = community_names(rng, COMMUNITIES)
    rings = [shapes.relaxed_cells(rng, ring, n) for ring, n in zip(street_rings, per_street, strict=True)]
    pops = largest_remainder([rng.uniform(0.55, 1.6) for _ in range(COMMUNITIES)], POPULATION)

    city = Unit(org_id(CITY_CODE), "广州市", "city", CITY_CODE, None, 113.264385, 23.129112, CITY_POPULATION)
    district = _unit(frame, "越秀区", "district", DISTRICT_CODE, city.id, region, POPULATION)
    city.ring = region  # the city's own outline is not drawn; sampling "in the city" means in the district
    streets: list[Unit] = []
    communities: list[list[Unit]] = []
    k = 0
    for i, (spec, ring, group_rings) in enumerate(zip(STREETS, street_rings, rings, strict=True)):
        code = f"{DISTRICT_CODE}{i + 1:03d}"
        group = []
        for j, cring in enumerate(group_rings):
            c = _unit(frame, names[k], "community", f"{code}{j + 1:03d}", org_id(code), cring, pops[k])
            c.street = i
            group.append(c)
            k += 1
        street = _unit(frame, f"{spec.name}街道", "street", code, district.id, ring,
                       sum(c.population for c in group))
        street.spec, street.street = spec, i
        streets.append(street)
        communities.append(group)
    return District(frame, city, district, streets, communities)


def org_unit_record(u: Unit) -> dict:
    data: dict = {"id": u.id, "name": u.name, "kind": u.kind, "code": u.code}
    if u.parent_id:
        data["parent_id"] = u.parent_id
    data.update(lon=u.lon, lat=u.lat, synthetic=True, population=u.population)
    if u.boundary is not None:
        data["boundary"] = copy.deepcopy(u.boundary)
    return data
