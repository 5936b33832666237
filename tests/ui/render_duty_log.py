"""Render the duty-log panel at 1920×1080, filled with the demo district, into docs/screenshots/duty_log_{zh,en}.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/render_duty_log.py [docs/screenshots]

The cache is the UI tests' district (three years of the demo's watch); on top of it the
officer has just written a dispatch, corrected it, and is half-way through typing an
intake; the chain has been verified.
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


def build_cache(home: Path):
    from district_fixture import district_records

    from app.services.changes import ChangeBus
    from app.services.context import AppContext, SignedInUser
    from app.store import records
    from app.store.db import Store
    from app.store.device import ensure_device

    rows = district_records()
    officer = next(d for e, d in rows if e == "user" and d.get("role") == "officer")
    store = Store(home / "cache.db")
    store.write_sync(lambda conn: records.bulk_load(conn, rows))
    user = SignedInUser(id=officer["id"], username=officer["username"], name=officer["name"], role="officer",
                        org_unit_id=officer.get("org_unit_id"))
    return AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=user)


def saved(bar) -> str:
    """Save and wait for the writer thread (the bar saves off the GUI thread)."""
    from PySide6.QtCore import QCoreApplication, QEventLoop

    got: list[str] = []
    bar.saved.connect(lambda entry_id, _inc: got.append(entry_id))
    assert bar.save()
    while not got:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return got[0]


def render(ctx, lang: str, out: Path) -> Path:
    from PySide6.QtCore import QCoreApplication, QEventLoop

    from app.ui import i18n
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.duty_log.panel import DutyLogPanel
    from app.ui.selection import Selection

    i18n.set_language(lang)
    host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False, settings=None)
    panel = DutyLogPanel(host)
    panel.resize(*SIZE)
    panel.show()
    bar = panel.entry_bar
    if lang == "zh":  # the same cache serves both pictures: write the story once
        bar.set_kind("dispatch")
        dispatch = (("target", "区消防救援站"), ("destination", "东风中路"), ("text", "出动两车十人，携带堵漏器材"))
        for key, text in dispatch:
            bar.pages["dispatch"].boxes[key].set_text(text)
        wrong = saved(bar)
        panel.select_entry(wrong)
        panel.correct_selected()
        for key, text in (("reason", "车辆数记错"), ("text", "出动三车十五人，携带堵漏器材")):
            bar.pages["correction"].boxes[key].set_text(text)
        saved(bar)
    panel.model.reload()
    panel.verify()
    while panel.work_running():
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    bar.set_kind("receive")
    for key, text in (("caller", "王先生"), ("caller_unit", "文德路社区居委会"), ("phone", "13800138000"),
                      ("place", "北京街文德路12号地下车库"), ("what", "地下车库水浸约30厘米，两辆车被困，车内无人"),
                      ("trapped", "0"), ("actions", "已通知北京街道应急分队前往，提醒住户勿进入车库")):
        bar.pages["receive"].boxes[key].set_text(text)
    bar.pages["receive"].boxes["lon"].set_text("113.27")
    bar.save()  # one coordinate missing: the problem shows beside the field
    panel.table.selectRow(1)
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 200)
    path = out / f"duty_log_{lang}.png"
    panel.grab().save(str(path))
    bar.clear()
    panel.close()
    panel.deleteLater()
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
        for lang in ("zh", "en"):
            print(render(ctx, lang, out))
        ctx.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
