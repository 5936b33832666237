"""视频会商 Video consultation panel (slot "video")."""

from app.ui.docks import register_panel


def _make(host):
    from app.ui.video.panel import VideoPanel

    return VideoPanel(host)


register_panel("video", _make)
