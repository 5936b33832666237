"""The sync panel's one-click actions, end to end through a real server."""

from __future__ import annotations

import pytest

from app.services import sync_queries as Q
from console_harness import NOW
from sync_world import STREET1, STREET2


def incident(**over):
    data = {"title": "11·23 北京街水浸", "category": "natural", "severity": "IV", "status": "reported",
            "occurred_at": NOW, "org_unit_id": STREET1}
    data.update(over)
    return data


def test_leader_restores_the_overwritten_value_with_one_click_and_everyone_sees_it(consoles):
    a, b, leader = consoles("officer_s1"), consoles("officer_s1b"), consoles("leader")
    inc = a.create("incident", incident())
    a.sync()
    b.sync()
    a.patch("incident", inc, {"summary": "积水30厘米"})
    b.patch("incident", inc, {"summary": "积水50厘米"})
    a.sync()
    b.sync()
    leader.sync()
    conflicts = leader.store.read(Q.list_conflicts)
    assert [(c.field, c.winning_value, c.losing_value, c.record_title) for c in conflicts] == [
        ("summary", "积水50厘米", "积水30厘米", "11·23 北京街水浸")]
    with pytest.raises(Q.NotAllowed):
        Q.restore_losing_value(a.ctx, conflicts[0].id)  # an officer may not
    Q.restore_losing_value(leader.ctx, conflicts[0].id)
    leader.sync()
    a.sync()
    b.sync()
    for c in (a, b, leader):
        assert c.get("incident", inc)["summary"] == "积水30厘米"
        assert c.store.read(Q.list_conflicts) == []
        assert c.engine.status.conflicts == 0


def test_rejected_change_is_listed_with_its_reason_and_resubmitted_corrected(consoles):
    a, d = consoles("officer_s1"), consoles("officer_d")
    wrong = a.create("incident", incident(org_unit_id=STREET2, title="11·23 人民街火警"))  # not our street
    a.sync()
    rejected = a.store.read(Q.list_outbox, ("rejected",))
    assert len(rejected) == 1 and rejected[0].entity_id == wrong
    assert "out_of_scope" in rejected[0].last_error
    assert a.engine.status.rejected == 1
    assert wrong in a.store.read(Q.pending_ids, "incident") or a.get("incident", wrong)["server_rev"] is None
    Q.resubmit(a.ctx, rejected[0].mutation_id, dict(rejected_payload(a, rejected[0]), org_unit_id=STREET1))
    a.sync()
    assert a.engine.status.rejected == 0
    assert a.store.read(Q.list_outbox, ("rejected",)) == []
    d.sync()
    assert d.get("incident", wrong)["title"] == "11·23 人民街火警"
    assert d.get("incident", wrong)["org_unit_id"] == STREET1


def rejected_payload(console, change):
    return next(m["payload"] for m in console.outbox() if m["mutation_id"] == change.mutation_id)
