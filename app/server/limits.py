"""Guards that run before a request body is trusted: size, JSON syntax, schema version."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.domain.validate import storable
from app.server.errors import ApiError
from app.sync import wire


class BodyLimit:
    """Refuse bodies over a per-path limit before they are read into memory (413)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # chunked upload without a declared length
                    raise HTTPException(413, f"请求过大 / body larger than {limit} bytes")
            return message

        await self.app(scope, counting_receive, send)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"error": {"code": "too_large", "message": f"请求过大 / body larger than {limit} bytes",
                                 "limit": limit}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN/Infinity: PostgreSQL's JSONB refuses them later


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to infinity, which no database column can hold
        raise ValueError(f"number out of range: {text}")
    return value


# Where a NUL or a lone surrogate can come from in a body json.loads accepted: a \u0000 or
# \uD800-\uDFFF escape (raw control characters are refused by the parser), or surrogate bytes
# that only decode with "surrogatepass" (which json.loads uses for bytes). A valid surrogate pair
# also matches: that merely costs the walk.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _may_hold_unstorable(body: bytes) -> bool:
    if _SUSPECT_ESCAPE.search(body):
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _storable_text(value: Any) -> None:
    """Refuse what PostgreSQL's jsonb (and SQLite's text) cannot store: NUL and lone surrogates.

    Checked at the door, so such a body is one clear 422 instead of a 500 for the whole batch.
    (Non-finite numbers never get this far: the parser refuses them.)
    """
    if not storable(value):
        raise ApiError(422, "invalid_characters",
                       "内容含有无法保存的字符（NUL 或孤立代理项） / text holds a NUL or a lone surrogate")


async def read_json(request: Request) -> Any:
    body = await request.body()
    try:
        value = json.loads(body, parse_constant=_no_constants, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ApiError(400, "bad_json", "请求内容不是有效的 JSON / body is not valid JSON") from exc
    if _may_hold_unstorable(body):  # the walk costs ~25 µs a mutation: only when it can find something
        _storable_text(value)
    return value


def check_schema_version(version: Any) -> None:
    """426 for a console whose record schema this server cannot speak."""
    if not isinstance(version, int) or isinstance(version, bool):
        return  # a wrong type is reported by the model validation (422)
    if version < wire.MIN_SCHEMA_VERSION:
        raise ApiError(426, "upgrade_required", "客户端版本过旧，请升级 / console too old, upgrade required",
                       schema_version=wire.SCHEMA_VERSION, min_schema_version=wire.MIN_SCHEMA_VERSION)
    if version > wire.SCHEMA_VERSION:
        raise ApiError(426, "server_outdated", "服务器版本低于客户端 / server older than console",
                       schema_version=wire.SCHEMA_VERSION, min_schema_version=wire.MIN_SCHEMA_VERSION)
