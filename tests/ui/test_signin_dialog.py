"""Signing in from the console: online against a live server, offline against the cached verifier.

Also the ways in: File → Sign in / switch user, the status bar when sync needs a sign-in,
and the start of a console pointed at a server with nobody signed in.
"""

from __future__ import annotations

import pytest
from live_server import live_server, password  # noqa: F401 - live_server is a fixture
from PySide6.QtCore import QCoreApplication, Qt
from sync_fixtures import OFFICER, FakeSync, new_incident, outbox_rows

from app.services import sync_status as S
from app.services.signin import has_verifier
from app.sync.transport import SyncTransport
from app.ui import i18n
from app.ui.signin_dialog import OFFLINE, ONLINE, UNAVAILABLE, SignInDialog, apply_sign_in


def sign_in_with(qtbot, dialog: SignInDialog, username: str, secret: str) -> None:
    dialog.username.setText(username)
    dialog.password.setText(secret)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)  # Enter submits
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=15000)


@pytest.fixture
def dialog(qtbot, ctx):
    def make(**kw) -> SignInDialog:
        d = SignInDialog(ctx, **kw)
        qtbot.addWidget(d)
        d.show()
        return d
    return make


def test_online_then_offline_against_the_cached_verifier(live_server, dialog, ctx, qtbot):  # noqa: F811
    ctx.server_url, ctx.user = live_server.base, None
    d = dialog()
    d.username.setText("officer_s1")
    assert d.mode == ONLINE and live_server.base in d.mode_label.text()
    assert d.password.echoMode() == d.password.EchoMode.Password

    sign_in_with(qtbot, d, "officer_s1", "not-the-password")
    assert d.error.text() == "用户名或密码错误，或账户已锁定。" and d.isVisible() and d.user is None
    assert d.password.text() == ""  # typed again, never kept
    with qtbot.waitSignal(d.signed_in, timeout=15000) as signal:
        sign_in_with(qtbot, d, "officer_s1", password("officer_s1"))
    user, username, secret = signal.args
    assert (user.username, user.role, user.offline) == ("officer_s1", "officer", False)
    assert (username, secret) == ("officer_s1", password("officer_s1"))
    assert ctx.pending_tokens and ctx.pending_tokens.get("access_token")
    assert has_verifier(ctx, "officer_s1") and not d.isVisible()
    assert ctx.user is None  # the dialog only signs in; the window applies it

    live_server.kill()  # the network is gone
    d2 = dialog(username="officer_s1")
    assert d2.mode == ONLINE and "离线登录" in d2.mode_label.text()  # says it will fall back
    sign_in_with(qtbot, d2, "officer_s1", "wrong")
    assert d2.error.text() == "密码错误。" and d2.user is None and ctx.user is None  # nothing signed in
    i18n.set_language("en")
    sign_in_with(qtbot, d2, "officer_s1", "wrong")
    assert d2.error.text() == "Wrong password."
    with qtbot.waitSignal(d2.signed_in, timeout=15000):
        sign_in_with(qtbot, d2, "officer_s1", password("officer_s1"))
    assert d2.user.offline and d2.user.username == "officer_s1"

    d3 = dialog(username="officer_s2")
    sign_in_with(qtbot, d3, "officer_s2", password("officer_s2"))
    assert "never signed in on this console" in d3.error.text() and d3.user is None


def test_the_dialog_says_beforehand_whether_it_will_be_offline(dialog, ctx):
    ctx.server_url, ctx.sync = "http://127.0.0.1:9", FakeSync(S.OFFLINE)
    d = dialog()
    d.username.setText("someone_new")
    assert d.mode == UNAVAILABLE and "从未在本机登录过" in d.mode_label.text()
    from app.store.kv import kv_put

    ctx.store.write_sync(kv_put, "verifier:someone_new", {"hash": "x", "user": {"id": "u", "role": "officer"}})
    d.username.setText("someone_new ")
    assert d.mode == OFFLINE and "离线登录" in d.mode_label.text()
    i18n.set_language("en")
    assert "offline" in d.mode_label.text() and d.submit_button.text() == "Sign in"


def test_empty_fields_and_escape(dialog, qtbot):
    d = dialog()
    d.submit()
    assert d.error.text() == "请输入用户名和密码。" and not d.busy()
    qtbot.keyClick(d, Qt.Key.Key_Escape)
    assert not d.isVisible()


def test_applying_a_sign_in_switches_the_officer_but_never_the_authors_of_queued_changes(ctx):
    ctx.sync = FakeSync(S.SIGNIN_NEEDED)
    new_incident(ctx)  # queued by 张三
    from app.services.context import SignedInUser

    other = SignedInUser(id="00000000-0000-4000-8000-0000000000c3", username="wangwu", name="王五", role="officer",
                         offline=True)
    ctx.pending_tokens = {"access_token": "stale, from an earlier sign-in"}
    apply_sign_in(ctx, other, "wangwu", "pw")
    assert ctx.user is other
    assert ctx.sync.tokens == {}  # offline: the previous officer's tokens are dropped, not reused
    assert ctx.sync.credentials == ("wangwu", "pw") and ctx.sync.woken == 1
    assert {r["author_id"] for r in outbox_rows(ctx)} == {OFFICER.id}


def test_file_menu_signs_in_and_the_status_bar_follows(live_server, make_window, ctx, qtbot):  # noqa: F811
    ctx.server_url = live_server.base
    ctx.sync = FakeSync(S.SIGNIN_NEEDED)
    ctx.sync.transport = SyncTransport(live_server.base)  # sign_in logs in through the engine's transport
    window = make_window()
    window.show()
    bar = window.status
    ctx.sync.publish(state=S.SIGNIN_NEEDED, waiting=3)
    assert bar.signin_button.isVisible() and bar.signin_button.text() == "需要登录以继续同步"
    assert not bar.sync.isVisible()  # the sync text became the button

    bar.signin_button.click()
    d = window._signin
    assert d is not None and d.isVisible() and "重新登录" in d.reason.text()
    assert d.username.text() == OFFICER.username  # who was on watch; only the password to type
    d.close()

    window.menus.sign_in.trigger()
    d = window._signin
    assert d.isVisible() and window.menus.sign_in.text() == "登录/切换用户(&S)…"
    sign_in_with(qtbot, d, "leader", password("leader"))
    qtbot.waitUntil(lambda: ctx.user is not None and ctx.user.username == "leader", timeout=5000)
    assert ctx.sync.credentials == ("leader", password("leader")) and ctx.sync.woken >= 1
    assert ctx.sync.tokens and ctx.sync.tokens.get("access_token")  # the new officer's own tokens
    assert bar.user.label.text().startswith("leader · 带班领导")


def test_a_console_started_against_a_server_with_nobody_signed_in_asks_first(make_window, ctx, qtbot):
    ctx.server_url, ctx.user = "http://127.0.0.1:9", None
    window = make_window()
    assert window.status.user.label.text() == "未登录"
    window.show()
    qtbot.waitUntil(lambda: window._signin is not None and window._signin.isVisible(), timeout=3000)
    assert "开始同步" in window._signin.reason.text()


def test_no_dialog_at_start_when_someone_is_signed_in(make_window, ctx, qtbot):
    ctx.server_url = "http://127.0.0.1:9"
    window = make_window()
    window.show()
    QCoreApplication.processEvents()  # the start hook's zero-delay timer has its turn
    assert window._shown_once and window._signin is None
