"""The media thread: one asyncio loop, in its own thread, that runs every peer connection,
the signalling client and the LAN signalling relay. The GUI thread never awaits media work;
it submits coroutines here and gets results through callbacks (which the UI turns into
queued Qt signals).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# The GIL hand-over interval while media runs (process-wide; CPython's default is 5 ms). The media
# loop, the feed threads and the encoders run Python between their C calls; a GUI thread that wants
# the GIL back waits up to one interval per hand-over, and a 5 ms timer tick can lose several in a
# row. A shorter interval bounds each wait; it costs a little switching, measured as noise next to
# VP8 (docs/performance.md, "Video, round 3"). None leaves the interpreter's setting alone.
SWITCH_INTERVAL: float | None = 0.002
# Freeze the objects the console holds when the first call starts (Qt wrappers, modules, the cache's
# metadata: ~130 k) out of the cyclic collector's sight. A full (generation 2) collection walks every
# tracked object with the GIL held: 35–210 ms measured around the 6-tile benchmark, every other thread
# (the GUI's too) waiting. Frozen objects are never collected, so it is done once per process.
FREEZE_GC = True
_frozen = False


class MediaEngine:
    def __init__(self, name: str = "media") -> None:
        global _frozen
        if SWITCH_INTERVAL is not None and sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        if FREEZE_GC and not _frozen:
            _frozen = True
            gc.freeze()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        self.closed = False

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.set_exception_handler(self._on_loop_error)
        self.loop.run_forever()

    @staticmethod
    def _on_loop_error(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        # aiortc swallows exceptions in track tasks; make them visible in the log (MACHINE_NOTES)
        exc = context.get("exception")
        if isinstance(exc, asyncio.InvalidStateError) and "rtcpeerconnection" in str(exc.__traceback__ and
                                                                                   exc.__traceback__.tb_frame):
            return  # aiortc closes a connection twice when both ends hang up at once: harmless
        log.warning("media loop: %s", context.get("message"), exc_info=context.get("exception"))

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run a coroutine on the media loop; returns a thread-safe future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30) -> T:
        """Run and wait (tests, shutdown; never from the GUI thread for long work)."""
        return self.submit(coro).result(timeout)

    def call_soon(self, fn, *args) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def close(self, timeout: float = 5) -> None:
        if self.closed:
            return
        self.closed = True

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(_cancel_all(), timeout)
        except Exception:  # a task that refuses to die must not hold up closing the console
            log.exception("media tasks did not stop cleanly")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


def pin_host_addresses(addresses: list[str]) -> None:
    """Gather ICE host candidates only on these addresses (tests and benchmarks: 127.0.0.1).

    aioice skips 127.0.0.1 when it gathers candidates (MACHINE_NOTES), so loopback-only
    runs pin it. On a real LAN leave the default (every interface, no STUN/TURN).
    """
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)
