import pytest

from app.store.db import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "cache.db")
    yield s
    s.close()
