"""Where the field feeds are (drones, vehicles, body cams): a Qt-free accessor for the map.

The ui may not import app.video; this module passes its position registry through and groups a
reader's state into the three the map draws: live, retrying (connecting or reconnecting) and down.
Change callbacks arrive on whatever thread moved the feed (a reader thread): the caller hops threads.
"""

from __future__ import annotations

from collections.abc import Callable

from app.video.feeds import FeedPosition, feed_positions, on_positions_changed, set_feed_position

__all__ = ["FeedPosition", "feed_positions", "on_positions_changed", "set_feed_position", "state_class",
           "STATE_CLASSES"]

STATE_CLASSES = ("live", "retrying", "down")
_CLASS_OF = {"live": "live", "connecting": "retrying", "retrying": "retrying", "idle": "retrying"}


def state_class(state: str) -> str:
    """live / retrying / down for a reader state (stopped, failed, down, anything unknown: down)."""
    return _CLASS_OF.get((state or "").lower(), "down")


def subscribe(fn: Callable[[], None]) -> Callable[[], None]:
    """on_positions_changed under the map's name; returns the unsubscribe function."""
    return on_positions_changed(fn)
