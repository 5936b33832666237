"""Render the incident workspace into docs/screenshots/incidents_{zh,en}.png (1920×1080).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/render_incidents.py [docs/screenshots]

The cache is the UI tests' district. One open incident gets what a busy hour leaves:
a 首报 signed by the leader, a 续报 awaiting sign-off, an overdue instruction and a closed
one; two more incidents are open in tabs. The left half is the form (with one refused
field) over the instructions; the right half the timeline and the reports of the same tab.
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
    from app.services import instructions as I
    from app.services import reporting as R
    from app.services.changes import ChangeBus
    from app.services.context import AppContext, SignedInUser
    from app.services.incident_queries import open_incident_ids
    from app.store import records
    from app.store.db import Store
    from app.store.device import ensure_device

    store = Store(home / "cache.db")
    store.write_sync(lambda conn: records.bulk_load(conn, district_records()))
    officer = SignedInUser(id="2c599a12-a8a9-5c97-843c-ee0ed820e46c", username="officer", name="陈嘉欣", role="officer")
    leader = SignedInUser(id="846766c4-dfbe-55d6-88ac-dfea411950b3", username="leader", name="王建国", role="leader")
    ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=leader)
    ids = store.read(open_incident_ids)
    main = ids[-1]
    now = clock.now().replace(microsecond=0)
    if not any(r.kind in ("first", "flash") for r in store.read(R.list_reports, main)):
        R.compose_report(ctx, main, "first", store.read(R.first_prefill, main))
    ctx.user = officer
    R.compose_report(ctx, main, "followup", store.read(R.followup_prefill, main))
    I.add_instruction(ctx, main, given_by="常务副区长 陈丽", given_at=clock.iso(now - dt.timedelta(minutes=50)),
                      body="请属地街道全力做好处置，确保群众安全，及时续报情况。", owner="属地街道",
                      due_at=clock.iso(now - dt.timedelta(minutes=5)), confirmed=True)
    done = I.add_instruction(ctx, main, given_by="区长 卢家豪", given_at=clock.iso(now - dt.timedelta(minutes=40)),
                             body="加强现场巡查，严防次生灾害。", owner="区应急管理局",
                             due_at=clock.iso(now + dt.timedelta(hours=2)), confirmed=True)
    I.close_instruction(ctx, done, "已安排两组人员巡查")
    return ctx, ids, main


def render(ctx, ids, main, lang: str, out: Path) -> Path:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QPoint
    from PySide6.QtGui import QPainter, QPixmap

    from app.ui import i18n, theme
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.incidents.panel import IncidentsPanel
    from app.ui.selection import Selection

    def settle() -> None:
        for _ in range(5):
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 100)

    i18n.set_language(lang)
    host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False, settings=None)
    w, h = SIZE[0] // 2, SIZE[1]
    left = IncidentsPanel(host)
    left.resize(w, 650)
    left.show()
    for iid in [*[i for i in ids if i != main][:2], main]:
        left.open_incident(iid)
    host.selection.select("incident", [main])
    tab = left.current_tab()
    tab.form.casualties["injured"].setText("-1")
    tab.save()  # refused: the message shows beside the field
    left.strip.reload()
    for _ in range(50):
        settle()
        if not left.strip.loading():
            break
    left.tick()
    settle()
    shots = [(QPoint(0, 0), left.grab())]
    from app.ui.incidents.tab import IncidentTab

    right = IncidentTab(host, main)  # one more view of the same tab: its other three sections
    right.resize(w, 500)
    right.show()
    settle()
    chrome = right.height() - right.sections.height()
    right.setMinimumHeight(0)
    for name, at, height in (("instructions", QPoint(0, 650), h - 650), ("timeline", QPoint(w, 0), 470),
                              ("reports", QPoint(w, 470), h - 470)):
        right.resize(w, height + chrome)
        right.show_section(name)
        if name == "reports" and right.reports.model.ids():
            right.reports.select_id(right.reports.model.ids()[-1])
            right.reports.table.scrollToTop()
        settle()
        shots.append((at, right.sections.grab()))
    sheet = QPixmap(*SIZE)
    sheet.fill(theme.colour("day", "bg"))
    p = QPainter(sheet)
    for at, shot in shots:
        p.drawPixmap(at, shot)
    p.end()
    left.timer.stop()
    for widget in (left, right):
        widget.close()
        widget.deleteLater()
    path = out / f"incidents_{lang}.png"
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
        ctx, ids, main_id = build_cache(home)
        for lang in ("zh", "en"):
            print(render(ctx, ids, main_id, lang, out))
        ctx.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
