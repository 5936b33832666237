"""Attachments' bytes, content-addressed by SHA-256, kept in the database.

In the database (not on a local disk) so every server process of a PostgreSQL
deployment serves every blob. A blob is readable by its uploader, by administrators and
by anyone who can see an ``attachment`` record naming its hash: knowing a hash is not
permission to read (BOLA).
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from app.domain.enums import Role
from app.server.auth import Principal
from app.server.db import now_iso, reader, writer
from app.server.errors import ApiError
from app.server.scope import allowed_units
from app.server.tables import blob, record

_SHA = re.compile(r"^[0-9a-f]{64}$")


def check_name(sha256: str) -> str:
    if not _SHA.match(sha256):
        raise ApiError(400, "bad_hash", "哈希格式无效 / sha256 must be 64 lowercase hex digits")
    return sha256


def put_blob(engine: sa.Engine, who: Principal, sha256: str, data: bytes) -> bool:
    """Store the bytes; returns False when they were already there."""
    if not who.can_write:
        raise ApiError(403, "forbidden", "只读账户不能上传 / read-only account")
    if hashlib.sha256(data).hexdigest() != check_name(sha256):
        raise ApiError(422, "hash_mismatch", "内容与哈希不符 / content does not match its sha256")
    with writer(engine) as conn, conn.begin():
        if conn.execute(sa.select(blob.c.size).where(blob.c.sha256 == sha256)).first() is not None:
            return False
        conn.execute(blob.insert().values(sha256=sha256, size=len(data), data=data,
                                          uploaded_by=who.user_id, uploaded_at=now_iso()))
    return True


def get_blob(engine: sa.Engine, who: Principal, sha256: str) -> bytes:
    check_name(sha256)
    with reader(engine) as conn, conn.begin():
        row = conn.execute(sa.select(blob.c.data, blob.c.uploaded_by).where(blob.c.sha256 == sha256)).first()
        if row is None or not _may_read(conn, who, sha256, row.uploaded_by):
            raise ApiError(404, "not_found", "附件不存在 / no such blob")
        return bytes(row.data)


def _may_read(conn: sa.Connection, who: Principal, sha256: str, uploaded_by: str | None) -> bool:
    if who.role == Role.ADMIN.value or uploaded_by == who.user_id:
        return True
    units = allowed_units(conn, who.role, who.org_unit_id)
    named = sa.select(record.c.id).where(
        record.c.entity == "attachment", record.c.deleted.is_(False),
        record.c.data["sha256"].as_string() == sha256)
    if units is not None:
        named = named.where(sa.or_(record.c.scope_id.is_(None), record.c.scope_id.in_(sorted(units))))
    return conn.execute(named.limit(1)).first() is not None
