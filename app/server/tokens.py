"""Access tokens (HMAC-SHA256 signed, short-lived) and the per-device outbox key.

Format: ``v1.<base64url(json claims)>.<base64url(hmac)>``. A home-grown format instead of
JWT because the only verifier is this server; claims are sub, role, org_unit_id,
device_id, iat, exp and typ="access".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from app.server.errors import ApiError

_PREFIX = "v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def sign_access(secret: str, claims: dict[str, Any], ttl_s: int, now: float | None = None) -> str:
    now = time.time() if now is None else now
    body = dict(claims, typ="access", iat=int(now), exp=int(now) + ttl_s)
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{_PREFIX}.{payload}".encode()
    return f"{_PREFIX}.{payload}.{_b64(_mac(secret, signing_input))}"


def verify_access(secret: str, token: str, now: float | None = None) -> dict[str, Any]:
    """Return the claims of a valid, unexpired access token, else raise 401."""
    parts = token.split(".") if isinstance(token, str) and len(token) < 4096 else []
    if len(parts) != 3 or parts[0] != _PREFIX:
        raise ApiError(401, "invalid_token", "令牌无效 / invalid token")
    try:
        given = _unb64(parts[2])
        expected = _mac(secret, f"{parts[0]}.{parts[1]}".encode())
        if not hmac.compare_digest(given, expected):
            raise ValueError("signature")
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(401, "invalid_token", "令牌无效 / invalid token") from exc
    if not isinstance(claims, dict) or claims.get("typ") != "access":
        raise ApiError(401, "invalid_token", "令牌无效 / invalid token")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= (time.time() if now is None else now):
        raise ApiError(401, "token_expired", "令牌已过期 / token expired")
    return claims


def device_key(secret: str, device_id: str) -> str:
    """The key a console signs its outbox exports with (app.sync.wire docstring)."""
    return hmac.new(secret.encode(), f"command-desk/outbox/v1|{device_id}".encode(),
                    hashlib.sha256).hexdigest()


def hash_refresh(token: str) -> str:
    # Refresh tokens are 256-bit random: a plain SHA-256 is enough to store them safely.
    return hashlib.sha256(token.encode()).hexdigest()
