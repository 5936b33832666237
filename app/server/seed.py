"""Bulk writes outside the push path: accounts and the demo district.

They still go through revisions: one write transaction (so one revision) per chunk of
``chunk`` rows, so consoles pull demo data like any other change and a page never
splits a chunk. Rows are validated with the same check_record as pushes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher

from app.domain.entities import APPEND_ONLY, ENTITIES
from app.domain.enums import ACTIVE_DISPATCH_STATES, Role
from app.domain.validate import check_record
from app.server import tables as T
from app.server.audit import AuditChain
from app.server.auth import DEFAULT_HASHER, hash_password
from app.server.db import now_iso, rev_transaction, writer

Records = Iterable[tuple[str, dict[str, Any]]]
SYSTEM = "00000000-0000-0000-0000-000000000000"  # author of seeded rows


def _row(entity: str, data: dict[str, Any], rev: int, now: str, validate: bool) -> dict[str, Any]:
    ent = ENTITIES.get(entity)
    if ent is None:
        raise ValueError(f"unknown entity {entity!r}")
    data = dict(data)
    rid = str(data.pop("id"))
    if validate:
        problems = check_record(ent, data)
        if problems:
            raise ValueError(f"{entity} {rid}: " + "; ".join(f"{p.field}: {p.message_en}" for p in problems))
    tracked = ent.policy != APPEND_ONLY
    return {"entity": entity, "id": rid, "scope_id": data.get("org_unit_id") if ent.scoped else None,
            "server_rev": rev, "deleted": False, "data": data,
            "field_rev": {f: rev for f in data} if tracked else {}, "field_src": {},
            "created_by": SYSTEM, "updated_by": SYSTEM, "updated_at": now}


class _Sampler:
    """Validate every row of the first ``head`` per entity, then one in ``every``.

    check_record costs ~50 µs a row, more than the insert itself; the demo generator is
    deterministic, so a generous sample catches its bugs without halving the load rate.
    """

    def __init__(self, mode: str, head: int = 500, every: int = 50):
        self.mode, self.head, self.every = mode, head, every
        self.seen: dict[str, int] = {}

    def __call__(self, entity: str) -> bool:
        if self.mode != "sample":
            return self.mode == "all"
        n = self.seen[entity] = self.seen.get(entity, 0) + 1
        return n <= self.head or n % self.every == 0


def bulk_load(engine: sa.Engine, records: Records, *, chunk: int = 5000, validate: str = "all") -> int:
    """Insert new records in chunks (one revision each); returns the number of rows.

    ``validate``: "all", "sample" (see _Sampler) or "none".
    """
    total = 0
    check = _Sampler(validate)
    batch: list[tuple[str, dict[str, Any]]] = []
    for item in records:
        batch.append(item)
        if len(batch) >= chunk:
            total += _load_chunk(engine, batch, check)
            batch = []
    if batch:
        total += _load_chunk(engine, batch, check)
    if engine.dialect.name == "postgresql":
        # Fresh statistics now, not at autovacuum's leisure: with none, the planner takes a scoped
        # pull for a few rows and sorts the whole table for every page.
        with writer(engine) as conn, conn.begin():
            conn.exec_driver_sql("ANALYZE record")
    return total


_COLUMNS = ("entity", "id", "scope_id", "server_rev", "deleted", "data", "field_rev", "field_src",
            "created_by", "updated_by", "updated_at")
_JSON = ("data", "field_rev", "field_src")


def _insert_rows(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """executemany at the driver level with JSON already encoded: ~2x SQLAlchemy Core here."""
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    values = ", ".join(f"{mark}::jsonb" if (c in _JSON and not sqlite) else mark for c in _COLUMNS)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    field_revs: dict[tuple, str] = {}  # rows of one entity repeat the same key set: encode once
    params = []
    for r in rows:
        key = tuple(r["field_rev"])
        fr = field_revs.get(key)
        if fr is None:
            fr = field_revs[key] = dumps(r["field_rev"])
        params.append((r["entity"], r["id"], r["scope_id"], r["server_rev"], r["deleted"], dumps(r["data"]),
                       fr, "{}", r["created_by"], r["updated_by"], r["updated_at"]))
    # Column names and placeholders are module constants; every value is a bound parameter.
    sql = f"INSERT INTO record ({', '.join(_COLUMNS)}) VALUES ({values})"  # noqa: S608
    conn.exec_driver_sql(sql, params)


def _load_chunk(engine: sa.Engine, batch: list[tuple[str, dict[str, Any]]], check: _Sampler) -> int:
    now = now_iso()
    with rev_transaction(engine) as (conn, rev):
        rows = [_row(entity, data, rev, now, check(entity)) for entity, data in batch]
        _insert_rows(conn, rows)
        _derived_state(conn, rows)
        AuditChain(conn).append(at=now, actor_id=SYSTEM, action="bulk_load", rev=rev,
                                detail={"rows": len(rows)})
    return len(rows)


def _derived_state(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Stock balances and active dispatch slots, which push keeps up to date per mutation."""
    deltas: dict[tuple[str, str], int] = {}
    holders: dict[str, str] = {}  # team -> first active dispatch in this chunk
    for r in rows:
        if r["entity"] == "stock_movement":
            key = (r["data"]["warehouse_id"], r["data"]["item_id"])
            deltas[key] = deltas.get(key, 0) + r["data"]["delta"]
        elif r["entity"] == "dispatch" and r["data"].get("state") in ACTIVE_DISPATCH_STATES:
            holders.setdefault(r["data"]["team_id"], r["id"])
    if holders:
        taken = set(conn.execute(sa.select(T.active_dispatch.c.team_id)
                                 .where(T.active_dispatch.c.team_id.in_(list(holders)))).scalars())
        fresh = [{"team_id": t, "dispatch_id": d} for t, d in holders.items() if t not in taken]
        if fresh:
            conn.execute(T.active_dispatch.insert(), fresh)
    for (wh, item), delta in deltas.items():
        key = (T.stock_balance.c.warehouse_id == wh) & (T.stock_balance.c.item_id == item)
        qty = conn.execute(sa.select(T.stock_balance.c.quantity).where(key)).scalar()
        if qty is None:
            conn.execute(T.stock_balance.insert().values(warehouse_id=wh, item_id=item, quantity=delta))
        else:
            conn.execute(T.stock_balance.update().where(key).values(quantity=qty + delta))


