"""登录 Sign in: user name and password, online when the server answers, else the cached verifier.

The dialog says beforehand which it will be (SYNC_RESEARCH.md §3.13): online against
the server, offline against the verifier an earlier online sign-in left on this
console, or not possible (server unreachable and this user never signed in here).
The sign-in itself runs off the GUI thread (a dead network must not freeze the
window for the connect timeout); errors from SignInFailed appear beside the form in
the current language. ``apply_sign_in`` hands the result to the context and the
sync engine; queued changes keep their author, whoever signs in next.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.services import sync_status as S
from app.services.context import AppContext, SignedInUser
from app.services.signin import SignInFailed, has_verifier, sign_in
from app.ui import background, i18n
from app.ui.i18n import N_, tr

ONLINE, OFFLINE, UNAVAILABLE = "online", "offline", "unavailable"

# Why the dialog opened, shown above the form (Chinese source text, through tr()).
REASON_START = N_("请登录以开始同步。")
REASON_RESUME = N_("服务器要求重新登录才能继续同步。本机排队的修改都保留着，登录后继续上传。")


def apply_sign_in(ctx: AppContext, user: SignedInUser, username: str, password: str) -> None:
    """Make ``user`` the officer on watch and let the sync engine carry on as them.

    Queued changes are never touched: each outbox row keeps the author_id it was written
    with. The previous officer's tokens are dropped, so nothing is pushed under their name
    after the switch; an offline sign-in leaves the engine to log in with these credentials
    once the server answers again.
    """
    ctx.user = user
    if ctx.sync is None:
        return
    fresh = ctx.pending_tokens if not user.offline else None
    ctx.sync.use_tokens(fresh or {})
    ctx.sync.use_credentials(username, password)
    ctx.sync.wake()


class SignInDialog(QDialog):
    signed_in = Signal(object, str, str)
    """Sign-in succeeded: (SignedInUser, username, password). Nothing is applied yet."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, username: str = "", reason: str = ""):
        super().__init__(parent, objectName="signInDialog")
        self.ctx = ctx
        self.reason_text = reason
        self.mode = ONLINE
        self.user: SignedInUser | None = None
        self._job: background.Job | None = None
        self.reason = QLabel(objectName="dialogHeading", wordWrap=True)
        self.username = QLineEdit(username, objectName="usernameEdit")
        self.password = QLineEdit(objectName="passwordEdit", echoMode=QLineEdit.EchoMode.Password)
        self.username_label = QLabel(buddy=self.username)
        self.password_label = QLabel(buddy=self.password)
        self.mode_label = QLabel(objectName="signinMode", wordWrap=True)
        self.error = QLabel(objectName="formError", wordWrap=True)
        form = QFormLayout()
        form.addRow(self.username_label, self.username)
        form.addRow(self.password_label, self.password)
        form.addRow("", self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.submit_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.submit_button.setDefault(True)  # Enter submits from either field; Esc cancels (QDialog)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(self.reason)
        layout.addLayout(form)
        layout.addWidget(self.mode_label)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 34)
        self.username.textChanged.connect(self._update_mode)
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()
        (self.password if username else self.username).setFocus(Qt.FocusReason.OtherFocusReason)

    # ---- Public API ------------------------------------------------------------------------
    def submit(self) -> None:
        if self.busy():
            return
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self.error.setText(tr("请输入用户名和密码。"))
            (self.password if username else self.username).setFocus()
            return
        self.error.setText("")
        self._set_busy(True)
        self._job = background.run(self, sign_in, self.ctx, username, password,
                                   done=lambda user, error: self._finished(username, password, user, error))

    def busy(self) -> bool:
        return self._job is not None and self._job.running

    def retranslate(self) -> None:
        self.setWindowTitle(tr("登录"))
        self.reason.setText(tr(self.reason_text) if self.reason_text else tr("登录应急指挥台"))
        self.username_label.setText(tr("用户名(&U)"))
        self.password_label.setText(tr("密码(&P)"))
        self.submit_button.setText(tr("登录"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("取消"))
        self._update_mode()

    # ---- Qt overrides ----------------------------------------------------------------------
    def reject(self) -> None:
        self._job = None  # a sign-in still under way is ignored when it ends: Esc means "not now"
        super().reject()

    # ---- Private ---------------------------------------------------------------------------
    def _update_mode(self) -> None:
        username = self.username.text().strip()
        cached = bool(username) and has_verifier(self.ctx, username)
        sync = self.ctx.sync
        unreachable = not self.ctx.server_url or (sync is not None and sync.status.state == S.OFFLINE)
        if unreachable:
            self.mode = OFFLINE if cached or not username else UNAVAILABLE
        else:
            self.mode = ONLINE
        if self.mode == ONLINE:
            text = tr("将连接服务器在线登录：{server}").format(server=self.ctx.server_url)
            if cached:
                text += "\n" + tr("服务器无响应时，将用本机保存的登录记录离线登录。")
        elif self.mode == OFFLINE:
            text = (tr("服务器暂时无法连接：将用本机保存的登录记录离线登录，网络恢复后自动在线验证。")
                    if self.ctx.server_url else tr("未连接服务器：将用本机保存的登录记录离线登录。"))
        else:
            text = tr("服务器暂时无法连接，且该用户从未在本机登录过：需等网络恢复后才能登录。")
        self.mode_label.setText(text)
        self.mode_label.setProperty("mode", self.mode)
        self.mode_label.style().polish(self.mode_label)

    def _set_busy(self, busy: bool) -> None:
        # Read-only, not disabled: a disabled field would hand the keyboard focus to 取消, and the
        # next Enter would cancel instead of signing in.
        self.username.setReadOnly(busy)
        self.password.setReadOnly(busy)
        self.submit_button.setEnabled(not busy)
        self.submit_button.setDefault(True)
        if busy:
            self.mode_label.setText(tr("正在登录…"))
        else:
            self._update_mode()

    def _finished(self, username: str, password: str, user: SignedInUser | None, error: BaseException | None
                  ) -> None:
        if self._job is None:  # cancelled meanwhile
            return
        self._job = None
        self._set_busy(False)
        if isinstance(error, SignInFailed):
            self.error.setText(error.message_zh if i18n.current() == "zh" else error.message_en)
        elif error is not None:
            self.error.setText(tr("登录失败：{error}").format(error=error))
        if error is not None:
            self.password.clear()
            self.password.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self.user = user
        self.signed_in.emit(user, username, password)
        self.accept()
