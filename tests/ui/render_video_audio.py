"""Render the video panel's call bar with received audio into docs/screenshots/video_audio_{zh,en}.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/render_video_audio.py [docs/screenshots]

A real call over 127.0.0.1: two colleagues' consoles join and send their tones; one tile's
sound is turned off here (M), the volume is at 80 %. On a machine without a speaker the
bar shows "无音频输出设备 / no audio output" (this image's state).
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


def pump(seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main(out: Path) -> int:
    from district_fixture import district_records
    from PySide6.QtWidgets import QApplication

    from app.services.changes import ChangeBus
    from app.services.context import AppContext, SignedInUser
    from app.services.incident_queries import open_incident_ids
    from app.store import records
    from app.store.db import Store
    from app.store.device import ensure_device
    from app.ui import app_setup, i18n
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.selection import Selection
    from app.ui.settings import Settings
    from app.ui.video.bridge import label_mask
    from app.ui.video.panel import VideoPanel
    from app.video.engine import MediaEngine, pin_host_addresses
    from app.video.mesh import MeshSession

    out.mkdir(parents=True, exist_ok=True)
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    pin_host_addresses(["127.0.0.1"])
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        app_setup.prepare_application(qapp, lang="zh", theme="day", home=home)
        store = Store(home / "cache.db")
        store.write_sync(lambda conn: records.bulk_load(conn, district_records()))
        user = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zhangsan", name="张三",
                            role="officer")
        ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=user)
        incident = ctx.read(open_incident_ids)[0]
        settings = Settings(home / "settings.json")
        settings.set("video_relay_host", "127.0.0.1")
        selection = Selection()
        host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=selection, read_only=False,
                         settings=settings)
        panel = VideoPanel(host, media_size=(320, 240), fps=15)
        panel.resize(*SIZE)
        panel.show()
        selection.select("incident", (incident,), source=None)
        cid = panel.start_from_incident()
        pump(1.0)
        peers_engine = MediaEngine("peers")
        others = []
        for name, hz in (("登峰街应急办", 440.0), ("指挥车", 660.0)):
            s = MeshSession(room=cid, name=name, signalling_urls=[panel.call.relay.url()],
                            label_mask=label_mask(name, 24), width=320, height=240, fps=15, tone_hz=hz)
            peers_engine.run(s.join())
            others.append(s)
        pump(4.0)
        panel.volume.setValue(80)
        panel.tiles[others[1].peer_id].set_audio_muted(True)
        pump(1.0)
        for lang in ("zh", "en"):
            i18n.set_language(lang)
            pump(0.8)
            path = out / f"video_audio_{lang}.png"
            panel.grab().save(str(path))
            print(path, "audio:", panel.call.audio.state, "tiles:", {t.name: t.frames for t in panel.tiles.values()})
        i18n.set_language("zh")
        for s in others:
            peers_engine.run(s.leave())
        peers_engine.close()
        panel.shutdown()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
