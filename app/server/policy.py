"""Conflict policy as pure functions (SYNC_PROTOCOL.md "Conflict policy per entity").

Nothing here touches the database, so every rule is unit-tested on its own; apply.py
feeds it the stored row and writes back what it decides.

Concurrent edit: a field whose stored revision is newer than the ``base_rev`` the officer
saw, last written from *another* device. A device's own earlier writes are never
"concurrent" with its later ones: device_seq already orders them (this matters for a
record created and then edited offline, whose base_rev is 0 everywhere).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from app.domain.enums import ACTIVE_DISPATCH_STATES, INCIDENT_TRANSITIONS, Role

CONCURRENT_EDIT = "concurrent_edit"
ILLEGAL_TRANSITION = "illegal_transition"
UNIT_TAKEN = "unit_taken"
STOCK_NEGATIVE = "stock_negative"
EDIT_AFTER_DELETE = "edit_after_delete"


@dataclasses.dataclass(frozen=True)
class Conflict:
    kind: str
    field: str | None
    winning_value: Any
    losing_value: Any
    loser_is_self: bool  # True: this mutation lost; False: an earlier write was overwritten
    loser_mutation_id: str | None = None  # the overwritten write, when loser_is_self is False


@dataclasses.dataclass
class Merge:
    data: dict[str, Any]
    field_rev: dict[str, int]
    field_src: dict[str, str]
    changed: list[str]
    conflicts: list[Conflict]


# guard(field, old, new, stale) -> True to allow the change
Guard = Callable[[str, Any, Any, bool], bool]
# is_foreign(mutation_id_of_last_write) -> True when that write came from another device
IsForeign = Callable[[str | None], bool]


def merge_patch(data: Mapping[str, Any], field_rev: Mapping[str, int], field_src: Mapping[str, str],
                payload: Mapping[str, Any], base_rev: Mapping[str, int] | None, rev: int,
                mutation_id: str, is_foreign: IsForeign, guard: Guard | None = None) -> Merge:
    out = Merge(dict(data), dict(field_rev), dict(field_src), [], [])
    base = base_rev or {}
    for field, new in payload.items():
        old = data.get(field)
        if old == new:
            continue  # already so: nothing to change, nothing to contest
        stale = field_rev.get(field, 0) > base.get(field, 0) and is_foreign(field_src.get(field))
        if guard is not None and not guard(field, old, new, stale):
            out.conflicts.append(Conflict(ILLEGAL_TRANSITION, field, old, new, True))
            continue
        if stale:  # later arrival wins; the overwritten value goes to a person to review
            out.conflicts.append(Conflict(CONCURRENT_EDIT, field, new, old, False,
                                          field_src.get(field)))
        out.data[field] = new
        out.field_rev[field] = rev
        out.field_src[field] = mutation_id
        out.changed.append(field)
    return out


def status_guard(role: str) -> Guard:
    """Incident status follows INCIDENT_TRANSITIONS; leaders may move it anywhere.

    An officer's stale transition (made against a status someone else has since changed)
    is refused too: "close" decided on a picture that no longer holds is for a person to
    confirm, not for the server to apply.
    """
    privileged = role in (Role.LEADER.value, Role.ADMIN.value)

    def guard(field: str, old: Any, new: Any, stale: bool) -> bool:
        if field != "status" or privileged:
            return True
        return not stale and new in INCIDENT_TRANSITIONS.get(old, frozenset())

    return guard


def active_team(data: Mapping[str, Any]) -> str | None:
    """The team a dispatch record holds, or None when the dispatch is not active."""
    if data.get("state") in ACTIVE_DISPATCH_STATES and data.get("team_id"):
        return str(data["team_id"])
    return None


def negative_stock(balance_after: int) -> bool:
    # Accepted anyway (the goods physically left); raises a conflict for a person.
    return balance_after < 0
