"""Render the sync panel's four tabs, with real content, into docs/screenshots/sync_panel_{zh,en}.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/render_sync_panel.py [docs/screenshots]

The cache is the UI tests' district; the content is made the way it arrives (sync_fixtures):
three changes queued, one refused by the server, one conflict pulled, a console clock
that is seven minutes fast. Each picture tiles the four tabs 2×2.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TAB_SIZE = (1040, 640)


def build_cache(home: Path):
    from district_fixture import district_records
    from sync_fixtures import LEADER, OFFICER, last_mutation, new_incident, patch, pulled_conflict, reject, server_says

    from app.services.changes import ChangeBus
    from app.services.context import AppContext
    from app.store import pull as pl
    from app.store import records
    from app.store.db import Store
    from app.store.device import ensure_device

    store = Store(home / "cache.db")
    store.write_sync(lambda conn: records.bulk_load(conn, district_records()))
    ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=OFFICER,
                     server_url="https://ecc.yuexiu.example.gov.cn")
    done = new_incident(ctx, "11·23 越秀北路暴雨积水", summary="积水约30厘米，两辆车被困")
    server_says(ctx, last_mutation(ctx)["mutation_id"], "applied")
    new_incident(ctx, "11·23 人民街道商铺火警", place="人民北路 88 号")
    reject(ctx, last_mutation(ctx)["mutation_id"],
           problems=[{"field": "org_unit_id", "code": "out_of_scope",
                      "message": "不在本账户辖区 / outside this account's area"}])
    new_incident(ctx, "11·23 解放北路树木倒伏", place="解放北路")
    patch(ctx, "incident", done, {"summary": "积水已退至10厘米，车辆已拖离", "status": "responding"})
    new_incident(ctx, "11·23 东风中路燃气泄漏", severity="III", place="东风中路")
    pulled_conflict(ctx, "incident", done, "summary", "积水约50厘米，已封闭路段", "积水已退至10厘米，车辆已拖离")
    store.write_sync(pl.set_epoch, "5f1c2a7e-8d3b-4c6a-9e21-7b0d4f6a3c19")
    ctx.user = LEADER
    return ctx


def status_for(ctx):
    from sync_fixtures import FakeSync

    from app.domain import clock
    from app.services import sync_status as S

    sync = FakeSync()
    now = clock.now().replace(microsecond=0)
    sync.publish(state=S.OFFLINE, offline_since=now - dt.timedelta(minutes=18), waiting=3, conflicts=1, rejected=1,
                 last_push_ok=now - dt.timedelta(minutes=19), last_pull_ok=now - dt.timedelta(minutes=19),
                 server_rev=184_233, clock_offset_s=-412.6,
                 message="无法连接服务器 / connection refused (ecc.yuexiu.example.gov.cn:443)")
    ctx.sync = sync


def render(ctx, lang: str, out: Path) -> Path:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QPoint
    from PySide6.QtGui import QPainter, QPixmap

    from app.ui import i18n, theme
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.selection import Selection
    from app.ui.sync_panel.panel import SyncPanel

    i18n.set_language(lang)
    host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False, settings=None)
    panel = SyncPanel(host)
    panel.resize(*TAB_SIZE)
    panel.show()
    panel.ensure_built()
    panel.refresh_now()
    shots = []
    for key in ("outbox", "conflicts", "rejected", "status"):
        panel.show_tab(key)
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 100)
        shots.append(panel.grab())
    gap = 8
    w, h = shots[0].width(), shots[0].height()
    sheet = QPixmap(2 * w + 3 * gap, 2 * h + 3 * gap)
    sheet.fill(theme.colour("day", "bg"))
    p = QPainter(sheet)
    for i, shot in enumerate(shots):
        p.drawPixmap(QPoint(gap + (i % 2) * (w + gap), gap + (i // 2) * (h + gap)), shot)
    p.end()
    panel.close()
    panel.deleteLater()
    path = out / f"sync_panel_{lang}.png"
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
        ctx = build_cache(home)
        status_for(ctx)
        for lang in ("zh", "en"):
            print(render(ctx, lang, out))
        ctx.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
