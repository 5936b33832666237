"""Render the 交接班 dock at 1920×1080 into docs/screenshots/.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/render_handover.py [docs/screenshots]

handover_zh.png / handover_en.png: the handover tab with the demo district's open items, some
acknowledged, one with a note; roster_zh.png: this week's roster with the next shift planned;
handover_rollcall_zh.png: the roll-call tab after two roll-calls were recorded.
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

SIZE = (1920, 1080)


def build_cache(home: Path):
    from district_fixture import district_records

    from app.domain import clock
    from app.services import rollcall, roster
    from app.services.changes import ChangeBus
    from app.services.context import AppContext, SignedInUser
    from app.services.shift_queries import current_shift
    from app.store import records
    from app.store.db import Store
    from app.store.device import ensure_device

    store = Store(home / "cache.db")
    store.write_sync(lambda conn: records.bulk_load(conn, district_records()))
    people = {p.name: p for p in store.read(roster.duty_people)}
    officer = people["陈嘉欣"]
    user = SignedInUser(id=officer.id, username="officer", name=officer.name, role="officer")
    ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=user)
    cur = store.read(roster.get_shift, store.read(current_shift).id)
    now = clock.now_iso()
    draft = roster.ShiftDraft(cur.ends_at, cur.ends_at + dt.timedelta(hours=24),
                              [people["梁慧敏"].id, people["黄志明"].id], people["王建国"].id, "020-83000110",
                              people["王建国"].phone or "", cur.org_unit_id)
    store.write_sync(lambda c: roster.save_shift(c, draft, shift_id=None, author_id=user.id, now=now))
    t = clock.now().replace(microsecond=0)
    calls = (("广州市应急管理局总值班室", "video", 95, 12), ("广东省应急管理厅", "phone", 30, 21))
    for caller, channel, ago, secs in calls:
        rc = rollcall.RollCallDraft(caller, channel, t - dt.timedelta(minutes=ago),
                                    t - dt.timedelta(minutes=ago) + dt.timedelta(seconds=secs), officer.id)
        store.write_sync(lambda c, rc=rc: rollcall.record_rollcall(c, rc, author_id=user.id, device_id=ctx.device_id,
                                                                   now=now, shift_id=cur.id))
    return ctx


def settle(ms: int = 200) -> None:
    from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop

    deadline = QDeadlineTimer(ms)
    while not deadline.hasExpired():
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def render(ctx, lang: str, out: Path) -> list[Path]:
    from PySide6.QtCore import Qt

    from app.ui import i18n
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.handover.panel import HandoverPanel
    from app.ui.selection import Selection

    i18n.set_language(lang)
    host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False, settings=None)
    panel = HandoverPanel(host)
    panel.resize(*SIZE)
    panel.show()
    tab = panel.handover
    for _ in range(100):
        settle(50)
        if not tab.loading:
            break
    for r in range(min(6, tab.table.rowCount())):
        tab.table.item(r, 0).setCheckState(Qt.CheckState.Checked)
    if tab.table.rowCount() > 2:
        tab.table.item(2, 4).setText("已电话确认现场指挥部，19:00 前续报" if lang == "zh"
                                     else "Confirmed with the on-scene command; follow-up by 19:00")
    tab.notes.setPlainText("值班电话、传真、视频会商系统、卫星电话、800兆手台运行正常。" if lang == "zh"
                           else "Duty phone, fax, video consultation, satellite phone and radios all working.")
    tab.outgoing_password.setText("********")
    tab.table.setCurrentCell(6, 0)
    settle()
    paths = []
    path = out / f"handover_{lang}.png"
    panel.grab().save(str(path))
    paths.append(path)
    if lang == "zh":
        panel.tabs.setCurrentIndex(1)
        panel.roster.list.table.selectRow(len(panel.roster.rows) - 1)
        panel.roster.edit_selected()
        settle()
        path = out / "roster_zh.png"
        panel.grab().save(str(path))
        paths.append(path)
        panel.tabs.setCurrentIndex(2)
        panel.rollcalls.caller.setText("市应急管理局总值班室")
        settle()
        path = out / "handover_rollcall_zh.png"
        panel.grab().save(str(path))
        paths.append(path)
    panel.close()
    panel.deleteLater()
    return paths


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from app.ui import app_setup

    out.mkdir(parents=True, exist_ok=True)
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        app_setup.prepare_application(qapp, lang="zh", theme="day", home=home)
        ctx = build_cache(home)
        for lang in ("zh", "en"):
            for p in render(ctx, lang, out):
                print(p)
        ctx.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
