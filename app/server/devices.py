"""Device keys: enrolment on first use, the push hash chain and signature check, key reset.

A console sends its Ed25519 public key (``device_public_key``) with login and refresh. The
first one seen for a device, from an officer who just proved their password or refresh
token, is stored on the ``device`` row (trust on first use); a different key later is
refused 403 ``device_key_mismatch`` until an administrator runs
``command-desk-server device reset-key DEVICE_ID``. A device without a stored key (an old
console, an independent client) is not enrolled and is treated exactly as before.

Pushes of an enrolled device must carry ``prev_hash``/``hash`` on each mutation and one
``batch_sig`` (app.sync.signing). The server keeps the hash of the last mutation it took
from the device's chain (``device.last_hash``): every new mutation must link to it and hash
to what it claims. A bad or missing signature is 403 ``bad_signature``; a broken link or a
wrong hash (a mutation edited, inserted, removed or reordered after it was queued) is 409
``chain_broken`` (a 409 without ``expected_device_seq``). Either way nothing of the batch is
written, and one audit row records the refusal.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import sqlalchemy as sa

from app.domain.enums import Role
from app.server.audit import AuditChain
from app.server.db import now_iso, rev_transaction
from app.server.errors import ApiError
from app.server.tables import device
from app.sync import signing
from app.sync.wire import Mutation

log = logging.getLogger("command_desk.server.devices")

# A mutation authored by another officer than the pusher is held for a leader when its
# client_time is not within [now - OFFLINE_WINDOW_S, now + CLOCK_SKEW_S] (SYNC_RESEARCH.md §3.13).
OFFLINE_WINDOW_S = 7 * 24 * 3600
CLOCK_SKEW_S = 10 * 60

REFUSALS = ("bad_signature", "chain_broken")

_NEW_COLUMNS = (("public_key", "VARCHAR(64)"), ("key_enrolled_at", "VARCHAR(40)"), ("last_hash", "VARCHAR(64)"))


def add_missing_columns(conn: sa.Connection) -> list[str]:
    """Bring an existing server database's ``device`` table up to date (idempotent).

    ``metadata.create_all`` creates missing tables (``quarantine``) but never alters one, so
    the columns added in this release are added here, at start-up, in init_schema's
    transaction. Returns the columns it added.
    """
    have = {c["name"] for c in sa.inspect(conn).get_columns("device")}
    added = []
    for name, sql_type in _NEW_COLUMNS:
        if name not in have:
            conn.exec_driver_sql(f"ALTER TABLE device ADD COLUMN {name} {sql_type}")  # constants only
            added.append(name)
    if added:
        log.info("device table: added columns %s", ", ".join(added))
    return added


def _mismatch() -> ApiError:
    return ApiError(403, "device_key_mismatch",
                    "该终端已登记了另一把设备密钥，请联系管理员重置 / this console is enrolled with another "
                    "device key; ask an administrator to reset it")


def enrol(conn: sa.Connection, device_id: str, public_key: str | None) -> None:
    """Store ``public_key`` for the device the first time one is sent; refuse a different one.

    Runs inside the login/refresh write transaction, after the officer has been authenticated
    and the device row exists. No key sent: nothing changes (old consoles keep working).
    """
    if public_key is None:
        return
    if signing.public_key_bytes(public_key) is None:
        raise ApiError(422, "invalid_request", "设备公钥格式无效 / device_public_key is not an Ed25519 key")
    stored = conn.execute(sa.select(device.c.public_key).where(device.c.device_id == device_id)).scalar()
    if stored is None:
        conn.execute(device.update().where(device.c.device_id == device_id)
                     .values(public_key=public_key, key_enrolled_at=now_iso(), last_hash=None))
    elif stored != public_key:
        raise _mismatch()


def reset_key(engine: sa.Engine, device_id: str) -> bool:
    """Forget the device's key and chain head (re-enrolment on its next sign-in); audited."""
    with rev_transaction(engine) as (conn, _rev):
        old = conn.execute(sa.select(device.c.public_key).where(device.c.device_id == device_id)).first()
        if old is None:
            return False
        conn.execute(device.update().where(device.c.device_id == device_id)
                     .values(public_key=None, key_enrolled_at=None, last_hash=None))
        AuditChain(conn).append(at=now_iso(), actor_id=None, device_id=device_id, action="device:reset-key",
                                detail={"old_public_key": old.public_key})
    return True


