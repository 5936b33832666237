"""Frames handed to the GUI at their tile's size, in the GUI's own pixel format (no conversion on paint)."""

from __future__ import annotations

import av
import numpy as np

from app.video.pattern import PatternMaker, colour_for, read_counter, read_patch_colour, text_mask
from app.video.tracks import Converter


def test_converter_keeps_its_context_and_scales_and_converts_in_one_pass():
    maker = PatternMaker("CENTRE", 640, 480)
    convert = Converter()
    for counter in (7, 4242):  # the same converter, frame after frame
        yuv = convert(av.VideoFrame.from_ndarray(maker.frame(counter), format="rgb24"), "yuv420p")
        assert yuv.format.name == "yuv420p"
        back = convert.ndarray(yuv, "rgb24")
        assert read_counter(back) == counter
        small = convert.ndarray(yuv, "bgra", 320, 240)  # what a tile gets: its size, QImage's RGB32 layout
        assert small.shape == (240, 320, 4)
        rgb = np.ascontiguousarray(small[..., 2::-1])
        assert read_counter(rgb) == counter
        assert all(abs(a - b) <= 12 for a, b in zip(read_patch_colour(rgb), colour_for("CENTRE"), strict=True))


def test_text_mask_from_cached_glyphs_is_the_same_text():
    a = text_mask("A #012345 07:10:00.123", 2)
    b = text_mask("A #012345 07:10:00.123", 2)
    assert a.shape == (14, 22 * 12) and (a == b).all()
    assert a[:, :12].any() and not a[:, 12:24].any()  # "A", then a blank
    assert text_mask("", 1).shape == (7, 6)


def test_bridge_fits_frames_to_the_tile_and_paints_bgra_without_converting(qtbot):
    from PySide6.QtGui import QColor, QImage

    from app.ui.video.bridge import FrameBridge

    bridge = FrameBridge()
    assert bridge.fit("peer", 640, 480) is None  # no tile yet: as decoded
    bridge.set_target("peer", 300, 300)
    assert bridge.fit("peer", 640, 480) == (300, 224)  # aspect kept, even sizes (yuv420p)
    bridge.set_target("peer", 800, 600)
    assert bridge.fit("peer", 640, 480) is None  # the tile is larger: no upscaling here

    bgra = np.zeros((240, 320, 4), dtype=np.uint8)
    bgra[..., 0], bgra[..., 1], bgra[..., 2] = 30, 120, 200  # B, G, R
    with qtbot.waitSignal(bridge.image, timeout=2000) as blocker:
        bridge.push("peer", bgra)
    source, img = blocker.args
    assert source == "peer" and img.format() == QImage.Format.Format_RGB32 and img.size().width() == 320
    bgra[:] = 0  # the image owns its pixels: the media thread may reuse its buffer
    assert QColor(img.pixel(10, 10)).getRgb()[:3] == (200, 120, 30)
    assert bridge.latest_rgb(["peer"])[0][0, 0].tolist() == [0, 0, 0]  # the recorder reads RGB (a view)
    bgra[0, 0, :3] = (1, 2, 3)
    assert bridge.latest_rgb(["peer"])[0][0, 0].tolist() == [3, 2, 1]
