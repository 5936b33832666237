"""一张图: the map panel (slot "map"). See app/ui/map/panel.py."""

from __future__ import annotations

from app.ui.docks import register_panel


def _make(host):
    from app.ui.map.panel import MapPanel

    return MapPanel(host)


register_panel("map", _make)
