"""Live-server fixtures: a real uvicorn subprocess on 127.0.0.1 over a real database.

SQLite always; PostgreSQL too when COMMAND_DESK_TEST_PG_URL names a server we may create
throw-away databases on (e.g. postgresql+psycopg://postgres@/postgres?host=/tmp&port=54329).
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sync_live import Console, Database, ServerProcess  # noqa: E402

PG_URL = os.environ.get("COMMAND_DESK_TEST_PG_URL")
BACKENDS = [pytest.param("sqlite", id="sqlite")] + (
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.pg)] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    database = Database(request.param, tmp_path)
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


@pytest.fixture
def consoles(server, tmp_path):
    """Real consoles without Qt (own cache, sync engine): ``consoles("officer_s1")``.

    The fault suites define their own, sharing one server per module.
    """
    from console_harness import LiveConsole

    made = []

    def make(username, transport=None):
        c = LiveConsole(server, tmp_path, username, transport)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
