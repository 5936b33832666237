"""The sync coordinator: one asyncio task that pushes the outbox, then pulls, then waits.

Runs on the qasync loop; HTTP calls go to a network executor and SQLite writes to
the store's single writer, so the GUI thread only ever awaits. Woken by new local
changes (the change bus), by the server's "rev" events, and by a slow timer.
Nothing here ever drops a queued change: offline, signed out or too old, the
outbox just waits (SYNC_RESEARCH.md §3.13–3.15).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import functools
import gc
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from app.domain import clock
from app.services import sync_status as S
from app.services.changes import ChangeSet
from app.store import index as ix
from app.store import outbox as ob
from app.store import pull as pl
from app.store.db import StoreError
from app.store.device import read_state
from app.sync import transport as T

log = logging.getLogger(__name__)

PAGE_SIZE = 5000
PUSH_BATCH = 500
INDEX_CHUNK = 2000  # search texts per write transaction after a large pull (~50 ms of the writer)
IDLE_POLL_S = 30.0
MAX_BACKOFF_S = 60.0


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while pages stream in.

    A catch-up allocates hundreds of thousands of small dicts; the collector's full passes
    over them held the interpreter lock for 65-85 ms at a time, freezing the window
    (tests/bench/bench_sync_stall.py: longest stall 126 ms -> 33 ms). The pages hold no
    reference cycles, so reference counting frees them anyway; the collector resumes after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse_event(message: Any) -> dict | None:
    try:
        event = json.loads(message)
    except (TypeError, ValueError):
        return None
    return event if isinstance(event, dict) else None


class SyncEngine:
    def __init__(self, ctx: Any, transport: T.SyncTransport | None = None):
        self.ctx = ctx
        self.transport = transport or T.SyncTransport(ctx.server_url)
        self.transport.schema_version = ob.SCHEMA_VERSION
        self.refresh_token: str | None = None
        self._credentials: tuple[str, str] | None = None
        self.status = S.SyncStatus(state=S.SYNCING)
        self._subscribers: list[Callable[[S.SyncStatus], None]] = []
        self._net = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="sync-net")
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe = ctx.bus.subscribe(self._on_change)

    def use_credentials(self, username: str, password: str) -> None:
        """Sign in with these when there is no token yet (the console started offline)."""
        self._credentials = (username, password)

    def use_tokens(self, login_answer: dict) -> None:
        self.transport.access_token = login_answer.get("access_token")
        self.refresh_token = login_answer.get("refresh_token")

    # -- status -----------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[S.SyncStatus], None]) -> None:
        self._subscribers.append(fn)

    def _set(self, **changes: Any) -> None:
        self.status = dataclasses.replace(self.status, **changes)
        for fn in list(self._subscribers):
            fn(self.status)

    async def _refresh_counts(self) -> None:
        counts = await self._read(ob.status_counts)
        self._set(**counts)

    # -- plumbing ---------------------------------------------------------------------------
    async def _call(self, fn: Callable, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._net, functools.partial(fn, *args))

    async def _write(self, fn: Callable, *args: Any) -> Any:
        return await asyncio.wrap_future(self.ctx.store.write(fn, *args))

    async def _read(self, fn: Callable, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._net, functools.partial(self.ctx.store.read, fn, *args))

    def _on_change(self, changes: ChangeSet) -> None:
        if changes.origin == "local":
            self.wake()

    def wake(self) -> None:
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- one round --------------------------------------------------------------------------
    async def sync_once(self) -> None:
        """Push everything queued, then pull until caught up. Raises transport errors."""
        async with self._lock:
            await self._push_all()
            if await self._pull_all() == "epoch_changed":
                await self._push_all()
                await self._pull_all()
            await self._refresh_counts()
            now = clock.now()
            self._set(state=S.SYNCED, offline_since=None, message="", last_pull_ok=now)

    async def _push_all(self) -> None:
        """Send the outbox in batches, in device_seq order.

        Pipelined without reordering: batch k+1 is read from the outbox while batch k is on the
        wire, and k's verdicts are stored while k+1 is on the wire. Batch k+1 is only sent after
        the server has answered all of k, so the server still sees one batch at a time.
        """
        last_gap = None
        recording: tuple[asyncio.Future, list[dict], list[dict]] | None = None
        batch = await self._read(ob.next_batch, PUSH_BATCH)
        try:
            while batch:
                sending = asyncio.ensure_future(self._authed(self.transport.push, self._push_body(batch)))
                ahead = asyncio.ensure_future(self._read(ob.next_batch, PUSH_BATCH, batch[-1]["device_seq"]))
                if recording is not None:
                    done, recording = recording, None
                    await self._recorded(*done)
                try:
                    answer = await sending
                except T.SequenceGap as gap:
                    await ahead
                    if gap.expected == last_gap:
                        raise  # re-sent from there and still refused: stop the round, retry after a pause
                    last_gap = gap.expected
                    # The server lost or never saw earlier mutations (e.g. restored from backup):
                    # queue again everything from the sequence it expects.
                    requeued = await self._write(ob.requeue_from, gap.expected)
                    if not requeued:  # nothing here can fill the gap: say so loudly (SYNC_RESEARCH.md §4 T6)
                        alarm = (f"数据缺失警报：服务器等待变更序号 {gap.expected}，本机已没有该变更 / "
                                 f"data-loss alarm: the server expects device_seq {gap.expected}, "
                                 "which this console no longer holds")
                        log.error(alarm)
                        raise T.SequenceGap(gap.expected, alarm) from gap
                    batch = await self._read(ob.next_batch, PUSH_BATCH)
                    continue
                except BaseException:
                    ahead.cancel()
                    raise
                results = answer.get("results") if isinstance(answer, dict) else None
                if not isinstance(results, list):
                    ahead.cancel()
                    raise T.BadResponse("push answer has no results")
                # Only verdicts on what was sent count: an answer that settles none of it must not
                # have the loop send the same batch again and again.
                by_id = {r["mutation_id"]: r for r in results
                         if isinstance(r, dict) and isinstance(r.get("mutation_id"), str)}
                answered = [by_id[m["mutation_id"]] for m in batch if m["mutation_id"] in by_id]
                storing = asyncio.ensure_future(self._write(ob.record_results, answered, clock.now_iso()))
                complete = len(answered) == len(batch) and all(r.get("outcome") in ob.TERMINAL for r in answered)
                if not complete:  # the server stopped early; the rest goes next round
                    ahead.cancel()
                    settled = await self._recorded(storing, batch, answered)
                    if not settled:
                        raise T.BadResponse("push answer settles none of the mutations sent")
                    return
                recording = (storing, batch, answered)
                batch = await ahead
                if not batch:  # look once more after the verdicts: the officer may have typed meanwhile
                    done, recording = recording, None
                    await self._recorded(*done)
                    batch = await self._read(ob.next_batch, PUSH_BATCH)
        finally:
            if recording is not None:
                await self._recorded(*recording)

    def _push_body(self, batch: list[dict]) -> dict:
        return {"device_id": self.ctx.device_id, "schema_version": ob.SCHEMA_VERSION,
                "mutations": [ob.to_wire(m) for m in batch]}

    async def _recorded(self, storing: asyncio.Future, batch: list[dict], answered: list[dict]) -> int:
        """Wait for a batch's verdicts to be stored, then show them; returns how many settled."""
        settled = await storing
        self._set(last_push_ok=clock.now())
        if settled:  # pending marks and the outbox list move with the push, not the next pull
            self.ctx.publish(ChangeSet.of("outbox", [m["mutation_id"] for m in answered], origin="sync"))
            # A refused change was replaced by the server's record (ob.restore_rejected): show it.
            refused = {r["mutation_id"] for r in answered
                       if r.get("outcome") == "rejected" and isinstance(r.get("current"), dict)}
            restored: dict[str, list[str]] = {}
            for m in batch:
                if m["mutation_id"] in refused:
                    restored.setdefault(m["entity"], []).append(m["entity_id"])
            for entity, ids in restored.items():
                self.ctx.publish(ChangeSet.of(entity, ids, origin="sync"))
        return settled

    async def _pull_all(self) -> str | None:
        with cyclic_gc_paused():
            return await self._pull_pages()

    async def _pull_pages(self) -> str | None:
        state = await self._read(read_state)
        known_scope = await self._read(pl.stored_scope_key)
        cursor = max(state.get("pull_cursor") or 0, state.get("staging_cursor") or 0)
        start = cursor
        # The next page is requested before the current one is staged, so the network and
        # the writer thread work at the same time.
        sent = clock.now()
        ahead = asyncio.ensure_future(self._authed(self.transport.pull, cursor, PAGE_SIZE))
        try:
            while True:
                try:
                    page = await ahead
                except T.CursorExpired:
                    # Offline longer than the server keeps tombstones: start again from 0, outbox kept.
                    await self._write(pl.start_full_resync, state.get("server_epoch"))
                    cursor = start = 0
                    ahead = asyncio.ensure_future(self._authed(self.transport.pull, cursor, PAGE_SIZE))
                    continue
                if sent is not None:  # NTP-style estimate from the first round trip of the round
                    self._note_clock_offset(sent, clock.now(), page)
                    sent = None
                epoch = page.get("server_epoch") if isinstance(page, dict) else None
                if state.get("server_epoch") and epoch and epoch != state["server_epoch"]:
                    await self._recover_from_restore(epoch)
                    return "epoch_changed"
                if epoch and not state.get("server_epoch"):
                    await self._write(pl.set_epoch, epoch)
                    state["server_epoch"] = epoch
                key = page.get("scope_key") if isinstance(page, dict) else None
                if isinstance(key, str) and key != known_scope:
                    known_scope = key
                    if await self._write(pl.note_scope, key, state.get("server_epoch")) and cursor:
                        # The user's scope changed: pull everything again from 0 (outbox kept).
                        log.warning("sync scope changed; full resync")
                        cursor = start = 0
                        ahead = asyncio.ensure_future(self._authed(self.transport.pull, cursor, PAGE_SIZE))
                        continue
                # Ask for the next page before checking this one, so the server builds it while
                # this one is checked and staged (a bad page cancels it: see finally).
                nxt = page.get("next_cursor") if isinstance(page, dict) else None
                if type(nxt) is int and nxt > cursor and page.get("has_more") is True:
                    ahead = asyncio.ensure_future(self._authed(self.transport.pull, nxt, PAGE_SIZE))
                changes = await self._call(pl.check_page, page, cursor)  # off the GUI thread
                hw = page.get("high_watermark")
                target = hw if isinstance(hw, int) and not isinstance(hw, bool) else None
                # The body as received goes to staging (no re-encoding); SQLite checks it again.
                await self._write(pl.stage_page, changes, page["next_cursor"], target,
                                  getattr(page, "raw", None), cursor)
                cursor = page["next_cursor"]
                if target:
                    self._set(state=S.SYNCING, done=cursor - start, total=max(target - start, 1))
                if not page.get("has_more"):
                    break
        finally:
            if not ahead.done():
                ahead.cancel()
        touched = await self._write(pl.apply_staged)
        self._set(server_rev=cursor)
        for entity, ids in touched.items():
            self.ctx.publish(ChangeSet.of(entity, ids, origin="sync"))
        return None

    async def index_backlog(self) -> int:
        """Fill in the search texts a large pull left for later, a chunk per write transaction.

        Local writes queue behind one chunk at most; search is correct throughout (it reads
        backlog rows by LIKE). Returns how many rowids were caught up.
        """
        total = 0
        while True:
            left, size = await self._write(ix.index_backlog_chunk, INDEX_CHUNK)
            total = size
            if not left:
                return total

    def _note_clock_offset(self, sent: Any, received: Any, page: Any) -> None:
        """Server clock minus ours, for the "console clock is off" banner; never used to order."""
        server_time = page.get("server_time") if isinstance(page, dict) else None
        try:
            server = dt.datetime.fromisoformat(server_time)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            return
        midpoint = sent + (received - sent) / 2
        self._set(clock_offset_s=(server - midpoint).total_seconds())

    async def _recover_from_restore(self, epoch: str) -> None:
        """The server was restored from a backup (new epoch): give it back what it lost.

        Every mutation after the server's last known device_seq is queued again
        (the ledger makes that idempotent), and the cache is pulled afresh from 0
        so rows the server no longer has do not linger (SYNC_RESEARCH.md §3.11).
        """
        known = await self._authed(self.transport.device_state)
        last = known.get("last_device_seq", 0) if isinstance(known, dict) else 0
        requeued = await self._write(ob.requeue_from, int(last) + 1)
        await self._write(pl.start_full_resync, epoch)
        log.warning("server epoch changed to %s; %d mutations queued again, full resync", epoch, requeued)

    async def _authed(self, fn: Callable, *args: Any) -> Any:
        """Call once; on 401 renew the token once and call again (never loops: PowerSync #1034)."""
        if not self.transport.access_token and self._credentials:
            await self._sign_in_again()
        try:
            return await self._call(fn, *args)
        except T.AuthExpired:
            self.transport.access_token = None  # never retry with the stale token
            if self.refresh_token:
                try:
                    tokens = await self._call(self.transport.refresh, self.refresh_token, self.ctx.device_id)
                    self.refresh_token = tokens.get("refresh_token", self.refresh_token)
                except T.TransportError:
                    if not self._credentials:
                        raise
                    await self._sign_in_again()
            elif self._credentials:
                await self._sign_in_again()
            else:
                raise
            return await self._call(fn, *args)

    async def _sign_in_again(self) -> None:
        username, password = self._credentials
        answer = await self._call(self.transport.login, username, password, self.ctx.device_id)
        self.use_tokens(answer)

    # -- the task ---------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_event_loop()
        self._wake = asyncio.Event()
        self._task = self._loop.create_task(self._run())
        self._events_task = self._loop.create_task(self._listen_events())

    def stop(self) -> None:
        self._unsubscribe()
        for task in (self._task, getattr(self, "_events_task", None)):
            if task is not None:
                task.cancel()
        self._net.shutdown(wait=False, cancel_futures=True)

    async def _listen_events(self) -> None:
        """Wake the sync loop when the server says a revision beyond ours was committed."""
        import websockets

        backoff = 1.0
        while True:
            token = self.transport.access_token
            if token:
                url = self.transport.base_url.replace("http", "ws", 1) + "/api/v1/events"
                try:
                    async with websockets.connect(f"{url}?token={token}", open_timeout=5,
                                                  max_size=64 * 1024) as ws:
                        backoff = 1.0
                        async for message in ws:
                            event = _parse_event(message)
                            rev = event.get("rev") if event and event.get("type") == "rev" else None
                            if isinstance(rev, int) and rev > self.status.server_rev:
                                self.wake()
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # refused, dropped, token expired: the poll loop still runs
                    log.debug("events socket: %s", e)
            await asyncio.sleep(backoff)  # reconnect pacing, not synchronisation
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _run(self) -> None:
        backoff = 1.0
        while True:
            assert self._wake is not None
            self._wake.clear()
            wait = IDLE_POLL_S
            try:
                await self.sync_once()
                backoff = 1.0
                await self.index_backlog()
            except T.RateLimited as e:  # online, asked to slow down: wait as told, no doubling
                self._set(message=f"服务器繁忙，{e.retry_after:.0f} 秒后继续同步 / "
                                  f"server busy, sync resumes in {e.retry_after:.0f} s")
                wait = min(max(e.retry_after, 1.0), MAX_BACKOFF_S)
            except T.Offline as e:
                self._set(state=S.OFFLINE, offline_since=self.status.offline_since or clock.now(),
                          message=str(e))
                wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_S)
            except T.AuthExpired as e:
                self._set(state=S.SIGNIN_NEEDED, message=str(e))
                wait = None  # until someone signs in again and wakes us
            except T.UpdateRequired as e:
                self._set(state=S.UPDATE_REQUIRED, message=str(e))
                wait = None
            except StoreError as e:  # disk full, read-only cache: nothing half-applied, retry later
                log.warning("sync round failed on the cache: %s", e)
                self._set(message=e.message("zh") + " / " + e.message("en"))
                wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_S)
            except (T.TransportError, pl.BadPage) as e:
                log.warning("sync round failed: %s", e)
                self._set(state=S.OFFLINE, offline_since=self.status.offline_since or clock.now(),
                          message=str(e))
                wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_S)
            except Exception:  # the sync task must never die: log and retry later
                log.exception("sync round crashed")
                wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_S)
            try:
                await self._refresh_counts()
            except Exception:
                log.exception("reading outbox counts failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except TimeoutError:
                pass
