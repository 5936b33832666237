"""Field feeds: an MPEG-TS file and a UDP stream made by the test decode; a dead URL shows the retry state."""

from __future__ import annotations

import socket
import threading

from video_helpers import wait_for

from app.video.feeds import FeedReader, feed_kind, feed_positions, on_positions_changed, write_pattern_ts
from app.video.pattern import read_counter


class Sink:
    def __init__(self):
        self.counters: list[int] = []
        self.states: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def frame(self, fid, rgb):
        with self.lock:
            self.counters.append(read_counter(rgb))

    def state(self, fid, state, detail):
        with self.lock:
            self.states.append((state, detail))

    def state_names(self):
        with self.lock:
            return [s for s, _ in self.states]


def test_feed_kinds():
    assert feed_kind("udp://239.0.0.1:1234") == "udp"
    assert feed_kind("rtsp://10.0.0.5/live") == "rtsp"
    assert feed_kind("rtmp://10.0.0.5/live/drone") == "rtmp"
    assert feed_kind("http://10.0.0.5/live/drone.flv") == "http-flv"
    assert feed_kind("http://10.0.0.5/hls/index.m3u8") == "hls"
    assert feed_kind("/data/drone.ts") == "file"


def test_mpegts_file_decodes_every_frame_in_order(tmp_path):
    path = tmp_path / "drone.ts"
    n = write_pattern_ts(str(path), "DRONE", seconds=1.0, fps=25)
    sink = Sink()
    reader = FeedReader("f1", "无人机 1 号", str(path), on_frame=sink.frame, on_state=sink.state,
                        realtime=False, loop_files=False).start()
    try:
        wait_for(lambda: len(sink.counters) >= n, 10, "all frames")
    finally:
        reader.stop()
    assert sink.counters[:n] == list(range(n))
    assert sink.state_names()[:2] == ["connecting", "live"]
    assert sink.states[1][1]["codec"] == "mpeg2video"


def test_a_position_the_stream_carries_reaches_the_registry(tmp_path):
    path = tmp_path / "drone.mkv"  # Matroska keeps a location tag (ISO 6709), as phones and drones write it
    write_pattern_ts(str(path), "DRONE", seconds=0.4, location="+23.1291+113.2644/")
    reader = FeedReader("f5", "无人机 3 号", str(path), realtime=False).start()
    try:
        wait_for(lambda: any(p.feed_id == "f5" for p in feed_positions()), 10, "carried position")
        assert reader.position == (113.2644, 23.1291)
    finally:
        reader.stop()


def test_udp_mpegts_stream_made_by_the_test_decodes_and_recovers_after_it_stops(tmp_path):
    path = tmp_path / "vehicle.ts"
    write_pattern_ts(str(path), "VEHICLE", seconds=2.0, fps=25)
    data = path.read_bytes()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()

    def serve(stop: threading.Event):
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not stop.is_set():
            for i in range(0, len(data), 1316):  # 7 TS packets per datagram, as encoders send them
                out.sendto(data[i:i + 1316], ("127.0.0.1", port))
                if i % (1316 * 20) == 0 and stop.wait(0.004):
                    break
        out.close()

    def start_sender():
        stop = threading.Event()
        t = threading.Thread(target=serve, args=(stop,), daemon=True)
        t.start()
        return stop, t

    stop, sender = start_sender()
    sink = Sink()
    reader = FeedReader("f2", "指挥车", f"udp://127.0.0.1:{port}", on_frame=sink.frame, on_state=sink.state,
                        open_timeout=1, stall_timeout=1, backoff=(0.2, 0.4)).start()
    try:
        wait_for(lambda: len(sink.counters) >= 20, 15, "UDP frames")
        with sink.lock:
            valid = [c for c in sink.counters if 0 <= c < 50]
        assert len(valid) >= 15  # the pattern's counter survives MPEG-2 and UDP
        assert len(set(valid)) >= 10

        # the vehicle's stream stops mid-call: the tile goes to "retrying", then back to live when it resumes
        stop.set()
        sender.join(5)
        wait_for(lambda: "retrying" in sink.state_names(), 10, "retry after the stream stopped")
        frames_before = reader.frames
        stop, sender = start_sender()
        wait_for(lambda: reader.frames > frames_before + 10, 15, "frames after the stream resumed")
        assert sink.state_names()[-1] == "live"
    finally:
        reader.stop()
        stop.set()
        sender.join(5)


def test_hls_served_over_http_decodes(tmp_path):
    import functools
    import http.server

    import av

    from app.video.pattern import PatternMaker

    folder = tmp_path / "hls"
    folder.mkdir()
    maker = PatternMaker("HLS", 320, 240)
    with av.open(str(folder / "index.m3u8"), "w", format="hls",
                 options={"hls_time": "1", "hls_list_size": "0", "hls_playlist_type": "vod"}) as out:
        stream = out.add_stream("mpeg2video", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(50):
            for packet in stream.encode(av.VideoFrame.from_ndarray(maker.frame(i), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sink = Sink()
    reader = FeedReader("f6", "无人机 HLS", f"http://127.0.0.1:{server.server_address[1]}/index.m3u8",
                        on_frame=sink.frame, on_state=sink.state).start()
    try:
        assert reader.kind == "hls"
        wait_for(lambda: len(sink.counters) >= 50, 15, "HLS frames")
    finally:
        reader.stop()
        server.shutdown()
    assert sink.counters[:50] == list(range(50))


def test_dead_feed_shows_retry_state_with_backoff():
    sink = Sink()
    reader = FeedReader("f3", "执法记录仪", "rtsp://127.0.0.1:9/live", on_state=sink.state, open_timeout=0.5,
                        backoff=(0.1, 0.2, 0.4)).start()
    try:
        wait_for(lambda: sink.state_names().count("retrying") >= 3, 10, "three retries")
    finally:
        reader.stop()
    retries = [d for s, d in sink.states if s == "retrying"]
    assert [d["retry_in"] for d in retries[:3]] == [0.1, 0.2, 0.4]
    assert "refused" in retries[0]["reason"].lower()
    assert sink.state_names()[-1] == "stopped"
    assert reader.frames == 0


def test_feed_position_registry_for_the_map(tmp_path):
    path = tmp_path / "d.ts"
    write_pattern_ts(str(path), "D", seconds=0.4)
    told = threading.Event()
    unsubscribe = on_positions_changed(told.set)
    reader = FeedReader("f4", "无人机 2 号", str(path), position=(113.30, 23.12), realtime=False)
    try:
        assert told.is_set()
        assert [(p.feed_id, p.lon, p.lat, p.state) for p in feed_positions()] == [("f4", 113.30, 23.12, "connecting")]
        reader.start()
        wait_for(lambda: any(p.state == "live" for p in feed_positions()), 10, "live position")
    finally:
        reader.stop()
        unsubscribe()
    assert [p for p in feed_positions() if p.feed_id == "f4"] == []
