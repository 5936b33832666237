"""Received audio is played: the Qt-free mixer/jitter buffer, a real call over 127.0.0.1, the GUI pump
into a real QIODevice, per-tile mute, master volume, and the 'no audio output' state."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest
from PySide6.QtCore import QBuffer, QIODevice, Qt
from video_helpers import wait_for

from app.services.context import AppContext  # noqa: F401  (the vctx fixture's type)
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.selection import Selection
from app.ui.video.audio_out import AudioOutput, output_available
from app.video.audio import RATE, AudioMixer, dominant_frequency
from app.video.mesh import MeshSession

TONE = 1000.0  # the sender's tone: not the 440 Hz every other console sends


def tone_frames(freq: float, seconds: float, rate: int = RATE, layout: str = "mono", per: int = 960,
                level: float = 0.3):
    """Real av.AudioFrames of a sine, as a decoder would hand them over."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    wave = (np.sin(2 * np.pi * freq * t) * level * 32767).astype(np.int16)
    channels = 2 if layout == "stereo" else 1
    frames = []
    for start in range(0, n - per + 1, per):
        chunk = np.repeat(wave[start:start + per, None], channels, axis=1).reshape(1, -1)
        f = av.AudioFrame.from_ndarray(chunk, format="s16", layout=layout)
        f.sample_rate = rate
        f.pts = start
        f.time_base = fractions.Fraction(1, rate)
        frames.append(f)
    return frames


