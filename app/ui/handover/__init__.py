"""交接班 Handover dock: roster (排班), shift handover (交接班) and roll-calls (点名)."""

from __future__ import annotations

from app.ui.docks import DockSpec, PanelHost, register_dock
from app.ui.i18n import N_


def _make(host: PanelHost):
    from app.ui.handover.panel import HandoverPanel

    return HandoverPanel(host)


register_dock(DockSpec("handover", N_("交接班"), "right", 7, "shift", module="app.ui.handover", factory=_make,
                       description=N_("排班、交接班（逐项确认未结事项、双方签字、封存日志链头）和上级点名记录。")))
