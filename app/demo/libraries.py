"""The resource libraries (一网五库 + experts + contacts) and the plan library.

``LibraryBuilder.records()`` yields them one by one and, as it goes, notes in
``refs`` what the history needs to point at (team, store and item ids). At
scale N every library is N times as large: copy 0 is the seed-003 district,
copies 1… are further entries of the same kinds.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

from app.demo import catalog as C
from app.demo import names as N
from app.demo.geography import District, Unit
from app.demo.ids import random_id
from app.demo.numbers import largest_remainder
from app.demo.plans import plan_records
from app.demo.situation import Situation, TeamKey

Record = tuple[str, dict]


@dataclasses.dataclass
class TeamRef:
    id: str
    name: str
    org_id: str
    key: str
    street: int
    leader: str
    phone: str


@dataclasses.dataclass
class StoreRef:
    id: str
    name: str
    org_id: str
    holds: str  # storage-kind letter
    street: int  # -1 for district-level stores
    address: str


@dataclasses.dataclass
class ItemRef:
    id: str
    spec: C.ItemSpec


@dataclasses.dataclass
class Refs:
    teams: dict[TeamKey, TeamRef] = dataclasses.field(default_factory=dict)
    pro_copies: dict[str, list[TeamRef]] = dataclasses.field(default_factory=dict)
    street_teams: dict[int, list[TeamRef]] = dataclasses.field(default_factory=dict)
    stores: list[StoreRef] = dataclasses.field(default_factory=list)
    items: dict[str, ItemRef] = dataclasses.field(default_factory=dict)
    shelters: dict[tuple[int, int], str] = dataclasses.field(default_factory=dict)  # (index, copy) → id
    shelter_names: dict[str, str] = dataclasses.field(default_factory=dict)

    def store_items(self, store: StoreRef) -> list[ItemRef]:
        if store.holds == "D":
            return list(self.items.values())
        return [i for i in self.items.values() if store.holds in i.spec.stocked_at]


def _grade_plan(copy: int) -> list[tuple[str, str]]:
    """(sector, grade) for the 146 risk sources of one copy: 1 orange, 21 yellow, 124 blue."""
    out = []
    for sector, count, yellow, orange in C.RISK_SECTORS:
        out += [(sector, "orange")] * orange + [(sector, "yellow")] * yellow
        out += [(sector, "blue")] * (count - yellow - orange)
    return out


class LibraryBuilder:
    def __init__(self, district: District, situation: Situation, scale: int, seed: int):
        self.d = district
        self.situation = situation
        self.scale = scale
        self.rng = random.Random(f"{seed}/libraries")
        self.refs = Refs()

    # -- helpers ---------------------------------------------------------------------------------

    def _street_unit(self, i: int) -> Unit:
        return self.d.streets[i]

    def _address(self, street: Unit) -> str:
        return f"越秀区{N.house(self.rng, self.rng.choice(street.spec.roads))}"

    def _point(self, unit: Unit) -> dict:
        lon, lat = self.d.point_in(self.rng, unit)
        return {"lon": lon, "lat": lat}

    def _random_street(self) -> int:
        return self.rng.randrange(len(self.d.streets))

    # -- records ---------------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        yield from self.supply_items()
        yield from self.teams()
        yield from self.warehouses()
        yield from self.equipment()
        yield from self.shelters()
        yield from self.experts()
        yield from self.contacts()
        yield from self.risk_sources()
        yield from self.plans()

    def supply_items(self) -> Iterator[Record]:
        for spec in C.SUPPLY_ITEMS:
            ref = ItemRef(random_id(self.rng), spec)
            self.refs.items[spec.name] = ref
            yield "supply_item", {"id": ref.id, "name": spec.name, "unit": spec.unit,
                                  "category": spec.category, "min_level": spec.min_level}

    def teams(self) -> Iterator[Record]:
        district = self.d.district
        for copy in range(self.scale):
            for spec in C.PROFESSIONAL_TEAMS:
                street = self._street_unit(self._random_street())
                yield self._team((spec.key, -1, copy), N.nth(spec.name, copy), "professional", "区级",
                                 spec.headcount, spec.specialities, f"{spec.unit}（{self._address(street)}）",
                                 district, street)
            for i, street in enumerate(self.d.streets):
                yield self._team(("street", i, copy), N.nth(f"{street.short}应急分队", copy), "part_time",
                                 "街道级", C.STREET_TEAM_SIZE, C.STREET_TEAM_SPECIALITIES,
                                 f"{street.name}办事处（{self._address(street)}）", street, street)

    def _team(self, key: TeamKey, name: str, type_: str, tier: str, headcount: int, specialities: str,
              base: str, org: Unit, where: Unit) -> Record:
        leader, phone = N.person(self.rng), N.mobile(self.rng)
        ref = TeamRef(random_id(self.rng), name, org.id, key[0], key[1], leader, phone)
        self.refs.teams[key] = ref
        if key[0] == "street":
            self.refs.street_teams.setdefault(key[1], []).append(ref)
        else:
            self.refs.pro_copies.setdefault(key[0], []).append(ref)
        data = {"id": ref.id, "org_unit_id": org.id, "name": name, "type": type_, "tier": tier,
                "headcount": headcount, "leader": leader, "phone": phone, "base": base,
                "specialities": specialities, "status": self.situation.team_status.get(key, "standby"),
                **self._point(where)}
        return "team", data

    def warehouses(self) -> Iterator[Record]:
        district = self.d.district
        for copy in range(self.scale):
            for spec in C.DISTRICT_STORES:
                street = self._street_unit(self._random_street())
                yield self._store(N.nth(spec.name, copy), spec.kind, spec.area_m2, spec.holds, -1, district,
                                  street)
            weights = [self.rng.uniform(0.7, 1.4) for _ in self.d.streets]
            areas = largest_remainder(weights, C.STREET_STORE_AREA)
            for i, (street, area) in enumerate(zip(self.d.streets, areas, strict=True)):
                name = N.nth(f"{street.short}应急物资储备点", copy)
                yield self._store(name, "street", area, "S", i, street, street)

    def _store(self, name: str, kind: str, area: int, holds: str, street_index: int, org: Unit,
               where: Unit) -> Record:
        address = self._address(where)
        ref = StoreRef(random_id(self.rng), name, org.id, holds, street_index, address)
        self.refs.stores.append(ref)
        return "warehouse", {"id": ref.id, "org_unit_id": org.id, "name": name, "kind": kind,
                             **self._point(where), "area_m2": float(area), "manager": N.person(self.rng),
                             "phone": N.landline(self.rng), "address": address}

    def equipment(self) -> Iterator[Record]:
        district = self.d.district
        store_copies = [s for s in self.refs.stores if s.holds == "D"]
        for copy in range(self.scale):
            for spec in C.EQUIPMENT:
                data = {"id": random_id(self.rng), "org_unit_id": district.id, "name": spec.name,
                        "type": spec.type, "quantity": spec.quantity}
                if spec.holder == "store":
                    data["owner_unit"] = "越秀区应急管理局"
                    data["warehouse_id"] = store_copies[copy].id
                else:
                    team = self.refs.teams[(spec.holder, -1, copy)]
                    data["owner_unit"] = next(t.unit for t in C.PROFESSIONAL_TEAMS if t.key == spec.holder)
                    data["team_id"] = team.id
                deployed = (spec.holder, -1, copy) in self.situation.team_status
                data["status"] = ("in_use" if deployed else
                                  "maintenance" if self.rng.random() < 0.05 else "available")
                data.update(self._point(self._street_unit(self._random_street())))
                yield "equipment", data

    def shelters(self) -> Iterator[Record]:
        for copy in range(self.scale):
            for index, (name, indoor, area) in enumerate(C.SHELTERS):
                street_index = next((i for i, s in enumerate(N.STREETS) if name.startswith(s.name + "街")),
                                    None)
                if street_index is None:
                    street_index = self._random_street()
                street = self._street_unit(street_index)
                occupancy = self.situation.shelter_occupancy.get(index, 0) if copy == 0 else 0
                sid = random_id(self.rng)
                self.refs.shelters[(index, copy)] = sid
                full_name = N.nth(name, copy)
                self.refs.shelter_names[sid] = full_name
                yield "shelter", {
                    "id": sid, "org_unit_id": street.id, "name": full_name,
                    "kind": "indoor" if indoor else "outdoor", "area_m2": float(area),
                    "capacity": int(float(area) // 1.5), "occupancy": occupancy,
                    "status": "open" if occupancy else "closed", **self._point(street),
                    "manager": N.person(self.rng), "phone": N.landline(self.rng),
                    "address": self._address(street)}

    def experts(self) -> Iterator[Record]:
        district = self.d.district
        for _ in range(self.scale):
            for category, (count, specialities, employers) in C.EXPERTS.items():
                for _ in range(count):
                    yield "expert", {"id": random_id(self.rng), "org_unit_id": district.id,
                                     "name": N.person(self.rng), "category": category,
                                     "speciality": self.rng.choice(specialities),
                                     "employer": self.rng.choice(employers), "phone": N.mobile(self.rng)}

    def contacts(self) -> Iterator[Record]:
        yield from self._key_contacts()
        communities = [c for group in self.d.communities for c in group]
        for _ in range(self.scale):
            # 386 officers: one per community, a second one in 164 of them (seed 003:113).
            seconds = set(self.rng.sample(range(len(communities)), 386 - len(communities)))
            for k, community in enumerate(communities):
                for _ in range(2 if k in seconds else 1):
                    yield "contact", {"id": random_id(self.rng), "org_unit_id": community.id,
                                      "name": N.person(self.rng), "unit": f"{community.name}居委会",
                                      "title": "灾害信息员", "role": "disaster_info_officer",
                                      "mobile": N.mobile(self.rng)}

    def _key_contacts(self) -> Iterator[Record]:
        rng, district = self.rng, self.d.district

        def contact(org: Unit, name: str, unit: str, title: str, role: str, **extra: str) -> Record:
            return "contact", {"id": random_id(rng), "org_unit_id": org.id, "name": name, "unit": unit,
                               "title": title, "role": role, **extra}

        yield contact(district, "越秀区应急指挥中心值班室", "越秀区应急管理局", "值班室", "command_duty",
                      phone=N.landline(rng), radio_400="YX4-0001", radio_800="YX8-0001",
                      sat_phone=N.sat_phone(rng))
        yield contact(district, "越秀区委区政府总值班室", "越秀区人民政府办公室", "值班室", "government_duty",
                      phone=N.landline(rng))
        yield contact(district, "广州市应急管理局指挥中心", "广州市应急管理局", "总值班室", "upper_duty",
                      phone=N.landline(rng), radio_800="GZ8-0100")
        for title in ("局长", "副局长", "三防办主任"):
            yield contact(district, N.person(rng), "越秀区应急管理局", title, "district_leader",
                          mobile=N.mobile(rng), radio_800=f"YX8-00{rng.randint(10, 99)}",
                          sat_phone=N.sat_phone(rng))
        for unit in C.MEMBER_UNITS:
            yield contact(district, f"{unit}值班室", unit, "值班室", "member_unit_duty",
                          phone=N.landline(rng), mobile=N.mobile(rng))
        for i, street in enumerate(self.d.streets):
            n = i + 1
            extra = {"sat_phone": N.sat_phone(rng)} if street.spec.hillside or street.spec.riverside else {}
            yield contact(street, f"{street.short}应急管理办公室（网格综合指挥中心）值班室",
                          f"{street.name}办事处", "值班室", "street_duty", phone=N.landline(rng),
                          radio_400=f"YX4-{n:02d}01", radio_800=f"YX8-{n:02d}01", **extra)
            for title in ("办事处主任", "分管应急副主任"):
                yield contact(street, N.person(rng), f"{street.name}办事处", title, "street_leader",
                              mobile=N.mobile(rng), radio_800=f"YX8-{n:02d}{rng.randint(10, 99)}")

    def risk_sources(self) -> Iterator[Record]:
        for _ in range(self.scale):
            for sector, grade in _grade_plan(0):
                street_index = self._random_street()
                if sector == "地质灾害":
                    street_index = next(i for i, s in enumerate(N.STREETS) if s.name == "登峰")
                elif sector == "内涝":
                    street_index = self.rng.choice([i for i, s in enumerate(N.STREETS) if s.riverside])
                street = self._street_unit(street_index)
                name_t, unit_t, description = self.rng.choice(C.RISK_TEMPLATES[sector])
                road = self.rng.choice(street.spec.roads)
                stem = self.rng.choice(N.STEMS)
                fill = {"stem": stem, "road": road, "house": N.house(self.rng, road), "street": street.short,
                        "home": self.rng.choice(N.HOMES)}
                if sector in ("内涝", "地质灾害"):
                    status = "rectifying" if sector == "内涝" else "identified"
                else:
                    status = self.rng.choices(("identified", "rectifying", "closed"), (0.6, 0.25, 0.15))[0]
                yield "risk_source", {
                    "id": random_id(self.rng), "org_unit_id": street.id, "name": name_t.format(**fill),
                    "grade": grade, "sector": sector, "responsible_unit": unit_t.format(street=street.name),
                    "responsible_person": N.person(self.rng), "phone": N.mobile(self.rng), "status": status,
                    **self._point(street), "description": description}

    def plans(self) -> Iterator[Record]:
        yield from plan_records(self.rng, self.d)
