"""Quarantine (SYNC_RESEARCH.md §3.13): officer A's offline changes pushed under officer B's token, where
A never signed in on that console, are held for a shift leader instead of refused, against a real
server (uvicorn on 127.0.0.1) and real console caches.

A leader's console lists them; approving applies the change as A (every console gets the record
once), declining ends it ``rejected`` / ``quarantine_declined`` on the officer's console. A replay
of the same mutation always answers what the ledger says now.
"""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from app.server.tables import audit_log, processed_mutation, quarantine
from app.services import quarantine as Q
from app.services.context import SignedInUser
from app.services.signin import sign_in
from app.services.sync_panel_queries import list_rejected
from app.store import outbox
from app.sync import signing
from console_harness import NOW, LiveConsole
from faults import module_server, server_records, wait_until
from sync_world import STREET1, password, user_id

# Two officers sign in on one console within a second here, which the per-user sign-in rate limit
# (app/server/ratelimit.py) would slow to a crawl; limits are not what these tests are about.
database, server = module_server("quarantine", env={"COMMAND_DESK_RATE_LIMITS": "off"})


@pytest.fixture(autouse=True)
def quick_reask(monkeypatch):
    """Consoles ask about held changes again after 1 s instead of 25 (rounds here are seconds apart)."""
    monkeypatch.setattr(outbox, "REASK_AFTER_S", 1.0)


def synced_until(c, condition, what: str) -> None:
    """Run sync rounds until ``condition()`` holds (a held change is asked about once REASK_AFTER_S passed)."""
    def round_then_check():
        c.sync()
        return condition()
    wait_until(round_then_check, timeout=30, interval=0.3, what=what)


@pytest.fixture
def console(server, tmp_path):
    made = []

    def make(username):
        c = LiveConsole(server, tmp_path / f"{username}-{len(made)}", username)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def written_offline_by_a_then_pushed_by_b(console, tag: str, n: int = 2):
    """Console of officer_s1b on which officer_s1 (A) signed in offline only, wrote ``n`` entries, and B
    signed in again and synced. Returns the console and A's mutation ids."""
    c = console("officer_s1b")
    c.ctx.user = SignedInUser(id=user_id("officer_s1"), username="officer_s1", name="officer_s1", role="officer",
                              org_unit_id=STREET1, offline=True)  # a verifier the server never saw on this device
    for i in range(n):
        c.create("duty_log_entry", {"kind": "note", "body": f"{tag}-a{i}", "occurred_at": NOW,
                                    "org_unit_id": STREET1})
    held_ids = [m["mutation_id"] for m in c.outbox()]
    c.ctx.user = sign_in(c.ctx, "officer_s1b", password("officer_s1b"))  # the next shift
    c.engine.use_tokens(c.ctx.pending_tokens)
    c.create("duty_log_entry", {"kind": "note", "body": f"{tag}-b", "occurred_at": NOW, "org_unit_id": STREET1})
    c.sync()
    return c, held_ids


def statuses(c) -> dict[str, str]:
    return {m["mutation_id"]: m["status"] for m in c.outbox()}


def local_count(c, body: str) -> int:
    return c.count("duty_log_entry", sa.text("body = :b").bindparams(b=body))


def ledger_result(database, mutation_id: str) -> dict:
    with database.engine.connect() as conn:
        return conn.execute(sa.select(processed_mutation.c.result)
                            .where(processed_mutation.c.mutation_id == mutation_id)).scalar()


