"""Day and night themes: one templated stylesheet, two palettes, sizes scaled for the wall.

resources/themes/console.qss holds every rule once; day.json and night.json give
its colours, so a panel adding a rule cannot forget one theme. Sizes are in pixels
and multiplied by ``scale`` (briefing mode: 1.6× on a 1080-line wall, more on 4K).
"""

from __future__ import annotations

import json
import re
from functools import cache

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.paths import resources_dir

THEMES = ("day", "night")
BRIEFING_SCALE = 1.6

# Desk sizes: readable at arm's length by an officer on the phone (larger than Qt's 9-10 pt).
BASE_SIZES = {"font_px": 15, "small_px": 13, "large_px": 18, "title_px": 16, "value_px": 38,
              "pad_px": 5, "pad2_px": 10, "pad3_px": 14, "pad4_px": 26, "gap_px": 4, "icon_px": 16,
              "accent_px": 5}


@cache
def palette_colours(name: str) -> dict[str, str]:
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}")
    with open(resources_dir() / "themes" / f"{name}.json", encoding="utf-8") as fh:
        return {k: v for k, v in json.load(fh).items() if not k.startswith("_")}


@cache
def _template() -> str:
    return (resources_dir() / "themes" / "console.qss").read_text(encoding="utf-8")


def sizes(scale: float = 1.0) -> dict[str, int]:
    return {k: max(1, round(v * scale)) for k, v in BASE_SIZES.items()}


def stylesheet(name: str, scale: float = 1.0) -> str:
    values = {**palette_colours(name), **{k: str(v) for k, v in sizes(scale).items()}}
    # A misspelt {{name}} is a KeyError here (and in the theme test), not a silently broken rule.
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values[m.group(1)], _template())


def qpalette(name: str) -> QPalette:
    """A QPalette matching the stylesheet, for what QSS does not reach (dialogs, scroll bars)."""
    c = {k: QColor(v) for k, v in palette_colours(name).items()}
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: c["bg"], QPalette.ColorRole.WindowText: c["text"],
        QPalette.ColorRole.Base: c["panel"], QPalette.ColorRole.AlternateBase: c["panel_alt"],
        QPalette.ColorRole.Text: c["text"], QPalette.ColorRole.Button: c["header_bg"],
        QPalette.ColorRole.ButtonText: c["text"], QPalette.ColorRole.Highlight: c["selection"],
        QPalette.ColorRole.HighlightedText: c["selection_text"],
        QPalette.ColorRole.ToolTipBase: c["tooltip_bg"], QPalette.ColorRole.ToolTipText: c["tooltip_text"],
        QPalette.ColorRole.PlaceholderText: c["text_muted"], QPalette.ColorRole.Link: c["accent"],
    }
    for role, colour in roles.items():
        p.setColor(role, colour)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, c["text_muted"])
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, c["text_muted"])
    return p


def apply(qapp: QApplication, name: str, scale: float = 1.0) -> None:
    if qapp.style().name().lower() != "fusion":
        qapp.setStyle("Fusion")  # the same look on every desk, whatever the OS theme
    qapp.setPalette(qpalette(name))
    qapp.setStyleSheet(stylesheet(name, scale))


def colour(name: str, key: str) -> QColor:
    return QColor(palette_colours(name)[key])
