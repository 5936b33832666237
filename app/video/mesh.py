"""A console's place in a consultation: a full mesh of aiortc peer connections (VP8/Opus).

Each participant keeps one RTCPeerConnection per other participant (up to 6 in a room,
no STUN/TURN: ``iceServers`` is empty, host candidates on the LAN only). The newcomer
offers to everyone already in the room; the others only answer, so offers never cross.

Everything here runs on the MediaEngine's loop. What the UI needs comes out through two
callbacks, both called on the media thread (the UI turns them into queued Qt signals):

- ``on_frame(peer_id, rgb)``: a decoded frame (H×W×3 uint8) from that peer (or from
  ourselves, for the local preview, at a lower rate);
- ``on_audio(peer_id, frame)``: a decoded audio frame (av.AudioFrame) from that peer, for
  the playback mix (app.video.audio.AudioMixer.push);
- ``on_event(kind, peer_id, detail)``: session/link state changes
  (``joined``, ``unavailable``, ``not_invited``, ``peer_joined``, ``peer_left``, ``link_state``,
  ``audio_only``, ``video_back``, ``left``).

Per link: a bandwidth cap on the VP8 encoder, and a quality watch on the RTCP reports
(loss, round trip) that drops the link to audio only when it degrades.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable

import av
import numpy as np
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.codecs import vpx
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from app.video.devices import open_camera, open_microphone
from app.video.signalling import NotInvited, SignallingClient
from app.video.tracks import Converter, FeedTrack, GatedTrack, MutableAudio, PatternTrack, SwitchTrack, ToneTrack

log = logging.getLogger(__name__)

FrameCallback = Callable[[str, np.ndarray], None]
EventCallback = Callable[[str, str, dict], None]
AudioCallback = Callable[[str, av.AudioFrame], None]
FrameSize = Callable[[str, int, int], "tuple[int, int] | None"]

DEGRADED_LOSS = 0.15  # fraction of packets lost (RTCP receiver report) above which a link is bad
DEGRADED_RTT = 0.8  # seconds
DEGRADE_AFTER = 2  # consecutive bad reports before dropping to audio only
RECOVER_AFTER = 5  # consecutive good reports before trying video again


class CappedVp8Encoder(vpx.Vp8Encoder):
    """aiortc's VP8 encoder with a ceiling on its target bitrate (the REMB estimate can only lower it)."""

    cap: int = vpx.MAX_BITRATE

    @property
    def target_bitrate(self) -> int:
        return self._Vp8Encoder__target_bitrate

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        floor = min(vpx.MIN_BITRATE, self.cap)
        self._Vp8Encoder__target_bitrate = max(floor, min(bitrate, vpx.MAX_BITRATE, self.cap))


def link_is_degraded(fraction_lost: float | None, rtt: float | None) -> bool:
    """The audio-only rule for one RTCP report."""
    return (fraction_lost or 0) > DEGRADED_LOSS or (rtt or 0) > DEGRADED_RTT


@dataclasses.dataclass
class Link:
    peer_id: str
    name: str
    pc: RTCPeerConnection
    video_out: GatedTrack
    feed_out: GatedTrack
    state: str = "connecting"
    video_tracks: int = 0
    audio_only: bool = False
    frames_in: int = 0
    last_frame_at: float = 0.0
    audio_level: float = 0.0
    audio_frames: int = 0
    bad_reports: int = 0
    good_reports: int = 0
    tasks: list = dataclasses.field(default_factory=list)


def _prefer_vp8(pc: RTCPeerConnection) -> None:
    caps = RTCRtpSender.getCapabilities("video").codecs
    prefs = [c for c in caps if c.mimeType in ("video/VP8", "video/rtx")]
    for t in pc.getTransceivers():
        if t.kind == "video":
            t.setCodecPreferences(prefs)


