"""Accounts: argon2id passwords, login with lockout, rotating device-bound refresh tokens.

Lockout: after ``lockout_attempts`` consecutive failures the account answers 423
``account_locked`` (with ``retry_after`` seconds and a Retry-After header) for
``lockout_s`` seconds, whatever the password. The password is not even checked while
locked, so a locked account cannot be used as a guessing oracle.
"""

from __future__ import annotations

import dataclasses
import secrets
import time

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.domain.enums import Role
from app.server import devices, tokens
from app.server.config import Settings
from app.server.db import now_iso, reader, run_sql, writer
from app.server.errors import ApiError
from app.server.tables import account, device, refresh_token

DEFAULT_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
_DUMMY_HASH = DEFAULT_HASHER.hash("timing-equaliser")


@dataclasses.dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    name: str
    role: str
    org_unit_id: str | None
    device_id: str

    @property
    def can_write(self) -> bool:
        return self.role != Role.VIEWER.value


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    return hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return DEFAULT_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def after_failure(failed_attempts: int, locked_until: float | None, now: float,
                  settings: Settings) -> tuple[int, float | None]:
    """Counters after one more failure; an expired lock starts a fresh count."""
    if locked_until is not None and locked_until <= now:
        failed_attempts = 0
    attempts = failed_attempts + 1
    return attempts, (now + settings.lockout_s if attempts >= settings.lockout_attempts else None)


def _locked(retry_after: float) -> ApiError:
    seconds = max(1, int(retry_after + 0.999))
    return ApiError(423, "account_locked", f"账户已锁定，请 {seconds} 秒后重试 / account locked, "
                    f"retry in {seconds} s", retry_after=seconds, headers={"Retry-After": str(seconds)})


def login(engine: sa.Engine, settings: Settings, secret: str, username: str, password: str,
          device_id: str, device_public_key: str | None = None) -> dict:
    now = time.time()
    with reader(engine) as conn:
        acc = conn.execute(sa.select(account).where(account.c.username == username)).first()
    if acc is None:
        _verify(_DUMMY_HASH, password)  # same work as a real check: no username oracle
        raise ApiError(401, "bad_credentials", "用户名或密码错误 / wrong username or password")
    if acc.locked_until is not None and acc.locked_until > now:
        raise _locked(acc.locked_until - now)
    # The slow hash runs outside any write transaction so it never holds the write lock.
    if not _verify(acc.password_hash, password) or not acc.active:
        attempts, until = after_failure(acc.failed_attempts, acc.locked_until, now, settings)
        with writer(engine) as conn, conn.begin():
            conn.execute(account.update().where(account.c.user_id == acc.user_id)
                         .values(failed_attempts=attempts, locked_until=until))
        if until is not None:
            raise _locked(until - now)
        raise ApiError(401, "bad_credentials", "用户名或密码错误 / wrong username or password")
    with writer(engine) as conn, conn.begin():
        conn.execute(account.update().where(account.c.user_id == acc.user_id)
                     .values(failed_attempts=0, locked_until=None))
        _bind_device(conn, device_id, acc.user_id)
        devices.enrol(conn, device_id, device_public_key)  # first key sent: stored; another: 403
        refresh = _issue_refresh(conn, settings, acc.user_id, device_id, now)
    return _token_response(settings, secret, acc, device_id, refresh, now)


