"""Staleness (ANCHORS 4.9) and the field-feed layer, Qt-free: thresholds, masks, "as of" text, layer reads."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pytest

from app.domain import clock
from app.services import feed_positions as FP
from app.services.maps import layers as L
from app.services.maps import stale as ST
from app.services.maps.feeds import find_feed, read_feed_layer
from app.store import records

NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=clock.BEIJING)


def test_default_thresholds_and_saved_overrides():
    assert ST.thresholds() == {"team": 30.0, "shelter": 1440.0}
    assert ST.thresholds({"team": 10, "shelter": "x", "risk_source": 5, "bogus": 1}) == {"team": 10.0,
                                                                                         "shelter": 1440.0}
    # nonsense in the settings file never disables the marking
    assert ST.thresholds({"team": 0, "shelter": -3}) == ST.DEFAULT_MINUTES
    assert ST.thresholds({"team": True}) == ST.DEFAULT_MINUTES
    assert ST.thresholds("junk") == ST.DEFAULT_MINUTES


def test_mask_marks_only_what_is_older_than_the_threshold():
    times = [clock.iso(NOW - dt.timedelta(minutes=m)) for m in (0, 29, 31, 600)]
    times += [None, "garbage", "2026-06-01T09:00:00"]  # unknown, unreadable, naive: no claim either way
    e = ST.to_epochs(times)
    assert np.isnan(e[4:]).all()
    assert ST.stale_mask(e, NOW, 30).tolist() == [False, False, True, True, False, False, False]
    assert ST.stale_mask(e, NOW, 24 * 60).tolist() == [False] * 7
    assert ST.stale_mask(e, NOW, None).tolist() == [False] * 7


def test_mask_compares_instants_across_offsets():
    utc = (NOW - dt.timedelta(minutes=45)).astimezone(dt.UTC).isoformat()  # same instant written in UTC
    assert ST.stale_mask(ST.to_epochs([utc]), NOW, 30).tolist() == [True]
    assert ST.stale_mask(ST.to_epochs([utc]), NOW, 60).tolist() == [False]


def test_as_of_text_is_beijing_clock_time():
    assert ST.as_of_text("2026-06-01T08:05:00+08:00", NOW) == "08:05"
    assert ST.as_of_text("2026-06-01T00:05:00+00:00", NOW) == "08:05"
    assert ST.as_of_text("2026-05-30T23:10:00+08:00", NOW) == "05-30 23:10"
    assert ST.as_of_text(None, NOW) == "" and ST.as_of_text("nope", NOW) == ""


def test_team_and_shelter_layers_carry_update_times(store):
    old = "2026-06-01T08:00:00+08:00"

    def load(conn):
        records.create(conn, "team", {"name": "旧队", "type": "fire", "headcount": 5, "status": "standby",
                                      "lon": 113.27, "lat": 23.13}, author_id=None, now=old)
        records.create(conn, "shelter", {"name": "学校", "area_m2": 100.0, "capacity": 50, "status": "open",
                                         "lon": 113.28, "lat": 23.14}, author_id=None, now=clock.iso(NOW))
        records.create(conn, "incident", {"title": "火", "category": "accident", "severity": "I",
                                          "status": "reported", "lon": 113.27, "lat": 23.13,
                                          "occurred_at": old}, author_id=None, now=old)

    store.write_sync(load)
    team = store.read(lambda c: L.read_point_layer(c, "team"))
    shelter = store.read(lambda c: L.read_point_layer(c, "shelter"))
    incident = store.read(lambda c: L.read_point_layer(c, "incident"))
    assert team.updated == [old] and shelter.updated == [clock.iso(NOW)]
    assert incident.updated == []  # a layer without a threshold does not pay for the column
    assert ST.stale_mask(ST.to_epochs(team.updated), NOW, 30).tolist() == [True]
    assert ST.stale_mask(ST.to_epochs(shelter.updated), NOW, 24 * 60).tolist() == [False]


@pytest.fixture
def clean_feeds():
    yield
    for p in FP.feed_positions():
        FP.set_feed_position(p.feed_id, p.name, None, None)


def test_state_classes():
    assert [FP.state_class(s) for s in ("live", "connecting", "retrying", "stopped", "down", "", "LIVE")] == \
        ["live", "retrying", "retrying", "down", "down", "down", "live"]


def test_feed_layer_follows_the_registry_and_listeners_hear_other_threads(clean_feeds):
    heard = []
    unsubscribe = FP.subscribe(lambda: heard.append(threading.current_thread().name))
    try:
        t = threading.Thread(target=FP.set_feed_position, args=("f1", "无人机一号", 113.27, 23.13, "live"),
                             name="feed-f1")
        t.start()
        t.join()
        FP.set_feed_position("f2", "执法记录仪", 113.28, 23.14, "retrying")
        layer = read_feed_layer()
        assert layer.key == "feed" and layer.ids == ["f2", "f1"]  # sorted by name
        assert layer.style == ["retrying", "live"] and layer.label == ["执法记录仪", "无人机一号"]
        assert (layer.lon, layer.lat) == ([113.28, 113.27], [23.14, 23.13])
        assert heard[0] == "feed-f1" and len(heard) == 2
        FP.set_feed_position("f1", "无人机一号", None, None)
        assert read_feed_layer().ids == ["f2"] and find_feed("f1") is None
        assert find_feed("f2").state == "retrying"
    finally:
        unsubscribe()
    FP.set_feed_position("f2", "执法记录仪", 113.0, 23.0, "down")
    assert len(heard) == 3  # unsubscribed: no more calls
