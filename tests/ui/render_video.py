"""Render the video panel mid-call into docs/screenshots/video_{zh,en}.png (1920×1080).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/render_video.py [docs/screenshots]

The call is real: this console joins through its own LAN relay, three simulated consoles
(street office, command vehicle, rescue team) join the same room over 127.0.0.1 with
test patterns, a drone feed plays an MPEG-TS clip made here, and a body-camera feed
points at a dead RTSP address (its tile shows the retry state). Minutes and a decision
are typed, a recording is made and the playback tile is seeked to the decision.
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
    """Run the event loop for a while (a real loop: spinning processEvents would starve the media threads)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main(out: Path) -> int:
    from district_fixture import district_records
    from PySide6.QtWidgets import QApplication

    from app.services import consultations as cs
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
    from app.video.feeds import write_pattern_ts
    from app.video.mesh import MeshSession
    from app.video.signalling import room_key

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
        cs.schedule(ctx, title="汛期防御工作部署会商", scheduled_at="2026-11-24T09:30:00+08:00",
                    participants=["登峰街应急办", "区三防办", "区水务局"], agenda="1. 雨情水情 2. 防御部署")
        done = cs.start_from_incident(ctx, incident, participants=["区消防救援大队"])
        cs.add_minute(ctx, done, "火情已控制，无人员伤亡", call_time_s=95)
        cs.end(ctx, done)

        settings = Settings(home / "settings.json")
        settings.set("video_relay_host", "127.0.0.1")
        selection = Selection()
        host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=selection, read_only=False,
                         settings=settings)
        panel = VideoPanel(host)
        panel.resize(*SIZE)
        panel.show()
        selection.select("incident", (incident,), source=None)
        cid = panel.start_from_incident()
        pump(1.0)
        peers_engine = MediaEngine("peers")
        relay_url = panel.call.relay.url()
        others = []
        key = room_key(ctx.read(cs.room_secret, cid), cid)  # the invitees' room key (synced with the call)
        for name in ("登峰街应急办", "指挥车", "区三防抢险队"):
            # the far consoles run on their own machines; here they share two cores, so they send less
            s = MeshSession(room=cid, name=name, signalling_urls=[relay_url], label_mask=label_mask(name, 24),
                            width=320, height=240, fps=15, room_key=key)
            peers_engine.run(s.join())
            others.append(s)
        # someone on the LAN who knows the room id but holds no key: refused, and the call bar says so
        peers_engine.run(MeshSession(room=cid, name="unknown", signalling_urls=[relay_url]).join())
        clip = home / "drone.ts"
        write_pattern_ts(str(clip), "UAV-01", seconds=4, width=640, height=360)
        panel.add_feed("无人机 1 号", str(clip), position=(113.27, 23.13))
        panel.add_feed("执法记录仪 3 号", "rtsp://127.0.0.1:9/live")
        panel.btn_record.setChecked(True)
        pump(3.0)
        panel.minute_edit.setPlainText("东风路积水约 40 厘米，两辆车被困，已有 1 支队伍到场")
        panel.record_minute("minute")
        pump(1.5)
        panel.minute_edit.setPlainText("增派区三防抢险队 2 个小组，30 分钟内到场")
        panel.record_minute("decision")
        pump(1.5)
        panel.btn_record.setChecked(False)
        panel.minute_edit.setPlainText("下一步：通知沿线商户转移")
        pump(0.5)
        rows = panel.log_model.rows
        row = next(i for i, r in enumerate(rows) if r.action == "decision")
        idx = panel.log_proxy.mapFromSource(panel.log_model.index(row, 0))
        panel.log_table.setCurrentIndex(idx)
        panel._seek_to_entry(idx)
        pump(1.5)
        for lang in ("zh", "en"):
            i18n.set_language(lang)
            pump(0.8)
            path = out / f"video_{lang}.png"
            panel.grab().save(str(path))
            print(path, "tiles:", {t.name: t.frames for t in panel.tiles.values()})
        i18n.set_language("zh")
        for s in others:
            peers_engine.run(s.leave())
        peers_engine.close()
        panel.shutdown()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
