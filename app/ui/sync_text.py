"""What the status bar says about sync, in words and an icon (SYNC_RESEARCH.md §3.14).

Kept apart from the widget so every state's wording can be tested without a window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from app.domain import clock
from app.services import sync_status as S
from app.ui.i18n import tr


@dataclasses.dataclass(frozen=True)
class SyncText:
    state: str  # the SyncStatus state, also the QSS property that colours the text
    icon: str  # resources/icons/<icon>.svg
    text: str
    tooltip: str


def _hm(t: dt.datetime | None, fmt: str = "%H:%M") -> str:
    return clock.to_beijing(t).strftime(fmt) if t else "—"


def describe(status: S.SyncStatus | None, now: dt.datetime | None = None) -> SyncText:
    """``status`` None means the console was started without a server (--no-server)."""
    now = now or clock.now()
    if status is None or status.state == S.DISABLED:
        return SyncText(S.DISABLED, "local", tr("本地模式"), tr("未连接服务器：数据只保存在本机。"))
    waiting = tr("{n} 条待上传").format(n=status.waiting)
    if status.state == S.SYNCED:
        # clock_offset_s is server minus local: the server's clock is what other desks agree on.
        server_now = now + dt.timedelta(seconds=status.clock_offset_s or 0)
        text = tr("已同步") + " · " + tr("服务器时间") + " " + _hm(server_now, "%H:%M:%S")
        icon = "synced"
    elif status.state == S.SYNCING:
        text = tr("同步中") + (f" {status.done:,}/{status.total:,}" if status.total else "")
        icon = "syncing"
    elif status.state == S.OFFLINE:
        text = tr("离线 自 {since}").format(since=_hm(status.offline_since)) + " · " + waiting
        icon = "offline"
    elif status.state == S.SIGNIN_NEEDED:
        text = tr("需要登录") + (" · " + waiting if status.waiting else "")
        icon = "signin"
    elif status.state == S.UPDATE_REQUIRED:
        text = tr("需要升级") + (" · " + waiting if status.waiting else "")
        icon = "update"
    else:
        text, icon = status.state, "offline"
    lines = [tr("上次上传成功") + " " + _hm(status.last_push_ok, "%m-%d %H:%M:%S"),
             tr("上次下载成功") + " " + _hm(status.last_pull_ok, "%m-%d %H:%M:%S"),
             waiting]
    if status.message:
        lines.append(status.message)
    return SyncText(status.state, icon, text, "\n".join(lines))


SKEW_LIMIT_S = 120  # beyond this the console's clock is called out (SYNC_RESEARCH.md §3.10)


def clock_skew(status: S.SyncStatus | None) -> str | None:
    """"本机时钟偏差 N 分钟" when the console's clock is off by more than two minutes, else None."""
    offset = status.clock_offset_s if status is not None else None
    if offset is None or abs(offset) <= SKEW_LIMIT_S:
        return None
    return tr("本机时钟偏差 {n} 分钟").format(n=int(abs(offset) / 60 + 0.5))


def clock_offset_text(offset_s: float | None) -> str:
    """The offset in words: which way the console's clock is off, and by how much."""
    if offset_s is None:
        return "—"
    seconds = int(abs(offset_s) + 0.5)
    if seconds < 1:
        return tr("与服务器一致")
    amount = (tr("{n} 秒").format(n=seconds) if seconds < 60
              else tr("{m} 分 {s} 秒").format(m=seconds // 60, s=seconds % 60))
    # clock_offset_s is server minus local: positive means this console's clock is behind.
    return (tr("本机慢 {t}") if offset_s > 0 else tr("本机快 {t}")).format(t=amount)
