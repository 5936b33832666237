"""Render the console's screenshots for docs/screenshots/ from a seeded cache.

    .venv/bin/python tests/ui/render_screenshots.py [docs/screenshots]

Each picture is a real `python -m app --no-server --screenshot` run (the same path
test_screenshot.py checks), over the demo district when app.demo.district exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]

SHOTS = (  # (file, flags)
    ("main_zh_day.png", ["--lang", "zh", "--theme", "day"]),
    ("main_en_day.png", ["--lang", "en", "--theme", "day"]),
    ("main_zh_night.png", ["--lang", "zh", "--theme", "night"]),
    ("main_en_night.png", ["--lang", "en", "--theme", "night"]),
    ("briefing_1080.png", ["--lang", "zh", "--theme", "night", "--briefing"]),
    ("briefing_4k.png", ["--lang", "zh", "--theme", "night", "--briefing", "--size", "3840x2160"]),
    ("briefing_4k_en_day.png", ["--lang", "en", "--theme", "day", "--briefing", "--size", "3840x2160"]),
)


def seed(home: Path) -> None:
    from district_fixture import district_records

    from app.store import records
    from app.store.db import Store

    with Store(home / "cache.db") as store:
        store.write_sync(lambda conn: records.bulk_load(conn, district_records()))


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        seed(home)
        for name, flags in SHOTS:
            # A fresh settings file each time, so one shot's theme or layout never leaks into the next.
            (home / "settings.json").unlink(missing_ok=True)
            cmd = [sys.executable, "-m", "app", "--no-server", "--home", str(home),
                   "--screenshot", str(out / name), *flags]
            subprocess.run(cmd, cwd=ROOT, env=env, check=True)
            print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
