"""Preparing the QApplication (settings, fonts, theme) and the two ways the window ends.

Called by app/bootstrap.py: ``prepare_application`` before the window exists,
then either ``until_closed`` under qasync or ``screenshot_and_exit`` for --screenshot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication, QMainWindow

from app.ui import i18n
from app.ui import theme as themes  # `theme` is prepare_application's parameter name (bootstrap's API)
from app.ui.settings import Settings

log = logging.getLogger(__name__)

# First one installed wins; Windows desks have YaHei, Debian images Noto or WenQuanYi. Without a
# CJK font every Chinese character is a box, so a missing one is logged loudly.
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
                "WenQuanYi Micro Hei", "Noto Sans SC")


def install_font(qapp: QApplication) -> str | None:
    available = set(QFontDatabase.families())
    chosen = [f for f in CJK_FAMILIES if f in available]
    if not chosen:
        log.error("no Chinese font found (install fonts-noto-cjk or fonts-wqy-microhei): text will be boxes")
        return None
    font = QFont(qapp.font())
    font.setFamilies(chosen)  # the rest stay as fallbacks for glyphs the first one lacks
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    qapp.setFont(font)
    return chosen[0]


def prepare_application(qapp: QApplication, lang: str | None, theme: str | None, home: Path) -> Settings:
    """Load settings (home/settings.json; flags override for this run), font, language and theme."""
    qapp.setApplicationName("Command Desk")
    qapp.setApplicationDisplayName("应急指挥台")
    qapp.setOrganizationName("Command Desk")
    settings = Settings.load(home / "settings.json")
    settings.override(language=lang, theme=theme)
    if settings.language not in i18n.LANGUAGES:
        settings.set("language", "zh")
    if settings.theme not in themes.THEMES:
        settings.set("theme", "day")
    install_font(qapp)
    i18n.set_language(settings.language)
    themes.apply(qapp, settings.theme)
    return settings


def parse_size(size: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in size.lower().split("x"))
    except ValueError as e:
        raise ValueError(f"size must look like 1920x1080, not {size!r}") from e
    if w < 200 or h < 200:
        raise ValueError(f"size {size!r} is too small")
    return w, h


def settle(seconds: float = 0.3) -> None:
    """Run the Qt event loop briefly: layout requests, deferred timers and paints get done."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def screenshot_and_exit(window: QMainWindow, path: Path, size: str, loop) -> int:
    """Render the window at ``size`` (pixels of the image) to ``path``; returns the exit code."""
    width, height = parse_size(size)
    window.setWindowState(Qt.WindowState.WindowNoState)  # neither full screen (wall) nor maximised (desk)
    dpr = window.devicePixelRatioF() or 1.0
    window.resize(round(width / dpr), round(height / dpr))
    window.show()
    sync = window.ctx.sync
    if sync is not None and hasattr(sync, "sync_once"):
        try:
            loop.run_until_complete(sync.sync_once())
        except Exception:  # a screenshot of the offline state is still a screenshot
            log.exception("sync before the screenshot failed")
    settle()
    window.refresh_now()
    settle(0.2)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        log.error("could not write %s", path)
        return 1
    return 0


def until_closed(window: QMainWindow) -> asyncio.Future[int]:
    """A future that completes with exit code 0 when the window closes (or the application quits).

    A plain future, not a coroutine, on purpose: closing the last window makes Qt quit, which
    stops the qasync loop at once. ``run_until_complete`` then checks this future, already done,
    and returns 0; a coroutine awaiting it would never get the turn to finish, and qasync would
    raise "Event loop stopped before Future completed" on every normal exit.
    """
    done: asyncio.Future[int] = asyncio.get_event_loop().create_future()

    def _on_closed() -> None:
        if not done.done():
            done.set_result(0)

    window.closed.connect(_on_closed)
    QApplication.instance().aboutToQuit.connect(_on_closed)
    return done
