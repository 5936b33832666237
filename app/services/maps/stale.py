"""Staleness (ANCHORS 4.9): a feature whose record was last updated longer ago than its layer's
threshold is drawn faded, its card says "as of HH:MM", and the layer list counts it.

Teams move and change status by the hour (30 minutes by default); a shelter's occupancy is
counted about daily (24 hours). Thresholds are kept in settings under ``map_stale`` as
{layer key: minutes}. A record without an update time (bulk-loaded library data, the demo) is
not marked: nothing says when it was true, and its card says so ("update time unknown").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

DEFAULT_MINUTES: dict[str, float] = {"team": 30.0, "shelter": 24 * 60.0}
SETTINGS_KEY = "map_stale"


def thresholds(saved: object = None) -> dict[str, float]:
    """The defaults with any valid saved override ({layer: minutes > 0}); anything else is ignored."""
    out = dict(DEFAULT_MINUTES)
    if isinstance(saved, Mapping):
        for key, value in saved.items():
            if key in out and isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                out[key] = float(value)
    return out


def to_epochs(times: Iterable[str | None]) -> np.ndarray:
    """ISO-8601 strings (with offset) as POSIX seconds; NaN where missing or unreadable."""
    out = []
    for t in times:
        try:
            d = dt.datetime.fromisoformat(t) if t else None
        except (TypeError, ValueError):
            d = None
        if d is not None and d.tzinfo is None:
            d = None  # a naive time is no time we can compare
        out.append(d.timestamp() if d is not None else np.nan)
    return np.asarray(out, dtype=float)


def stale_mask(epochs: Sequence[float] | np.ndarray, now: dt.datetime, minutes: float | None) -> np.ndarray:
    """True where the update is older than ``minutes`` before ``now``; unknown times and no threshold: False."""
    e = np.asarray(epochs, dtype=float)
    if minutes is None:
        return np.zeros(len(e), dtype=bool)
    cutoff = now.timestamp() - minutes * 60.0
    with np.errstate(invalid="ignore"):
        return e < cutoff  # NaN compares False


def as_of_text(updated_at: str | None, now: dt.datetime) -> str:
    """"HH:MM" for today (Beijing), "MM-DD HH:MM" for another day; "" when unknown."""
    try:
        t = dt.datetime.fromisoformat(updated_at) if updated_at else None
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        return ""
    t = t.astimezone(now.tzinfo or dt.UTC)
    return f"{t:%H:%M}" if t.date() == now.astimezone(t.tzinfo).date() else f"{t:%m-%d %H:%M}"
