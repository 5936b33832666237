"""Fan-out of "something changed" to consoles over the events WebSocket.

Each commit in this process publishes its revision at once. A poller also reads
sync_meta.current_rev every ``event_poll_s`` while anyone listens, so commits made by
other server processes on the same PostgreSQL (or by the CLI) reach this process's
listeners too. Messages are only hints to pull: a missed one costs latency, not data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import sqlalchemy as sa

from app.server.tables import sync_meta

log = logging.getLogger("command_desk.server.events")


class EventHub:
    def __init__(self, engine: sa.Engine, poll_s: float):
        self.engine = engine
        self.poll_s = poll_s
        self.rev = 0
        self._queues: set[asyncio.Queue[int]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.rev = await asyncio.to_thread(self._read_rev)
        self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller

    def publish_threadsafe(self, rev: int) -> None:
        """Called from worker threads after a commit."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._publish, rev)

    def _publish(self, rev: int) -> None:
        if rev <= self.rev:
            return
        self.rev = rev
        for q in self._queues:
            if q.full():  # a slow listener only needs the newest revision
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(rev)

    @contextlib.contextmanager
    def subscribe(self):
        q: asyncio.Queue[int] = asyncio.Queue(maxsize=16)
        self._queues.add(q)
        try:
            yield q
        finally:
            self._queues.discard(q)

    def _read_rev(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sync_meta.c.current_rev)).scalar() or 0

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            if not self._queues:
                continue
            try:
                self._publish(await asyncio.to_thread(self._read_rev))
            except Exception:  # the database may be restarting; listeners just wait
                log.warning("event poll failed", exc_info=True)
