"""The longest GUI event-loop stall while a 100,000-row initial sync runs under qasync.

A 5 ms QTimer on the GUI thread records how late each tick fires while the sync engine
pulls, stages and applies. Baseline: the same timer on the same loop, idle, for as long.
Goal: no stall over 50 ms.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "sync"))

from app.server import db as server_db  # noqa: E402
from app.server import seed  # noqa: E402
from tests.bench.bench_sync import world_rows  # noqa: E402
from tests.bench.common import percentile, report  # noqa: E402

TICK_MS = 5


class LatenessProbe:
    def __init__(self):
        from PySide6.QtCore import QTimer

        self.late: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        now = time.perf_counter()
        self.late.append(max(0.0, (now - self._last) * 1e3 - TICK_MS))
        self._last = now

    def start(self):
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self):
        self.timer.stop()


def run(n: int = 100_000) -> list[str]:
    import qasync
    from PySide6.QtWidgets import QApplication

    from console_harness import LiveConsole
    from sync_live import ServerProcess
    from sync_world import STREET1, seed_world

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    out = []
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        url = f"sqlite:///{folder / 'server.db'}"
        engine = server_db.make_engine(url)
        server_db.init_schema(engine)
        seed_world(engine)
        seed.bulk_load(engine, world_rows(n, STREET1), validate="none")
        engine.dispose()
        server = ServerProcess(url, folder / "server.log").start()
        try:
            console = LiveConsole(server, folder, "officer_s1")
            probe = LatenessProbe()

            async def sync_with_probe():
                probe.start()
                t0 = time.perf_counter()
                await console.engine.sync_once()
                # What the engine's loop does next: fill in the search texts the swap deferred
                # (COMMAND_DESK_BENCH_NO_INDEX=1 measures the sync round alone).
                if not os.environ.get("COMMAND_DESK_BENCH_NO_INDEX"):
                    await console.engine.index_backlog()
                probe.stop()
                return time.perf_counter() - t0

            took = loop.run_until_complete(sync_with_probe())
            busy = probe.late
            idle_probe = LatenessProbe()

            async def idle():
                idle_probe.start()
                await asyncio.sleep(took)
                idle_probe.stop()

            loop.run_until_complete(idle())
            out.append(report(f"longest GUI stall during {n:,}-row sync + index", max(busy), max(idle_probe.late), "ms",
                              "same timer, idle loop"))
            out.append(report("p99 timer lateness during sync", percentile(busy, 99),
                              percentile(idle_probe.late, 99), "ms", "same timer, idle loop"))
            console.close()
        finally:
            server.kill()
    return out


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
