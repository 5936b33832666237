"""The status bar: Beijing time, who is on watch, the shift, and the sync state with its badges."""

from __future__ import annotations

import logging
import weakref

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStatusBar, QToolButton, QWidget

from app.domain import clock
from app.domain.enums import Role
from app.services import sync_status
from app.services.changes import ChangeSet
from app.services.shift_queries import ShiftInfo, current_shift
from app.ui import i18n, icons, sync_text
from app.ui.i18n import tr

log = logging.getLogger(__name__)


def _role_label(role: str) -> str:
    try:
        return Role(role).label(i18n.current())
    except ValueError:
        return role


def describe_shift(shift: ShiftInfo | None) -> str:
    if shift is None:
        return tr("班次") + " —"
    if shift.starts_at.date() == shift.ends_at.date():
        hours = f"{shift.starts_at:%H:%M}–{shift.ends_at:%H:%M}"
    else:
        hours = f"{shift.starts_at:%H:%M}–" + tr("次日") + f"{shift.ends_at:%H:%M}"
    text = tr("班次") + " " + hours
    if shift.leader_name:
        text += " · " + tr("带班") + " " + shift.leader_name
    return text


class IconLabel(QWidget):
    """An icon beside a text: state is never told by colour alone."""

    def __init__(self, icon_name: str, object_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.icon = QLabel()
        self.label = QLabel(objectName=object_name)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.icon)
        layout.addWidget(self.label)
        layout.addStretch(1)
        self.set_icon(icon_name)

    def set_icon(self, name: str) -> None:
        self._icon_name = name
        px = self.label.fontMetrics().height()
        self.icon.setPixmap(icons.pixmap(name, px, self.devicePixelRatioF()))

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override: re-render at the new type size
        super().changeEvent(event)
        if event.type() in (event.Type.FontChange, event.Type.StyleChange) and hasattr(self, "_icon_name"):
            self.set_icon(self._icon_name)


