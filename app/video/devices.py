"""The OS camera and microphone, when there are any (FFmpeg's v4l2 / pulse / alsa through aiortc).

``open_camera`` / ``open_microphone`` return a track, or None with the reason logged: the
caller then uses the test pattern and the tone, so a console without a camera (most duty
desks) still shows a labelled tile and proves the link works.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)


def default_camera() -> str | None:
    if sys.platform.startswith("linux"):
        return "/dev/video0" if os.path.exists("/dev/video0") else None
    return None


def open_camera(device: str | None, width: int = 640, height: int = 480, fps: int = 30):
    """A video track from the camera, or None (no device, busy, or no driver)."""
    if not device:
        return None
    from aiortc.contrib.media import MediaPlayer

    fmt = "v4l2" if device.startswith("/dev/") else None
    try:
        player = MediaPlayer(device, format=fmt, options={"video_size": f"{width}x{height}",
                                                          "framerate": str(fps)})
    except Exception as e:  # av.error.* or OSError: the reason goes to the log, the pattern stands in
        log.info("camera %s unavailable: %s", device, e)
        return None
    return player.video


def open_microphone(device: str | None = "default"):
    """An audio track from the microphone (PulseAudio, then ALSA), or None."""
    if not device:
        return None
    from aiortc.contrib.media import MediaPlayer

    for fmt in ("pulse", "alsa"):
        try:
            player = MediaPlayer(device, format=fmt)
        except Exception as e:
            log.info("microphone %s via %s unavailable: %s", device, fmt, e)
            continue
        if player.audio is not None:
            return player.audio
    return None
