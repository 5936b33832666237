"""Live-server fixtures: a real uvicorn subprocess on 127.0.0.1 over a real database.

SQLite always; PostgreSQL too when COMMAND_DESK_TEST_PG_URL names a server we may create
throw-away databases on (e.g. postgresql+psycopg://postgres@/postgres?host=/tmp&port=54329).
"""

from __future__ import annotations

import os
import pathlib
import sys
import uuid

import pytest
import sqlalchemy as sa

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.server import db  # noqa: E402
from sync_live import Console, ServerProcess  # noqa: E402
from sync_world import seed_world  # noqa: E402

PG_URL = os.environ.get("COMMAND_DESK_TEST_PG_URL")
BACKENDS = [pytest.param("sqlite", id="sqlite")] + (
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.pg)] if PG_URL else [])


class Database:
    """A fresh database per test; ``url`` is what the server process is given."""

    def __init__(self, backend: str, tmp_path: pathlib.Path):
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'server.db'}"
            self._admin = None
        else:
            admin_url = sa.engine.make_url(PG_URL)
            self.name = f"cdtest_{uuid.uuid4().hex[:12]}"
            self._admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
            self.url = admin_url.set(database=self.name).render_as_string(hide_password=False)
        self.engine = db.make_engine(self.url)
        db.init_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self._admin.dispose()


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    database = Database(request.param, tmp_path)
    seed_world(database.engine)
    yield database
    database.close()


@pytest.fixture
def server(database, tmp_path):
    proc = ServerProcess(database.url, tmp_path / "server.log").start()
    yield proc
    proc.kill()


@pytest.fixture
def console(server):
    """Log in ``username`` on a fresh device: ``console("officer_s1")``."""

    def make(username: str, device_id: str | None = None) -> Console:
        c = Console(server, username, device_id)
        r = c.login()
        assert r.status_code == 200, r.text
        return c

    return make
