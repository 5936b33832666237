"""Received audio, mixed for the speaker: one small jitter buffer per remote participant.

The media thread hands every decoded frame to ``AudioMixer.push(source, frame)``; it is
resampled there (``av.AudioResampler``) to the output format, 16-bit PCM at 48 kHz, mono
or stereo, and appended to that participant's buffer. The output side (the GUI's pump
that feeds the sound card) calls ``read(max_frames)`` and gets the mix as bytes.

Bounded: a participant's buffer never holds more than ``max_ms`` (200 ms); beyond that
the oldest audio is dropped, so a stalled output never builds up delay. A participant
starts to play once ``prime_ms`` has gathered (smoothing network jitter) and, after
running dry, waits to gather again. Per-participant mute (their audio is still consumed,
so unmuting plays what is said now, not what was said while muted) and a master volume.

Qt-free and thread-safe: the lock is held only to append or to take samples.
"""

from __future__ import annotations

import logging
import threading

import av
import numpy as np

log = logging.getLogger(__name__)

RATE = 48000
SAMPLE_BYTES = 2  # 16-bit


class _Source:
    __slots__ = ("buf", "primed", "muted", "resampler", "in_format", "received", "dropped")

    def __init__(self, channels: int):
        self.buf = np.zeros((0, channels), dtype=np.int16)
        self.primed = False
        self.muted = False
        self.resampler: av.AudioResampler | None = None
        self.in_format: tuple | None = None
        self.received = 0  # sample frames appended
        self.dropped = 0  # sample frames dropped as too old


