"""事件 Incidents dock: several incidents open at once, each in its own tab (form, timeline, 报, 批示)."""

from __future__ import annotations

from app.ui.docks import DockSpec, PanelHost, register_dock
from app.ui.i18n import N_


def _make(host: PanelHost):
    from app.ui.incidents.panel import IncidentsPanel

    return IncidentsPanel(host)


register_dock(DockSpec("incidents", N_("事件"), "right", 4, "warnings", module="app.ui.incidents", factory=_make,
                       description=N_("突发事件工作台：事件信息、时间线、信息报送和领导批示。")))