def add_accounts(engine: sa.Engine, users: Iterable[dict[str, Any]],
                 hasher: PasswordHasher = DEFAULT_HASHER) -> list[dict[str, Any]]:
    """Create login accounts plus their synced ``user`` records, in one revision."""
    users = [dict(u, id=u.get("id") or str(uuid.uuid4())) for u in users]
    hashed = [hash_password(u["password"], hasher) for u in users]  # slow: before taking the lock
    now = now_iso()
    with rev_transaction(engine) as (conn, rev):
        for u, pw_hash in zip(users, hashed, strict=True):
            if u["role"] not in Role.codes():
                raise ValueError(f"unknown role {u['role']!r}")
            conn.execute(T.account.insert().values(
                user_id=u["id"], username=u["username"], name=u.get("name") or u["username"],
                password_hash=pw_hash, role=u["role"], org_unit_id=u.get("org_unit_id"),
                failed_attempts=0, active=True))
            data = {"id": u["id"], "username": u["username"], "name": u.get("name") or u["username"],
                    "role": u["role"], "org_unit_id": u.get("org_unit_id"), "active": True}
            if u.get("phone"):
                data["phone"] = u["phone"]
            exists = conn.execute(sa.select(T.record.c.id).where(
                T.record.c.entity == "user", T.record.c.id == u["id"])).first()
            if exists is None:  # the demo generator may already have written the user record
                conn.execute(T.record.insert(), [_row("user", data, rev, now, True)])
        AuditChain(conn).append(at=now, actor_id=SYSTEM, action="accounts_added", rev=rev,
                                detail={"usernames": [u["username"] for u in users]})
    return users


def is_empty(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(T.record.c.id).limit(1)).first() is None and \
            conn.execute(sa.select(T.account.c.user_id).limit(1)).first() is None


def wipe(engine: sa.Engine) -> None:
    """Empty every table but keep the revision counter moving forward, under a new epoch."""
    with writer(engine) as conn, conn.begin():
        for table in reversed(T.metadata.sorted_tables):
            if table is not T.sync_meta:
                conn.execute(table.delete())
        conn.execute(T.sync_meta.update().values(server_epoch=str(uuid.uuid4()),
                                                 min_valid_cursor=T.sync_meta.c.current_rev))


def init_demo(engine: sa.Engine, scale: int = 1, *, force: bool = False, validate: str = "sample",
              generate: Callable[[int], Records] | None = None,
              users: Callable[[], list[dict[str, Any]]] | None = None,
              hasher: PasswordHasher = DEFAULT_HASHER) -> dict[str, Any]:
    if generate is None or users is None:
        from app.demo import district  # the demo generator is optional at import time

        generate = generate or district.generate_records
        users = users or district.demo_users
    if not is_empty(engine):
        if not force:
            raise RuntimeError("database is not empty; pass --force to replace its contents")
        wipe(engine)
    rows = bulk_load(engine, generate(scale), validate=validate)
    created = add_accounts(engine, users(), hasher)
    return {"rows": rows, "users": created}