class AudioMixer:
    def __init__(self, channels: int = 2, rate: int = RATE, max_ms: float = 200, prime_ms: float = 40):
        if channels not in (1, 2):
            raise ValueError("channels must be 1 or 2")
        self.channels, self.rate = channels, rate
        self.max_frames = int(rate * max_ms / 1000)
        self.prime_frames = min(self.max_frames, int(rate * prime_ms / 1000))
        self._lock = threading.Lock()
        self._sources: dict[str, _Source] = {}
        self._muted: set[str] = set()  # remembered for sources that have not spoken yet
        self._volume = 1.0
        self.frames_out = 0  # sample frames handed to the output

    # ---- format ----------------------------------------------------------------------------
    @property
    def frame_bytes(self) -> int:
        """Bytes per sample frame (all channels)."""
        return SAMPLE_BYTES * self.channels

    def set_channels(self, channels: int) -> None:
        """Change the output layout (the device takes only mono, say); buffered audio is discarded."""
        if channels not in (1, 2):
            raise ValueError("channels must be 1 or 2")
        with self._lock:
            self.channels = channels
            for s in self._sources.values():
                s.buf = np.zeros((0, channels), dtype=np.int16)
                s.primed = False
                s.resampler, s.in_format = None, None

    # ---- controls (any thread) ---------------------------------------------------------------
    @property
    def volume(self) -> float:
        return self._volume

    def set_volume(self, volume: float) -> None:
        """Master volume, 0.0 (silent) … 1.0 (as received) … 2.0 (boosted, clipped)."""
        self._volume = float(min(2.0, max(0.0, volume)))

    def set_muted(self, source: str, muted: bool) -> None:
        with self._lock:
            if muted:
                self._muted.add(source)
            else:
                self._muted.discard(source)
            if source in self._sources:
                self._sources[source].muted = muted

    def is_muted(self, source: str) -> bool:
        return source in self._muted

    def forget(self, source: str) -> None:
        with self._lock:
            self._sources.pop(source, None)

    def clear(self) -> None:
        with self._lock:
            self._sources.clear()

    def sources(self) -> list[str]:
        with self._lock:
            return list(self._sources)

    def buffered_frames(self, source: str | None = None) -> int:
        """Sample frames waiting (for one source, or the fullest one)."""
        with self._lock:
            if source is not None:
                s = self._sources.get(source)
                return len(s.buf) if s else 0
            return max((len(s.buf) for s in self._sources.values()), default=0)

    def stats(self, source: str) -> tuple[int, int]:
        """(sample frames received, sample frames dropped as too old) for one source."""
        with self._lock:
            s = self._sources.get(source)
            return (s.received, s.dropped) if s else (0, 0)

    # ---- input (the media thread) ----------------------------------------------------------
    def _source(self, source: str) -> _Source:
        s = self._sources.get(source)
        if s is None:
            s = self._sources[source] = _Source(self.channels)
            s.muted = source in self._muted
        return s

    def push(self, source: str, frame: av.AudioFrame) -> None:
        """A decoded frame from ``source`` (any format, rate, layout): resampled, then buffered."""
        with self._lock:
            s = self._source(source)
            channels = self.channels
        fmt = (frame.format.name, frame.layout.name, frame.sample_rate)
        layout = "mono" if channels == 1 else "stereo"
        if fmt == ("s16", layout, self.rate):
            # aiortc's Opus decoder gives s16 stereo 48 kHz: no resampling needed for a stereo output
            pcm = frame.to_ndarray().reshape(-1, channels)
        else:
            if s.resampler is None or s.in_format != fmt:
                s.resampler = av.AudioResampler(format="s16", layout=layout, rate=self.rate)
                s.in_format = fmt
            frame.pts = None  # the resampler keeps its own clock; a jump in the sender's pts must not upset it
            try:
                out = s.resampler.resample(frame)
            except (ValueError, av.error.FFmpegError):
                log.warning("audio from %s could not be resampled (%s)", source, fmt)
                s.resampler = None
                return
            if not out:
                return
            pcm = np.concatenate([f.to_ndarray().reshape(-1, channels) for f in out])
        self.push_pcm(source, pcm)

    def push_pcm(self, source: str, pcm: np.ndarray) -> None:
        """Interleaved int16 samples already in the output format: shape (n, channels) or (n,) for mono."""
        pcm = np.asarray(pcm, dtype=np.int16)
        with self._lock:
            if pcm.ndim == 1:
                pcm = pcm.reshape(-1, 1)
            if pcm.shape[1] != self.channels:
                pcm = np.repeat(pcm[:, :1], self.channels, axis=1) if self.channels == 2 else \
                    pcm.mean(axis=1, keepdims=True).astype(np.int16)
            s = self._source(source)
            s.buf = np.concatenate([s.buf, pcm]) if len(s.buf) else pcm.copy()
            s.received += len(pcm)
            over = len(s.buf) - self.max_frames
            if over > 0:  # the output is not keeping up: drop the oldest, never grow
                s.buf = s.buf[over:]
                s.dropped += over
            if not s.primed and len(s.buf) >= self.prime_frames:
                s.primed = True

    # ---- output (the pump) -------------------------------------------------------------------
    def read(self, max_frames: int) -> bytes:
        """Up to ``max_frames`` sample frames of the mix, as interleaved 16-bit PCM bytes.

        The fullest playing source sets the length; a source with less is padded with
        silence (and waits to refill before it plays again). b"" when nobody is playing.
        """
        if max_frames <= 0:
            return b""
        with self._lock:
            playing = [s for s in self._sources.values() if s.primed and len(s.buf)]
            if not playing:
                for s in self._sources.values():
                    if s.primed and not len(s.buf):
                        s.primed = False
                return b""
            n = min(max_frames, max(len(s.buf) for s in playing))
            acc = np.zeros((n, self.channels), dtype=np.int32)
            for s in playing:
                k = min(n, len(s.buf))
                if not s.muted:
                    acc[:k] += s.buf[:k]
                s.buf = s.buf[k:]
                if not len(s.buf):
                    s.primed = False
            volume = self._volume
        if volume != 1.0:
            acc = (acc * volume).astype(np.int32)
        self.frames_out += n
        return np.clip(acc, -32768, 32767).astype("<i2").tobytes()


def dominant_frequency(pcm: bytes | np.ndarray, rate: int = RATE, channels: int = 1) -> float:
    """The strongest frequency in some PCM (first channel), by FFT: the tests' ear."""
    samples = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, bytes | bytearray) else np.asarray(pcm)
    samples = samples.reshape(-1, channels)[:, 0].astype(np.float64)
    if len(samples) < 16:
        return 0.0
    samples = samples - samples.mean()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])
