"""Render quarantine into docs/screenshots/quarantine_{zh,en}.png (1920×1080).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/render_quarantine.py [docs/screenshots]

A real server (the sync tests' small district) holds changes that officer_s2 wrote on
officer_s1b's console without ever signing in there. Left: the shift leader's sync panel on
its 待审核 tab, read from that server, the first change selected. Right: the officer's outbox,
where its own held changes read 待带班领导审核.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "tests" / "sync")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZE = (1920, 1080)
NOW = "2026-11-23T08:00:00+08:00"
HELD = ("楼道堆放杂物已清理，消防通道畅通", "北京街12号水浸已退，居民已返回", "人民北路88号商铺火警为误报",
        "东风中路燃气泄漏点已关阀，抢修队到场")


def start_server(folder: Path):
    import sync_live
    import sync_world
    from app.server import db

    url = f"sqlite:///{folder / 'server.db'}"
    engine = db.make_engine(url)
    db.init_schema(engine)
    sync_world.seed_world(engine)
    engine.dispose()
    server = sync_live.ServerProcess(url, folder / "server.log").start()
    w = sync_live.Console(server, "officer_s1b")
    assert w.login().status_code == 200
    for body in HELD:
        m = w.mutation("duty_log_entry", sync_live.new_id(), "append", {
            "kind": "note", "body": body, "occurred_at": NOW, "org_unit_id": sync_world.STREET2})
        m["author_id"] = sync_world.user_id("officer_s2")
        assert w.push(m)["results"][0]["outcome"] == "quarantined"
    return server


def build(home: Path, server):
    import dataclasses

    from district_fixture import district_records
    from sync_fixtures import FakeSync, new_incident

    import sync_world
    from app.services.changes import ChangeBus
    from app.services.context import AppContext, SignedInUser
    from app.store import outbox as ob
    from app.store import records
    from app.store.db import Store
    from app.store.device import ensure_device
    from app.sync.transport import SyncTransport

    store = Store(home / "cache.db")
    store.write_sync(lambda conn: records.bulk_load(conn, district_records()))
    officer = SignedInUser(id="2c599a12-a8a9-5c97-843c-ee0ed820e46c", username="officer", name="陈嘉欣", role="officer")
    leader = SignedInUser(id=sync_world.user_id("leader"), username="leader", name="王建国", role="leader")
    officer_ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=officer,
                             sync=FakeSync())
    for title in ("11·23 解放北路树木倒伏", "11·23 越秀北路暴雨积水"):
        new_incident(officer_ctx, title)
    rows = store.read(lambda c: ob.next_batch(c, 10))
    store.write_sync(ob.record_results, [{"mutation_id": r["mutation_id"], "outcome": "quarantined",
                                          "code": "author_unverified",
                                          "message": "待带班领导审核：录入人未在本终端登录过 / held for shift-leader "
                                                     "approval: the author never signed in on this console"}
                                         for r in rows], NOW)
    new_incident(officer_ctx, "11·23 人民街道商铺火警")
    sync = FakeSync()
    sync.transport = SyncTransport(server.base)
    sync.transport.login("leader", sync_world.password("leader"), officer_ctx.device_id)
    leader_ctx = dataclasses.replace(officer_ctx, user=leader, sync=sync)
    return officer_ctx, leader_ctx


def render(officer_ctx, leader_ctx, lang: str, out: Path) -> Path:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QPoint
    from PySide6.QtGui import QPainter, QPixmap

    from app.ui import i18n, theme
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.selection import Selection
    from app.ui.sync_panel.panel import SyncPanel

    def settle(until=lambda: True) -> None:
        for _ in range(200):
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if until():
                break

    i18n.set_language(lang)
    w, h = SIZE[0] // 2 - 12, SIZE[1] - 16
    shots = []
    for ctx, tab in ((leader_ctx, "quarantine"), (officer_ctx, "outbox")):
        host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False,
                         settings=None)
        panel = SyncPanel(host)
        panel.resize(w, h)
        panel.show()
        panel.ensure_built()
        panel.refresh_now()
        panel.show_tab(tab)
        if tab == "quarantine":
            tab_q = panel.quarantine
            settle(lambda tab_q=tab_q: tab_q.model.rowCount() > 0 and not tab_q.busy())
            panel.quarantine.table.selectRow(0)
        settle()
        shots.append(panel.grab())
        panel.close()
        panel.deleteLater()
    sheet = QPixmap(*SIZE)
    sheet.fill(theme.colour("day", "bg"))
    p = QPainter(sheet)
    p.drawPixmap(QPoint(8, 8), shots[0])
    p.drawPixmap(QPoint(SIZE[0] // 2 + 4, 8), shots[1])
    p.end()
    path = out / f"quarantine_{lang}.png"
    sheet.save(str(path))
    return path


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from app.ui import app_setup

    out.mkdir(parents=True, exist_ok=True)
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        app_setup.prepare_application(qapp, lang="zh", theme="day", home=home)
        server = start_server(home)
        try:
            officer_ctx, leader_ctx = build(home, server)
            for lang in ("zh", "en"):
                print(render(officer_ctx, leader_ctx, lang, out))
            officer_ctx.store.close()
        finally:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
