"""同步 Sync dock: registered here, built lazily (the panel's modules load when the window makes it)."""

from __future__ import annotations

from app.ui.docks import DockSpec, PanelHost, register_dock
from app.ui.i18n import N_


def _make(host: PanelHost):
    from app.ui.sync_panel.panel import SyncPanel

    return SyncPanel(host)


register_dock(DockSpec("sync", N_("同步"), "right", 8, "syncing", module="app.ui.sync_panel", factory=_make,
                       description=N_("待上传的修改、同步冲突、被服务器拒绝的修改，以及同步状态。")))
