"""The demo accounts and the duty rota they stand.

Passwords are deliberately typable ("Demo-officer-2026") and printed by the
CLI: this is demo data, never a real deployment's accounts.
"""

from __future__ import annotations

from app.demo.geography import DISTRICT_CODE
from app.demo.ids import org_id, user_id
from app.demo.names import STREETS

BEIJING_CODE = f"{DISTRICT_CODE}{[s.name for s in STREETS].index('北京') + 1:03d}"

# username, name, role, org code, phone
_USERS = (
    ("admin", "系统管理员", "admin", DISTRICT_CODE, "020-83000001"),
    ("leader", "王建国", "leader", DISTRICT_CODE, "13902260101"),
    ("leader2", "李卫东", "leader", DISTRICT_CODE, "13802260102"),
    ("officer", "陈嘉欣", "officer", DISTRICT_CODE, "13602260201"),
    ("officer2", "黄志明", "officer", DISTRICT_CODE, "13712260202"),
    ("officer3", "梁慧敏", "officer", DISTRICT_CODE, "15902260203"),
    ("viewer", "指挥大厅大屏", "viewer", DISTRICT_CODE, "020-83000002"),
    ("beijing", "何俊杰", "officer", BEIJING_CODE, "13512260301"),
)

DUTY_LEADERS = ("leader", "leader2")
DUTY_OFFICERS = ("officer", "officer2", "officer3")
DUTY_PHONE = "020-83000110"  # the district duty room's line


def password(username: str) -> str:
    return f"Demo-{username}-2026"


def demo_users() -> list[dict]:
    return [{"id": user_id(u), "username": u, "name": name, "role": role, "org_unit_id": org_id(code),
             "phone": phone, "password": password(u)} for u, name, role, code, phone in _USERS]


def user_records() -> list[tuple[str, dict]]:
    return [("user", {k: v for k, v in u.items() if k != "password"} | {"active": True})
            for u in demo_users()]


def names() -> dict[str, str]:
    """user id → name, for the texts of the log."""
    return {user_id(u): name for u, name, *_ in _USERS}


def phones() -> dict[str, str]:
    return {user_id(u): phone for u, _, _, _, phone in _USERS}
