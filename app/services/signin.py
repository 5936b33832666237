"""Signing the officer in: against the server when it answers, else the cached verifier.

A successful online sign-in leaves an Argon2id verifier of the password in the
cache, so the same officer can sign in while the network is down (SYNC_RESEARCH.md
§3.13); the changes they make offline carry their id, never someone else's.
"""

from __future__ import annotations

import logging
import sys

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from app.services.context import AppContext, SignedInUser
from app.store.kv import kv_get, kv_put
from app.sync import transport as T

log = logging.getLogger(__name__)
_hasher = PasswordHasher()

DEMO_DEFAULT_USER = "officer"


class SignInFailed(Exception):
    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh, self.message_en = message_zh, message_en


def sign_in(ctx: AppContext, username: str, password: str) -> SignedInUser:
    """Online when the server answers; offline against the verifier when it does not."""
    if ctx.server_url:
        transport = ctx.sync.transport if ctx.sync is not None else T.SyncTransport(ctx.server_url)
        try:
            answer = transport.login(username, password, ctx.device_id)
        except T.Offline:
            log.info("server unreachable; trying the offline verifier")
        except (T.Rejected, T.AuthExpired, T.Forbidden) as e:
            raise SignInFailed("用户名或密码错误，或账户已锁定。", f"Sign-in refused: {e}") from e
        else:
            u = answer["user"]
            user = SignedInUser(id=u["id"], username=username, name=u.get("name", username),
                                role=u["role"], org_unit_id=u.get("org_unit_id"))
            record = {"hash": _hasher.hash(password), "user": u}
            ctx.store.write_sync(kv_put, f"verifier:{username}", record)
            ctx.store.write_sync(kv_put, "last_user", username)
            if answer.get("device_key"):
                ctx.store.write_sync(kv_put, "device_key", answer["device_key"])
            ctx.pending_tokens = answer
            return user
    record = ctx.store.read(kv_get, f"verifier:{username}")
    if not record:
        raise SignInFailed("无法连接服务器，且本机没有该用户的离线登录记录。",
                           "The server is unreachable and this user has never signed in on this console.")
    try:
        _hasher.verify(record["hash"], password)
    except VerificationError as e:
        raise SignInFailed("密码错误。", "Wrong password.") from e
    u = record["user"]
    return SignedInUser(id=u["id"], username=username, name=u.get("name", username), role=u["role"],
                        org_unit_id=u.get("org_unit_id"), offline=True)


def _demo_password(username: str) -> str | None:
    from app.demo.district import demo_users

    for u in demo_users():
        if u["username"] == username:
            return u["password"]
    return None


def has_verifier(ctx: AppContext, username: str) -> bool:
    return bool(ctx.store.read(kv_get, f"verifier:{username}"))


def start_credentials(username: str | None, password_stdin: bool, embedded: bool) -> tuple[str, str] | None:
    """The user name and password given at start-up (the demo officer's for the embedded demo)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if embedded and password is None:
        username = username or DEMO_DEFAULT_USER
        password = _demo_password(username)
    if username and password is not None:
        return username, password
    return None


def local_user(ctx: AppContext) -> SignedInUser:
    """Working from the cache alone: the last officer who signed in here, else a local placeholder."""
    last = ctx.store.read(kv_get, "last_user")
    record = ctx.store.read(kv_get, f"verifier:{last}") if last else None
    if record:
        u = record["user"]
        return SignedInUser(id=u["id"], username=last, name=u.get("name", last), role=u["role"],
                            org_unit_id=u.get("org_unit_id"), offline=True)
    return SignedInUser(id="00000000-0000-4000-8000-000000000000", username="local",
                        name="本机值班员", role="officer", offline=True)
