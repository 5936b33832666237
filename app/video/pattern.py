"""Synthetic test-pattern frames: what a console sends when it has no camera.

Each frame shows the participant's colour, a bar that moves one step per frame, the
frame counter as 16 large black/white blocks (they survive VP8 at any sensible
bitrate, so a receiver can read the counter back: ``read_counter``), a colour patch
(``read_patch_colour``) and a line of text: name, ``#counter`` and the capture time.
The text uses a built-in 5×7 font (ASCII only); a Chinese name is handed in as a
ready-made mask (``label_mask``, drawn by the UI with a real font).

Pure numpy, no Qt: it runs on the media thread.
"""

from __future__ import annotations

import time

import numpy as np

COUNTER_BITS = 16

_GLYPHS = {
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    "A": "01110 10001 10001 11111 10001 10001 10001", "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110", "D": "11100 10010 10001 10001 10001 10010 11100",
    "E": "11111 10000 10000 11110 10000 10000 11111", "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111", "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110", "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001", "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001", "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110", "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101", "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110", "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110", "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010", "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 10001 01010 00100 00100 00100", "Z": "11111 00001 00010 00100 01000 10000 11111",
    ":": "00000 01100 01100 00000 01100 01100 00000", ".": "00000 00000 00000 00000 00000 01100 01100",
    "#": "01010 01010 11111 01010 11111 01010 01010", "-": "00000 00000 00000 11111 00000 00000 00000",
    "/": "00001 00010 00010 00100 01000 01000 10000", "_": "00000 00000 00000 00000 00000 00000 11111",
    " ": "00000 00000 00000 00000 00000 00000 00000", "?": "01110 10001 00001 00010 00100 00000 00100",
}
_FONT = {ch: np.array([[c == "1" for c in row] for row in rows.split()], dtype=bool)
         for ch, rows in _GLYPHS.items()}


_SCALED: dict[tuple[str, int], np.ndarray] = {}


def _glyph(ch: str, scale: int) -> np.ndarray:
    """One character, padded one column right and scaled (cached: the text is drawn on every frame)."""
    key = (ch, scale)
    g = _SCALED.get(key)
    if g is None:
        g = np.pad(_FONT.get(ch.upper(), _FONT["?"]), ((0, 0), (0, 1))).repeat(scale, axis=0).repeat(scale, axis=1)
        _SCALED[key] = g
    return g


def text_mask(text: str, scale: int = 2) -> np.ndarray:
    """A boolean mask of ``text`` in the 5×7 font (unknown characters show as '?')."""
    return np.concatenate([_glyph(ch, scale) for ch in text or " "], axis=1)


def colour_for(name: str) -> tuple[int, int, int]:
    """A stable, mid-bright colour for a participant (so tiles are told apart at a glance)."""
    h = 0
    for ch in name:
        h = (h * 131 + ord(ch)) & 0xFFFFFF
    palette = ((200, 60, 60), (60, 160, 70), (60, 90, 200), (200, 150, 40), (150, 70, 180), (40, 160, 170))
    return palette[h % len(palette)]


def _layout(width: int, height: int) -> tuple[int, int, int]:
    block = max(4, width // (COUNTER_BITS + 4))
    top = max(2, height // 24)
    return block, top, block  # block width, strip top, strip height


class PatternMaker:
    """Makes the frames of one participant's test pattern (one instance per source)."""

    def __init__(self, name: str, width: int = 640, height: int = 480,
                 colour: tuple[int, int, int] | None = None, label_mask: np.ndarray | None = None):
        self.name = name
        self.width, self.height = width, height
        self.colour = colour or colour_for(name)
        self.label_mask = label_mask
        self.scale = max(1, width // 240)
        self._base = np.empty((height, width, 3), dtype=np.uint8)
        self._base[:] = self.colour
        bw, top, bh = _layout(width, height)
        # a fixed patch in the colour (bottom right), never crossed by the bar or the text
        self._patch = (height - 2 * bh - top, height - top, width - 3 * bw, width - bw)
        y0, y1, x0, x1 = self._patch
        self._base[y0:y1, x0:x1] = self.colour

    def frame(self, counter: int, captured: float | None = None, *, camera_off: bool = False) -> np.ndarray:
        """An H×W×3 RGB frame for this counter value."""
        w, h = self.width, self.height
        img = self._base.copy()
        if camera_off:
            img[:] = 24
        else:
            bar = max(4, w // 16)
            x = (counter * max(2, w // 80)) % (w - bar)
            img[:, x:x + bar] = 235
        bw, top, bh = _layout(w, h)
        x0 = 2 * bw
        for bit in range(COUNTER_BITS):
            on = (counter >> (COUNTER_BITS - 1 - bit)) & 1
            img[top:top + bh, x0 + bit * bw:x0 + (bit + 1) * bw] = 255 if on else 0
        img[top:top + bh, bw:x0] = 128  # a grey lead-in marks where the code starts
        captured = time.time() if captured is None else captured
        stamp = time.strftime("%H:%M:%S", time.localtime(captured)) + f".{int(captured * 1000) % 1000:03d}"
        label = f"{self.name if self.name.isascii() else ''} #{counter:06d} {stamp}".strip()
        if camera_off:
            label = "CAMERA OFF " + label
        self._blit(img, text_mask(label, self.scale), bw, h - top - 9 * self.scale)
        if self.label_mask is not None:
            self._blit(img, self.label_mask, bw, top + bh + top)
        return img

    @staticmethod
    def _blit(img: np.ndarray, mask: np.ndarray, x: int, y: int) -> None:
        h = min(mask.shape[0], img.shape[0] - y)
        w = min(mask.shape[1], img.shape[1] - x)
        if h <= 0 or w <= 0:
            return
        region = img[y:y + h, x:x + w]
        m = mask[:h, :w]
        region[m] = 255
        # a dark outline one pixel down-right keeps white text readable on a bright tile
        shadow = np.zeros_like(m)
        shadow[1:, 1:] = m[:-1, :-1] & ~m[1:, 1:]
        region[shadow] = 0


def read_counter(rgb: np.ndarray) -> int:
    """The counter drawn by PatternMaker, read back from a (decoded) frame."""
    h, w = rgb.shape[:2]
    bw, top, bh = _layout(w, h)
    y = top + bh // 2
    x0 = 2 * bw
    value = 0
    for bit in range(COUNTER_BITS):
        cx = x0 + bit * bw + bw // 2
        patch = rgb[y - bh // 4:y + bh // 4 + 1, cx - bw // 4:cx + bw // 4 + 1]
        value = (value << 1) | int(patch.mean() > 128)
    return value


def read_patch_colour(rgb: np.ndarray) -> tuple[int, int, int]:
    """The mean colour of the fixed patch (bottom right): the participant's colour after the codec."""
    h, w = rgb.shape[:2]
    bw, top, bh = _layout(w, h)
    y0, y1, x0, x1 = h - 2 * bh - top, h - top, w - 3 * bw, w - bw
    patch = rgb[y0 + 2:y1 - 2, x0 + 2:x1 - 2].reshape(-1, 3).mean(axis=0)
    return int(patch[0]), int(patch[1]), int(patch[2])
