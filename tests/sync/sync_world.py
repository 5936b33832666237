"""A tiny district for the live-server tests: two streets, a team each, a warehouse, accounts."""

from __future__ import annotations

import uuid

from argon2 import PasswordHasher

from app.server import seed

# Cheap argon2 parameters: the hash carries them, so logins in tests stay fast.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"command-desk-test/{name}"))


DISTRICT, STREET1, STREET2, COMMUNITY1 = _id("district"), _id("street1"), _id("street2"), _id("community1")
TEAM1, TEAM2 = _id("team1"), _id("team2")
WAREHOUSE1, WAREHOUSE2 = _id("warehouse1"), _id("warehouse2")
ITEM1 = _id("item-tent")

USERS = {  # username -> (role, org unit)
    "admin": ("admin", None),
    "leader": ("leader", DISTRICT),
    "officer_d": ("officer", DISTRICT),
    "officer_s1": ("officer", STREET1),
    "officer_s1b": ("officer", STREET1),
    "officer_s2": ("officer", STREET2),
    "viewer": ("viewer", DISTRICT),
    "viewer_s1": ("viewer", STREET1),
}


def password(username: str) -> str:
    return f"pw-{username}-secret"


def user_id(username: str) -> str:
    return _id(f"user/{username}")


def records():
    yield "org_unit", {"id": DISTRICT, "name": "越秀区", "kind": "district"}
    yield "org_unit", {"id": STREET1, "name": "北京街道", "kind": "street", "parent_id": DISTRICT}
    yield "org_unit", {"id": STREET2, "name": "人民街道", "kind": "street", "parent_id": DISTRICT}
    yield "org_unit", {"id": COMMUNITY1, "name": "北京社区", "kind": "community", "parent_id": STREET1}
    for tid, org, name in ((TEAM1, STREET1, "北京街道应急队"), (TEAM2, STREET2, "人民街道应急队")):
        yield (
            "team",
            {
                "id": tid,
                "org_unit_id": org,
                "name": name,
                "type": "part_time",
                "headcount": 15,
                "status": "standby",
                "lon": 113.27,
                "lat": 23.13,
            },
        )
    for wid, org in ((WAREHOUSE1, STREET1), (WAREHOUSE2, STREET2)):
        yield "warehouse", {"id": wid, "org_unit_id": org, "name": f"仓库{org[:4]}", "area_m2": 60.0}
    yield "supply_item", {"id": ITEM1, "name": "帐篷", "unit": "顶"}


def seed_world(engine) -> None:
    seed.bulk_load(engine, records())
    seed.add_accounts(
        engine,
        [
            {
                "id": user_id(u),
                "username": u,
                "name": u,
                "role": role,
                "org_unit_id": org,
                "password": password(u),
            }
            for u, (role, org) in USERS.items()
        ],
        FAST_HASHER,
    )
