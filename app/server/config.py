"""Server settings: one frozen dataclass, filled from the command line and the environment.

Secrets never come from the command line (they would show in `ps`): the token signing
key is read from COMMAND_DESK_SECRET, or, when unset, generated once and kept in the
database so several server processes on one PostgreSQL agree on it (see db.server_secret).
"""

from __future__ import annotations

import dataclasses
import os

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
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
