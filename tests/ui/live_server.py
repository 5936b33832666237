"""A real server process for UI tests, built from the sync tests' own pieces (tests/sync).

tests/sync/conftest.py's ``server`` fixture is not visible from tests/ui, so this makes
the same thing: a fresh SQLite database seeded with the sync tests' small district and
accounts (sync_world), served by ``python -m app.server serve`` on a free port (sync_live).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SYNC_TESTS = Path(__file__).resolve().parents[1] / "sync"


def _sync_helpers():
    if str(SYNC_TESTS) not in sys.path:
        sys.path.append(str(SYNC_TESTS))
    import sync_live
    import sync_world

    return sync_live, sync_world


def password(username: str) -> str:
    return _sync_helpers()[1].password(username)


@pytest.fixture
def live_server(tmp_path):
    from app.server import db

    sync_live, sync_world = _sync_helpers()
    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = db.make_engine(url)
    db.init_schema(engine)
    sync_world.seed_world(engine)
    engine.dispose()
    proc = sync_live.ServerProcess(url, tmp_path / "server.log").start()
    yield proc
    proc.kill()
