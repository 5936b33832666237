"""Render 签发 across seats into docs/screenshots/report_signoff_{zh,en}.png (1920×1080).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/render_report_signoff.py [docs/screenshots]

The cache is the UI tests' district. Officers have submitted reports on three incidents; the
leader's seat (left) opens with the sign-off list and one incident's reports (a 首报 signed,
a 续报 returned with a comment, its revision awaiting). The officer's seat (right) shows the
same incident: the returned report taken back into the composer.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZE = (1920, 1080)


def build(home: Path):
    import dataclasses

    from district_fixture import district_records

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
    officer_ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=officer)
    leader_ctx = dataclasses.replace(officer_ctx, user=leader)
    ids = store.read(open_incident_ids)
    main = ids[-1]
    if not any(r.counted and r.kind in ("first", "flash") for r in store.read(R.list_reports, main)):
        rid = R.compose_report(officer_ctx, main, "first", store.read(R.first_prefill, main))
        R.sign_report(leader_ctx, rid)
    returned = R.compose_report(officer_ctx, main, "followup", store.read(R.followup_prefill, main))
    R.sign_report(leader_ctx, returned, "returned", "伤亡人数与卫健部门数字不一致，请核实后重报")
    R.compose_report(officer_ctx, main, "followup", store.read(R.followup_prefill, main) + "\n（伤亡人数已与卫健核实）")
    for iid in [i for i in ids if i != main][:3]:
        R.compose_report(officer_ctx, iid, "first", store.read(R.first_prefill, iid))
    return officer_ctx, leader_ctx, main, returned


def render(officer_ctx, leader_ctx, main, returned, lang: str, out: Path) -> Path:
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
    w, h = SIZE[0] // 2, SIZE[1]
    panels = []
    for ctx in (leader_ctx, officer_ctx):
        host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False,
                         settings=None)
        panel = IncidentsPanel(host)
        panel.resize(w, h)
        panel.show()
        panels.append(panel)
    leader, officer = panels
    officer.signoff_chip.setChecked(True)
    for _ in range(100):  # the sign-off count and list are read off the GUI thread
        settle()
        if all(p.awaiting >= 0 and not p.signoff_loading() for p in panels) and leader.signoff.model.ids():
            break
    tab = leader.open_incident(main)
    tab.show_section("reports")
    leader.signoff.select_id(leader.signoff.model.ids()[0])
    awaiting = [r for r in tab.reports.model.ids() if tab.reports.model.row_by_id(r).awaiting]
    tab.reports.select_id(awaiting[0])
    officer_tab = officer.open_incident(main)
    officer_tab.show_section("reports")
    officer_tab.reports.select_id(returned)
    officer_tab.reports.revise_selected()
    for p in panels:
        p.strip.reload()
    for _ in range(50):
        settle()
        if not any(p.strip.loading() for p in panels):
            break
    for p in panels:
        p.tick()
    settle()
    sheet = QPixmap(*SIZE)
    sheet.fill(theme.colour("day", "bg"))
    painter = QPainter(sheet)
    painter.drawPixmap(QPoint(0, 0), leader.grab())
    painter.drawPixmap(QPoint(w, 0), officer.grab())
    painter.end()
    for p in panels:
        p.timer.stop()
        p.close()
        p.deleteLater()
    path = out / f"report_signoff_{lang}.png"
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
        officer_ctx, leader_ctx, main_id, returned = build(home)
        for lang in ("zh", "en"):
            print(render(officer_ctx, leader_ctx, main_id, returned, lang, out))
        officer_ctx.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
