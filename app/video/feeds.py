"""Field feeds (图传): drone, vehicle and body-camera streams read with PyAV, each on its own thread.

A feed is a URL PyAV (FFmpeg) can open: a file, ``udp://`` MPEG-TS, ``http(s)://…m3u8``
HLS, ``rtsp://``, ``rtmp://`` or HTTP-FLV. The reader decodes off the GUI thread and
hands each frame to ``on_frame(feed_id, rgb)``; its state goes to
``on_state(feed_id, state, detail)`` with state one of:

- ``connecting``: opening the URL;
- ``live``: frames are arriving;
- ``retrying``: it did not answer, or stopped, or failed to decode; ``detail`` says why and
  when the next attempt is (backoff 1, 2, 4 … 30 s);
- ``stopped``: closed by the user.

A feed may carry, or be given, a position: ``set_feed_position`` / ``feed_positions`` is
the Qt-free registry the map reads (``FeedPosition``: feed_id, name, lon, lat, state).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable

import av
import numpy as np

from app.video.tracks import Converter

log = logging.getLogger(__name__)

BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
KINDS = ("file", "udp", "hls", "rtsp", "rtmp", "http-flv")


def feed_kind(url: str) -> str:
    u = url.lower()
    if u.startswith("udp://") or u.startswith("rtp://"):
        return "udp"
    if u.startswith("rtsp://"):
        return "rtsp"
    if u.startswith("rtmp://"):
        return "rtmp"
    if u.startswith(("http://", "https://")):
        return "hls" if ".m3u8" in u else "http-flv"
    return "file"


def _open_options(kind: str, timeout: float) -> dict[str, str]:
    us = str(int(timeout * 1_000_000))
    if kind == "udp":
        return {"timeout": us, "fifo_size": "1000000", "overrun_nonfatal": "1"}
    if kind == "rtsp":
        return {"timeout": us, "rtsp_transport": "tcp"}
    if kind in ("hls", "http-flv"):
        return {"timeout": us, "rw_timeout": us}
    if kind == "rtmp":
        return {"rw_timeout": us}
    return {}


# -- position registry (read by the map) ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FeedPosition:
    feed_id: str
    name: str
    lon: float
    lat: float
    state: str


_positions: dict[str, FeedPosition] = {}
_positions_lock = threading.Lock()
_position_listeners: list[Callable[[], None]] = []


def set_feed_position(feed_id: str, name: str, lon: float | None, lat: float | None, state: str = "live") -> None:
    """Give (or clear, with None) a feed's position; listeners are told (on the caller's thread)."""
    with _positions_lock:
        if lon is None or lat is None:
            _positions.pop(feed_id, None)
        else:
            _positions[feed_id] = FeedPosition(feed_id, name, float(lon), float(lat), state)
        listeners = list(_position_listeners)
    for fn in listeners:
        fn()


def feed_positions() -> list[FeedPosition]:
    """Every feed with a known position, for the map's feed layer."""
    with _positions_lock:
        return sorted(_positions.values(), key=lambda p: p.name)


def on_positions_changed(fn: Callable[[], None]) -> Callable[[], None]:
    """Subscribe to position changes; returns the unsubscribe function."""
    with _positions_lock:
        _position_listeners.append(fn)

    def unsubscribe() -> None:
        with _positions_lock:
            if fn in _position_listeners:
                _position_listeners.remove(fn)
    return unsubscribe


def _position_from_metadata(meta: dict[str, str]) -> tuple[float, float] | None:
    """A position the stream carries: ``location`` as ISO 6709 (+23.1291+113.2644/) or lon/lat tags."""
    meta = {k.lower(): v for k, v in meta.items()}  # Matroska upper-cases its tags
    loc = meta.get("location") or meta.get("com.apple.quicktime.location.iso6709")
    if loc:
        import re

        m = re.match(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)", loc)
        if m:
            return float(m.group(2)), float(m.group(1))
    if "lon" in meta and "lat" in meta:
        try:
            return float(meta["lon"]), float(meta["lat"])
        except ValueError:
            return None
    return None


# -- the reader ----------------------------------------------------------------------------------------

