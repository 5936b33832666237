"""A fresh console's initial sync in a subprocess, so T18 can SIGKILL it halfway.

    python huge_child.py SERVER_BASE CACHE_DIR USERNAME PAGE_SIZE STALL_AT_PERCENT

The real LiveConsole and SyncEngine (pages of PAGE_SIZE). It prints

* ``pull CURSOR`` for every page it asks the server for;
* ``progress DONE TOTAL VISIBLE`` on every "Syncing n of m" status, VISIBLE being how many
  incident and duty-log rows the cache's tables show at that moment;
* with STALL_AT_PERCENT > 0: ``half CURSOR`` once the requested cursor passes that share of
  the server's high watermark; the network then stalls there (the request hangs) while the
  writer may still be staging the page before: the parent kills it then;
* ``staged PEAK_RSS_KB RSS_KB`` just before the swap, ``swapped PEAK_RSS_KB RSS_KB`` right after
  it (before the engine publishes the changed ids);
* ``lag P99_MS MAX_MS``: how late a 10 ms timer on the engine's event loop ran during the sync;
* at the end ``done ROWS PEAK_RSS_KB RSS_KB``.
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
import threading
import types

import sqlalchemy as sa

from app.services import sync_engine
from app.store import pull as pl
from app.store.schema import table_for
from app.sync import transport as T
from console_harness import LiveConsole

STALL = threading.Event()


def say(*parts) -> None:
    print(*parts, flush=True)


class Watched(T.SyncTransport):
    def __init__(self, base_url: str, stall_at: int):
        super().__init__(base_url)
        self.stall_at = stall_at
        self.target: int | None = None

    def pull(self, cursor, limit):
        say("pull", cursor)
        if self.stall_at and self.target and cursor * 100 >= self.target * self.stall_at:
            say("half", cursor)
            STALL.wait()  # the link stalls; only SIGKILL ends this
        page = super().pull(cursor, limit)
        if isinstance(page, dict) and isinstance(page.get("high_watermark"), int):
            self.target = page["high_watermark"]
        return page


def visible_rows(conn: sa.Connection) -> int:
    return sum(conn.execute(sa.select(sa.func.count()).select_from(table_for(e))).scalar()
               for e in ("incident", "duty_log_entry"))


def rss_kb(field: str = "VmRSS") -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_kb() -> int:
    """This process's own peak RSS. Not getrusage's ru_maxrss: Linux carries that over an exec
    from the forked copy of the parent, so it read the pytest process's size, not ours."""
    return rss_kb("VmHWM")


async def sync_with_ticks(c: LiveConsole) -> list[float]:
    """One sync round (as LiveConsole.sync) beside a 10 ms ticker: how late each tick ran is the
    event loop's lag, the headless stand-in for the GUI thread's (the console runs the engine on
    the Qt event loop through qasync)."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            t = loop.time()
            await asyncio.sleep(0.01)
            lags.append(max(0.0, loop.time() - t - 0.01))

    task = asyncio.ensure_future(ticker())
    try:
        await c.engine.sync_once()
    finally:
        task.cancel()
    return lags


def main(argv: list[str]) -> int:
    base, folder, username, page_size, stall_at = argv
    sync_engine.PAGE_SIZE = int(page_size)
    c = LiveConsole(types.SimpleNamespace(base=base), pathlib.Path(folder), username,
                    Watched(base, int(stall_at)))

    shown = [0]

    def on_status(status) -> None:  # each new "Syncing n of m" (other status updates repeat n)
        if status.state == "syncing" and status.total and status.done > shown[0]:
            shown[0] = status.done
            say("progress", status.done, status.total, c.store.read(visible_rows))

    c.engine.subscribe(on_status)
    real_apply = pl.apply_staged

    def apply_measured(conn):  # the swap: how much memory staging took, and the swap itself
        say("staged", peak_kb(), rss_kb())
        touched = real_apply(conn)
        say("swapped", peak_kb(), rss_kb())
        return touched

    pl.apply_staged = apply_measured  # the engine calls it as pl.apply_staged
    lags = asyncio.run(sync_with_ticks(c))
    lags.sort()
    say("lag", round(lags[int(len(lags) * 0.99)] * 1000) if lags else 0, round(lags[-1] * 1000) if lags else 0)
    say("done", c.store.read(visible_rows), peak_kb(), rss_kb())
    c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
