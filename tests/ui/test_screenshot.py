"""`python -m app --no-server --home TMP --screenshot out.png` renders a real, non-blank window."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


def render(tmp_path: Path, *flags: str) -> tuple[QImage, str]:
    out = tmp_path / "out.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COMMAND_DESK_LOG": "WARNING"}
    run = subprocess.run([sys.executable, "-m", "app", "--no-server", "--home", str(tmp_path / "home"),
                          "--screenshot", str(out), *flags],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return QImage(str(out)), run.stderr


def grey_levels(image: QImage, step: int = 7) -> list[int]:
    return [image.pixelColor(x, y).lightness()
            for y in range(0, image.height(), step) for x in range(0, image.width(), step)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screenshot_is_a_full_hd_picture_of_something(tmp_path, lang):
    image, stderr = render(tmp_path, "--lang", lang)
    assert (image.width(), image.height()) == (1920, 1080)
    levels = grey_levels(image)
    mean = sum(levels) / len(levels)
    variance = sum((v - mean) ** 2 for v in levels) / len(levels)
    assert variance > 100, "blank or nearly blank screenshot"
    most_common_share = Counter(levels).most_common(1)[0][1] / len(levels)
    assert most_common_share < 0.9
    assert "Traceback" not in stderr
    # The status bar (bottom 30 px) is dark chrome with light text in both languages.
    bar = [image.pixelColor(x, image.height() - 12).lightness() for x in range(0, 1920, 3)]
    assert min(bar) < 60 and max(bar) > 180