def rms(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


# ---- the Qt-free mixer ------------------------------------------------------------------------

def test_mixer_resamples_to_48k_and_keeps_the_pitch():
    mixer = AudioMixer(channels=2)
    for f in tone_frames(700, 0.15, rate=44100, per=441):  # a 44.1 kHz mono source
        mixer.push("a", f)
    pcm = mixer.read(RATE)
    assert len(pcm) % 4 == 0 and len(pcm) // 4 > 0.1 * RATE  # stereo 16-bit frames
    assert abs(dominant_frequency(pcm, channels=2) - 700) < 10
    left, right = np.frombuffer(pcm, dtype="<i2").reshape(-1, 2).T
    assert np.array_equal(left, right)  # mono spread to both ears


def test_mixer_never_holds_more_than_200_ms_and_drops_the_oldest():
    mixer = AudioMixer(channels=1)
    for f in tone_frames(500, 0.8) + tone_frames(1500, 0.2):  # a second of audio nobody read
        mixer.push("a", f)
    assert mixer.buffered_frames("a") <= 0.2 * RATE
    received, dropped = mixer.stats("a")
    assert received == RATE and dropped >= 0.8 * RATE - 1
    # what is left is the newest audio (1500 Hz), not the stale 500 Hz
    assert abs(dominant_frequency(mixer.read(RATE)) - 1500) < 10


def test_mixer_waits_for_a_little_audio_before_playing():
    mixer = AudioMixer(channels=1, prime_ms=40)
    mixer.push("a", tone_frames(440, 0.02)[0])  # 20 ms: not yet
    assert mixer.read(4800) == b""
    mixer.push("a", tone_frames(440, 0.02)[0])  # 40 ms: plays
    assert len(mixer.read(4800)) == 2 * 1920


def test_mixer_mixes_mutes_one_participant_and_applies_volume():
    mixer = AudioMixer(channels=1)
    for fa, fb in zip(tone_frames(500, 0.1), tone_frames(1200, 0.1), strict=True):
        mixer.push("a", fa)
        mixer.push("b", fb)
    both = mixer.read(RATE)
    spectrum = np.abs(np.fft.rfft(np.frombuffer(both, dtype="<i2").astype(float)))
    freqs = np.fft.rfftfreq(len(both) // 2, 1 / RATE)
    top2 = sorted(freqs[np.argsort(spectrum)[-2:]])
    assert abs(top2[0] - 500) < 15 and abs(top2[1] - 1200) < 15

    mixer.set_muted("a", True)
    for fa, fb in zip(tone_frames(500, 0.1), tone_frames(1200, 0.1), strict=True):
        mixer.push("a", fa)
        mixer.push("b", fb)
    only_b = mixer.read(RATE)
    assert abs(dominant_frequency(only_b) - 1200) < 10
    loud = rms(only_b)

    mixer.set_volume(0.5)
    for fb in tone_frames(1200, 0.1):
        mixer.push("b", fb)
    assert rms(mixer.read(RATE)) == pytest.approx(loud / 2, rel=0.05)
    mixer.set_volume(0.0)
    for fb in tone_frames(1200, 0.1):
        mixer.push("b", fb)
    assert rms(mixer.read(RATE)) == 0.0


def test_two_peers_over_loopback_the_tone_reaches_the_playback_buffer(engine, relay):
    """One console sends a 1 kHz tone; the other's playback buffer holds PCM whose FFT peaks at 1 kHz."""
    mixer = AudioMixer(channels=2)
    tx = MeshSession(room="audio", name="FIELD", signalling_urls=[relay.url()], width=160, height=120, fps=10,
                     tone_hz=TONE)
    rx = MeshSession(room="audio", name="CENTRE", signalling_urls=[relay.url()], width=160, height=120, fps=10,
                     on_audio=mixer.push)
    engine.run(tx.join())
    engine.run(rx.join())
    try:
        wait_for(lambda: mixer.stats(tx.peer_id)[0] >= 0.5 * RATE, 20, "half a second of the tone")
        assert mixer.buffered_frames(tx.peer_id) <= 0.2 * RATE  # nobody read it: bounded, oldest dropped
        pcm = mixer.read(RATE)
        assert len(pcm) >= 0.1 * RATE * 4
        assert abs(dominant_frequency(pcm, channels=2) - TONE) < 15
        assert rms(pcm) > 1000  # a tone, not silence
    finally:
        engine.run(rx.leave())
        engine.run(tx.leave())


# ---- the GUI pump ------------------------------------------------------------------------------

class Collector(QBuffer):
    """A real QIODevice (QBuffer) that keeps what is written to it: the stand-in speaker.

    (A Python QIODevice subclass cannot stand in: PySide6 6.11 hands writeData() the bytes as a str.)
    """

    def __init__(self):
        super().__init__()
        self.open(QIODevice.OpenModeFlag.WriteOnly)

    @property
    def pcm(self) -> bytes:
        return self.data().data()


def test_pump_writes_only_what_the_device_has_room_for(qtbot):
    mixer = AudioMixer(channels=2)
    out = AudioOutput(mixer)
    speaker = Collector()
    room = [0]
    out.attach(speaker, lambda: room[0])
    for f in tone_frames(800, 0.1):
        mixer.push("a", f)
    assert out.pump() == 0 and not speaker.pcm  # a full device gets nothing
    room[0] = 960 * 4  # 20 ms of room
    assert out.pump() == 960 * 4
    qtbot.waitUntil(lambda: len(speaker.pcm) >= 0.1 * RATE * 4, timeout=3000)  # the timer drains the rest
    assert abs(dominant_frequency(speaker.pcm, channels=2) - 800) < 15
    out.stop()
    assert out.state == "stopped" and mixer.sources() == []


def test_no_output_device_is_a_state_not_a_failure(qtbot):
    out = AudioOutput(AudioMixer(), open_sink=lambda mixer, parent: None)
    with qtbot.waitSignal(out.state_changed) as sig:
        assert out.start() is False
    assert sig.args == ["no_device"] and not out.active
    assert out.pump() == 0


@pytest.fixture
def panel(qtbot, vctx, tmp_path, engine, relay):
    from app.ui.settings import Settings
    from app.ui.video.panel import VideoPanel

    settings = Settings(tmp_path / "home" / "settings.json")
    settings.set("video_lan_relays", [relay.url().removesuffix("/signalling").removeprefix("ws://")])
    settings.set("video_serve_relay", False)
    host = PanelHost(ctx=vctx, changes=ChangeBridge(vctx.bus), selection=Selection(), read_only=False,
                     settings=settings)
    p = VideoPanel(host, media_size=(160, 120), fps=10)
    qtbot.addWidget(p)
    p.resize(1400, 800)
    p.show()
    yield p
    p.shutdown()


def test_call_plays_the_colleague_through_the_pump_with_tile_mute_and_volume(qtbot, panel, vctx, engine, relay):
    speaker = Collector()
    panel.call.audio.attach(speaker)  # the sound card's QIODevice, here a real one that keeps the bytes
    panel.host.selection.select("incident", (vctx.incident_id,), source=None)
    panel.start_from_incident()
    qtbot.waitUntil(lambda: panel.call.state == "joined", timeout=10000)
    assert not panel.audio_status.isVisible()
    other = MeshSession(room=panel.active_id, name="STREET", signalling_urls=[relay.url()], width=160,
                        height=120, fps=10, tone_hz=TONE)
    engine.run(other.join())
    try:
        qtbot.waitUntil(lambda: len(speaker.pcm) >= 0.5 * RATE * 4, timeout=20000)
        heard = bytes(speaker.pcm[-int(0.25 * RATE) * 4:])
        assert abs(dominant_frequency(heard, channels=2) - TONE) < 15
        loud = rms(heard)
        assert loud > 1000

        # half volume from the slider
        panel.volume.setValue(50)
        mark = len(speaker.pcm) + int(0.2 * RATE) * 4  # skip what was already queued at full volume
        qtbot.waitUntil(lambda: len(speaker.pcm) >= mark + int(0.25 * RATE) * 4, timeout=10000)
        assert rms(bytes(speaker.pcm[mark:])) == pytest.approx(loud / 2, rel=0.2)
        assert panel.host.settings.get("video_volume") == 50

        # 'M' on the colleague's tile: their voice is no longer played here (the call goes on)
        tile = panel.tiles[other.peer_id]
        tile.setFocus()
        qtbot.keyClick(tile, Qt.Key.Key_M)
        assert tile.audio_muted and panel.call.mixer.is_muted(other.peer_id)
        mark = len(speaker.pcm) + int(0.2 * RATE) * 4
        qtbot.waitUntil(lambda: len(speaker.pcm) >= mark + int(0.25 * RATE) * 4, timeout=10000)
        assert rms(bytes(speaker.pcm[mark:])) < 50
        qtbot.keyClick(tile, Qt.Key.Key_M)
        assert not panel.call.mixer.is_muted(other.peer_id)
    finally:
        engine.run(other.leave())
    panel.end_call()
    assert panel.call.audio.state == "stopped"


def test_without_an_output_device_the_call_bar_says_so_and_the_call_works(qtbot, panel, vctx, engine, relay):
    panel.host.selection.select("incident", (vctx.incident_id,), source=None)
    panel.start_from_incident()
    qtbot.waitUntil(lambda: panel.call.state == "joined", timeout=10000)
    if output_available():  # a machine with a sound card plays instead
        assert panel.call.audio.state == "playing" and not panel.audio_status.isVisible()
    else:
        assert panel.call.audio.state == "no_device"
        assert panel.audio_status.isVisible() and panel.audio_status.text() == "无音频输出设备"
    other = MeshSession(room=panel.active_id, name="STREET", signalling_urls=[relay.url()], width=160,
                        height=120, fps=10)
    engine.run(other.join())
    try:  # pictures still arrive
        qtbot.waitUntil(lambda: other.peer_id in panel.tiles and panel.tiles[other.peer_id].frames >= 3,
                        timeout=20000)
        assert panel.call.mixer.buffered_frames() == 0 or output_available()  # nothing piles up unplayed
    finally:
        engine.run(other.leave())
    panel.end_call()
    assert not panel.audio_status.isVisible()