class FeedReader:
    def __init__(self, feed_id: str, name: str, url: str, *,
                 on_frame: Callable[[str, np.ndarray], None] | None = None,
                 on_state: Callable[[str, str, dict], None] | None = None,
                 open_timeout: float = 5.0, stall_timeout: float = 5.0, loop_files: bool = True,
                 max_size: tuple[int, int] | None = (960, 540), realtime: bool = True,
                 position: tuple[float, float] | None = None, backoff: tuple[float, ...] = BACKOFF,
                 frame_size: Callable[[str, int, int], tuple[int, int] | None] | None = None,
                 frame_format: str = "rgb24", frame_wanted: Callable[[str], bool] | None = None):
        """``frame_size(feed_id, w, h)``: the size to hand frames over at (the tile's), None: ``max_size``;
        ``frame_format``: "rgb24" (H×W×3) or "bgra" (H×W×4); ``frame_wanted(feed_id)``: False skips
        converting and handing over that frame (the tile still shows the previous one)."""
        self.feed_id, self.name, self.url = feed_id, name, url
        self.kind = feed_kind(url)
        self.on_frame = on_frame or (lambda fid, rgb: None)
        self.on_state = on_state or (lambda fid, state, detail: None)
        self.open_timeout, self.stall_timeout = open_timeout, stall_timeout
        self.loop_files = loop_files
        self.max_size = max_size
        self.frame_size = frame_size
        self.frame_format = frame_format
        self.frame_wanted = frame_wanted
        self._convert = Converter()  # this reader's thread only
        self.realtime = realtime
        self.backoff = backoff
        self.position = position
        self.state = "idle"
        self.frames = 0
        self.attempts = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if position is not None:
            set_feed_position(feed_id, name, position[0], position[1], "connecting")

    def start(self) -> FeedReader:
        self._thread = threading.Thread(target=self._run, name=f"feed-{self.feed_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set_state("stopped", {})
        set_feed_position(self.feed_id, self.name, None, None)

    def _set_state(self, state: str, detail: dict) -> None:
        self.state = state
        if self.position is not None and state != "stopped":
            set_feed_position(self.feed_id, self.name, self.position[0], self.position[1], state)
        try:
            self.on_state(self.feed_id, state, detail)
        except Exception:
            log.exception("feed state callback failed")

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self.attempts += 1
            self._set_state("connecting", {"attempt": self.attempts})
            try:
                got = self._read_once()
                if self._stop.is_set():
                    break
                reason = "stream ended" if got else "no frames"
                if got and self.kind == "file" and self.loop_files:
                    failures = 0
                    continue
                code = "ended" if got else "no_frames"
            except av.error.ExitError:
                reason, code = f"no answer within {self.open_timeout:g} s", "timeout"
            except ConnectionRefusedError as e:
                reason, code = e.strerror or "connection refused", "refused"
            except av.error.FFmpegError as e:
                reason, code = (e.strerror or str(e)), "error"
            except Exception as e:  # a codec the machine lacks, a broken stream: say so and retry
                reason, code = f"{type(e).__name__}: {e}", "error"
                log.exception("feed %s failed", self.feed_id)
            self.last_error = reason
            wait = self.backoff[min(failures, len(self.backoff) - 1)]
            failures += 1
            self._set_state("retrying", {"reason": reason, "code": code, "retry_in": wait,
                                         "attempt": self.attempts})
            log.info("feed %s (%s): %s; retrying in %.0f s", self.name, self.url, reason, wait)
            if self._stop.wait(wait):
                break

    def _read_once(self) -> bool:
        """Open, decode until the stream ends or stalls; True if any frame was decoded."""
        container = av.open(self.url, options=_open_options(self.kind, self.open_timeout),
                            timeout=(self.open_timeout, self.stall_timeout))
        got_any = False
        try:
            meta = dict(container.metadata or {})
            if self.position is None:
                pos = _position_from_metadata(meta)
                if pos is not None:
                    self.position = pos
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            t0 = None
            for frame in container.decode(stream):
                if self._stop.is_set():
                    break
                if not got_any:
                    got_any = True
                    self._set_state("live", {"codec": stream.codec_context.name,
                                             "size": [frame.width, frame.height]})
                if self.realtime and self.kind == "file" and frame.time is not None:
                    now = time.monotonic()
                    if t0 is None:
                        t0 = now - frame.time
                    delay = t0 + frame.time - now
                    if delay > 0 and self._stop.wait(min(delay, 1.0)):
                        break
                self.frames += 1
                if self.frame_wanted is None or self.frame_wanted(self.feed_id):
                    self.on_frame(self.feed_id, self._to_rgb(frame))
        finally:
            container.close()
        return got_any

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        size = self.frame_size(self.feed_id, frame.width, frame.height) if self.frame_size is not None else None
        if size is not None:
            return self._convert.ndarray(frame, self.frame_format, size[0], size[1])
        if self.max_size and (frame.width > self.max_size[0] or frame.height > self.max_size[1]):
            scale = min(self.max_size[0] / frame.width, self.max_size[1] / frame.height)
            w, h = max(2, int(frame.width * scale) // 2 * 2), max(2, int(frame.height * scale) // 2 * 2)
            return self._convert.ndarray(frame, self.frame_format, w, h)
        return self._convert.ndarray(frame, self.frame_format)


def write_pattern_ts(path: str, name: str, seconds: float = 2.0, fps: int = 25, width: int = 320,
                     height: int = 240, codec: str = "mpeg2video", location: str | None = None) -> int:
    """Write an MPEG-TS (or any container by extension) test-pattern clip; returns the frame count.

    For tests, benchmarks and the demo's stand-in drone feed.
    """
    from app.video.pattern import PatternMaker

    maker = PatternMaker(name, width, height)
    n = int(seconds * fps)
    with av.open(path, "w") as out:
        if location:
            out.metadata["location"] = location
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 2_000_000
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(maker.frame(i, time.time()), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return n