def replay(c, mutation_id: str) -> dict:
    """Send one queued mutation again, signed, as the console would; the server's answer for it."""
    row = next(m for m in c.outbox() if m["mutation_id"] == mutation_id)
    body = signing.sign_push_body({"device_id": c.ctx.device_id, "schema_version": 1,
                                   "mutations": [outbox.to_wire(row)]})
    r = requests.post(f"{c.server.base}/api/v1/sync/push", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {c.engine.transport.access_token}"})
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    return result


def test_a_change_by_an_officer_never_signed_in_here_is_held_not_refused_and_blocks_nothing(console, database):
    """Pass: A's two changes end ``quarantined`` (author_unverified) on the console and in the ledger,
    nothing of them is written on the server, B's later change is applied in order, and asking again
    (a replay, and the next round's re-ask) answers quarantined again."""
    c, held_ids = written_offline_by_a_then_pushed_by_b(console, "q-held")
    s = statuses(c)
    assert [s[i] for i in held_ids] == ["quarantined", "quarantined"]
    assert list(s.values())[-1] == "applied"
    assert server_records(database, "duty_log_entry", lambda d: str(d.get("body", "")).startswith("q-held-a")) == []
    assert len(server_records(database, "duty_log_entry", lambda d: d.get("body") == "q-held-b")) == 1
    row = next(m for m in c.outbox() if m["mutation_id"] == held_ids[0])
    assert row["result"]["code"] == "author_unverified" and "待带班领导审核" in row["last_error"]
    assert ledger_result(database, held_ids[0])["outcome"] == "quarantined"
    assert replay(c, held_ids[0]) == ledger_result(database, held_ids[0])
    attempts = {m["mutation_id"]: m["attempts"] for m in c.outbox()}
    c.sync()  # answered just now: this round does not ask again
    assert {m["mutation_id"]: m["attempts"] for m in c.outbox()} == attempts
    synced_until(c, lambda: all(m["attempts"] > attempts[m["mutation_id"]] for m in c.outbox()
                                if m["mutation_id"] in held_ids), "a later round asks about the held changes")
    after = {m["mutation_id"]: m for m in c.outbox()}
    assert [after[i]["status"] for i in held_ids] == ["quarantined", "quarantined"]
    assert [after[i]["attempts"] for i in held_ids] == [attempts[i] + 1 for i in held_ids]  # once each


def test_a_leader_approves_one_and_declines_the_other_and_every_console_learns_it(console, database):
    """Pass: the leader's console lists both held changes with their author and pusher; approving applies
    the first as A (created_by A) and it appears once on the officer's, the leader's and a third console;
    declining ends the second rejected/quarantine_declined on the officer's console (in its rejected list,
    with the reason), absent on the server; replays answer the ledger's verdicts; audit names the leader."""
    c, (first, second) = written_offline_by_a_then_pushed_by_b(console, "q-decide")
    lead = console("leader")
    other = console("officer_s1")
    items = {i.mutation_id: i for i in Q.held(lead.ctx)}
    assert {first, second} <= set(items)
    assert items[first].author_id == user_id("officer_s1") and items[first].pushed_by == user_id("officer_s1b")
    assert items[first].code == "author_unverified" and items[first].payload["body"] == "q-decide-a0"
    assert Q.can_decide(lead.ctx) and not Q.can_decide(c.ctx)
    with pytest.raises(Q.QuarantineUnavailable):
        Q.held(c.ctx)  # an officer may not list them

    approved = Q.decide(lead.ctx, first, True)
    declined = Q.decide(lead.ctx, second, False)
    assert approved["outcome"] == "applied" and isinstance(approved["rev"], int)
    assert (declined["outcome"], declined["code"]) == ("rejected", "quarantine_declined")
    assert {first, second}.isdisjoint(i.mutation_id for i in Q.held(lead.ctx))

    synced_until(c, lambda: statuses(c)[first] != "quarantined" and statuses(c)[second] != "quarantined",
                 "the officer's console learns both verdicts")
    for x in (lead, other):
        x.sync()
    assert [local_count(x, "q-decide-a0") for x in (c, lead, other)] == [1, 1, 1]
    [rec] = server_records(database, "duty_log_entry", lambda d: d.get("body") == "q-decide-a0")
    assert rec.created_by == user_id("officer_s1")
    assert server_records(database, "duty_log_entry", lambda d: d.get("body") == "q-decide-a1") == []
    assert [local_count(x, "q-decide-a1") for x in (lead, other)] == [0, 0]

    s = statuses(c)
    assert (s[first], s[second]) == ("applied", "rejected")
    [refused] = [r for r in c.store.read(list_rejected) if r.mutation_id == second]
    assert refused.code == "quarantine_declined"
    assert "带班领导未批准" in refused.reason_zh and "declined" in refused.reason_en

    assert replay(c, first) == ledger_result(database, first) == approved
    assert replay(c, second) == ledger_result(database, second) == declined
    with database.engine.connect() as conn:
        acts = conn.execute(sa.select(audit_log.c.action, audit_log.c.actor_id)
                            .where(audit_log.c.mutation_id.in_([first, second]),
                                   audit_log.c.action.like("quarantine:%"))).all()
        rows = conn.execute(sa.select(quarantine.c.mutation_id, quarantine.c.status, quarantine.c.decided_by)
                            .where(quarantine.c.mutation_id.in_([first, second]))).all()
    assert sorted(acts) == [("quarantine:approve", user_id("leader")), ("quarantine:decline", user_id("leader"))]
    assert {(r.mutation_id, r.status, r.decided_by) for r in rows} == {
        (first, "approved", user_id("leader")), (second, "declined", user_id("leader"))}
    with pytest.raises(Q.QuarantineUnavailable):
        Q.decide(lead.ctx, first, False)  # decided once, for good


def test_a_change_by_another_officer_written_outside_the_offline_window_is_held(server, database):
    """Pass: even from an officer who signed in on this device, a change whose client_time lies days
    outside the device's offline window is quarantined (client_time_outside_window), not applied."""
    from sync_live import Console, new_id

    w = Console(server, "officer_s1")
    assert w.login().status_code == 200  # officer_s1 has signed in on this device
    b = Console(server, "officer_s1b", w.device_id)
    assert b.login().status_code == 200
    b.seq = 0
    old = b.mutation("duty_log_entry", new_id(), "append", {"kind": "note", "body": "q-old", "occurred_at": NOW,
                                                            "org_unit_id": STREET1})
    old["author_id"], old["client_time"] = user_id("officer_s1"), "2026-10-01T08:00:00+08:00"
    fresh = b.mutation("duty_log_entry", new_id(), "append", {"kind": "note", "body": "q-fresh", "occurred_at": NOW,
                                                              "org_unit_id": STREET1})
    fresh["author_id"] = user_id("officer_s1")
    first, second = b.push(old, fresh)["results"]
    assert (first["outcome"], first["code"]) == ("quarantined", "client_time_outside_window")
    assert second["outcome"] == "applied"
    [rec] = server_records(database, "duty_log_entry", lambda d: d.get("body") == "q-fresh")
    assert rec.created_by == user_id("officer_s1")
    assert server_records(database, "duty_log_entry", lambda d: d.get("body") == "q-old") == []
