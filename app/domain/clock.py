"""Time as the command centre reads it: Beijing time (UTC+8), no DST.

Times are stored as ISO-8601 strings with their offset. Clocks are recorded for
people and never used to order changes (SYNC_PROTOCOL.md invariant 5).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")

Clock = Callable[[], dt.datetime]


def now() -> dt.datetime:
    return dt.datetime.now(BEIJING)


def iso(t: dt.datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("naive datetime")
    return t.isoformat(timespec="seconds")


def now_iso() -> str:
    return iso(now())


def to_beijing(t: dt.datetime) -> dt.datetime:
    return t.astimezone(BEIJING)
