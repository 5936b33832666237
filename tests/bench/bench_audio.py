"""Received-audio playback cost: one 20 ms tick of a six-way call (five voices in, one mix out).

    .venv/bin/python -m tests.bench.bench_audio

Figures: the media thread's share (push five decoded Opus frames: s16 stereo 48 kHz, the
no-resample path; and a 44.1 kHz mono source through av.AudioResampler), and the GUI
pump's tick (mix + write into a QBuffer), each next to bare numpy doing the same sums.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import av  # noqa: E402
import numpy as np  # noqa: E402

from tests.bench.common import median_of, report  # noqa: E402

TICKS = 500
VOICES = 5


def frames(rate: int, layout: str, per: int) -> list[av.AudioFrame]:
    channels = 2 if layout == "stereo" else 1
    out = []
    for i in range(TICKS):
        x = (np.sin(np.arange(per * channels) * 0.05 + i) * 8000).astype(np.int16).reshape(1, -1)
        f = av.AudioFrame.from_ndarray(x, format="s16", layout=layout)
        f.sample_rate = rate
        out.append(f)
    return out


def main() -> int:
    from PySide6.QtCore import QBuffer, QCoreApplication, QIODevice

    from app.ui.video.audio_out import AudioOutput
    from app.video.audio import AudioMixer

    QCoreApplication.instance() or QCoreApplication([])
    opus_like = frames(48000, "stereo", 960)
    cd_mono = frames(44100, "mono", 882)
    arrays = [f.to_ndarray().reshape(-1, 2) for f in opus_like]

    def ours_push_and_mix():
        mixer = AudioMixer(channels=2)
        for i in range(TICKS):
            for v in range(VOICES):
                mixer.push(f"p{v}", opus_like[i])
            mixer.read(960)

    def bare_numpy():
        for i in range(TICKS):
            acc = np.zeros((960, 2), np.int32)
            for _v in range(VOICES):
                acc += arrays[i]
            np.clip(acc, -32768, 32767).astype("<i2").tobytes()

    ours = median_of(ours_push_and_mix, 3) / TICKS * 1e6
    base = median_of(bare_numpy, 3) / TICKS * 1e6
    report("audio: 5 voices push + mix, per 20 ms tick", ours, base, "µs", "bare numpy sum")

    def ours_resample():
        mixer = AudioMixer(channels=2)
        for f in cd_mono:
            mixer.push("p", f)
            mixer.read(960)

    def resample_only():
        r = av.AudioResampler(format="s16", layout="stereo", rate=48000)
        for f in cd_mono:
            f.pts = None
            r.resample(f)

    ours = median_of(ours_resample, 3) / TICKS * 1e6
    base = median_of(resample_only, 3) / TICKS * 1e6
    report("audio: 44.1k mono voice resampled + mixed /tick", ours, base, "µs", "bare av.AudioResampler")

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    mixer = AudioMixer(channels=2)
    out = AudioOutput(mixer)
    out.attach(buf, lambda: 960 * 4)
    payload = [f.to_ndarray().reshape(-1, 2) for f in opus_like]

    def ours_pump():
        for i in range(TICKS):
            for v in range(VOICES):
                mixer.push_pcm(f"p{v}", payload[i])
            out.pump()

    def bare_write():
        for i in range(TICKS):
            acc = np.zeros((960, 2), np.int32)
            for _v in range(VOICES):
                acc += payload[i]
            buf.write(np.clip(acc, -32768, 32767).astype("<i2").tobytes())

    ours = median_of(ours_pump, 3) / TICKS * 1e6
    base = median_of(bare_write, 3) / TICKS * 1e6
    report("audio: GUI pump tick (5 voices → QBuffer)", ours, base, "µs", "bare numpy + QBuffer.write")
    out.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
