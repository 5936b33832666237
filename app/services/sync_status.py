"""What the status bar says about sync (SYNC_RESEARCH.md §3.14), as a plain value."""

from __future__ import annotations

import dataclasses
import datetime as dt

SYNCED = "synced"
SYNCING = "syncing"
OFFLINE = "offline"
SIGNIN_NEEDED = "signin_needed"
UPDATE_REQUIRED = "update_required"
DISABLED = "disabled"  # started with --no-server: the cache is all there is


@dataclasses.dataclass(frozen=True)
class SyncStatus:
    state: str = DISABLED
    done: int = 0  # "Syncing n of m"
    total: int = 0
    offline_since: dt.datetime | None = None
    waiting: int = 0  # local changes not yet confirmed by the server
    conflicts: int = 0  # open sync_conflict records
    rejected: int = 0  # mutations the server refused
    last_push_ok: dt.datetime | None = None
    last_pull_ok: dt.datetime | None = None
    clock_offset_s: float | None = None
    server_rev: int = 0
    message: str = ""  # the last error, in words
