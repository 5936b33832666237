"""资源 Resources slot: the libraries (一网五库 + experts + contacts), stock, dispatch and recommendation."""

from __future__ import annotations

from app.ui.docks import PanelHost, register_panel


def _make(host: PanelHost):
    from app.ui.resources.panel import ResourcesPanel

    return ResourcesPanel(host)


register_panel("resources", _make)
