"""Icons from resources/icons/*.svg (no compiled .qrc: the SVGs stay readable and diffable)."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPixmap

from app.paths import resources_dir


@cache
def icon(name: str) -> QIcon:
    path = resources_dir() / "icons" / f"{name}.svg"
    if not path.exists():
        raise FileNotFoundError(path)
    return QIcon(str(path))


def pixmap(name: str, px: int, device_pixel_ratio: float = 1.0) -> QPixmap:
    """Rendered from the SVG at the real pixel size, so it stays sharp on a 4K wall."""
    return icon(name).pixmap(QSize(px, px), device_pixel_ratio)
