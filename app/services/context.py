"""What every panel is handed: the store's services, the change bus, who is signed in."""

from __future__ import annotations

import dataclasses
from typing import Any

from app.services.changes import ChangeBus, ChangeSet
from app.store.db import Store


@dataclasses.dataclass
class SignedInUser:
    id: str
    username: str
    name: str
    role: str
    org_unit_id: str | None = None
    offline: bool = False  # signed in against the cached verifier while the server was unreachable


@dataclasses.dataclass
class AppContext:
    store: Store
    bus: ChangeBus
    device_id: str
    user: SignedInUser | None = None
    server_url: str | None = None
    sync: Any = None  # app.services.sync_engine.SyncEngine once wired (None: not syncing)
    pending_tokens: dict | None = None  # the last login answer, handed to the sync engine

    def read(self, fn, *args):
        return self.store.read(fn, *args)

    def publish(self, changes: ChangeSet) -> None:
        self.bus.publish(changes)
