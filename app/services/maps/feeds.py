"""The field-feed layer: the video panel's feeds that carry or were given a position, as a PointLayer
(style = live / retrying / down, label = the feed's name, extra = the reader's own state)."""

from __future__ import annotations

from app.services import feed_positions as FP
from app.services.maps.layers import PointLayer


def read_feed_layer() -> PointLayer:
    layer = PointLayer("feed", [], [], [], [], [], [])
    for p in FP.feed_positions():
        layer.ids.append(p.feed_id)
        layer.lon.append(p.lon)
        layer.lat.append(p.lat)
        layer.style.append(FP.state_class(p.state))
        layer.label.append(p.name)
        layer.extra.append(p.state)
        layer.updated.append(None)
    return layer


def find_feed(feed_id: str) -> FP.FeedPosition | None:
    return next((p for p in FP.feed_positions() if p.feed_id == feed_id), None)
