"""Render the resources panel into docs/screenshots/resources_{zh,en}.png (1920×1080, 2×2 tiles).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/render_resources.py [docs/screenshots]

Tiles: rescue teams (a dispatched team selected), a warehouse's stock with its alerts,
shelters, and the recommendation dialog for a responding incident.
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

SHEET = (1920, 1080)
GAP = 8


def build(home: Path):
    import sqlalchemy as sa
    from district_fixture import district_records

    from app.services.changes import ChangeBus
    from app.services.context import AppContext
    from app.store import records
    from app.store.db import Store
    from app.store.device import ensure_device
    from app.store.schema import table_for
    from conftest import OFFICER

    store = Store(home / "cache.db")
    store.write_sync(lambda conn: records.bulk_load(conn, district_records()))
    ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=OFFICER)
    inc = table_for("incident")
    incident = ctx.read(lambda c: c.execute(sa.select(inc.c.id).where(inc.c.status == "responding",
                                                                       inc.c.lon.isnot(None))
                                            .order_by(inc.c.occurred_at.desc()).limit(1)).scalar())
    return ctx, incident


def render(ctx, incident: str, lang: str, out: Path) -> Path:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QPoint
    from PySide6.QtGui import QPainter, QPixmap

    from app.ui import i18n, theme
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.resources.panel import ResourcesPanel
    from app.ui.selection import Selection

    def settle():
        for _ in range(3):
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    i18n.set_language(lang)
    w, h = (SHEET[0] - 3 * GAP) // 2, (SHEET[1] - 3 * GAP) // 2
    host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False, settings=None)
    panel = ResourcesPanel(host)
    panel.resize(w, h)
    panel.show()
    host.selection.select("incident", [incident])
    shots = []
    team = panel.show_library("team")
    team.reload()
    team.table.selectRow(1)
    settle()
    shots.append(panel.grab())
    wh = panel.show_library("warehouse")
    wh.reload()
    wh.table.selectRow(0)
    settle()
    shots.append(panel.grab())
    sh = panel.show_library("risk_source")
    sh.reload()
    sh.table.selectRow(0)
    settle()
    shots.append(panel.grab())
    dialog = panel.open_recommend()
    dialog.resize(w, h)
    while dialog.busy():
        settle()
    settle()
    shots.append(dialog.grab())
    dialog.close()
    sheet = QPixmap(*SHEET)
    sheet.fill(theme.colour("day", "bg"))
    p = QPainter(sheet)
    for i, shot in enumerate(shots):
        p.drawPixmap(QPoint(GAP + (i % 2) * (w + GAP), GAP + (i // 2) * (h + GAP)), shot)
    p.end()
    panel.close()
    panel.deleteLater()
    path = out / f"resources_{lang}.png"
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
        ctx, incident = build(home)
        for lang in ("zh", "en"):
            print(render(ctx, incident, lang, out))
        ctx.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