class MeshSession:
    def __init__(self, *, room: str, name: str, signalling_urls: list[str], peer_id: str | None = None,
                 width: int = 640, height: int = 480, fps: float = 30, bitrate_cap: int | None = 600_000,
                 label_mask: np.ndarray | None = None, receive_size: tuple[int, int] | None = None,
                 preview_fps: float = 10, on_frame: FrameCallback | None = None,
                 on_event: EventCallback | None = None, on_capture: Callable[[int, float], None] | None = None,
                 watch_interval: float = 1.0, token: str | None = None,
                 frame_wanted: Callable[[str], bool] | None = None, camera: str | None = None,
                 microphone: str | None = None, on_audio: AudioCallback | None = None, tone_hz: float = 440.0,
                 room_key: bytes | None = None, frame_size: FrameSize | None = None, frame_format: str = "rgb24"):
        """``camera`` / ``microphone``: OS devices to try first; the pattern and the tone (``tone_hz``) stand in.
        ``room_key``: the consultation's key (app.video.signalling.room_key), the proof a LAN relay asks for.
        ``frame_size(source, w, h)``: the size to hand that source's frames over at (its tile's), or None for
        ``receive_size`` / as decoded. ``frame_format``: "rgb24" (H×W×3) or "bgra" (H×W×4, what the UI
        paints without converting)."""
        self.room, self.name = room, name
        self.peer_id = peer_id or uuid.uuid4().hex[:12]
        self.signalling = SignallingClient(signalling_urls, room, self.peer_id, name, token=token, room_key=room_key)
        self.bitrate_cap = bitrate_cap
        self.receive_size = receive_size
        self.frame_size = frame_size
        self.frame_format = frame_format
        self.preview_fps = preview_fps
        self.on_frame = on_frame or (lambda peer, rgb: None)
        # False while the GUI still holds an undrawn frame of that source: skip the RGB conversion
        self.frame_wanted = frame_wanted or (lambda peer: True)
        self.on_event = on_event or (lambda kind, peer, detail: None)
        self.watch_interval = watch_interval
        self.pattern = PatternTrack(name, width, height, fps, label_mask=label_mask, on_capture=on_capture)
        self.on_audio = on_audio
        self.tone = ToneTrack(tone_hz)
        self.camera_track = open_camera(camera, width, height, int(fps)) if camera else None
        self.mic_track = open_microphone(microphone) if microphone else None
        self.video = self.camera_track or self.pattern
        self.audio = self.mic_track or self.tone
        self.sources = {"video": "camera" if self.camera_track else "pattern",
                        "audio": "microphone" if self.mic_track else "tone"}
        if self.camera_track is not None:
            self._camera_switch = SwitchTrack(self.camera_track, self.pattern)
            self.video = self._camera_switch
        if self.mic_track is not None:
            self._gate_audio = MutableAudio(self.mic_track)
            self.audio = self._gate_audio
        self.feed_track = FeedTrack()  # a field feed this console shares into the call (second video track)
        self.feed_name: str | None = None
        self._relay = MediaRelay()
        self.links: dict[str, Link] = {}
        self.state = "idle"
        self._tasks: list[asyncio.Task] = []
        self.joined_at: float | None = None

    # -- controls (call through the engine: engine.call_soon / engine.submit) --------------------------

    def set_muted(self, muted: bool) -> None:
        self.tone.muted = muted
        if self.mic_track is not None:
            self._gate_audio.muted = muted

    def set_camera_off(self, off: bool) -> None:
        # with a real camera, "off" sends the dark labelled pattern instead of the picture
        self.pattern.camera_off = off
        if self.camera_track is not None:
            self._camera_switch.use_pattern = off

    def set_audio_only(self, peer_id: str, audio_only: bool, reason: str = "manual") -> None:
        link = self.links.get(peer_id)
        if link is None or link.audio_only == audio_only:
            return
        link.audio_only = audio_only
        link.video_out.set_open(not audio_only)
        link.feed_out.set_open(not audio_only and self.feed_name is not None)
        self.on_event("audio_only" if audio_only else "video_back", peer_id, {"reason": reason})

    # -- lifetime --------------------------------------------------------------------------------------

    async def share_feed(self, name: str | None) -> None:
        """Forward a field feed to everyone in the call (frames via ``feed_track.push``); None stops it."""
        self.feed_name = name
        for link in list(self.links.values()):
            link.feed_out.set_open(name is not None and not link.audio_only)
            await self._announce_feed(link.peer_id)

    async def _announce_feed(self, peer_id: str) -> None:
        try:
            await self.signalling.send(peer_id, {"type": "feed", "name": self.feed_name})
        except Exception:
            log.warning("could not tell %s about the shared feed", peer_id)

    async def join(self) -> None:
        self.feed_track.bind(asyncio.get_running_loop())
        self.state = "connecting"
        try:
            peers = await self.signalling.connect()
        except NotInvited as e:  # a LAN relay refused our room key: say so, not "video unavailable"
            self.state = "unavailable"
            self.on_event("not_invited", self.peer_id, {"error": str(e)})
            return
        except (ConnectionError, OSError) as e:
            self.state = "unavailable"
            self.on_event("unavailable", self.peer_id, {"error": str(e)})
            return
        self.state = "joined"
        self.joined_at = time.time()
        self.on_event("joined", self.peer_id, {"url": self.signalling.url, "peers": peers})
        self._tasks.append(asyncio.ensure_future(self._listen()))
        self._tasks.append(asyncio.ensure_future(self._preview()))
        self._tasks.append(asyncio.ensure_future(self._watch()))
        for p in peers:
            self.on_event("peer_joined", p["id"], {"name": p.get("name", p["id"])})
            await self._offer(p["id"], p.get("name", p["id"]))

    async def leave(self) -> None:
        for t in self._tasks:
            t.cancel()
        for peer_id in list(self.links):
            await self._drop(peer_id)
        await self.signalling.close()
        self.video.stop()
        self.audio.stop()
        self.feed_track.stop()
        self.state = "left"
        self.on_event("left", self.peer_id, {})

    # -- signalling ------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        async for msg in self.signalling.messages():
            kind, sender = msg.get("type"), msg.get("from") or msg.get("id", "")
            try:
                if kind == "joined":
                    self.on_event("peer_joined", sender, {"name": msg.get("name", sender)})
                elif kind == "left":
                    await self._drop(sender)
                    self.on_event("peer_left", sender, {})
                elif kind == "offer":
                    await self._answer(sender, msg.get("name", sender), msg["sdp"])
                elif kind == "feed":
                    self.on_event("peer_feed", sender, {"name": msg.get("name")})
                elif kind == "answer":
                    link = self.links.get(sender)
                    if link is not None:
                        await link.pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
            except Exception:
                log.exception("signalling message %s from %s failed", kind, sender)
                self._set_state(sender, "failed")
        if self.state == "joined":  # the relay went away: links stay up, but no one new can join
            self.on_event("signalling_lost", self.peer_id, {})

    def _new_link(self, peer_id: str, name: str) -> Link:
        # max-bundle: every track on one ICE/DTLS transport (with the default "balanced" policy aiortc
        # left the second video track on a transport of its own that never connected: no feed frames)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        video_out = GatedTrack(self._relay.subscribe(self.video, buffered=False))
        feed_out = GatedTrack(self._relay.subscribe(self.feed_track, buffered=False))
        feed_out.set_open(self.feed_name is not None)
        pc.addTrack(self._relay.subscribe(self.audio, buffered=False))
        pc.addTrack(video_out)
        pc.addTrack(feed_out)  # always negotiated, silent until a feed is shared: no renegotiation needed
        link = Link(peer_id, name, pc, video_out, feed_out)
        self.links[peer_id] = link

        @pc.on("track")
        def on_track(track) -> None:
            if track.kind == "video":
                link.video_tracks += 1
                source = peer_id if link.video_tracks == 1 else f"{peer_id}/feed"
                link.tasks.append(asyncio.ensure_future(self._consume_video(link, track, source)))
            else:
                link.tasks.append(asyncio.ensure_future(self._consume_audio(link, track)))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            self._set_state(peer_id, pc.connectionState)

        return link

    def _set_state(self, peer_id: str, state: str) -> None:
        link = self.links.get(peer_id)
        if link is not None and link.state != state:
            link.state = state
            self.on_event("link_state", peer_id, {"state": state, "name": link.name})

    async def _offer(self, peer_id: str, name: str) -> None:
        link = self._new_link(peer_id, name)
        _prefer_vp8(link.pc)
        await link.pc.setLocalDescription(await link.pc.createOffer())
        await self.signalling.send(peer_id, {"type": "offer", "sdp": link.pc.localDescription.sdp,
                                             "name": self.name})
        if self.feed_name is not None:
            await self._announce_feed(peer_id)

    async def _answer(self, peer_id: str, name: str, sdp: str) -> None:
        if peer_id in self.links:
            await self._drop(peer_id)
        link = self._new_link(peer_id, name)
        await link.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        _prefer_vp8(link.pc)
        await link.pc.setLocalDescription(await link.pc.createAnswer())
        await self.signalling.send(peer_id, {"type": "answer", "sdp": link.pc.localDescription.sdp})
        if self.feed_name is not None:
            await self._announce_feed(peer_id)

    async def _drop(self, peer_id: str) -> None:
        link = self.links.pop(peer_id, None)
        if link is None:
            return
        for t in link.tasks:
            t.cancel()
        link.video_out.stop()
        link.feed_out.stop()
        with contextlib.suppress(Exception):
            await link.pc.close()

    # -- media -----------------------------------------------------------------------------------------

    def _to_rgb(self, convert: Converter, source: str, frame: av.VideoFrame) -> np.ndarray:
        """A frame as RGB at the size it will be shown (one libswscale pass: scale and convert together)."""
        size = self.frame_size(source, frame.width, frame.height) if self.frame_size is not None else None
        size = size or self.receive_size or (None, None)
        return convert.ndarray(frame, self.frame_format, size[0], size[1])

    async def _consume_video(self, link: Link, track, source: str) -> None:
        camera = source == link.peer_id
        convert = Converter()
        try:
            while True:
                frame = await track.recv()
                if camera:
                    link.frames_in += 1
                    link.last_frame_at = time.time()
                if self.frame_wanted(source):  # convert only frames that will be shown
                    self.on_frame(source, self._to_rgb(convert, source, frame))
        except MediaStreamError:
            return
        except Exception:
            log.exception("video from %s failed", link.peer_id)

    async def _consume_audio(self, link: Link, track) -> None:
        try:
            while True:
                frame = await track.recv()
                samples = frame.to_ndarray().astype(np.float32)
                link.audio_frames += 1
                link.audio_level = float(np.sqrt(np.mean(samples * samples)) / 32768.0) if samples.size else 0.0
                if self.on_audio is not None:
                    try:
                        self.on_audio(link.peer_id, frame)
                    except Exception:  # playback trouble must not stop the level meter (or the call)
                        log.exception("audio playback of %s failed", link.peer_id)
        except MediaStreamError:
            return
        except Exception:
            log.exception("audio from %s failed", link.peer_id)

    async def _preview(self) -> None:
        track = self._relay.subscribe(self.video, buffered=False)
        period = 1.0 / max(1.0, self.preview_fps)
        next_at = 0.0
        convert = Converter()
        try:
            while True:
                frame = await track.recv()
                now = time.time()
                if now >= next_at and self.frame_wanted(self.peer_id):
                    next_at = now + period
                    self.on_frame(self.peer_id, self._to_rgb(convert, self.peer_id, frame))
        except MediaStreamError:
            return

    async def _watch(self) -> None:
        """Cap each link's encoder and watch its RTCP reports; drop to audio only when it degrades."""
        while True:
            await asyncio.sleep(self.watch_interval)
            for link in list(self.links.values()):
                self._apply_cap(link)
                if link.state != "connected":
                    continue
                try:
                    report = await link.pc.getStats()
                except Exception:
                    continue
                lost = rtt = None
                for s in report.values():
                    if getattr(s, "type", "") == "remote-inbound-rtp" and getattr(s, "kind", "") == "video":
                        lost, rtt = s.fractionLost, s.roundTripTime
                if lost is None and rtt is None:
                    continue
                self.judge_link(link.peer_id, lost, rtt)

    def judge_link(self, peer_id: str, fraction_lost: float | None, rtt: float | None) -> None:
        """Apply one quality report to a link (public so the rule can be exercised directly)."""
        link = self.links.get(peer_id)
        if link is None:
            return
        if link_is_degraded(fraction_lost, rtt):
            link.bad_reports += 1
            link.good_reports = 0
            if link.bad_reports >= DEGRADE_AFTER:
                self.set_audio_only(peer_id, True, reason=f"loss {fraction_lost or 0:.0%}, rtt {rtt or 0:.2f}s")
        else:
            link.good_reports += 1
            link.bad_reports = 0
            if link.audio_only and link.good_reports >= RECOVER_AFTER:
                self.set_audio_only(peer_id, False, reason="link recovered")

    def _apply_cap(self, link: Link) -> None:
        if self.bitrate_cap is None:
            return
        for sender in link.pc.getSenders():
            enc = getattr(sender, "_RTCRtpSender__encoder", None)  # aiortc creates it on the first frame
            if isinstance(enc, vpx.Vp8Encoder) and not isinstance(enc, CappedVp8Encoder):
                enc.__class__ = CappedVp8Encoder
                enc.cap = self.bitrate_cap
                enc.target_bitrate = enc.target_bitrate
