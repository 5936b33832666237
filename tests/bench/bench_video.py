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
    same, same_frames = _bare_aiortc(seconds, pattern=True)
    return ours, bare / 2, ours_frames, bare_frames, same / 2, same_frames


def _bare_aiortc(seconds: float, pattern: bool = False) -> tuple[float, int]:
    """Two bare RTCPeerConnections; ``pattern``: sending our moving test pattern, pre-rendered before the
    window (the same picture for the encoder and decoder as ours, none of our per-frame work)."""
    import fractions

    import av
    import numpy as np
    from aiortc import RTCPeerConnection
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    from app.video.pattern import PatternMaker

    maker = PatternMaker("A", W, H)
    prerendered = [av.VideoFrame.from_ndarray(maker.frame(i), format="rgb24").reformat(format="yuv420p").to_ndarray()
                   for i in range(2 * FPS)] if pattern else []

    class Frames(VideoStreamTrack):
        def __init__(self):
            super().__init__()
            rgb = np.full((H, W, 3), 90, dtype=np.uint8)
            self.base = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            self.n = 0

        async def recv(self):
            pts, tb = await self.next_timestamp()
            self.n += 1
            data = prerendered[self.n % len(prerendered)] if prerendered else self.base.to_ndarray()
            frame = av.VideoFrame.from_ndarray(data, format="yuv420p")
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


def _remote_peers(url: str, room: str, key_hex: str) -> int:
    """``--peers URL ROOM KEY``: two participants in a process of their own (as on other consoles),
    until stdin closes."""
    from app.video.engine import MediaEngine, pin_host_addresses
    from app.video.mesh import MeshSession

    pin_host_addresses(["127.0.0.1"])
    eng = MediaEngine("bench-peers")
    sessions = [MeshSession(room=room, name=name, signalling_urls=[url], width=W, height=H, fps=FPS,
                            room_key=bytes.fromhex(key_hex)) for name in ("P1", "P2")]
    for s in sessions:
        eng.run(s.join())
    print("joined", flush=True)
    sys.stdin.read()
    for s in sessions:
        eng.run(s.leave())
    eng.close()
    return 0


def bench_stall(seconds: float, peers_in_process: bool = False) -> tuple[float, float, float, dict]:
    """``peers_in_process``: the two remote participants run in this process too (the first version of
    this benchmark); by default they run in a child process, as they would on other consoles."""
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
        c0, w0 = time.thread_time(), time.perf_counter()
        run_gui(duration)
        gui_cpu.append(100 * (time.thread_time() - c0) / (time.perf_counter() - w0))
        timer.stop()
        return late

    gui_cpu: list[float] = []  # the GUI thread's own CPU time, % of a core (idle, busy)

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
        others = []
        run_gui(0.5)
        from app.video.signalling import room_key

        key = room_key(ctx.read(cs.room_secret, cid), cid)  # the panel's relay admits invitees only
        child = None
        if peers_in_process:
            peers = MediaEngine("bench-peers")
            for name in ("P1", "P2"):
                s = MeshSession(room=cid, name=name, signalling_urls=[panel.call.relay.url()], width=W,
                                height=H, fps=FPS, room_key=key)
                peers.run(s.join())
                others.append(s)
        else:
            import subprocess

            child = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_video", "--peers",
                                      panel.call.relay.url(), cid, key.hex()], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
            assert child.stdout.readline().strip() == "joined"
        for i in range(3):
            clip = home / f"feed{i}.ts"
            write_pattern_ts(str(clip), f"FEED{i}", seconds=3, fps=25, width=640, height=360)
            panel.add_feed(f"feed {i}", str(clip))
        run_gui(3)
        for _ in range(30):  # every tile live before the window (ICE and DTLS take longer on a loaded machine)
            if len(panel.tiles) >= 6 and all(t.frames for t in panel.tiles.values()):
                break
            run_gui(0.5)
        before = {t.name: t.frames for t in panel.tiles.values()}
        busy = probe(seconds)
        frames = {t.name: t.frames - before.get(t.name, 0) for t in panel.tiles.values()}
        for s in others:
            peers.run(s.leave())
        if others:
            peers.close()
        if child is not None:
            child.stdin.close()
            child.wait(20)
        panel.shutdown()
        panel.close()
        panel.deleteLater()  # no refresh of a closed cache from a pending timer
        run_gui(0.2)
        store.close()
    frames["GUI thread CPU % (idle/busy)"] = f"{gui_cpu[0]:.1f}/{gui_cpu[1]:.1f}"
    frames["ticks late > 50 ms (idle/busy)"] = f"{sum(x > 50 for x in idle)}/{sum(x > 50 for x in busy)}"
    return max(busy), percentile(busy, 99), max(idle), frames


def main() -> int:
    from app.video.engine import pin_host_addresses

    if len(sys.argv) > 1 and sys.argv[1] == "--peers":
        return _remote_peers(*sys.argv[2:5])
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    pin_host_addresses(["127.0.0.1"])
    ours, bare, of, bf, same, sf = bench_cpu(seconds)
    report("CPU per participant, 640x480@30 VP8+Opus", ours, bare, "% core", "bare aiortc, constant frame")
    report("CPU per participant, 640x480@30 VP8+Opus", ours, same, "% core", "bare aiortc, same pattern")
    print(f"    frames received in {seconds:g} s: ours {of}, bare {bf}, bare with the pattern {sf}"
          " (two streams, 30 fps each)")
    lat, base = bench_latency(seconds)
    report("glass-to-glass latency p50, loopback", percentile(lat, 50), percentile(base, 50), "ms",
           "same hand-over, no network")
    report("glass-to-glass latency p95, loopback", percentile(lat, 95), percentile(base, 95), "ms",
           "same hand-over, no network")
    print(f"    samples: {len(lat)} / {len(base)}")
    for in_process in (False, True):
        where = "peers in this process" if in_process else "peers in another process"
        worst, p99, idle, frames = bench_stall(seconds, peers_in_process=in_process)
        report(f"GUI stall, 6 tiles ({where}), worst timer lateness", worst, idle, "ms", "same timer, idle")
        report(f"GUI stall, 6 tiles ({where}), p99 timer lateness", p99, idle, "ms", "same timer, idle (worst)")
        print(f"    frames painted per tile in {seconds:g} s: {frames}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
