"""Render the map panel for docs/screenshots/ (map_zh.png, map_en.png at 1920×1080, map_4k.png at 3840×2160).

    .venv/bin/python tests/ui/render_map.py [docs/screenshots]

Over the seeded demo district, vector base only (no tiles are shipped), one incident selected.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]


def main(out: Path) -> int:
    from district_fixture import district_records
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from app.services.changes import ChangeBus
    from app.services.context import AppContext, SignedInUser
    from app.store import records
    from app.store.db import Store
    from app.store.device import ensure_device
    from app.ui import app_setup, i18n
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.map.panel import MapPanel
    from app.ui.selection import Selection

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        store = Store(home / "cache.db")
        store.write_sync(lambda conn: records.bulk_load(conn, district_records()))
        # Field feeds with positions (as the video panel's readers report them) and some stale teams.
        from app.domain import clock
        from app.services import feed_positions as FP

        for fid, name, lon, lat, state in (("uav1", "无人机一号", 113.262, 23.131, "live"),
                                           ("car1", "指挥车图传", 113.281, 23.122, "retrying"),
                                           ("cam3", "单兵 03", 113.249, 23.142, "stopped")):
            FP.set_feed_position(fid, name, lon, lat, state)
        old = clock.iso(clock.now() - __import__("datetime").timedelta(hours=3))

        def age_teams(conn):
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM team ORDER BY id LIMIT 40")]
            for i, tid in enumerate(ids):
                records.patch(conn, "team", tid, {"status": "standby"}, author_id=None,
                              now=old if i % 3 == 0 else clock.now_iso())

        store.write_sync(age_teams)
        ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device),
                         user=SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zhangsan",
                                           name="张三", role="officer"))
        settings = app_setup.prepare_application(app, lang=None, theme="day", home=home)
        shots = (("map_zh.png", "zh", (1920, 1080), 1.0), ("map_en.png", "en", (1920, 1080), 1.0),
                 ("map_4k.png", "zh", (1920, 1080), 2.0))
        for name, lang, size, scale in shots:
            i18n.set_language(lang)
            host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False,
                             settings=settings)
            panel = MapPanel(host)
            panel.resize(*size)
            panel.show()
            deadline = time.monotonic() + 30
            while panel.loading() and time.monotonic() < deadline:
                app.processEvents()
            panel.map.zoom_to_bbox(*panel.map.district_bbox())
            app.processEvents()
            ids = panel.data["incident"].ids
            if ids:
                host.selection.select("incident", (ids[0],), source=None)
            panel.map.zoom_to_bbox(*panel.map.district_bbox())
            panel.show_nearest(113.27, 23.135, "shelter")
            for _ in range(5):
                app.processEvents()
            # 4K: the same 1920×1080 layout at device pixel ratio 2, as on a 4K screen at 200 % scaling.
            image = QImage(size[0] * int(scale), size[1] * int(scale), QImage.Format.Format_ARGB32_Premultiplied)
            image.setDevicePixelRatio(scale)
            image.fill(0xFFFFFFFF)
            panel.render(image)
            for _ in range(50):  # tiles at the finer zoom were requested by that paint; none here, but wait anyway
                if not panel.map.tiles_pending():
                    break
                app.processEvents()
            image.save(str(out / name))
            print(out / name)
            panel.shutdown()
            panel.close()
            panel.deleteLater()
            app.processEvents()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
