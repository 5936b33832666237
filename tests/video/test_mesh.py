"""Two and four consoles exchange synthetic VP8 video over 127.0.0.1 through the LAN relay."""

from __future__ import annotations

import collections
import threading

from video_helpers import wait_for

from app.video.mesh import CappedVp8Encoder, MeshSession
from app.video.pattern import colour_for, read_counter, read_patch_colour

W, H, FPS = 320, 240, 15


class Console:
    """One participant, recording what it receives (on the media thread) for the assertions."""

    def __init__(self, engine, urls, name, room="r", **kw):
        self.name = name
        self.frames: dict[str, list[tuple[int, tuple[int, int, int]]]] = collections.defaultdict(list)
        self.events: list[tuple[str, str, dict]] = []
        self.lock = threading.Lock()
        self.session = MeshSession(room=room, name=name, signalling_urls=urls, width=W, height=H, fps=FPS,
                                   on_frame=self._frame, on_event=self._event, watch_interval=0.3, **kw)
        self.engine = engine

    def _frame(self, peer, rgb):
        with self.lock:
            self.frames[peer].append((read_counter(rgb), read_patch_colour(rgb)))

    def _event(self, kind, peer, detail):
        with self.lock:
            self.events.append((kind, peer, detail))

    @property
    def id(self):
        return self.session.peer_id

    def got(self, peer):
        with self.lock:
            return list(self.frames.get(peer, ()))

    def kinds(self):
        with self.lock:
            return [k for k, _, _ in self.events]

    def join(self):
        self.engine.run(self.session.join())
        return self

    def leave(self):
        self.engine.run(self.session.leave())


def _close(colour, expected, tol=30):
    return all(abs(a - b) <= tol for a, b in zip(colour, expected, strict=True))


def _assert_receives(rx: Console, tx: Console, n=8):
    wait_for(lambda: len(rx.got(tx.id)) >= n, 20, f"{rx.name} to receive {n} frames from {tx.name}")
    frames = rx.got(tx.id)
    counters = [c for c, _ in frames]
    # the counter drawn into the frame survives VP8 and advances (frames may be dropped, never reordered)
    assert counters[-1] > counters[0]
    assert all(b >= a for a, b in zip(counters, counters[1:], strict=False)), counters
    # the sender's own colour arrives (a wrong mapping between tiles would show another colour)
    assert _close(frames[-1][1], colour_for(tx.name)), (frames[-1][1], colour_for(tx.name))


def test_two_consoles_exchange_video_and_audio(engine, relay):
    a = Console(engine, [relay.url()], "CENTRE").join()
    b = Console(engine, [relay.url()], "STREET").join()
    try:
        _assert_receives(a, b)
        _assert_receives(b, a)
        wait_for(lambda: a.session.links[b.id].audio_level > 0.05, 10, "the tone to arrive")
        # local preview goes to our own tile
        wait_for(lambda: len(a.got(a.id)) > 0, 5, "local preview")

        # mute: the far end hears silence
        engine.call_soon(a.session.set_muted, True)
        wait_for(lambda: b.session.links[a.id].audio_level < 0.01, 10, "silence after mute")
        # camera off: the far end sees the dark 'camera off' frame
        engine.call_soon(a.session.set_camera_off, True)
        wait_for(lambda: b.got(a.id)[-1][1][0] < 50 and b.got(a.id)[-1][1][1] < 50, 10, "camera-off frame")

        # the per-link cap is on the encoder
        wait_for(lambda: any(isinstance(getattr(s, "_RTCRtpSender__encoder", None), CappedVp8Encoder)
                             for s in a.session.links[b.id].pc.getSenders()), 10, "bitrate cap")
    finally:
        a.leave()
        b.leave()
    assert "peer_left" in b.kinds() or b.session.state == "left"


def test_four_consoles_full_mesh(engine, relay):
    names = ["CENTRE", "STREET", "VEHICLE", "TEAM"]
    consoles = [Console(engine, [relay.url()], n, room="four").join() for n in names]
    try:
        for rx in consoles:
            for tx in consoles:
                if rx is not tx:
                    _assert_receives(rx, tx, n=5)
        assert all(len(c.session.links) == 3 for c in consoles)
    finally:
        for c in consoles:
            c.leave()


