"""The scripted present: what is going on at ``now`` when the demo opens.

A rainstorm yellow warning and a cold warning are in force; two incidents are
being responded to (a flooded car park, an old house with a cracked wall whose
residents are in a shelter), one is verified and one just reported. Six teams
are out, three shelters are open. Decided before the libraries are yielded,
because team and shelter records must show this state.
"""

from __future__ import annotations

import dataclasses
import random

from app.demo.catalog import SHELTERS
from app.demo.names import STREETS

TeamKey = tuple[str, int, int]  # (team key or "street", street index or -1, copy)


@dataclasses.dataclass(frozen=True)
class ScriptedDispatch:
    team: TeamKey
    state: str
    ordered_min: int  # minutes before now
    arrived_min: int | None = None


@dataclasses.dataclass(frozen=True)
class ScriptedIncident:
    hazard: str
    street: int
    status: str
    occurred_min: int  # minutes before now
    dispatches: tuple[ScriptedDispatch, ...]
    supplies: tuple[tuple[str, int], ...] = ()  # item name, quantity sent from the street's store
    shelter: int | None = None  # index into SHELTERS of the shelter its evacuees went to
    evacuated: int = 0


@dataclasses.dataclass(frozen=True)
class Situation:
    incidents: tuple[ScriptedIncident, ...]
    team_status: dict[TeamKey, str]
    shelter_occupancy: dict[int, int]  # index into SHELTERS → people in it now
    prepositioned: tuple[TeamKey, ...]


def _street_of_shelter(index: int) -> int | None:
    name = SHELTERS[index][0]
    for i, spec in enumerate(STREETS):
        if name.startswith(spec.name + "街"):
            return i
    return None


def build(seed: int) -> Situation:
    rng = random.Random(f"{seed}/situation")
    riverside = [i for i, s in enumerate(STREETS) if s.riverside]
    others = [i for i, s in enumerate(STREETS) if not s.riverside]
    flood_street = rng.choice(riverside)
    house_street, tree_street, gas_street = rng.sample(others, 3)

    indoor = [i for i, (_, is_indoor, _) in enumerate(SHELTERS) if is_indoor]
    near = [i for i in indoor if _street_of_shelter(i) == house_street] or indoor
    house_shelter = near[0]
    evacuated = rng.randint(18, 32)
    cold_shelters = rng.sample([i for i in indoor if i != house_shelter], 2)

    def street_team(i: int) -> TeamKey:
        return ("street", i, 0)

    incidents = (
        ScriptedIncident("flood", flood_street, "responding", rng.randint(70, 90), (
            ScriptedDispatch(street_team(flood_street), "on_scene", 60, 38),
            ScriptedDispatch(("water", -1, 0), "en_route", 22),
        ), supplies=(("沙袋", 0), ("编织袋", 40))),  # 0: as many as leaves the store short
        ScriptedIncident("building", house_street, "responding", rng.randint(125, 160), (
            ScriptedDispatch(street_team(house_street), "on_scene", 115, 96),
            ScriptedDispatch(("municipal", -1, 0), "on_scene", 100, 62),
        ), supplies=(("折叠床", 10), ("棉被", 15)), shelter=house_shelter, evacuated=evacuated),
        ScriptedIncident("tree", tree_street, "verified", rng.randint(32, 40), (
            ScriptedDispatch(street_team(tree_street), "ordered", 20),
        )),
        ScriptedIncident("gas", gas_street, "reported", rng.randint(11, 14), (
            ScriptedDispatch(("gas", -1, 0), "ordered", 8),
        )),
    )
    status = {d.team: ("on_scene" if d.state == "on_scene" else "dispatched")
              for inc in incidents for d in inc.dispatches}
    prepositioned = (("power", -1, 0),)
    for key in prepositioned:
        status[key] = "prepositioned"
    occupancy = {house_shelter: evacuated,
                 cold_shelters[0]: rng.randint(4, 9), cold_shelters[1]: rng.randint(8, 15)}
    return Situation(incidents, status, occupancy, prepositioned)
