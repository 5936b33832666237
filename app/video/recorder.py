"""Recording a consultation or a feed to a local file, and a player that seeks in it.

``Recorder`` takes frames from any thread (``add``: the newest frame wins) and writes them
at a steady rate on its own thread with PyAV (MPEG-4 Part 2 in Matroska: cheap to encode,
seekable). Each frame's pts is wall-clock milliseconds since the recording started, so a
moment in the call maps straight onto the file. A sidecar ``<file>.json`` holds the start
time (ISO and epoch) and what was recorded.

``RecordingPlayer.frame_at(seconds)`` returns the frame shown at that moment: the duty-log
entry written during the call carries its call-relative time, and clicking it seeks here.
"""

from __future__ import annotations

import fractions
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)
TIME_BASE = fractions.Fraction(1, 1000)


class Recorder:
    def __init__(self, path: str | Path, *, fps: float = 10, size: tuple[int, int] = (640, 480),
                 title: str = "", started_at_iso: str = "", codec: str = "mpeg4",
                 source: Callable[[], np.ndarray | None] | None = None):
        """``source``, when given, is asked for the picture at every tick (e.g. a grid of the tiles)."""
        self.path = Path(path)
        self.source = source
        self.fps = fps
        self.size = size
        self.codec = codec
        self.meta = {"title": title, "started_at": started_at_iso, "fps": fps, "size": list(size)}
        self._latest: np.ndarray | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_written = 0
        self.start_epoch: float | None = None
        self.error: str | None = None

    def start(self) -> Recorder:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.start_epoch = time.time()
        self.meta["start_epoch"] = self.start_epoch
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()
        return self

    def elapsed(self) -> float:
        return 0.0 if self.start_epoch is None else time.time() - self.start_epoch

    def add(self, rgb: np.ndarray) -> None:
        with self._lock:
            self._latest = rgb

    def stop(self, timeout: float = 10) -> Path:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.path

    def _fit(self, rgb: np.ndarray) -> np.ndarray:
        w, h = self.size
        if rgb.shape[1] == w and rgb.shape[0] == h:
            return rgb
        ys = (np.arange(h) * rgb.shape[0] // h).clip(0, rgb.shape[0] - 1)
        xs = (np.arange(w) * rgb.shape[1] // w).clip(0, rgb.shape[1] - 1)
        return rgb[ys][:, xs]

    def _run(self) -> None:
        w, h = self.size
        try:
            with av.open(str(self.path), "w", format="matroska") as out:
                stream = out.add_stream(self.codec, rate=int(self.fps))
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                stream.time_base = TIME_BASE
                stream.codec_context.time_base = TIME_BASE
                stream.bit_rate = 1_500_000
                stream.codec_context.gop_size = int(self.fps)  # a keyframe a second: seeks land close
                blank = np.full((h, w, 3), 16, dtype=np.uint8)
                period = 1.0 / self.fps
                next_at = self.start_epoch
                last_pts = -1
                while not self._stop.is_set():
                    delay = next_at - time.time()
                    if delay > 0 and self._stop.wait(delay):
                        break
                    next_at += period
                    if self.source is not None:
                        try:
                            rgb = self.source()
                        except Exception:
                            log.exception("recording source failed")
                            rgb = None
                    else:
                        with self._lock:
                            rgb = self._latest
                    pts = int((time.time() - self.start_epoch) * 1000)
                    if pts <= last_pts:
                        continue
                    last_pts = pts
                    frame = av.VideoFrame.from_ndarray(self._fit(rgb) if rgb is not None else blank, format="rgb24")
                    frame.pts, frame.time_base = pts, TIME_BASE
                    for packet in stream.encode(frame):
                        out.mux(packet)
                    self.frames_written += 1
                for packet in stream.encode(None):
                    out.mux(packet)
        except Exception as e:  # a full disk or a missing codec: say so, never take the call down
            self.error = f"{type(e).__name__}: {e}"
            log.exception("recording %s failed", self.path)
        self.meta["duration"] = self.elapsed()
        self.meta["frames"] = self.frames_written
        self.path.with_suffix(self.path.suffix + ".json").write_text(json.dumps(self.meta, ensure_ascii=False))


class RecordingPlayer:
    """Opens a recording and returns the frame shown at a given second (seek, then decode forward)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.container = av.open(str(self.path))
        self.stream = self.container.streams.video[0]
        sidecar = self.path.with_suffix(self.path.suffix + ".json")
        self.meta = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        d = self.container.duration
        self.duration = (d / 1_000_000) if d else float(self.meta.get("duration", 0.0))

    def frame_at(self, seconds: float) -> tuple[float, np.ndarray] | None:
        """(frame time, rgb) of the last frame at or before ``seconds`` (the first frame if earlier)."""
        target = max(0.0, seconds)
        tb = self.stream.time_base
        self.container.seek(int(target / tb), stream=self.stream, backward=True, any_frame=False)
        best = None
        for frame in self.container.decode(self.stream):
            t = float(frame.pts * tb) if frame.pts is not None else 0.0
            if best is not None and t > target + 1e-6:
                break
            best = (t, frame.to_ndarray(format="rgb24"))
            if t >= target:
                break
        return best

    def close(self) -> None:
        self.container.close()


def compose_grid(frames: list[np.ndarray], size: tuple[int, int] = (640, 480)) -> np.ndarray | None:
    """Up to 9 frames side by side in a grid (nearest-neighbour scaling: cheap enough at 10 fps)."""
    frames = [f for f in frames if f is not None][:9]
    if not frames:
        return None
    w, h = size
    cols = 1 if len(frames) == 1 else 2 if len(frames) <= 4 else 3
    rows = (len(frames) + cols - 1) // cols
    cw, ch = w // cols, h // rows
    out = np.full((h, w, 3), 16, dtype=np.uint8)
    for i, f in enumerate(frames):
        r, c = divmod(i, cols)
        ys = (np.arange(ch) * f.shape[0] // ch).clip(0, f.shape[0] - 1)
        xs = (np.arange(cw) * f.shape[1] // cw).clip(0, f.shape[1] - 1)
        out[r * ch:(r + 1) * ch, c * cw:(c + 1) * cw] = f[ys][:, xs]
    return out
