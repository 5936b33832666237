"""Video benchmarks: CPU per participant, glass-to-glass latency, GUI stall with six tiles.

    .venv/bin/python -m tests.bench.bench_video [seconds]

1. CPU per participant, 640×480 at 30 fps VP8 + Opus, two participants over 127.0.0.1:
   our MeshSession (test pattern drawn per frame, relay signalling, RGB hand-over for the
   tiles, link watch) against bare aiortc in the same run (two RTCPeerConnections joined
   directly, a constant frame, frames received and dropped). Process CPU time / wall time
   / 2, in % of one core.
2. Glass-to-glass latency on loopback: the counter drawn into each frame at capture is read
   back from the QImage the GUI thread receives (after VP8, decode, RGB, the queued signal).
   Baseline: the same path without the network (the capture frame converted and handed over
   through the same queued signal).
3. GUI event-loop stall with 6 tiles (this console, two peers, three 25 fps feeds) painting
   in a 1920×1080 panel: the worst lateness of a 5 ms QTimer, against the same timer idle.
   Goal: < 50 ms.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.bench.common import percentile, report  # noqa: E402

W, H, FPS = 640, 480, 30


def run_gui(seconds: float, until=None) -> None:
    """Run the Qt event loop for a while (a real loop: spinning processEvents would hog the GIL)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _cpu_window(seconds: float) -> float:
    """% of one core used by this process over the next ``seconds`` (all threads)."""
    c0, t0 = time.process_time(), time.perf_counter()
    threading.Event().wait(seconds)
    return 100 * (time.process_time() - c0) / (time.perf_counter() - t0)


def bench_cpu(seconds: float) -> tuple[float, float, int, int]:
    from app.video.engine import MediaEngine
    from app.video.mesh import MeshSession
    from app.video.signalling import LanRelay

    eng = MediaEngine("bench-ours")
    relay = LanRelay("127.0.0.1", 0)
    eng.run(relay.start())
    frames = {"n": 0}

    def counter(own: str):
        def on_frame(peer, rgb):
            if peer != own:  # the far end's frames, not our own preview
                frames["n"] += 1
        return on_frame

    a = MeshSession(room="cpu", name="A", signalling_urls=[relay.url()], width=W, height=H, fps=FPS,
                    on_frame=counter("peer-a"), preview_fps=10, peer_id="peer-a")
    b = MeshSession(room="cpu", name="B", signalling_urls=[relay.url()], width=W, height=H, fps=FPS,
                    on_frame=counter("peer-b"), preview_fps=10, peer_id="peer-b")
    eng.run(a.join())
    eng.run(b.join())
    threading.Event().wait(3)  # connect and ramp the encoder up
    n0 = frames["n"]
    ours = _cpu_window(seconds) / 2
    ours_frames = frames["n"] - n0
    eng.run(a.leave())
    eng.run(b.leave())
    eng.run(relay.stop())
    eng.close()

    bare, bare_frames = _bare_aiortc(seconds)
    return ours, bare / 2, ours_frames, bare_frames


def _bare_aiortc(seconds: float) -> tuple[float, int]:
    import fractions

    import av
    import numpy as np
    from aiortc import RTCPeerConnection
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    class Frames(VideoStreamTrack):
        def __init__(self):
            super().__init__()
            rgb = np.full((H, W, 3), 90, dtype=np.uint8)
            self.base = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")

        async def recv(self):
            pts, tb = await self.next_timestamp()
            frame = av.VideoFrame.from_ndarray(self.base.to_ndarray(), format="yuv420p")
            frame.pts, frame.time_base = pts, tb
            return frame

    class Tone(AudioStreamTrack):
        async def recv(self):
            frame = await super().recv()
            return frame

    received = {"n": 0}
    result = {}

    async def run():
        pcs = [RTCPeerConnection(), RTCPeerConnection()]
        tasks = []
        for pc in pcs:
            pc.addTrack(Frames())
            pc.addTrack(Tone())

            @pc.on("track")
            def on_track(track):
                async def drain():
                    while True:
                        try:
                            await track.recv()
                        except Exception:
                            return
                        if track.kind == "video":
                            received["n"] += 1
                tasks.append(asyncio.ensure_future(drain()))
        await pcs[0].setLocalDescription(await pcs[0].createOffer())
        await pcs[1].setRemoteDescription(pcs[0].localDescription)
        await pcs[1].setLocalDescription(await pcs[1].createAnswer())
        await pcs[0].setRemoteDescription(pcs[1].localDescription)
        await asyncio.sleep(3)
        n0 = received["n"]
        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        result["cpu"] = 100 * (time.process_time() - c0) / (time.perf_counter() - t0)
        result["frames"] = received["n"] - n0
        for t in tasks:
            t.cancel()
        for pc in pcs:
            await pc.close()

    _ = fractions
    asyncio.run(run())
    return result["cpu"], result["frames"]


