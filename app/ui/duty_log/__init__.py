"""值班日志 Duty log panel: registers the "duty_log" slot."""

from __future__ import annotations

from app.ui.docks import register_panel


def _make(host):
    from app.ui.duty_log.panel import DutyLogPanel

    return DutyLogPanel(host)


register_panel("duty_log", _make)