def refresh(engine: sa.Engine, settings: Settings, secret: str, token: str, device_id: str,
            device_public_key: str | None = None) -> dict:
    now = time.time()
    digest = tokens.hash_refresh(token)
    invalid = ApiError(401, "invalid_refresh", "登录已失效，请重新登录 / session expired, sign in again")
    with writer(engine) as conn, conn.begin():
        row = conn.execute(sa.select(refresh_token).where(refresh_token.c.token_hash == digest)).first()
        if row is None or row.device_id != device_id:
            raise invalid
        dev = conn.execute(sa.select(device).where(device.c.device_id == device_id)).first()
        if dev is not None and dev.revoked_at is not None:
            # Checked before reuse: `device revoke` revokes every refresh token of the device, so
            # the console's next refresh would otherwise look like a copied token (401, "sign in
            # again") when the truth is that this console may no longer sign in at all.
            raise ApiError(403, "device_revoked", "该终端已被停用 / device revoked")
        if row.revoked:
            # A rotated token came back: it was copied. End every session of that device.
            conn.execute(refresh_token.update().where(refresh_token.c.device_id == row.device_id)
                         .values(revoked=True))
            reused = True
        else:
            reused = False
            acc = conn.execute(sa.select(account).where(account.c.user_id == row.user_id)).first()
            if row.expires_at <= now or acc is None or not acc.active:
                raise invalid
            if dev is not None:
                devices.enrol(conn, device_id, device_public_key)
            conn.execute(refresh_token.update().where(refresh_token.c.token_hash == digest)
                         .values(revoked=True))
            new_refresh = _issue_refresh(conn, settings, acc.user_id, device_id, now)
    if reused:  # raised after the commit so the revocation sticks
        raise ApiError(401, "refresh_reused", "登录凭据被重复使用，请重新登录 / refresh token reused")
    return _token_response(settings, secret, acc, device_id, new_refresh, now)


def _bind_device(conn: sa.Connection, device_id: str, user_id: str) -> None:
    dev = conn.execute(sa.select(device).where(device.c.device_id == device_id)).first()
    stamp = now_iso()
    if dev is None:
        conn.execute(device.insert().values(device_id=device_id, user_id=user_id, last_device_seq=0,
                                            first_seen=stamp, last_seen=stamp))
        return
    if dev.revoked_at is not None:
        raise ApiError(403, "device_revoked", "该终端已被停用 / device revoked")
    conn.execute(device.update().where(device.c.device_id == device_id)
                 .values(user_id=user_id, last_seen=stamp))


def _issue_refresh(conn: sa.Connection, settings: Settings, user_id: str, device_id: str,
                   now: float) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(refresh_token.insert().values(
        token_hash=tokens.hash_refresh(token), user_id=user_id, device_id=device_id,
        expires_at=now + settings.refresh_ttl_s, revoked=False))
    return token


def _token_response(settings: Settings, secret: str, acc: sa.Row, device_id: str, refresh_tok: str,
                    now: float) -> dict:
    claims = {"sub": acc.user_id, "role": acc.role, "org_unit_id": acc.org_unit_id,
              "device_id": device_id}
    return {
        "access_token": tokens.sign_access(secret, claims, settings.access_ttl_s, now),
        "refresh_token": refresh_tok,
        "expires_in": settings.access_ttl_s,
        "token_type": "bearer",
        "user": {"id": acc.user_id, "name": acc.name, "role": acc.role, "org_unit_id": acc.org_unit_id},
        "device_key": tokens.device_key(secret, device_id),
    }


def principal_from_token(engine: sa.Engine, secret: str, token: str) -> Principal:
    """Check the token, then the account and device as they are now (roles can be revoked)."""
    claims = tokens.verify_access(secret, token)
    # One constant statement for both (every request pays it): the account, and its device if known.
    with reader(engine) as conn:
        acc = run_sql(conn, "SELECT a.user_id, a.username, a.name, a.role, a.org_unit_id, a.active, "
                            "d.device_id AS known_device, d.revoked_at AS device_revoked_at FROM account AS a "
                            "LEFT JOIN device AS d ON d.device_id = ? WHERE a.user_id = ?",
                      (str(claims.get("device_id")), str(claims.get("sub")))).first()
    if acc is None or not acc.active:
        raise ApiError(401, "invalid_token", "账户不可用 / account not active")
    if acc.known_device is None or acc.device_revoked_at is not None:
        raise ApiError(403, "device_revoked", "该终端已被停用 / device revoked")
    return Principal(acc.user_id, acc.username, acc.name, acc.role, acc.org_unit_id,
                     str(claims["device_id"]))
