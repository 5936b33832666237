"""Fixtures for the main-window tests: a real temp cache, an AppContext, settings, the window.

tests/conftest.py has already set QT_QPA_PLATFORM=offscreen.
"""

from __future__ import annotations

import pytest
from district_fixture import district_records  # tests/ui is on sys.path (rootdir conftest import mode)

from app.services.changes import ChangeBus
from app.services.context import AppContext, SignedInUser
from app.store import records
from app.store.db import Store
from app.store.device import ensure_device

OFFICER = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zhangsan", name="张三",
                       role="officer")


@pytest.fixture(scope="session")
def district_cache(tmp_path_factory):
    """One seeded cache file per session; each test gets a copy (seeding the demo takes seconds)."""
    path = tmp_path_factory.mktemp("district") / "cache.db"
    store = Store(path)
    store.write_sync(lambda conn: records.bulk_load(conn, district_records()))
    store.write_sync(ensure_device)
    store.close()
    return path


@pytest.fixture
def ctx(tmp_path, district_cache):
    copy = tmp_path / "cache.db"
    copy.write_bytes(district_cache.read_bytes())
    store = Store(copy)
    context = AppContext(store=store, bus=ChangeBus(), device_id=store.write_sync(ensure_device),
                         user=OFFICER)
    yield context
    store.close()


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def settings(qapp, home):
    from app.ui import app_setup

    return app_setup.prepare_application(qapp, lang=None, theme=None, home=home)


@pytest.fixture(autouse=True)
def _chinese_after_each_test():
    # The language is process-wide (tr() reads it); a test that switches must not leak English.
    yield
    from app.ui import i18n

    i18n.set_language("zh")


@pytest.fixture
def make_window(qtbot, ctx, settings):
    from app.ui.main_window import MainWindow

    def make(briefing: bool = False, context=None, window_settings=None):
        window = MainWindow(context or ctx, settings=window_settings or settings, briefing=briefing)
        qtbot.addWidget(window)
        return window
    return make
