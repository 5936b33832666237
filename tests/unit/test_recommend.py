"""Recommendation: free, fitting, near teams first; stocked warehouses; shelters with room; experts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_stock_seed import seed

from app.services import dispatching as dsp
from app.services import recommend as rec
from app.services.stock import StockLedger
from app.store import records
from app.store.schema import table_for


def test_teams_ranked_by_fit_and_distance_and_busy_ones_left_out(store):
    s = seed(store)
    r = store.read(lambda c: rec.recommend(c, incident_id=s.incident))
    names = [c.name for c in r.teams]
    assert names == ["防汛抢险队", "越秀区消防救援队"]  # the militia unit is unavailable
    assert r.teams[0].extra["fit"] == 0 and r.teams[0].distance_m < 1000
    assert r.teams[0].eta_min is not None
    dsp.dispatch_team(s.ctx, s.flood_team, s.incident)
    r2 = store.read(lambda c: rec.recommend(c, incident_id=s.incident))
    assert [c.name for c in r2.teams] == ["越秀区消防救援队"]


def test_warehouses_holding_the_items_asked_for_come_first(store):
    s = seed(store)
    ledger = StockLedger(s.ctx)
    ledger.move(s.wh_a, s.tents, 20, "inbound")  # the farther warehouse holds tents
    ledger.move(s.wh_b, s.water, 80, "inbound")
    r = store.read(lambda c: rec.recommend(c, incident_id=s.incident, item_ids=[s.tents]))
    assert [c.id for c in r.warehouses] == [s.wh_a]
    r = store.read(lambda c: rec.recommend(c, incident_id=s.incident, item_ids=[s.tents, s.water]))
    assert {c.id for c in r.warehouses} == {s.wh_a, s.wh_b}
    r = store.read(lambda c: rec.recommend(c, incident_id=s.incident))
    assert r.warehouses[0].id == s.wh_b  # nothing asked for: nearest with stock


def test_shelters_with_spare_capacity_and_experts_by_field(store):
    s = seed(store)
    r = store.read(lambda c: rec.recommend(c, incident_id=s.incident))
    assert [c.id for c in r.shelters] == [s.shelter] and r.shelters[0].extra["spare"] == 1000
    assert len(r.experts) == 5 and all(c.extra["category"] == "natural_disaster" for c in r.experts)
    dsp.set_shelter(s.ctx, s.shelter, open_=True)
    dsp.set_shelter(s.ctx, s.shelter, occupancy=1000)
    r = store.read(lambda c: rec.recommend(c, incident_id=s.incident))
    assert r.shelters == []


def test_choosing_an_override_needs_a_reason_and_is_logged(store):
    s = seed(store)
    r = store.read(lambda c: rec.recommend(c, incident_id=s.incident))
    second = r.teams[1]
    with pytest.raises(ValueError):
        rec.choose(s.ctx, s.incident, second, rank=1, reason=" ")
    did = rec.choose(s.ctx, s.incident, second, rank=1, reason="防汛队在途中被占用")
    assert store.read(records.get, "dispatch", did)["team_id"] == s.fire_team
    t = table_for("duty_log_entry")
    entry = store.read(lambda c: c.execute(sa.select(t)).mappings().one())
    assert "推荐第 2 位" in entry["body"] and "防汛队在途中被占用" in entry["body"]
    assert entry["details"]["reason"] == "推荐第 2 位；理由：防汛队在途中被占用"
    rec.choose(s.ctx, s.incident, r.experts[0], rank=0)
    assert store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t)).scalar()) == 2


def test_a_team_whose_status_is_old_news_says_so_and_ranks_lower(store):
    import datetime as dt

    from test_stock_seed import NOW

    s = seed(store)
    later = dt.datetime.fromisoformat(NOW) + dt.timedelta(hours=2)
    t = table_for("team")
    store.write_sync(lambda c: c.execute(t.update().where(t.c.id == s.fire_team).values(
        updated_at=later.isoformat())))  # the fire team reported its status just now
    inc = store.read(records.get, "incident", s.incident)
    fresh = store.read(lambda c: rec.rank_teams(c, inc["lon"], inc["lat"], "natural",
                                                now=dt.datetime.fromisoformat(NOW)))
    old = store.read(lambda c: rec.rank_teams(c, inc["lon"], inc["lat"], "natural", now=later))
    by_name = {c.name: c for c in old}
    assert by_name["防汛抢险队"].extra["stale"] and "过时" in by_name["防汛抢险队"].detail("zh")
    assert not by_name["越秀区消防救援队"].extra["stale"]
    flood_then = next(c for c in fresh if c.name == "防汛抢险队")
    assert by_name["防汛抢险队"].score == pytest.approx(flood_then.score + rec.STALE_PENALTY_KM)
