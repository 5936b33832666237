"""Start-up: process start → main window painted with the demo district.

Both sides are whole processes timed from just before they are started to the first
paint event of their main window (COMMAND_DESK_EXIT_AFTER_PAINT probe), offscreen:
ours with the demo district in a synced cache, the baseline a bare PySide6 window
with the same seven docks.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from tests.bench.common import report

BARE = textwrap.dedent("""
    import os, sys, time
    from PySide6.QtCore import QEvent, QObject, Qt, QTimer
    from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow
    app = QApplication(sys.argv[:1])
    w = QMainWindow()
    w.setCentralWidget(QLabel("overview"))
    for name in ("map", "log", "resources", "video", "warnings", "statistics", "overview"):
        d = QDockWidget(name, w)
        d.setWidget(QLabel(name))
        w.addDockWidget(Qt.RightDockWidgetArea, d)
    w.resize(1920, 1080)
    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                print(f"painted {time.time() - float(os.environ['COMMAND_DESK_EXIT_AFTER_PAINT']):.4f}", flush=True)
                w.removeEventFilter(self)
                QTimer.singleShot(0, app.quit)
            return False
    probe = FirstPaint()
    w.installEventFilter(probe)
    w.show()
    app.exec()
""")


def wall(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def to_first_paint(cmd: list[str], env: dict) -> float:
    """Seconds from just before the process is started to its window's first paint event."""
    env = dict(env, COMMAND_DESK_EXIT_AFTER_PAINT=repr(time.time()))
    out = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True).stdout
    return float(next(line for line in out.splitlines() if line.startswith("painted ")).split()[1])


def run(runs: int = 5) -> list[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory() as d:
        home = Path(d) / "home"
        # One start with the embedded server fills the cache with the demo district.
        subprocess.run([sys.executable, "-m", "app", "--home", str(home), "--screenshot", str(Path(d) / "0.png")],
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ours = [to_first_paint([sys.executable, "-m", "app", "--home", str(home), "--no-server"], env)
                for i in range(runs)]
        bare = [to_first_paint([sys.executable, "-c", BARE], env) for i in range(runs)]
        ours_embedded = [to_first_paint([sys.executable, "-m", "app", "--home", str(home)], env)
                         for i in range(runs)]
        embedded = [wall([sys.executable, "-m", "app", "--home", str(home), "--screenshot",
                          str(Path(d) / f"e{i}.png")], env) for i in range(3)]
    base = statistics.median(bare) * 1e3
    out = [report("start → first paint (demo district, --no-server)", statistics.median(ours) * 1e3, base,
                  "ms", "bare PySide6 window, 7 docks"),
           report("start → first paint (embedded server launched)", statistics.median(ours_embedded) * 1e3,
                  base, "ms", "bare PySide6 window, 7 docks"),
           report("start → screenshot saved (server, sync, render)", statistics.median(embedded) * 1e3,
                  base, "ms", "bare window first paint")]
    return out


if __name__ == "__main__":
    run()