class ChainGuard:
    """The checks of one push batch of an enrolled device (decided in memory, no statement)."""

    def __init__(self, device_id: str, public_key: str, last_hash: str | None, *, require_signature: bool):
        self.device_id, self.public_key = device_id, public_key
        self.head = last_hash  # None: no chain taken yet, the first hashed mutation anchors it
        self.require_signature = require_signature
        self.moved = False

    def check_signature(self, ordered: Sequence[Mutation], batch_sig: str | None) -> None:
        """Verify the batch's signature; first fill in each prev_hash the console left out (the
        hash of the mutation just before it in the batch, docs/protocol.md)."""
        for before, m in zip(ordered, ordered[1:], strict=False):
            if m.prev_hash is None and m.hash is not None and m.device_seq == before.device_seq + 1:
                m.prev_hash = before.hash
        if not self.require_signature or not ordered:
            return
        last = ordered[-1].hash
        if last is None or not signing.verify_batch(self.public_key, self.device_id, last, batch_sig):
            raise ApiError(403, "bad_signature", "上传批次的设备签名无效 / the batch's device signature does "
                           "not verify", device_id=self.device_id)

    def take(self, m: Mutation, canonical: str) -> None:
        """A new mutation (not a replay) joins the chain, or the batch is refused."""
        if m.hash is None or m.prev_hash is None:
            if self.require_signature:
                raise self._broken(m, "missing")
            self.head, self.moved = None, True  # an unhashed import: the next push anchors again
            return
        if self.head is not None and m.prev_hash != self.head:
            raise self._broken(m, "link")
        if signing.link(m.prev_hash, canonical) != m.hash:
            raise self._broken(m, "hash")
        self.head, self.moved = m.hash, True

    def _broken(self, m: Mutation, reason: str) -> ApiError:
        return ApiError(409, "chain_broken", f"变更链校验失败（序号 {m.device_seq}）：上传内容与本机排队时不符 / "
                        f"hash chain broken at device_seq {m.device_seq}: the change differs from what was "
                        "queued", mutation_id=m.mutation_id, device_seq=m.device_seq, reason=reason)


def audit_refusal(engine: sa.Engine, who_id: str, device_id: str, error: ApiError,
                  ordered: Sequence[Mutation], via: str) -> None:
    """One audit row for a refused batch (nothing else of it is written)."""
    try:
        with rev_transaction(engine) as (conn, _rev):
            AuditChain(conn).append(
                at=now_iso(), actor_id=who_id, device_id=device_id, mutation_id=error.extra.get("mutation_id"),
                action=f"{via}:refused", detail={"code": error.code, "reason": error.extra.get("reason"),
                                                 "at_device_seq": error.extra.get("device_seq"),
                                                 "mutations": [m.mutation_id for m in ordered][:500]})
    except Exception:  # the refusal stands even if its audit row cannot be written; say so
        log.exception("audit row for refused push of device %s not written", device_id)


def doubt(m: Mutation, author_role: str, now: dt.datetime | None = None) -> str | None:
    """Why a mutation by another officer than the pusher must wait for a leader, or None.

    The account has no role history, so "the role when it was written" is the role now:
    a read-only account's change is held. ``client_time`` must lie in the offline window.
    """
    if author_role == Role.VIEWER.value:
        return "author_role"
    try:
        written = dt.datetime.fromisoformat(m.client_time or "")
    except ValueError:
        return "client_time_outside_window"
    if written.tzinfo is None:
        return "client_time_outside_window"
    now = now or dt.datetime.now(dt.UTC)
    age = (now - written).total_seconds()
    if age > OFFLINE_WINDOW_S or age < -CLOCK_SKEW_S:
        return "client_time_outside_window"
    return None
