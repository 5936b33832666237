"""The dock registry: the slots of the main window and the panels that fill them.

The main window never imports a panel by name. Each slot names the module that
provides its panel; at start the window imports the modules that exist, and each
registers its factory (see ``register_panel``). A slot whose panel is not written
yet shows a tidy empty state saying what will be there.

A panel package (e.g. app/ui/duty_log/__init__.py) does::

    from app.ui.docks import register_panel

    def _make(host):  # host: PanelHost (ctx, changes, selection, read_only, settings)
        from app.ui.duty_log.panel import DutyLogPanel
        return DutyLogPanel(host)

    register_panel("duty_log", _make)

A brand-new dock (not one of the slots) uses ``register_dock(DockSpec(...))`` and adds
its module to ``EXTRA_PANEL_MODULES``.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from app.ui.i18n import N_

log = logging.getLogger(__name__)

AREAS = ("left", "right", "top", "bottom")


@dataclasses.dataclass
class PanelHost:
    """What a panel is handed: everything it may use, nothing global."""

    ctx: Any  # app.services.context.AppContext
    changes: Any  # app.ui.bus_adapter.ChangeBridge: .changes_applied(ChangeSet) on the GUI thread
    selection: Any  # app.ui.selection.Selection
    read_only: bool  # the briefing display: show, never edit
    settings: Any  # app.ui.settings.Settings


PanelFactory = Callable[[PanelHost], QWidget]


@dataclasses.dataclass(frozen=True)
class DockSpec:
    id: str  # the dock's objectName and its key in saved layouts: never rename one
    title: str  # Chinese source text, shown through tr()
    area: str = "right"  # one of AREAS: where it goes when no layout recipe places it
    order: int = 100  # position in the View menu; the first nine get Ctrl+1..9
    icon: str = "overview"  # resources/icons/<icon>.svg
    description: str = ""  # what the panel will show, for the empty state (Chinese source)
    module: str | None = None  # the module that registers this slot's panel
    factory: PanelFactory | None = None  # None until a panel registers


_SLOTS = (
    DockSpec("overview", N_("概览"), "left", 1, "overview", module="app.ui.overview_panel",
             description=N_("在办事件、队伍、避难场所、物资、预警和风险点的实时数量。")),
    DockSpec("map", N_("地图"), "left", 2, "map", module="app.ui.map",
             description=N_("一张图：事件、救援队伍、物资仓库、避难场所和风险隐患点的位置与态势。")),
    DockSpec("duty_log", N_("值班日志"), "right", 3, "duty_log", module="app.ui.duty_log",
             description=N_("守、接、报、调、处：本班的值班记录、接报信息和交接班。")),
    DockSpec("resources", N_("资源"), "right", 5, "resources", module="app.ui.resources",
             description=N_("一网五库：救援队伍、物资储备、避难场所、大型装备、风险隐患点，以及专家和通讯录。")),
    DockSpec("video", N_("视频会商"), "right", 6, "video", module="app.ui.video",
             description=N_("与街道应急办和现场队伍的视频会商，含会商纪要与决定事项。")),
    DockSpec("warnings", N_("预警"), "right", 9, "warnings", module="app.ui.warnings",
             description=N_("预警信息的草拟、审批、发布、更新与解除。")),
    DockSpec("statistics", N_("统计"), "right", 10, "statistics", module="app.ui.statistics",
             description=N_("事件、队伍出动和物资消耗的统计图表。")),
)
_registry: dict[str, DockSpec] = {s.id: s for s in _SLOTS}
_failures: dict[str, str] = {}  # slot id -> why its panel could not be loaded

# Modules of docks that are not one of the slots above; each calls register_dock().
EXTRA_PANEL_MODULES: tuple[str, ...] = ("app.ui.sync_panel", "app.ui.handover", "app.ui.incidents")


def register_panel(slot_id: str, factory: PanelFactory) -> None:
    """Fill an existing slot with a real panel (keeps its title, area and shortcut)."""
    if slot_id not in _registry:
        raise KeyError(f"no dock slot {slot_id!r}; use register_dock for a new dock")
    _registry[slot_id] = dataclasses.replace(_registry[slot_id], factory=factory)


def register_dock(spec: DockSpec) -> None:
    """Add (or replace) a dock that is not one of the built-in slots."""
    if spec.area not in AREAS:
        raise ValueError(f"area must be one of {AREAS}")
    _registry[spec.id] = spec


def dock_specs() -> list[DockSpec]:
    return sorted(_registry.values(), key=lambda s: (s.order, s.id))


def load_failure(slot_id: str) -> str | None:
    return _failures.get(slot_id)


def load_panel_modules() -> None:
    """Import each slot's panel module if it exists; a broken panel must not stop the console."""
    modules = [(s.id, s.module) for s in _SLOTS if s.module]
    modules += [(m, m) for m in EXTRA_PANEL_MODULES]
    for slot_id, module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                _failures[slot_id] = f"{type(e).__name__}: {e}"
                log.exception("panel module %s failed to import", module)
            # else: that panel is not written yet; its slot shows the empty state
        except Exception as e:  # the watch goes on without one panel
            _failures[slot_id] = f"{type(e).__name__}: {e}"
            log.exception("panel module %s failed to import", module)
