"""Server settings: one frozen dataclass, filled from the command line and the environment.

Secrets never come from the command line (they would show in `ps`): the token signing
key is read from COMMAND_DESK_SECRET, or, when unset, generated once and kept in the
database so several server processes on one PostgreSQL agree on it (see db.server_secret).
"""

from __future__ import annotations

import dataclasses
import os

from app.server.ratelimit import KINDS, Rate
from app.sync import wire


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/server.db"
    host: str = "127.0.0.1"
    port: int = 8750
    secret: str | None = None  # token signing key; None = the database-held key
    access_ttl_s: int = 15 * 60
    refresh_ttl_s: int = 30 * 24 * 3600
    lockout_attempts: int = 5
    lockout_s: int = 15 * 60
    max_mutations: int = wire.MAX_MUTATIONS
    max_push_bytes: int = wire.MAX_PUSH_BYTES
    max_blob_bytes: int = 25 * 1024 * 1024
    max_small_body_bytes: int = 64 * 1024  # login, refresh and other small bodies
    max_pull_limit: int = wire.MAX_PULL_LIMIT
    event_poll_s: float = 0.5  # picks up commits made by other processes (PostgreSQL, CLI)
    # Rate limits (app/server/ratelimit.py), per server process. Per principal (user + device):
    # far above a real console's work. bench_server's busiest console pushes ~200 times and pulls
    # ~400 pages within seconds; an initial sync of 1,000,000 rows is 200 pulls of 5,000, and an
    # outbox of 100,000 offline mutations drains in 200 pushes of 500. None = no limit.
    # Environment: COMMAND_DESK_RATE_<KIND>=BURST,PER_SECOND (or "off"); COMMAND_DESK_RATE_LIMITS=off.
    rate_push: Rate | None = Rate(600, 10)  # push and outbox-file import
    rate_pull: Rate | None = Rate(1200, 20)  # pull pages and device-state
    rate_blobs: Rate | None = Rate(600, 10)  # attachment uploads and downloads
    rate_events: Rate | None = Rate(30, 0.5)  # events WebSocket connects (consoles reconnect with backoff)
    # Login, before argon2 runs: per client IP (a district's consoles behind one NAT sign in at
    # shift change) and per username (the lockout stops guessing; this stops floods of one name).
    rate_login_ip: Rate | None = Rate(300, 2)
    rate_login_user: Rate | None = Rate(60, 0.5)
    rate_max_keys: int = 100_000  # buckets kept per kind (least recently used dropped)

    def rates(self) -> dict[str, Rate | None]:
        return {kind: getattr(self, f"rate_{kind}") for kind in KINDS}

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = os.environ
        values: dict = {}
        if env.get("COMMAND_DESK_DATABASE_URL"):
            values["database_url"] = env["COMMAND_DESK_DATABASE_URL"]
        if env.get("COMMAND_DESK_SECRET"):
            values["secret"] = env["COMMAND_DESK_SECRET"]
        if env.get("COMMAND_DESK_ACCESS_TTL"):
            values["access_ttl_s"] = int(env["COMMAND_DESK_ACCESS_TTL"])
        limits_off = env.get("COMMAND_DESK_RATE_LIMITS", "").strip().lower() == "off"
        for kind in KINDS:
            text = env.get(f"COMMAND_DESK_RATE_{kind.upper()}", "").strip()
            if limits_off or text.lower() == "off":
                values[f"rate_{kind}"] = None
            elif text:
                values[f"rate_{kind}"] = Rate.parse(text)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
