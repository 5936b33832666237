"""The status bar's sync area: every state in words and an icon, badges, the shift line."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from app.domain import clock
from app.services import sync_status as S
from app.services.changes import ChangeSet
from app.services.shift_queries import current_shift
from app.store import records
from app.ui import i18n, sync_text

NOW = dt.datetime(2026, 11, 23, 9, 15, 2, tzinfo=clock.BEIJING)


@pytest.mark.parametrize(("status", "zh", "en", "icon"), [
    (None, "本地模式", "Local only", "local"),
    (S.SyncStatus(state=S.SYNCED, clock_offset_s=3), "已同步 · 服务器时间 09:15:05",
     "Synced · server time 09:15:05", "synced"),
    (S.SyncStatus(state=S.SYNCING, done=120, total=523), "同步中 120/523", "Syncing 120/523", "syncing"),
    (S.SyncStatus(state=S.OFFLINE, offline_since=NOW.replace(hour=8, minute=2), waiting=37),
     "离线 自 08:02 · 37 条待上传", "Offline since 08:02 · 37 changes waiting", "offline"),
    (S.SyncStatus(state=S.SIGNIN_NEEDED), "需要登录", "Sign-in needed to sync", "signin"),
    (S.SyncStatus(state=S.UPDATE_REQUIRED, waiting=2), "需要升级 · 2 条待上传",
     "Update required to upload · 2 changes waiting", "update"),
])
def test_every_sync_state_in_both_languages(status, zh, en, icon):
    described = sync_text.describe(status, NOW)
    assert (described.text, described.icon) == (zh, icon)
    i18n.set_language("en")
    assert sync_text.describe(status, NOW).text == en


class FakeSync:
    """The two things the status bar uses of the sync engine."""

    def __init__(self):
        self.status = S.SyncStatus(state=S.SYNCING)
        self.subscribers = []

    def subscribe(self, fn):
        self.subscribers.append(fn)

    def publish(self, **changes):
        self.status = dataclasses.replace(self.status, **changes)
        for fn in self.subscribers:
            fn(self.status)


def test_status_bar_follows_the_engine_and_badges_open_the_queue(make_window, ctx, qtbot):
    ctx.sync = FakeSync()
    window = make_window()
    window.show()
    bar = window.status
    assert bar.sync.label.text() == "同步中"
    assert bar.conflict_badge.isHidden() and bar.rejected_badge.isHidden()
    ctx.sync.publish(state=S.OFFLINE, offline_since=NOW, waiting=4, conflicts=3, rejected=1)
    assert bar.sync.label.text() == "离线 自 09:15 · 4 条待上传"
    assert bar.sync.label.property("state") == "offline"
    assert bar.conflict_badge.isVisible() and bar.conflict_badge.text() == "3 冲突"
    assert not bar.conflict_badge.icon().isNull()  # icon + text: never colour alone
    assert bar.rejected_badge.isVisible() and bar.rejected_badge.text() == "1 被拒"
    with qtbot.waitSignal(bar.conflicts_clicked, timeout=1000):
        bar.conflict_badge.click()
    assert window.docks["sync"].panel().current_tab() == "conflicts"  # the queue, not just a message


def test_engine_callbacks_after_the_window_is_gone_are_harmless(ctx, settings):
    from app.ui.main_window import MainWindow

    ctx.sync = FakeSync()
    window = MainWindow(ctx, settings=settings)  # not given to qtbot: this test deletes it
    window.close()
    window.deleteLater()
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    ctx.sync.publish(state=S.SYNCED)  # must not raise


def test_shift_line_and_its_refresh(make_window, ctx, qtbot):
    bar = make_window().status
    now = clock.now()
    hour = dt.timedelta(hours=1)
    data = {"starts_at": clock.iso(now - hour), "ends_at": clock.iso(now + hour), "status": "open"}
    shift_id = ctx.store.write_sync(
        lambda c: records.create(c, "shift", data, author_id=None, now=clock.now_iso()))
    assert ctx.read(current_shift).id == shift_id  # the narrower, newer one that contains now
    ctx.publish(ChangeSet.of("shift", [shift_id]))
    start = (now - dt.timedelta(hours=1)).strftime("%H:%M")
    qtbot.waitUntil(lambda: bar.shift_label.label.text().startswith(f"班次 {start}–"), timeout=2000)


def test_no_shift_shows_a_dash(tmp_path):
    from app.store.db import Store

    with Store(tmp_path / "c.db") as store:
        assert store.read(current_shift) is None
    from app.ui.status_bar import describe_shift

    assert describe_shift(None) == "班次 —"
