"""Local media tracks: the test pattern, a tone, and the per-link gate (audio-only fallback)."""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.reformatter import VideoReformatter

from app.video.pattern import PatternMaker

log = logging.getLogger(__name__)
VIDEO_CLOCK = 90000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)


class Converter:
    """A pixel-format/size conversion that keeps its libswscale context from frame to frame.

    ``frame.reformat()`` / ``frame.to_ndarray(format=…)`` build a new SwsContext for every frame,
    and with ``threads=0`` (PyAV's default) a pool of slice threads with it: profiling the media
    thread showed that set-up and tear-down costing more than the conversion itself (640×480 RGB →
    yuv420p: 2.76 ms with a new context, 0.91 ms with a kept one). One Converter per stream, used
    from one thread at a time (a SwsContext is not thread-safe); ``threads=1``: a conversion on a
    tile-sized frame is too small to be worth waking threads for.
    """

    def __init__(self) -> None:
        self._rf = VideoReformatter()

    def __call__(self, frame: av.VideoFrame, fmt: str, width: int | None = None,
                 height: int | None = None) -> av.VideoFrame:
        return self._rf.reformat(frame, format=fmt, width=width, height=height, threads=1,
                                 interpolation="BILINEAR")

    def ndarray(self, frame: av.VideoFrame, fmt: str = "rgb24", width: int | None = None,
                height: int | None = None) -> np.ndarray:
        return self(frame, fmt, width, height).to_ndarray()


class PatternTrack(MediaStreamTrack):
    """A moving test pattern with the participant's name, frame counter and capture time."""

    kind = "video"

    def __init__(self, name: str, width: int = 640, height: int = 480, fps: float = 30,
                 colour: tuple[int, int, int] | None = None, label_mask: np.ndarray | None = None,
                 on_capture: Callable[[int, float], None] | None = None):
        super().__init__()
        self.maker = PatternMaker(name, width, height, colour, label_mask)
        self.fps = fps
        self.camera_off = False
        self.counter = 0
        self.on_capture = on_capture  # (counter, capture time): the latency benchmark's stamp
        self._start: float | None = None
        self._convert = Converter()

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            if self._start is None:
                self._start = time.time()
            else:
                self.counter += 1
                wait = self._start + self.counter / self.fps - time.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            now = time.time()
            rgb = self.maker.frame(self.counter, now, camera_off=self.camera_off)
            # Convert once here: MediaRelay hands this same frame to every link's encoder, each on its
            # own executor thread, and PyAV's per-frame reformatter is not thread-safe (a segfault).
            frame = self._convert(av.VideoFrame.from_ndarray(rgb, format="rgb24"), "yuv420p")
            frame.pts = int(self.counter * VIDEO_CLOCK / self.fps)
            frame.time_base = VIDEO_TIME_BASE
            if self.on_capture is not None:
                self.on_capture(self.counter, now)
            return frame
        except MediaStreamError:
            raise
        except Exception:  # an exception in recv() is otherwise silent: ICE connects, zero frames
            log.exception("pattern track failed")
            raise


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone (or silence when muted) at 48 kHz mono in 20 ms frames."""

    kind = "audio"
    RATE = 48000
    SAMPLES = 960

    def __init__(self, frequency: float = 440.0, level: float = 0.2):
        super().__init__()
        self.muted = False
        self._n = 0
        self._start: float | None = None
        t = np.arange(self.RATE, dtype=np.float64) / self.RATE
        period = int(self.RATE / math.gcd(int(frequency), self.RATE))
        self._wave = (np.sin(2 * np.pi * frequency * t[:period]) * level * 32767).astype(np.int16)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._n / self.RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        if self.muted:
            samples = np.zeros(self.SAMPLES, dtype=np.int16)
        else:
            idx = (np.arange(self._n, self._n + self.SAMPLES)) % len(self._wave)
            samples = self._wave[idx]
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = self._n
        frame.time_base = fractions.Fraction(1, self.RATE)
        self._n += self.SAMPLES
        return frame


class GatedTrack(MediaStreamTrack):
    """One link's view of a shared source; closed (audio-only) it sends no video at all."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack):
        super().__init__()
        self.source = source
        self._open = asyncio.Event()
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def set_open(self, is_open: bool) -> None:
        if is_open:
            self._open.set()
        else:
            self._open.clear()

    async def recv(self) -> av.VideoFrame:
        while True:
            if not self._open.is_set():
                await self._open.wait()
            frame = await self.source.recv()
            if self._open.is_set():
                return frame

    def stop(self) -> None:
        super().stop()
        self.source.stop()


class SwitchTrack(MediaStreamTrack):
    """The camera, or the (dark, labelled) pattern while the camera is switched off."""

    kind = "video"

    def __init__(self, camera: MediaStreamTrack, pattern: PatternTrack):
        super().__init__()
        self.camera, self.pattern = camera, pattern
        self.use_pattern = False

    async def recv(self) -> av.VideoFrame:
        if self.use_pattern:
            return await self.pattern.recv()
        return await self.camera.recv()


class MutableAudio(MediaStreamTrack):
    """The microphone, sending silence while muted."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack):
        super().__init__()
        self.source = source
        self.muted = False

    async def recv(self) -> av.AudioFrame:
        frame = await self.source.recv()
        if self.muted:
            for p in frame.planes:
                p.update(bytes(p.buffer_size))
        return frame


class FeedTrack(MediaStreamTrack):
    """A field feed forwarded into the call: frames pushed from the feed's thread, sent at most ``fps``."""

    kind = "video"

    def __init__(self, fps: float = 15):
        super().__init__()
        self.fps = fps
        self._latest: np.ndarray | None = None
        self._new = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start: float | None = None
        self._last = 0.0
        self._convert = Converter()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def push(self, rgb: np.ndarray) -> None:
        """Any thread: the feed's newest frame, RGB or BGRA (older undelivered ones are dropped)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._set, rgb)

    def _set(self, rgb: np.ndarray) -> None:
        self._latest = rgb
        self._new.set()

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        wait = self._last + 1.0 / self.fps - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        await self._new.wait()
        self._new.clear()
        rgb = self._latest
        now = time.time()
        if self._start is None:
            self._start = now
        self._last = now
        h, w = rgb.shape[:2]
        rgb = rgb[:h - h % 2, :w - w % 2]
        fmt = "bgra" if rgb.shape[2] == 4 else "rgb24"
        frame = self._convert(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=fmt), "yuv420p")
        frame.pts = int((now - self._start) * VIDEO_CLOCK)
        frame.time_base = VIDEO_TIME_BASE
        return frame
