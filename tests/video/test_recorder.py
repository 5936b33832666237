"""Recording to a local file with timestamps, and seeking it to a call-relative moment."""

from __future__ import annotations

import threading

from app.video.pattern import PatternMaker, read_counter
from app.video.recorder import Recorder, RecordingPlayer


def test_record_then_seek_to_a_moment(tmp_path):
    maker = PatternMaker("REC", 320, 240)
    rec = Recorder(tmp_path / "call.mkv", fps=10, size=(320, 240), title="会商",
                   started_at_iso="2026-11-23T10:00:00+08:00").start()
    tick = threading.Event()
    # the frame shows the tenth of a second since the recording started
    while rec.elapsed() < 2.5:
        rec.add(maker.frame(int(rec.elapsed() * 10)))
        tick.wait(0.01)
    path = rec.stop()
    assert rec.error is None and rec.frames_written >= 20
    player = RecordingPlayer(path)
    try:
        assert player.meta["title"] == "会商" and player.meta["started_at"].startswith("2026-11-23")
        assert 2.0 <= player.duration <= 3.5
        for second in (0.5, 1.2, 2.0):
            t, rgb = player.frame_at(second)
            assert abs(t - second) <= 0.15
            assert abs(read_counter(rgb) - second * 10) <= 2
        t, _ = player.frame_at(0.7)  # seeking backwards works too
        assert abs(t - 0.7) <= 0.15
    finally:
        player.close()
