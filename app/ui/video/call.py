"""The call controller: one consultation's media (mesh, feeds, recording) seen from the GUI.

It owns the MediaEngine (started on the first call, a thread of its own), the MeshSession,
any FeedReaders and the Recorder; everything they report arrives through the FrameBridge
on the GUI thread. Attendance and feed outages are written through app.services.consultations.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.domain import clock
from app.services import consultations as cs
from app.ui.i18n import N_
from app.ui.video.audio_out import AudioOutput
from app.ui.video.bridge import FrameBridge, label_mask
from app.video.audio import AudioMixer
from app.video.devices import default_camera
from app.video.engine import MediaEngine
from app.video.feeds import FeedReader
from app.video.mesh import MeshSession
from app.video.recorder import Recorder, compose_grid
from app.video.signalling import LanRelay, room_key

log = logging.getLogger(__name__)
FEED_REASONS = {"refused": N_("连接被拒绝"), "timeout": N_("无响应"), "ended": N_("流已结束"),
                "no_frames": N_("没有画面")}
STALL_S = 4.0
LAN_RELAY_PORT = 47130  # no frame from a connected peer for this long: the tile says the picture stopped


def signalling_urls(server_url: str | None, lan_relays: list[str]) -> list[str]:
    """The central server's relay first, then the LAN relays (other consoles) in the order given."""
    urls = []
    if server_url:
        base = server_url.rstrip("/")
        base = "ws://" + base[len("http://"):] if base.startswith("http://") else base
        base = "wss://" + base[len("https://"):] if base.startswith("https://") else base
        urls.append(base + "/api/v1/signalling")
    for r in lan_relays:
        r = r.strip()
        if r:
            urls.append(r if r.startswith("ws") else f"ws://{r}/signalling")
    return urls


