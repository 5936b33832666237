"""Fixtures for the video tests: one media loop per session, a LAN relay, a small real cache."""

from __future__ import annotations

import pytest

from app.domain import clock
from app.services.changes import ChangeBus
from app.services.context import AppContext, SignedInUser
from app.store import records
from app.store.db import Store
from app.store.device import ensure_device
from app.video.engine import MediaEngine, pin_host_addresses
from app.video.signalling import LanRelay

OFFICER = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zhangsan", name="张三",
                       role="officer")


@pytest.fixture(scope="session")
def engine():
    pin_host_addresses(["127.0.0.1"])  # aioice skips loopback when gathering (MACHINE_NOTES)
    eng = MediaEngine("media-test")
    yield eng
    eng.close()


@pytest.fixture
def relay(engine):
    r = LanRelay("127.0.0.1", 0)
    engine.run(r.start())
    yield r
    engine.run(r.stop())


@pytest.fixture
def vctx(tmp_path):
    store = Store(tmp_path / "cache.db")
    device = store.write_sync(ensure_device)
    now = clock.now_iso()
    inc = store.write_sync(lambda conn: records.create(conn, "incident", {
        "title": "越秀区东风路内涝", "category": "natural", "severity": "II", "status": "responding",
        "occurred_at": now, "lon": 113.27, "lat": 23.13}, author_id=OFFICER.id, now=now))
    context = AppContext(store=store, bus=ChangeBus(), device_id=device, user=OFFICER)
    context.incident_id = inc  # type: ignore[attr-defined]
    yield context
    store.close()
