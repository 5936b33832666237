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


def parse(value: str | None) -> dt.datetime | None:
    """A stored ISO-8601 time in Beijing time; a time without offset is taken as Beijing's.

    None when empty or unreadable: callers decide what a missing time means.
    """
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return to_beijing(t if t.tzinfo else t.replace(tzinfo=BEIJING))
