"""The speaker: the mix of everyone's received audio, written to a QAudioSink on a timer.

The media thread fills the AudioMixer (app.video.audio, Qt-free); this pump, on the GUI
thread, wakes every 10 ms and writes what the sound card has room for (``bytesFree``) to
the sink's QIODevice (push mode). Each tick is a copy of at most a few kB: it never
blocks. The sink's own buffer is kept short (~100 ms) so what is said is heard promptly.

No output device (no sound card, no PulseAudio, or QtMultimedia missing, as on CI): the
state is ``no_device``, the call bar says so, and the rest of the call carries on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QIODevice, QObject, QTimer, Signal

from app.video.audio import RATE, AudioMixer

log = logging.getLogger(__name__)
SINK_BUFFER_MS = 100
_multimedia: bool | None = None  # cached: QtMultimedia either loads on this machine or it does not


def output_available() -> bool:
    """True when QtMultimedia loads and the system has a default audio output (asked again each call:
    a headset plugged in between two calls is found)."""
    global _multimedia
    if _multimedia is False:
        return False
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError as e:  # PySide6-Addons missing, or libpulse0 absent
        log.info("no audio output: %s", e)
        _multimedia = False
        return False
    _multimedia = True
    return not QMediaDevices.defaultAudioOutput().isNull()


def open_default_sink(mixer: AudioMixer, parent: QObject):
    """(QAudioSink, its QIODevice) on the default output, 48 kHz 16-bit stereo (else mono); None if none."""
    if not output_available():
        return None
    from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices

    device = QMediaDevices.defaultAudioOutput()
    for channels in (mixer.channels, 3 - mixer.channels):
        fmt = QAudioFormat()
        fmt.setSampleRate(RATE)
        fmt.setChannelCount(channels)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            continue
        if channels != mixer.channels:
            mixer.set_channels(channels)
        sink = QAudioSink(device, fmt, parent)
        sink.setBufferSize(int(RATE * SINK_BUFFER_MS / 1000) * mixer.frame_bytes)
        io = sink.start()
        if io is None or sink.error() != QAudio.Error.NoError:
            log.warning("audio output %s would not start: %s", device.description(), sink.error())
            sink.deleteLater()
            return None
        return sink, io
    log.warning("audio output %s takes neither 48 kHz stereo nor mono 16-bit", device.description())
    return None


class AudioOutput(QObject):
    state_changed = Signal(str)
    """``playing`` / ``no_device`` / ``stopped``."""

    def __init__(self, mixer: AudioMixer, parent: QObject | None = None, *, interval_ms: int = 10,
                 open_sink: Callable[[AudioMixer, QObject], tuple | None] = open_default_sink):
        super().__init__(parent)
        self.mixer = mixer
        self._open_sink = open_sink
        self.sink = None
        self.device: QIODevice | None = None
        self._bytes_free: Callable[[], int] | None = None
        self.state = "stopped"
        self.bytes_written = 0
        self._timer = QTimer(self, interval=interval_ms, timeout=self.pump)

    @property
    def active(self) -> bool:
        return self.device is not None

    def start(self) -> bool:
        """Open the default output; False (state ``no_device``) when there is none."""
        if self.device is not None:
            return True
        opened = self._open_sink(self.mixer, self)
        if opened is None:
            self._set_state("no_device")
            return False
        self.sink, device = opened
        self.sink.stateChanged.connect(self._sink_state)
        self.attach(device, self.sink.bytesFree)
        return True

    def _sink_state(self, _state) -> None:
        from PySide6.QtMultimedia import QAudio

        sink = self.sink
        if sink is not None and sink.error() in (QAudio.Error.OpenError, QAudio.Error.FatalError):
            log.warning("audio output lost: %s", sink.error())  # unplugged: say so, keep the call
            self.stop()
            self._set_state("no_device")

    def attach(self, device: QIODevice, bytes_free: Callable[[], int] | None = None) -> None:
        """Play into this (open, writable) device. Without ``bytes_free`` each tick writes what is buffered."""
        self.device, self._bytes_free = device, bytes_free
        self._timer.start()
        self._set_state("playing")

    def set_volume(self, volume: float) -> None:
        self.mixer.set_volume(volume)

    def pump(self) -> int:
        """One tick: move as much of the mix as the device has room for. Returns bytes written."""
        device = self.device
        if device is None:
            return 0
        room = self._bytes_free() if self._bytes_free is not None else self.mixer.max_frames * self.mixer.frame_bytes
        frames = room // self.mixer.frame_bytes
        if frames <= 0:
            return 0
        data = self.mixer.read(frames)
        if not data:
            return 0
        written = device.write(data)
        if written < 0:
            log.warning("audio output refused data: %s", device.errorString())
            return 0
        self.bytes_written += written
        return written

    def stop(self) -> None:
        self._timer.stop()
        if self.sink is not None:
            self.sink.stop()
            self.sink.deleteLater()
            self.sink = None
        self.device = None
        self.mixer.clear()
        self._set_state("stopped")

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