def test_degraded_link_falls_back_to_audio_only(engine, relay):
    a = Console(engine, [relay.url()], "CENTRE", room="deg").join()
    b = Console(engine, [relay.url()], "FIELD", room="deg").join()
    try:
        _assert_receives(b, a, n=5)
        # two bad RTCP reports in a row (30% loss) drop the link to audio only
        engine.run(_judge(a.session, b.id, 0.3, 0.1))
        engine.run(_judge(a.session, b.id, 0.3, 0.1))
        assert a.session.links[b.id].audio_only
        assert "audio_only" in a.kinds()
        before = len(b.got(a.id))
        wait_for(lambda: b.session.links[a.id].audio_level > 0.05, 10, "audio continues")
        # no video arrives any more (allow the frames in flight)
        count_after_a_while = _count_after_audio_frames(b, a, before)
        assert count_after_a_while - before <= 3
        # five good reports bring the video back
        for _ in range(5):
            engine.run(_judge(a.session, b.id, 0.0, 0.01))
        assert not a.session.links[b.id].audio_only
        wait_for(lambda: len(b.got(a.id)) > count_after_a_while + 3, 10, "video back")
    finally:
        a.leave()
        b.leave()


async def _judge(session, peer, lost, rtt):
    session.judge_link(peer, lost, rtt)


def _count_after_audio_frames(rx, tx, before):
    """Let half a second of audio arrive (25 frames of 20 ms), then count the video frames."""
    link = rx.session.links[tx.id]
    start = link.audio_frames
    wait_for(lambda: link.audio_frames >= start + 25, 10, "half a second of audio")
    return len(rx.got(tx.id))


def test_server_down_falls_back_to_lan_relay_and_says_unavailable_when_none(engine, relay):
    dead = "ws://127.0.0.1:9/signalling"
    a = Console(engine, [dead, relay.url()], "CENTRE", room="fb").join()
    try:
        assert a.session.state == "joined" and a.session.signalling.url == relay.url()
    finally:
        a.leave()
    lonely = Console(engine, [dead], "ALONE", room="fb2").join()
    assert lonely.session.state == "unavailable"
    assert lonely.kinds() == ["unavailable"]
    assert "no signalling relay answered" in lonely.events[0][2]["error"]


def test_room_holds_at_most_six(engine, relay):
    consoles = []
    try:
        for i in range(6):
            c = Console(engine, [relay.url()], f"P{i}", room="six")
            consoles.append(c)
            engine.run(c.session.signalling.connect())
        seventh = Console(engine, [relay.url()], "P7", room="six").join()
        assert seventh.session.state == "unavailable" and "room full" in seventh.events[0][2]["error"]
    finally:
        for c in consoles:
            engine.run(c.session.signalling.close())


def test_no_camera_or_microphone_falls_back_to_pattern_and_tone(engine, relay):
    s = MeshSession(room="dev", name="DESK", signalling_urls=[relay.url()], width=W, height=H,
                    camera="/dev/video-missing", microphone="no-such-mic")
    assert s.sources == {"video": "pattern", "audio": "tone"}
    assert s.video is s.pattern and s.audio is s.tone


def test_a_field_feed_is_shared_into_the_call(engine, relay, tmp_path):
    from app.video.feeds import FeedReader, write_pattern_ts

    a = Console(engine, [relay.url()], "VEHICLE", room="feed").join()
    b = Console(engine, [relay.url()], "CENTRE", room="feed").join()
    clip = tmp_path / "uav.ts"
    write_pattern_ts(str(clip), "UAV", seconds=2, fps=25, width=320, height=240)
    reader = FeedReader("uav", "UAV", str(clip), on_frame=lambda fid, rgb: a.session.feed_track.push(rgb))
    try:
        _assert_receives(b, a, n=3)
        reader.start()
        engine.run(a.session.share_feed("无人机 1 号"))
        feed_source = f"{a.id}/feed"
        wait_for(lambda: len(b.got(feed_source)) >= 10, 20, "the shared feed's frames")
        frames = b.got(feed_source)
        assert _close(frames[-1][1], colour_for("UAV"))  # the drone's picture, not the console's pattern
        assert ("peer_feed", a.id, {"name": "无人机 1 号"}) in b.events
        engine.run(a.session.share_feed(None))
        wait_for(lambda: ("peer_feed", a.id, {"name": None}) in b.events, 10, "feed withdrawn")
    finally:
        reader.stop()
        a.leave()
        b.leave()


def test_a_peer_id_in_use_is_refused_not_taken_over(engine, relay):
    # Whoever learnt a console's peer id must not replace its socket and receive the offers meant for it.
    first = Console(engine, [relay.url()], "A", room="hijack")
    engine.run(first.session.signalling.connect())
    try:
        thief = Console(engine, [relay.url()], "X", room="hijack", peer_id=first.session.peer_id).join()
        assert thief.session.state == "unavailable"
        assert first.session.signalling.ws is not None  # the first console keeps its place
        assert "in the room" in thief.events[0][2]["error"]
    finally:
        engine.run(first.session.signalling.close())
