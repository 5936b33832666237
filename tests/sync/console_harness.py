"""A real console without Qt: its own SQLite cache, services and sync engine, on asyncio."""

from __future__ import annotations

import asyncio
import pathlib

import sqlalchemy as sa

from app.bootstrap import open_context
from app.services.signin import sign_in
from app.services.sync_engine import SyncEngine
from app.store import outbox, records
from app.store.schema import outbox as outbox_table
from app.store.schema import table_for
from sync_world import password

NOW = "2026-11-23T08:00:00+08:00"


class LiveConsole:
    def __init__(self, server, folder: pathlib.Path, username: str, transport=None):
        self.server = server
        self.ctx = open_context(folder / f"{username}.db", server.base)
        self.ctx.user = sign_in(self.ctx, username, password(username))
        self.engine = SyncEngine(self.ctx, transport)
        self.engine.transport.base_url = server.base
        self.engine.use_tokens(self.ctx.pending_tokens)
        self.ctx.sync = self.engine

    @property
    def store(self):
        return self.ctx.store

    def sync(self) -> None:
        self.engine.transport.base_url = self.server.base  # the server may have restarted elsewhere
        asyncio.run(self.engine.sync_once())

    def create(self, entity: str, data: dict) -> str:
        return self.store.write_sync(lambda c: records.create(c, entity, data, author_id=self.ctx.user.id,
                                                              now=NOW))

    def patch(self, entity: str, rid: str, changes: dict) -> None:
        self.store.write_sync(lambda c: records.patch(c, entity, rid, changes, author_id=self.ctx.user.id,
                                                      now=NOW))

    def get(self, entity: str, rid: str) -> dict | None:
        return self.store.read(records.get, entity, rid)

    def count(self, entity: str, *where) -> int:
        t = table_for(entity)
        return self.store.read(lambda c: c.execute(
            sa.select(sa.func.count()).select_from(t).where(t.c.deleted.is_(False), *where)).scalar())

    def outbox(self) -> list[dict]:
        return self.store.read(lambda c: [dict(r) for r in c.execute(
            sa.select(outbox_table).order_by(outbox_table.c.device_seq)).mappings()])

    def waiting(self) -> int:
        return self.store.read(outbox.waiting_count)

    def close(self) -> None:
        self.engine.stop()
        self.store.close()
