"""The sync panel's 待审核 tab on a leader's console, against a real server process (tests/ui/live_server.py).

A change by an officer who never signed in on the pushing console is held by the server; the leader
opens the tab (read on a worker thread), sees who wrote and who uploaded it, and approves or declines
it with one button. An officer's console has no such tab; its own held change reads
"待带班领导审核" in the outbox.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from live_server import _sync_helpers, live_server, password  # noqa: F401 - live_server is a fixture
from sync_fixtures import LEADER, OFFICER, FakeSync, new_incident

from app.services.context import SignedInUser
from app.store import outbox as ob
from app.sync.transport import SyncTransport
from app.ui import i18n
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.selection import Selection
from app.ui.sync_panel.panel import SyncPanel

NOW = "2026-11-23T08:00:00+08:00"


@pytest.fixture
def make_panel(qtbot, ctx):
    def make(user, sync) -> SyncPanel:
        ctx.user, ctx.sync = user, sync
        bridge = ChangeBridge(ctx.bus)
        host = PanelHost(ctx=ctx, changes=bridge, selection=Selection(), read_only=False, settings=None)
        panel = SyncPanel(host)
        bridge.setParent(panel)
        qtbot.addWidget(panel)
        panel.resize(1200, 760)
        panel.show()
        panel.ensure_built()
        return panel
    return make


def hold_two(server) -> list[str]:
    """officer_s1b's console uploads two changes written by officer_s2, who never signed in on it."""
    sync_live, world = _sync_helpers()
    w = sync_live.Console(server, "officer_s1b")
    assert w.login().status_code == 200
    ids = []
    for body in ("楼道堆放杂物已清理", "北京街12号水浸已退"):
        m = w.mutation("duty_log_entry", sync_live.new_id(), "append", {
            "kind": "note", "body": body, "occurred_at": NOW, "org_unit_id": world.STREET2})  # officer_s2's street
        m["author_id"] = world.user_id("officer_s2")
        [result] = w.push(m)["results"]
        assert result["outcome"] == "quarantined"
        ids.append(m["mutation_id"])
    return ids


def leader_sync(server, ctx) -> FakeSync:
    sync = FakeSync()
    sync.transport = SyncTransport(server.base)
    sync.transport.login("leader", password("leader"), ctx.device_id)
    return sync


def account_names(tmp_path) -> dict[str, str]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        with engine.connect() as conn:
            return dict(conn.exec_driver_sql("SELECT username, name FROM account").all())
    finally:
        engine.dispose()


def server_bodies(tmp_path) -> dict[str, str]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT data, created_by FROM record WHERE entity = 'duty_log_entry'").all()
    finally:
        engine.dispose()
    import json
    return {json.loads(d)["body"]: by for d, by in rows}


def test_a_leader_sees_the_held_changes_and_approves_or_declines_each(live_server, make_panel, ctx, qtbot,  # noqa: F811
                                                                     tmp_path):
    held = hold_two(live_server)
    _, world = _sync_helpers()
    leader = SignedInUser(id=world.user_id("leader"), username="leader", name="带班领导", role="leader")
    panel = make_panel(leader, leader_sync(live_server, ctx))
    assert [k for k, _ in panel.tab_list] == ["outbox", "conflicts", "rejected", "quarantine", "status"]
    names = account_names(tmp_path)
    panel.show_tab("quarantine")
    tab = panel.quarantine
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2, timeout=10_000)
    assert panel.tabs.tabText(3) == "待审核 (2)"
    row = [tab.proxy.index(0, c).data() for c in range(tab.model.columnCount())]
    _received, entity, summary, op, author, pushed_by, reason = row
    assert (entity, op, reason) == ("值班日志", "追加", "录入人未在本终端登录过")
    assert summary in ("楼道堆放杂物已清理", "北京街12号水浸已退")
    assert author == names["officer_s2"] and pushed_by == names["officer_s1b"]
    assert tab.approve_button.isEnabled() and tab.decline_button.isEnabled()
    assert "录入人未在本终端登录过" in tab.detail.text()

    first = tab.selected_id()
    first_summary = tab.model.row_by_id(first).summary
    tab.approve_button.click()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1 and "已批准" in tab.message.text(), timeout=10_000)
    assert "拒绝" not in tab.message.text()
    assert ctx.sync.woken >= 1  # the engine is asked to pull the approved record
    assert server_bodies(tmp_path)[first_summary] == world.user_id("officer_s2")  # written as its author

    tab.table.selectRow(0)
    second_summary = tab.model.row_by_id(tab.selected_id()).summary
    tab.decline_button.click()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 0 and "未批准" in tab.message.text(), timeout=10_000)
    assert second_summary not in server_bodies(tmp_path)
    assert set(held) and panel.tabs.tabText(3) == "待审核"
    assert tab.stack.currentWidget() is tab.empty

    i18n.set_language("en")
    try:
        assert panel.tabs.tabText(3) == "Held for approval"
        assert tab.approve_button.text() == "Approve" and tab.decline_button.text() == "Decline"
    finally:
        i18n.set_language("zh")


def test_an_officer_has_no_approval_tab_and_sees_a_held_change_as_such(make_panel, ctx, qtbot):
    panel = make_panel(OFFICER, FakeSync())
    assert panel.quarantine is None and "quarantine" not in panel.pages
    new_incident(ctx, "11·23 解放北路树木倒伏")
    [row] = ctx.read(lambda c: ob.next_batch(c, 10))
    ctx.store.write_sync(ob.record_results, [{"mutation_id": row["mutation_id"], "outcome": "quarantined",
                                             "code": "author_unverified", "message": "待带班领导审核：录入人未在本终端"
                                             "登录过 / held for shift-leader approval: the author never signed in"}],
                         NOW)
    panel.refresh_now()
    qtbot.waitUntil(lambda: panel.outbox.model.rowCount() == 1, timeout=3000)
    assert panel.outbox.proxy.index(0, 4).data() == "待带班领导审核"
    panel.outbox.set_filter(5)
    assert panel.outbox.proxy.rowCount() == 1
    assert ctx.read(ob.waiting_count) == 0  # held, not waiting to upload
    assert LEADER.role == "leader"  # (a leader's console shows the tab: the test above)
