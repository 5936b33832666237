"""签发 across consoles over a live server: an officer's report goes up at once, a leader elsewhere signs it.

Real server subprocess, real consoles (own SQLite caches, services, sync engine). The server
refuses a sign-off pushed by anyone but a leader (or administrator) signing in their own name.
"""

from __future__ import annotations

import pytest

import sync_world as W
from app.services import reporting as R
from app.services.report_deadlines import reports_due
from app.services.sync_queries import list_outbox
from console_harness import NOW
from sync_live import new_id


def _incident(**over):
    data = {"title": "11·23 北京街燃气泄漏", "category": "accident", "severity": "II", "status": "responding",
            "occurred_at": NOW, "org_unit_id": W.STREET1, "summary": "1人受伤"}
    data.update(over)
    return data


def test_officer_pushes_a_leader_console_pulls_and_signs_the_officer_sees_it_signed(consoles):
    officer, leader = consoles("officer_s1"), consoles("leader")
    inc = officer.create("incident", _incident())
    rid = R.compose_report(officer.ctx, inc, "first", "首报：北京街燃气泄漏，1人受伤。")
    officer.sync()
    assert officer.store.read(R.load_report, rid).awaiting and not officer.store.read(R.load_report, rid).pending

    leader.sync()
    (waiting,) = leader.store.read(R.awaiting_signoff)
    assert waiting.id == rid and waiting.author_name and waiting.incident_title == "11·23 北京街燃气泄漏"
    R.sign_report(leader.ctx, rid)
    leader.sync()
    assert leader.store.read(list_outbox, ("rejected",)) == []
    assert leader.store.read(R.count_awaiting) == 0

    officer.sync()
    row = officer.store.read(R.load_report, rid)
    assert row.status == R.APPROVED and row.signed_by == W.user_id("leader")
    assert row.signed_by_name == leader.ctx.user.name  # the officer's list shows who signed (已签发)
    assert officer.store.read(R.count_awaiting) == 0
    (due,) = officer.store.read(reports_due)
    assert (due.incident_id, due.kind) == (inc, "followup")


def test_a_report_returned_on_one_console_is_returned_on_the_other(consoles):
    officer, leader = consoles("officer_s1"), consoles("leader")
    inc = officer.create("incident", _incident())
    rid = R.compose_report(officer.ctx, inc, "first", "首报初稿")
    officer.sync()
    leader.sync()
    R.sign_report(leader.ctx, rid, "returned", "伤亡数字请核实")
    leader.sync()
    officer.sync()
    row = officer.store.read(R.load_report, rid)
    assert row.returned and row.comment == "伤亡数字请核实" and not row.counted
    assert officer.store.read(reports_due)[0].kind == "first"


@pytest.mark.parametrize("who, signer, outcome", [
    ("officer_s1", "officer_s1", "rejected"),  # an officer may not sign
    ("viewer", "viewer", "rejected"),  # nor the wall
    ("leader", "officer_s1", "rejected"),  # a leader signs in their own name only
    ("leader", "leader", "applied"),
    ("admin", "admin", "applied"),
])
def test_the_server_accepts_a_signoff_only_from_a_leader_in_their_own_name(console, who, signer, outcome):
    author = console("officer_s1")
    iid, rid = new_id(), new_id()
    assert author.push_one("incident", iid, "create", _incident())["outcome"] == "applied"
    report = {"incident_id": iid, "kind": "first", "body": "首报", "submitted_at": NOW, "org_unit_id": W.STREET1}
    assert author.push_one("incident_report", rid, "append", report)["outcome"] == "applied"

    c = author if who == "officer_s1" else console(who)
    sid = new_id()
    m = c.mutation("report_signoff", sid, "append", {
        "report_id": rid, "incident_id": iid, "signed_by": W.user_id(signer), "signed_at": NOW,
        "decision": "approved", "org_unit_id": W.STREET1})
    if who == "viewer":  # the wall's token may not push at all
        r = c.push_raw([m])
        assert r.status_code == 403 and "read_only" in r.text
    else:
        res = c.push(m)["results"][0]
        assert res["outcome"] == outcome, res
        if outcome == "rejected":
            assert res["code"] == "forbidden"
    rows, _ = author.pull_all()
    assert (("report_signoff", sid) in rows) == (outcome == "applied")
    if outcome == "applied":
        assert rows[("report_signoff", sid)]["data"]["signed_by"] == W.user_id(signer)