def bench_latency(seconds: float) -> tuple[list[float], list[float]]:
    from PySide6.QtWidgets import QApplication

    from app.ui.video.bridge import FrameBridge
    from app.video.engine import MediaEngine
    from app.video.mesh import MeshSession
    from app.video.pattern import PatternMaker, read_counter
    from app.video.signalling import LanRelay

    QApplication.instance() or QApplication(sys.argv[:1])
    import numpy as np

    captured: dict[int, float] = {}
    lat: list[float] = []
    bridge = FrameBridge()

    def as_rgb(img):
        img = img.convertToFormat(img.Format.Format_RGB888)
        arr = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(img.height(), img.bytesPerLine())
        return arr[:, :img.width() * 3].reshape(img.height(), img.width(), 3)

    def shown(source, img):
        now = time.time()  # read at display: the slot that hands the image to the tile
        t = captured.get(read_counter(as_rgb(img)))
        if t is not None and source == b.peer_id:
            lat.append((now - t) * 1000)
    bridge.image.connect(shown)

    eng = MediaEngine("bench-latency")
    relay = LanRelay("127.0.0.1", 0)
    eng.run(relay.start())
    a = MeshSession(room="lat", name="A", signalling_urls=[relay.url()], width=W, height=H, fps=FPS,
                    on_frame=bridge.push, preview_fps=1, frame_wanted=bridge.wants)
    b = MeshSession(room="lat", name="B", signalling_urls=[relay.url()], width=W, height=H, fps=FPS,
                    on_capture=lambda c, t: captured.__setitem__(c, t), preview_fps=1)
    eng.run(a.join())
    eng.run(b.join())
    run_gui(3)
    lat.clear()
    run_gui(seconds)
    eng.run(a.leave())
    eng.run(b.leave())
    eng.run(relay.stop())
    eng.close()

    # baseline: the same hand-over without the network: draw, convert, push, read at display
    base: list[float] = []
    maker = PatternMaker("A", W, H)
    stamps: dict[int, float] = {}
    bridge2 = FrameBridge()

    def shown2(source, img):
        now = time.time()
        c = read_counter(as_rgb(img))
        if c in stamps:
            base.append((now - stamps[c]) * 1000)
    bridge2.image.connect(shown2)
    stop = threading.Event()

    def produce():
        i = 0
        while not stop.is_set():
            stamps[i] = time.time()
            bridge2.push("x", maker.frame(i))
            i += 1
            stop.wait(1 / FPS)
    th = threading.Thread(target=produce, daemon=True)
    th.start()
    run_gui(seconds)
    stop.set()
    th.join()
    return lat, base


def bench_stall(seconds: float) -> tuple[float, float, float, dict]:
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    from app.services.changes import ChangeBus
    from app.services.context import AppContext, SignedInUser
    from app.store.db import Store
    from app.store.device import ensure_device
    from app.ui.bus_adapter import ChangeBridge
    from app.ui.docks import PanelHost
    from app.ui.selection import Selection
    from app.ui.settings import Settings
    from app.ui.video.panel import VideoPanel
    from app.video.engine import MediaEngine
    from app.video.feeds import write_pattern_ts
    from app.video.mesh import MeshSession

    QApplication.instance() or QApplication(sys.argv[:1])

    def probe(duration: float) -> list[float]:
        late: list[float] = []
        last = [time.perf_counter()]

        def tick():
            now = time.perf_counter()
            late.append(max(0.0, (now - last[0]) * 1000 - 5))
            last[0] = now
        timer = QTimer(interval=5, timeout=tick)
        timer.start()
        run_gui(duration)
        timer.stop()
        return late

    idle = probe(seconds)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        store = Store(home / "cache.db")
        user = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zhangsan", name="张三",
                            role="officer")
        ctx = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device), user=user)
        settings = Settings(home / "settings.json")
        settings.set("video_relay_host", "127.0.0.1")
        host = PanelHost(ctx=ctx, changes=ChangeBridge(ctx.bus), selection=Selection(), read_only=False,
                         settings=settings)
        panel = VideoPanel(host, media_size=(W, H), fps=FPS)
        panel.resize(1920, 1080)
        panel.show()
        from app.services import consultations as cs

        cid = cs.schedule(ctx, title="bench")
        cs.start(ctx, cid)
        panel.refresh()
        panel._join(cid)
        QCoreApplication.processEvents()
        peers = MediaEngine("bench-peers")
        others = []
        run_gui(0.5)
        for name in ("P1", "P2"):
            s = MeshSession(room=cid, name=name, signalling_urls=[panel.call.relay.url()], width=W, height=H,
                            fps=FPS)
            peers.run(s.join())
            others.append(s)
        for i in range(3):
            clip = home / f"feed{i}.ts"
            write_pattern_ts(str(clip), f"FEED{i}", seconds=3, fps=25, width=640, height=360)
            panel.add_feed(f"feed {i}", str(clip))
        run_gui(3)
        before = {t.name: t.frames for t in panel.tiles.values()}
        busy = probe(seconds)
        frames = {t.name: t.frames - before.get(t.name, 0) for t in panel.tiles.values()}
        for s in others:
            peers.run(s.leave())
        peers.close()
        panel.shutdown()
        store.close()
    return max(busy), percentile(busy, 99), max(idle), frames


def main() -> int:
    from app.video.engine import pin_host_addresses

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    pin_host_addresses(["127.0.0.1"])
    ours, bare, of, bf = bench_cpu(seconds)
    report("CPU per participant, 640x480@30 VP8+Opus", ours, bare, "% core", "bare aiortc")
    print(f"    frames received in {seconds:g} s: ours {of}, bare {bf} (two streams, 30 fps each)")
    lat, base = bench_latency(seconds)
    report("glass-to-glass latency p50, loopback", percentile(lat, 50), percentile(base, 50), "ms",
           "same hand-over, no network")
    report("glass-to-glass latency p95, loopback", percentile(lat, 95), percentile(base, 95), "ms",
           "same hand-over, no network")
    print(f"    samples: {len(lat)} / {len(base)}")
    worst, p99, idle, frames = bench_stall(seconds)
    report("GUI stall, 6 tiles, worst timer lateness", worst, idle, "ms", "same timer, idle")
    report("GUI stall, 6 tiles, p99 timer lateness", p99, idle, "ms", "same timer, idle (worst)")
    print(f"    frames painted per tile in {seconds:g} s: {frames}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
