"""Countdown chips for reports due upward (报): green while there is time, amber when close, red when late.

A chip is told its deadline once and ``tick``s every second from one timer in its owner;
an overdue chip blinks, so a late 首报 cannot go unnoticed. ``DueReportsStrip`` is the
short "reports due" list of the overview and of the incident workspace.
"""

from __future__ import annotations

import datetime as dt
import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from app.domain import clock
from app.services.report_deadlines import ReportDue
from app.services.reporting import current_dues, report_label
from app.ui import background, i18n
from app.ui.i18n import tr

log = logging.getLogger(__name__)

SOON_SECONDS = 15 * 60
_STYLES = {
    "ok": "background:#e3f1e6;color:#1d5b2c;border:1px solid #8cc49a;",
    "soon": "background:#fff3d6;color:#7a4d00;border:1px solid #e0b04c;",
    "overdue": "background:#d7261e;color:white;border:1px solid #a3140e;font-weight:bold;",
    "blink": "background:#ffe1df;color:#a3140e;border:1px solid #d7261e;font-weight:bold;",
}


def countdown_text(seconds: float) -> str:
    s = int(abs(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h >= 24:
        return tr("{d}天{h}时").format(d=h // 24, h=h % 24)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def chip_state(seconds: float) -> str:
    return "overdue" if seconds <= 0 else "soon" if seconds <= SOON_SECONDS else "ok"


class CountdownChip(QPushButton):
    """"首报 还剩 12:04" / "首报 超时 03:10"; ``state`` is ok, soon or overdue. Clicking opens the incident."""

    def __init__(self, parent: QWidget | None = None, title: str = ""):
        super().__init__(parent, objectName="reportChip", flat=True)
        self.due: ReportDue | None = None
        self.title = title
        self.state = "ok"
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        i18n.notifier().language_changed.connect(self._relabel)

    def _relabel(self, _lang: str = "") -> None:
        self.tick(clock.now(), False)

    def set_due(self, due: ReportDue | None, title: str | None = None) -> None:
        self.due = due
        if title is not None:
            self.title = title
        self.setVisible(due is not None)
        self.tick(clock.now(), False)

    def tick(self, now: dt.datetime, blink: bool) -> None:
        if self.due is None:
            return
        left = self.due.seconds_left(now)
        self.state = chip_state(left)
        label = report_label(self.due.kind, self.due.seq, i18n.current())
        template = tr("{report} 超时 {time}") if left <= 0 else tr("{report} 还剩 {time}")
        text = template.format(report=label, time=countdown_text(left))
        if self.title:
            text = f"{self.title} · {text}"
        self.setText(text)
        self.setToolTip(tr("时限：{time}").format(time=clock.to_beijing(self.due.due_at).strftime("%m-%d %H:%M")))
        style = "blink" if self.state == "overdue" and blink else self.state
        self.setStyleSheet(f"QPushButton#reportChip {{{_STYLES[style]} border-radius:9px; padding:2px 9px;}}")


class DueReportsStrip(QWidget):
    """The soonest reports due (real incidents), as chips in a row; ``open_incident`` on a click."""

    open_incident = Signal(str)
    overdue_changed = Signal(int)

    def __init__(self, read, parent: QWidget | None = None, limit: int = 4, include_drills: bool = False):
        super().__init__(parent, objectName="dueReportsStrip")
        # The strip never widens its dock: chips that do not fit are hidden and counted instead.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._read, self._limit, self._drills = read, limit, include_drills
        self.caption = QLabel(objectName="sectionLabel")
        self.more = QLabel(objectName="dueMore")
        self.chips: list[CountdownChip] = []
        self.dues: list[ReportDue] = []
        self.overdue = 0
        self._blink = False
        self._job = None
        self._again = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        for _ in range(limit):
            chip = CountdownChip(self)
            chip.clicked.connect(lambda _=False, c=chip: c.due and self.open_incident.emit(c.due.incident_id))
            chip.hide()
            layout.addWidget(chip)
            self.chips.append(chip)
        layout.addWidget(self.more)
        layout.addStretch(1)
        self.timer = QTimer(self, interval=1000, timeout=self.tick)
        self.timer.start()
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()

    def reload(self) -> None:
        """Re-read off the GUI thread (every incident is looked at: tens of ms on a big cache)."""
        if self._job is not None:
            self._again = True
            return
        self._job = background.run(self, self._read, current_dues, done=self._loaded)

    def loading(self) -> bool:
        return self._job is not None

    def _loaded(self, dues, error) -> None:
        self._job = None
        if self._again:
            self._again = False
            self.reload()
        if error is not None:  # a failed read keeps the old chips; the next change retries
            log.warning("reports due read failed: %s", error)
            return
        self.dues = [d for d in dues if self._drills or not d.drill]
        for chip, due in zip(self.chips, self.dues + [None] * self._limit, strict=False):
            chip.set_due(due, _short(due.title) if due else "")
            if due is not None:
                chip.setToolTip(due.title)
        self.tick()

    def tick(self) -> None:
        now = clock.now()
        self._blink = not self._blink
        for chip in self.chips:
            chip.tick(now, self._blink)
        overdue = sum(1 for d in self.dues if d.overdue(now))
        shown = self._fit()
        hidden = len(self.dues) - shown
        self.more.setText(tr("另有 {n} 项").format(n=hidden) if hidden else ("" if self.dues else tr("暂无待报")))
        if overdue != self.overdue:
            self.overdue = overdue
            self.overdue_changed.emit(overdue)
        self.caption.setText(tr("待报 {n} 项，逾期 {m} 项").format(n=len(self.dues), m=overdue)
                             if self.dues else tr("待报"))

    def retranslate(self) -> None:
        self.tick()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> int:
        """Show as many chips as fit on the one line (the rest are counted in "另有 N 项")."""
        spacing = self.layout().spacing()
        room = self.width() - self.caption.sizeHint().width() - self.more.fontMetrics().horizontalAdvance(
            tr("另有 {n} 项").format(n=99)) - 3 * spacing
        shown = 0
        for chip, due in zip(self.chips, self.dues + [None] * self._limit, strict=False):
            want = chip.sizeHint().width() + spacing
            visible = due is not None and (want <= room or shown == 0)
            chip.setVisible(visible)
            if visible:
                room -= want
                shown += 1
        return shown


def _short(title: str, n: int = 12) -> str:
    return title if len(title) <= n else title[:n - 1] + "…"
