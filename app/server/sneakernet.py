"""Import of an outbox exported to a file (a courier carries it when the link is down).

The file is checked against the device's key (app.sync.wire docstring), then runs
through push_batch under the authority of the account last signed in on that device,
so it is idempotent and ordered exactly like a push. The importer (an administrator or
a leader whose scope covers that account) is recorded as the actor in the audit log.
"""

from __future__ import annotations

import hmac
from typing import Any

import sqlalchemy as sa

from app.domain.enums import Role
from app.server.auth import Principal
from app.server.db import reader
from app.server.errors import ApiError
from app.server.push import push_batch
from app.server.scope import allowed_units, within
from app.server.tables import account, device
from app.server.tokens import device_key
from app.sync import wire


def import_outbox(engine: sa.Engine, secret: str, importer: Principal, raw: dict[str, Any]) -> dict:
    if importer.role not in (Role.ADMIN.value, Role.LEADER.value):
        raise ApiError(403, "forbidden", "仅管理员或带班领导可导入 / administrators and leaders only")
    export = wire.OutboxExport.model_validate(raw)
    expected = wire.outbox_signature(device_key(secret, export.device_id), export.device_id,
                                     export.schema_version, raw["mutations"])
    if not hmac.compare_digest(expected, export.signature):
        raise ApiError(403, "bad_signature", "导出文件签名无效 / export signature does not verify")
    with reader(engine) as conn, conn.begin():
        dev = conn.execute(sa.select(device).where(device.c.device_id == export.device_id)).first()
        owner = None if dev is None else conn.execute(
            sa.select(account).where(account.c.user_id == dev.user_id)).first()
        units = allowed_units(conn, importer.role, importer.org_unit_id)
    if owner is None:
        raise ApiError(404, "unknown_device", "终端未登记 / device never signed in to this server")
    if not owner.active:
        raise ApiError(403, "account_disabled", "该终端的账户已停用 / the device's account is disabled")
    if importer.role != Role.ADMIN.value and not within(units, owner.org_unit_id):
        raise ApiError(403, "out_of_scope", "该终端不在您的辖区 / device outside your org unit")
    who = Principal(owner.user_id, owner.username, owner.name, owner.role, owner.org_unit_id,
                    export.device_id)
    return push_batch(engine, who, export.device_id, export.mutations, via="import",
                      actor_id=importer.user_id)
