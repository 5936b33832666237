"""The two named dock layouts: 值班布局 (a duty desk) and 大屏布局 (the briefing wall).

A recipe places the docks it knows and leaves any other dock in its registered area,
so a panel added later still appears somewhere sensible.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from app.ui.i18n import N_

LAYOUT_VERSION = 2  # bump when the slots change so an old saved state is not half-applied
NAMED_LAYOUTS = (("duty", N_("值班布局")), ("briefing", N_("大屏布局")))

_AREA = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "top": Qt.DockWidgetArea.TopDockWidgetArea, "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}
H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical

# (columns: [[dock ids stacked top→bottom, each cell a tab group]], widths, shown-but-hidden ids)
RECIPES = {
    # Desk: the picture (overview, map) on the left two thirds, the work of the watch on the right.
    "duty": ([[["overview"]], [["map"]], [["duty_log", "incidents", "resources", "video"],
                                          ["handover", "sync", "warnings", "statistics"]]],
             (0.26, 0.38, 0.36), (0.6, 0.4), ()),
    # Wall: counts, map, warnings and figures; nothing that is typed into (the sync state is in the status bar).
    "briefing": ([[["overview"]], [["map"]], [["warnings"], ["statistics", "video"]]],
                 (0.36, 0.40, 0.24), (0.5, 0.5), ("duty_log", "incidents", "resources", "handover", "sync")),
}


def arrange(window: QMainWindow, docks: dict[str, QDockWidget], recipe: str, areas: dict[str, str]) -> None:
    """Lay the docks out by the named recipe (``areas``: dock id → registered area)."""
    columns, widths, heights, hidden = RECIPES[recipe]
    # No removeDockWidget() first: add/split/tabify move a dock that is already placed, while
    # removing one whose place came from restoreState() in a maximised window crashes inside Qt
    # 6.11 (QLayout::removeWidget; seen in tests/ui/test_layouts.py).
    # Cells whose docks exist, as [column][cell] -> list of docks (the first is the tab group's head).
    grid = [[[docks[i] for i in cell if i in docks] for cell in column] for column in columns]
    grid = [[cell for cell in column if cell] for column in grid]
    grid = [column for column in grid if column]
    # Columns first (splitting a cell later only splits that cell), then rows, then tabs.
    heads = [column[0][0] for column in grid]
    for i, head in enumerate(heads):
        if i == 0:
            window.addDockWidget(_AREA["left"], head)
        else:
            window.splitDockWidget(heads[i - 1], head, H)
    for column in grid:
        for above, below in zip(column, column[1:], strict=False):
            window.splitDockWidget(above[0], below[0], V)
        for cell in column:
            for other in cell[1:]:
                window.tabifyDockWidget(cell[0], other)
    placed = {d.objectName() for column in grid for cell in column for d in cell}
    for dock_id, dock in docks.items():
        if dock_id not in placed:
            window.addDockWidget(_AREA.get(areas.get(dock_id, "right"), _AREA["right"]), dock)
    for dock_id, dock in docks.items():
        dock.setFloating(False)
        dock.setVisible(dock_id not in hidden)
    for column in grid:
        for cell in column:
            cell[0].raise_()  # the first tab of each group is the one in front
    total_w, total_h = max(window.width(), 800), max(window.height(), 600)
    window.resizeDocks(heads, [int(total_w * f) for f in widths[:len(heads)]], H)
    for column in grid:
        if len(column) > 1:
            window.resizeDocks([c[0] for c in column], [int(total_h * f) for f in heights[:len(column)]], V)