class StatusBar(QStatusBar):
    conflicts_clicked = Signal()
    """The officer asked to see the open sync conflicts."""
    rejected_clicked = Signal()
    """The officer asked to see the changes the server refused."""
    signin_clicked = Signal()
    """The officer asked to sign in (sync stopped for want of a valid sign-in)."""
    skew_clicked = Signal()
    """The officer asked about the console's clock being off."""

    def __init__(self, ctx, changes, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.ctx = ctx
        self.shift: ShiftInfo | None = None
        self.sync_status = ctx.sync.status if ctx.sync is not None else None
        self.clock_caption = QLabel(objectName="clockCaption")
        self.clock_label = QLabel(objectName="clockLabel")  # digits only: monospaced, so they never jitter
        self.user = IconLabel("user", "userLabel")
        self.shift_label = IconLabel("shift", "shiftLabel")
        self.sync = IconLabel("local", "syncLabel")
        self.conflict_badge = self._badge("conflictBadge", "conflict", self.conflicts_clicked)
        self.rejected_badge = self._badge("rejectedBadge", "rejected", self.rejected_clicked)
        self.skew_chip = self._badge("skewChip", "clock", self.skew_clicked)
        self.signin_button = self._badge("signInButton", "signin", self.signin_clicked)
        self.addWidget(self.clock_caption)
        self.addWidget(self.clock_label)
        self.addWidget(self.user)
        self.addWidget(self.shift_label, 1)
        for w in (self.skew_chip, self.conflict_badge, self.rejected_badge, self.sync, self.signin_button):
            self.addPermanentWidget(w)

        self._tick = QTimer(self, singleShot=True, timerType=Qt.TimerType.PreciseTimer, timeout=self._on_tick)
        changes.changes_applied.connect(self._on_changes)
        i18n.notifier().language_changed.connect(self.retranslate)
        if ctx.sync is not None:
            ctx.sync.subscribe(self._sync_callback())
        self.refresh_shift()
        self.retranslate()
        self._on_tick()

    # ---- Public API ------------------------------------------------------------------------
    def retranslate(self) -> None:
        user = self.ctx.user
        if user is None:
            self.user.label.setText(tr("未登录"))
        else:
            text = f"{user.name} · {_role_label(user.role)}"
            self.user.label.setText(text + (" · " + tr("离线登录") if user.offline else ""))
        self.shift_label.label.setText(describe_shift(self.shift))
        self.show_sync(self.sync_status)
        self._show_clock()

    def refresh_shift(self) -> None:
        try:
            self.shift = self.ctx.read(current_shift)
        except Exception:  # the clock and the sync state matter more than the shift line
            log.exception("reading the current shift failed")
        self.shift_label.label.setText(describe_shift(self.shift))
        if self.shift is not None:
            s = self.shift
            self.shift_label.setToolTip(f"{s.starts_at:%Y-%m-%d %H:%M} – {s.ends_at:%Y-%m-%d %H:%M}")

    def show_sync(self, status) -> None:
        self.sync_status = status
        described = sync_text.describe(status)
        self.sync.set_icon(described.icon)
        self.sync.label.setText(described.text)
        self.sync.setToolTip(described.tooltip)
        if self.sync.label.property("state") != described.state:
            self.sync.label.setProperty("state", described.state)
            self.sync.label.style().polish(self.sync.label)
        conflicts = status.conflicts if status is not None else 0
        rejected = status.rejected if status is not None else 0
        self.conflict_badge.setText(tr("{n} 冲突").format(n=conflicts))
        self.conflict_badge.setVisible(conflicts > 0)
        self.rejected_badge.setText(tr("{n} 被拒").format(n=rejected))
        self.rejected_badge.setVisible(rejected > 0)
        # Sync stopped for want of a sign-in: the sync text becomes a button that opens the sign-in.
        signin = described.state == sync_status.SIGNIN_NEEDED
        self.signin_button.setText(tr("需要登录以继续同步"))
        self.signin_button.setToolTip(described.tooltip)
        # Hide before show: for a moment both would be in the bar and could widen the window for good.
        shown, hidden = (self.signin_button, self.sync) if signin else (self.sync, self.signin_button)
        hidden.hide()
        shown.show()
        skew = sync_text.clock_skew(status)
        self.skew_chip.setText(skew or "")
        self.skew_chip.setToolTip(tr("本机时钟与服务器相差较大。记录的时间以服务器为准；请联系管理员校准本机时钟。")
                                  if skew else "")
        self.skew_chip.setVisible(skew is not None)

    # ---- Private ---------------------------------------------------------------------------
    def _badge(self, name: str, icon_name: str, signal) -> QToolButton:
        button = QToolButton(objectName=name)
        button.setIcon(icons.icon(icon_name))
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        button.clicked.connect(signal)
        button.hide()
        return button

    def _sync_callback(self):
        # The engine keeps its subscribers for its whole life; it must not keep this widget alive
        # or call into it after the window is gone.
        ref = weakref.ref(self)

        def on_status(status) -> None:
            bar = ref()
            if bar is not None:
                try:
                    bar.show_sync(status)
                except RuntimeError:  # the C++ side was deleted first
                    pass
        return on_status

    def _show_clock(self) -> None:
        now = clock.now()
        self.clock_caption.setText(tr("北京时间"))
        self.clock_label.setText(f"{now:%Y-%m-%d %H:%M:%S}")
        return now

    def _on_tick(self) -> None:
        now = self._show_clock()
        if self.sync_status is not None and self.sync_status.state == "synced":
            self.show_sync(self.sync_status)  # the server time shown ticks too
        if now.second == 0:
            self.refresh_shift()  # a shift boundary passes without any ChangeSet
        # Re-arm for the next whole second so the display never drifts or skips a second.
        self._tick.start(max(1, 1000 - now.microsecond // 1000))

    def _on_changes(self, changes: ChangeSet) -> None:
        if changes.touches("shift", "user"):
            self.refresh_shift()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        px = self.fontMetrics().height()
        for badge in (self.conflict_badge, self.rejected_badge, self.skew_chip, self.signin_button):
            badge.setIconSize(QSize(px, px))