class CallController(QObject):
    tile_added = Signal(str, str, str)  # source id, name, kind (self / peer / feed)
    tile_removed = Signal(str)
    tile_state = Signal(str, str, object)  # source id, state, detail (text, or {"why", "s"} for a feed retry)
    call_state = Signal(str, str)  # state (idle/connecting/joined/unavailable/left), detail
    levels = Signal(object)  # {source id: audio level}, twice a second
    audio_state = Signal(str)  # playing / no_device / stopped (the speaker)
    join_refused = Signal(str, str, str)  # room, name, address: our LAN relay refused a join without the key

    def __init__(self, ctx, settings=None, parent: QObject | None = None, *, width: int = 640, height: int = 480,
                 fps: float = 30):
        super().__init__(parent)
        self.ctx, self.settings = ctx, settings
        self.size, self.fps = (width, height), fps
        self.bridge = FrameBridge(self)
        self.bridge.event.connect(self._on_event)
        self.engine: MediaEngine | None = None
        self.relay: LanRelay | None = None
        self.session: MeshSession | None = None
        self.consultation_id: str | None = None
        self.incident_id: str | None = None
        self.feeds: dict[str, FeedReader] = {}
        self.feed_names: dict[str, str] = {}
        self.shared_feed: str | None = None  # the feed this console forwards into the call
        self.remote_feeds: set[str] = set()  # "<peer>/feed" tiles shown here
        self.peer_names: dict[str, str] = {}
        self.recorder: Recorder | None = None
        self.recording_path: Path | None = None
        self.started_epoch: float | None = None
        self.state = "idle"
        self.self_id: str | None = None
        self.muted = False
        self.camera_off = False
        self._poll = QTimer(self, interval=500, timeout=self._poll_links)
        # received audio: mixed on the media thread, played from here (app/ui/video/audio_out.py)
        self.mixer = AudioMixer(channels=2)
        self.mixer.set_volume(float(self._setting("video_volume", 100)) / 100)
        self.audio = AudioOutput(self.mixer, self)
        self.audio.state_changed.connect(self.audio_state)
        self._leaving = None  # the future of the last session.leave()
        self.refused_joins = 0

    # ---- setup -------------------------------------------------------------------------------
    def _setting(self, key: str, default):
        if self.settings is None:
            return default
        value = self.settings.get(key)
        return default if value is None else value

    def ensure_engine(self) -> MediaEngine:
        if self.engine is None:
            self.engine = MediaEngine("media")
        return self.engine

    def _token(self) -> str | None:
        transport = getattr(self.ctx.sync, "transport", None)
        return getattr(transport, "access_token", None)

    def recordings_dir(self) -> Path:
        base = Path(self.settings.path).parent if self.settings is not None else Path.home() / ".command-desk"
        return base / "recordings"

    # ---- the call ----------------------------------------------------------------------------
    def join(self, consultation_id: str, *, incident_id: str | None = None, started_at: str | None = None,
             extra_urls: list[str] | None = None, serve_relay: bool | None = None) -> None:
        if self.session is not None:
            self.leave()
        engine = self.ensure_engine()
        self.consultation_id, self.incident_id = consultation_id, incident_id
        self.started_epoch = None
        if started_at:
            from app.domain.validate import parse_time

            self.started_epoch = parse_time(started_at).timestamp()
        urls = signalling_urls(self.ctx.server_url, list(self._setting("video_lan_relays", [])))
        urls += extra_urls or []
        serve = self._setting("video_serve_relay", True) if serve_relay is None else serve_relay
        if serve and self.relay is None:
            # This console serves the relay too, so colleagues can fall back to it when the server is down.
            # A known port, so colleagues can list this console as their fallback ("host:47130").
            host = str(self._setting("video_relay_host", "0.0.0.0"))
            for port in (int(self._setting("video_relay_port", LAN_RELAY_PORT)), 0):
                # only consoles that hold a consultation's room key (synced with it) get into its room
                self.relay = LanRelay(host, port, room_keys=self._room_key, on_refused=self._refused)
                try:
                    engine.run(self.relay.start(), timeout=5)
                    break
                except Exception as e:  # the port is taken (another console on this machine): any port
                    log.warning("could not serve the LAN signalling relay on %s:%s: %s", host, port, e)
                    self.relay = None
        if self.relay is not None:
            urls.append(self.relay.url())
        name = self.ctx.user.name if self.ctx.user else "console"
        self.session = MeshSession(
            room=consultation_id, name=name, signalling_urls=urls, peer_id=uuid.uuid4().hex[:12],
            width=self.size[0], height=self.size[1], fps=self.fps,
            label_mask=label_mask(name, max(16, self.size[1] // 12)),
            bitrate_cap=int(self._setting("video_bitrate_cap", 600_000)),
            on_frame=self.bridge.push, on_event=self.bridge.post_event, token=self._token(),
            frame_wanted=self.bridge.wants, camera=self._setting("video_camera", default_camera()),
            microphone=self._setting("video_microphone", None), on_audio=self._audio_in,
            room_key=self._room_key(consultation_id), frame_size=self.bridge.fit, frame_format="bgra")
        self.audio.start()
        self.state = "connecting"
        self.call_state.emit("connecting", "")
        self.self_id = self.session.peer_id
        self.tile_added.emit(self.self_id, name, "self")
        self._write(cs.record_attendance, self.ctx, consultation_id, name, "joined", kind="console",
                    ref_id=self.ctx.device_id)
        engine.submit(self.session.join())
        self._poll.start()

    def _room_key(self, room: str) -> bytes | None:
        """Any thread (the relay asks from an executor): the room key of a consultation this console has."""
        try:
            secret = self.ctx.read(cs.room_secret, room)
        except Exception:
            log.exception("could not read the room secret of %s", room)
            return None
        return room_key(secret, room) if secret else None

    def _refused(self, room: str, peer: str, name: str, address: str) -> None:
        """Media thread: our LAN relay turned away a join without the room key."""
        self.bridge.post_event("join_refused", peer, {"room": room, "name": name, "address": address})

    def _audio_in(self, peer: str, frame) -> None:
        """Media thread: a peer's decoded audio, into the mix (skipped when nothing can play it)."""
        if self.audio.active:
            self.mixer.push(peer, frame)

    def set_peer_audio_muted(self, peer: str, muted: bool) -> None:
        """Stop (or resume) playing one participant's voice on this console only."""
        self.mixer.set_muted(peer, muted)

    def set_volume(self, percent: int) -> None:
        """Master volume of the received audio, 0–150 %."""
        self.mixer.set_volume(percent / 100)
        if self.settings is not None:
            self.settings.set("video_volume", int(percent))

    def leave(self) -> None:
        self._poll.stop()
        self.audio.stop()
        self.stop_recording()
        if self.session is not None and self.engine is not None:
            if self.consultation_id:
                self._write(cs.record_attendance, self.ctx, self.consultation_id, self.session.name, "left",
                            kind="console", ref_id=self.ctx.device_id)
            session, self.session = self.session, None
            self._leaving = self.engine.submit(session.leave())
            for peer in list(self.peer_names):
                self._peer_gone(peer, write=False)
            self.tile_removed.emit(session.peer_id)
            self.bridge.forget(session.peer_id)
        self.state = "idle"
        self.call_state.emit("left", "")

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if self.session is not None and self.engine is not None:
            self.engine.call_soon(self.session.set_muted, muted)

    def set_camera_off(self, off: bool) -> None:
        self.camera_off = off
        if self.session is not None and self.engine is not None:
            self.engine.call_soon(self.session.set_camera_off, off)

    def call_time(self) -> float | None:
        if self.recorder is not None and self.recorder.start_epoch is not None and self.started_epoch is None:
            return self.recorder.elapsed()
        if self.started_epoch is None:
            return None
        return max(0.0, time.time() - self.started_epoch)

    # ---- feeds -------------------------------------------------------------------------------
    def add_feed(self, name: str, url: str, position: tuple[float, float] | None = None) -> str:
        feed_id = "feed-" + uuid.uuid4().hex[:8]
        self.feed_names[feed_id] = name
        self.tile_added.emit(feed_id, name, "feed")
        reader = FeedReader(feed_id, name, url, position=position, on_frame=self._feed_frame,
                            frame_size=self._feed_size, frame_format="bgra", frame_wanted=self._feed_wanted,
                            on_state=lambda fid, state, detail: self.bridge.post_event("feed_state", fid,
                                                                                    {"state": state, **detail}))
        self.feeds[feed_id] = reader.start()
        if self.consultation_id:
            self._write(cs.record_attendance, self.ctx, self.consultation_id, name, "joined", kind="feed",
                        ref_id=feed_id)
        return feed_id

    def _feed_size(self, feed_id: str, width: int, height: int) -> tuple[int, int] | None:
        """Feed thread: decode straight to the tile's size, unless the feed goes into the call too."""
        return None if self.shared_feed == feed_id else self.bridge.fit(feed_id, width, height)

    def _feed_wanted(self, feed_id: str) -> bool:
        """Feed thread: convert this frame? (always while it goes into the call; else when the tile takes it)"""
        return self.shared_feed == feed_id or self.bridge.wants(feed_id)

    def _feed_frame(self, feed_id: str, rgb) -> None:
        """Feed thread: to this console's tile, and into the call when this feed is shared."""
        self.bridge.push(feed_id, rgb)
        session = self.session
        if session is not None and self.shared_feed == feed_id:
            session.feed_track.push(rgb)

    def share_feed(self, feed_id: str | None) -> None:
        """Forward a feed to everyone in the call as its own tile (None: stop). One feed at a time."""
        if feed_id is not None and feed_id not in self.feeds:
            return
        self.shared_feed = feed_id
        if self.session is not None and self.engine is not None:
            self.engine.submit(self.session.share_feed(self.feed_names.get(feed_id) if feed_id else None))

    def remove_feed(self, feed_id: str) -> None:
        if self.shared_feed == feed_id:
            self.share_feed(None)
        reader = self.feeds.pop(feed_id, None)
        if reader is not None:
            reader.stop(timeout=0.5)
        self.bridge.forget(feed_id)
        self.tile_removed.emit(feed_id)

    # ---- recording ---------------------------------------------------------------------------
    def start_recording(self, path: Path | None = None) -> Path:
        self.stop_recording()
        cid = self.consultation_id or "feeds"
        path = path or self.recordings_dir() / f"{cid}-{clock.now():%Y%m%d-%H%M%S}.mkv"
        self.recorder = Recorder(path, fps=10, size=(640, 480), title=cid, started_at_iso=clock.now_iso(),
                                 source=self._grid_picture).start()
        self.recording_path = path
        return path

    def _grid_picture(self):
        """Recorder thread: every tile's newest frame in one picture."""
        session = self.session
        sources = [session.peer_id] if session else []
        sources += list(self.peer_names) + list(self.feeds)
        return compose_grid(self.bridge.latest_rgb(sources))

    def stop_recording(self) -> Path | None:
        if self.recorder is None:
            return None
        rec, self.recorder = self.recorder, None
        rec.stop()
        return rec.path

    # ---- events from the media layer (GUI thread) -----------------------------------------------
    def _on_event(self, kind: str, peer: str, detail: dict) -> None:
        if kind == "feed_state":
            self._feed_state(peer, detail)
            return
        if kind == "join_refused":
            self.refused_joins += 1
            self.join_refused.emit(detail.get("room", ""), detail.get("name", ""), detail.get("address", ""))
            return
        session = self.session
        if session is None:
            return
        if kind == "joined":
            self.state = "joined"
            self.call_state.emit("joined", detail.get("url") or "")
            self.tile_state.emit(session.peer_id, "live", "")
        elif kind == "unavailable":
            self.state = "unavailable"
            self.call_state.emit("unavailable", detail.get("error", ""))
        elif kind == "not_invited":
            self.state = "not_invited"
            self.call_state.emit("not_invited", detail.get("error", ""))
        elif kind == "peer_joined":
            name = detail.get("name", peer)
            if peer not in self.peer_names:
                self.peer_names[peer] = name
                self.tile_added.emit(peer, name, "peer")
                # Each console records only its own joining and leaving: six consoles each writing
                # everyone's would be thirty patches of one field and a flood of conflicts.
        elif kind == "peer_left":
            self._peer_gone(peer)
        elif kind == "peer_feed":
            source = f"{peer}/feed"
            if detail.get("name"):
                if source not in self.remote_feeds:
                    self.remote_feeds.add(source)
                    owner = self.peer_names.get(peer, peer)
                    self.tile_added.emit(source, f"{owner} · {detail['name']}", "feed")
            elif source in self.remote_feeds:
                self.remote_feeds.discard(source)
                self.bridge.forget(source)
                self.tile_removed.emit(source)
        elif kind == "link_state":
            self.tile_state.emit(peer, detail["state"], "")
        elif kind == "audio_only":
            self.tile_state.emit(peer, "audio_only", detail.get("reason", ""))
        elif kind == "video_back":
            self.tile_state.emit(peer, "live", "")
        elif kind == "signalling_lost":
            self.call_state.emit("signalling_lost", "")

    def _peer_gone(self, peer: str, write: bool = True) -> None:
        feed = f"{peer}/feed"
        if feed in self.remote_feeds:
            self.remote_feeds.discard(feed)
            self.bridge.forget(feed)
            self.tile_removed.emit(feed)
        name = self.peer_names.pop(peer, None)
        if name is None:
            return
        self.bridge.forget(peer)
        self.mixer.forget(peer)
        self.tile_removed.emit(peer)
        # (Only our own leaving is recorded, by leave(); see peer_joined.)

    def _feed_state(self, feed_id: str, detail: dict) -> None:
        state = detail.get("state", "")
        if feed_id not in self.feeds:
            return
        text: object = ""
        if state == "retrying":
            # formatted when painted, so the tile follows a language switch
            text = {"why": FEED_REASONS.get(detail.get("code", ""), detail.get("reason", "")),
                    "s": f"{detail.get('retry_in', 0):g}"}
        self.tile_state.emit(feed_id, state, text)
        reader = self.feeds[feed_id]
        # one log line when a feed goes down (first failure, or after it was live) and when it comes back
        was = getattr(reader, "_logged_state", None)
        if state == "retrying" and was != "down":
            reader._logged_state = "down"
            self._write(cs.log_feed_state, self.ctx, feed_name=self.feed_names[feed_id], url=reader.url,
                        state="retrying", reason=detail.get("reason", ""), consultation_id=self.consultation_id,
                        incident_id=self.incident_id, call_time_s=self.call_time())
        elif state == "live" and was == "down":
            reader._logged_state = "up"
            self._write(cs.log_feed_state, self.ctx, feed_name=self.feed_names[feed_id], url=reader.url,
                        state="live", consultation_id=self.consultation_id, incident_id=self.incident_id,
                        call_time_s=self.call_time())

    def _write(self, fn, *args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # a failed attendance line must not end the call
            log.exception("could not record %s", getattr(fn, "__name__", fn))

    def _poll_links(self) -> None:
        session = self.session
        if session is None:
            return
        now = time.time()
        levels = {}
        for peer, link in list(session.links.items()):
            levels[peer] = link.audio_level
            if link.state == "connected" and not link.audio_only and link.last_frame_at \
                    and now - link.last_frame_at > STALL_S:
                self.tile_state.emit(peer, "stalled", "")
        self.levels.emit(levels)

    def close(self) -> None:
        self.leave()
        for fid in list(self.feeds):
            self.remove_feed(fid)
        if self.engine is not None:
            if self._leaving is not None:
                try:  # let the peer connections close (and aiortc's decoder threads end) before the loop does
                    self._leaving.result(3)
                except Exception:
                    log.warning("leaving the call took too long")
            if self.relay is not None:
                try:
                    self.engine.run(self.relay.stop(), timeout=3)
                except Exception:
                    log.exception("relay did not stop")
                self.relay = None
            self.engine.close()
            self.engine = None
