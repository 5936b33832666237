"""Quarantined changes for a shift leader: list what the server holds, approve or decline it.

Blocking (one HTTP request each): call from a worker thread (app/ui/background.py). The
sync engine's transport and token are used, so the leader's console needs no second
sign-in; a stale access token is renewed once with the engine's refresh token.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from app.domain.enums import Role
from app.services.context import AppContext
from app.sync import transport as T

DECIDERS = (Role.LEADER.value, Role.ADMIN.value)


class QuarantineUnavailable(Exception):
    """The server cannot be asked now (offline, signed out, refused); zh / en wording."""

    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh, self.message_en = message_zh, message_en


@dataclasses.dataclass(frozen=True)
class HeldChange:
    mutation_id: str
    device_id: str
    device_seq: int
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any]
    author_id: str | None
    author_name: str | None
    pushed_by: str
    pushed_by_name: str | None
    code: str
    message: str
    client_time: str | None
    received_at: str
    status: str

    @property
    def summary(self) -> str:
        for key in ("title", "name", "body", "summary", "status", "state"):
            if isinstance(self.payload.get(key), str):
                text = self.payload[key]
                return text if len(text) <= 60 else text[:59] + "…"
        return ", ".join(sorted(self.payload))[:60]


def can_decide(ctx: AppContext) -> bool:
    """Leaders and administrators approve or decline held changes (not a briefing display)."""
    return ctx.user is not None and ctx.user.role in DECIDERS and ctx.sync is not None


def _call(ctx: AppContext, fn_name: str, *args: Any) -> Any:
    if ctx.sync is None:
        raise QuarantineUnavailable("本机未连接服务器。", "This console has no server.")
    engine = ctx.sync
    transport = engine.transport
    if transport is None:
        raise QuarantineUnavailable("本机未连接服务器。", "This console has no server.")
    try:
        try:
            return getattr(transport, fn_name)(*args)
        except T.AuthExpired:
            refresh_token = getattr(engine, "refresh_token", None)
            if not refresh_token:
                raise
            tokens = transport.refresh(refresh_token, ctx.device_id)
            engine.refresh_token = tokens.get("refresh_token", engine.refresh_token)
            return getattr(transport, fn_name)(*args)
    except T.Offline as e:
        raise QuarantineUnavailable("无法连接服务器，请稍后再试。",
                                    "The server cannot be reached; try again later.") from e
    except T.AuthExpired as e:
        raise QuarantineUnavailable("登录已失效，请重新登录。", "The session has expired; sign in again.") from e
    except T.Forbidden as e:
        raise QuarantineUnavailable("只有带班领导可以审核。", f"Only shift leaders may decide: {e}") from e
    except T.TransportError as e:
        raise QuarantineUnavailable(f"服务器拒绝了请求：{e}", f"The server refused: {e}") from e


def held(ctx: AppContext) -> list[HeldChange]:
    """The changes the server holds for this leader's scope, oldest first."""
    answer = _call(ctx, "quarantine", "held")
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise QuarantineUnavailable("服务器的回答无法识别。", "The server's answer was not understood.")
    out = []
    names = {f.name for f in dataclasses.fields(HeldChange)}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("mutation_id"), str):
            values = {k: item.get(k) for k in names}
            values["payload"] = values["payload"] if isinstance(values["payload"], dict) else {}
            values["device_seq"] = int(values["device_seq"] or 0)
            out.append(HeldChange(**values))
    return out


def decide(ctx: AppContext, mutation_id: str, approve: bool, comment: str | None = None) -> dict[str, Any]:
    """Approve (apply as its author) or decline one held change; returns the server's verdict.

    The sync engine is woken so the approved record (and this console's own held changes'
    verdicts) arrive with the next round.
    """
    result = _call(ctx, "decide_quarantined", mutation_id, approve, comment)
    if ctx.sync is not None:
        ctx.sync.wake()
    return result if isinstance(result, dict) else {}
