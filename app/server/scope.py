"""Scopes: which org units a user may read and write (its unit and everything below it).

The org tree is itself synced data (entity ``org_unit``). It is cached per engine and
re-read only when an org_unit row has a newer revision than the cached copy, so the
check costs one indexed MAX() per request; each unit's subtree is kept with the tree.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import sqlalchemy as sa

from app.domain.enums import Role
from app.server.db import run_sql
from app.server.tables import record

_lock = threading.Lock()
# per engine: (revision of the newest org_unit row, children by parent, subtrees computed so far)
_cache: dict[int, tuple[int, dict[str, list[str]], dict[str, frozenset[str]]]] = {}


def _tree(conn: sa.Connection) -> tuple[dict[str, list[str]], dict[str, frozenset[str]]]:
    key = id(conn.engine)
    # "+ 0": read the org units through the primary key. A bare max(server_rev) tempts PostgreSQL
    # (without fresh statistics) into walking the revision index backwards, 40 ms per request.
    latest = run_sql(conn, "SELECT max(server_rev + 0) FROM record WHERE entity = 'org_unit'").scalar() or 0
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == latest:
            return hit[1], hit[2]
    rows = conn.execute(sa.select(record.c.id, record.c.data["parent_id"].as_string())
                        .where(record.c.entity == "org_unit", record.c.deleted.is_(False)))
    children: dict[str, list[str]] = defaultdict(list)
    for unit_id, parent_id in rows:
        if parent_id:
            children[parent_id].append(unit_id)
    entry = (latest, dict(children), {})
    with _lock:
        _cache[key] = entry
    return entry[1], entry[2]


def subtree(conn: sa.Connection, root: str) -> frozenset[str]:
    children, known = _tree(conn)
    found = known.get(root)
    if found is not None:
        return found
    seen = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:  # a cycle in bad data must not loop forever
                seen.add(child)
                stack.append(child)
    known[root] = found = frozenset(seen)
    return found


def allowed_units(conn: sa.Connection, role: str, org_unit_id: str | None) -> frozenset[str] | None:
    """Org units the user may see and touch; None means every unit (administrators)."""
    if role == Role.ADMIN.value:
        return None
    if not org_unit_id:
        return frozenset()
    return subtree(conn, org_unit_id)


def within(units: frozenset[str] | None, scope_id: str | None) -> bool:
    return units is None or (scope_id is not None and scope_id in units)
