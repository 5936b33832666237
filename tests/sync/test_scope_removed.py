"""Records leaving a console's scope (SYNC_RESEARCH.md §3.9): the pull's ``scope_removed`` marker.

Real server (uvicorn subprocess), real console caches and sync engines. A leader moves
incidents between streets; the street officers' consoles drop what left their street, keep
their own unconfirmed edits visible (queued, then listed as rejected with their content), and
take moved-back records in again. When the officer's own unit changes, the console resyncs
from 0 and ends up holding exactly the new street's rows.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa

import sync_world as world
from app.store.device import ensure_device
from app.store.search import search
from faults import pull_only
from sync_live import incident, new_id


def _ids(console, entity: str = "incident") -> set[str]:
    return console.store.read(lambda c: {r[0] for r in c.exec_driver_sql(
        f"SELECT id FROM {entity} WHERE NOT deleted")})  # noqa: S608 - fixed entity names only


def _hits(console, text: str) -> set[str]:
    return {h.id for h in console.store.read(search, text)}


def test_a_record_moved_to_another_street_leaves_the_old_streets_console_and_comes_back(consoles):
    s1, s2, leader = consoles("officer_s1"), consoles("officer_s2"), consoles("leader")
    moved = s1.create("incident", incident(world.STREET1, title="北京街塌方甲"))
    stays = s1.create("incident", incident(world.STREET1, title="北京街积水乙"))
    s1.sync()
    s2.sync()
    leader.sync()
    assert {moved, stays} <= _ids(s1)
    assert moved not in _ids(s2)

    leader.patch("incident", moved, {"org_unit_id": world.STREET2})
    leader.sync()
    s1.sync()
    s2.sync()

    assert moved not in _ids(s1), "the street-1 console still holds a record of street 2"
    assert stays in _ids(s1)
    assert moved not in _hits(s1, "塌方甲"), "search still finds the record that left"
    assert stays in _hits(s1, "积水乙")
    assert s2.get("incident", moved)["org_unit_id"] == world.STREET2
    assert moved in _hits(s2, "塌方甲")
    assert s1.waiting() == 0 and all(m["status"] == "applied" for m in s1.outbox())

    # Back to street 1: the record returns at its newer revision, found by search again.
    leader.patch("incident", moved, {"org_unit_id": world.STREET1, "summary": "移交回北京街"})
    leader.sync()
    s1.sync()
    s2.sync()
    back = s1.get("incident", moved)
    assert back is not None and back["summary"] == "移交回北京街"
    assert moved in _hits(s1, "塌方甲")
    assert moved not in _ids(s2)


def test_own_unconfirmed_edit_of_a_record_that_left_is_kept_then_listed_as_rejected(consoles):
    s1, leader = consoles("officer_s1b"), consoles("leader")
    rid = s1.create("incident", incident(world.STREET1, title="北京街燃气泄漏"))
    s1.sync()
    leader.sync()
    leader.patch("incident", rid, {"org_unit_id": world.STREET2})
    leader.sync()

    s1.patch("incident", rid, {"summary": "现场已疏散 40 人"})  # typed offline, not yet sent
    asyncio.run(pull_only(s1))  # the marker arrives while the edit is still queued
    kept = s1.get("incident", rid)
    assert kept is not None and kept["summary"] == "现场已疏散 40 人", "a queued edit vanished with its record"
    assert s1.waiting() == 1

    s1.sync()  # the edit goes up and is refused: the record is no longer in this officer's scope
    last = s1.outbox()[-1]
    assert last["entity_id"] == rid and last["status"] == "rejected"
    assert last["last_error"].startswith("out_of_scope")
    assert last["payload"] == {"summary": "现场已疏散 40 人"}  # the content stays, for "resubmit"
    assert rid not in _ids(s1), "the record stayed after its queued edit settled"
    assert rid not in _hits(s1, "燃气泄漏")
    assert s1.store.read(lambda c: c.exec_driver_sql(
        "SELECT count(*) FROM outbox WHERE status = 'rejected'").scalar()) == 1
    leader.sync()
    assert leader.get("incident", rid)["summary"] != "现场已疏散 40 人"  # nothing applied behind anyone's back


def test_pull_marks_records_that_left_the_callers_scope_and_only_those(console):
    s1, leader, admin = console("officer_s1"), console("leader"), console("admin")
    rid = new_id()
    created = leader.push_one("incident", rid, "create", incident(world.STREET1, title="标记测试"))
    assert created["outcome"] == "applied", created
    _rows, cursor = s1.pull_all()
    assert ("incident", rid) in _rows
    patch = leader.push_one("incident", rid, "patch", {"org_unit_id": world.STREET2})
    assert patch["outcome"] == "applied", patch

    page = s1.pull_page(cursor).json()
    markers = [c for c in page["changes"] if c.get("op") == "scope_removed"]
    assert markers == [{"op": "scope_removed", "entity": "incident", "id": rid, "rev": patch["rev"]}]
    assert isinstance(page["scope_key"], str)
    # The leader's district still holds it (a plain change, no marker); the administrator sees all.
    for other in (leader, admin):
        got = other.pull_page(cursor).json()
        assert not [c for c in got["changes"] if c.get("op")]
        assert [c["id"] for c in got["changes"] if c["entity"] == "incident"] == [rid]
    # A pull from 0 is a full resync: no markers there, the record is simply absent.
    assert not [c for c in s1.pull_page(0).json()["changes"] if c.get("op") or c["id"] == rid]


def test_officer_moved_to_another_street_resyncs_to_exactly_the_new_streets_rows(consoles, database):
    s1, s2 = consoles("officer_s1"), consoles("officer_s2")
    mine = s1.create("incident", incident(world.STREET1, title="北京街旧案"))
    theirs = s2.create("incident", incident(world.STREET2, title="人民街新案"))
    s1.sync()
    s2.sync()
    assert mine in _ids(s1) and theirs not in _ids(s1)
    assert world.WAREHOUSE1 in _ids(s1, "warehouse")

    s1.patch("incident", mine, {"summary": "交接前未上传的补充"})  # queued when the transfer happens
    with database.engine.begin() as conn:  # the administrator transfers the officer to street 2
        conn.execute(sa.text("UPDATE account SET org_unit_id = :u WHERE username = 'officer_s1'"),
                     {"u": world.STREET2})
    s1.sync()
    s1.sync()  # the refused edit settles; nothing else moves

    assert theirs in _ids(s1), "the new street's records did not come in"
    assert mine not in _ids(s1), "the old street's record stayed after the transfer"
    assert world.WAREHOUSE2 in _ids(s1, "warehouse") and world.WAREHOUSE1 not in _ids(s1, "warehouse")
    assert theirs in _hits(s1, "人民街新案")
    rejected = [m for m in s1.outbox() if m["entity_id"] == mine and m["op"] == "patch"]
    assert [m["status"] for m in rejected] == ["rejected"]
    assert rejected[0]["payload"] == {"summary": "交接前未上传的补充"}
    assert s1.waiting() == 0


def test_a_page_with_an_unknown_op_is_refused_whole_by_both_parsers(tmp_path):
    from app.store import pull as pl
    from app.store.db import Store
    from app.store.device import read_state

    rid = new_id()
    with pytest.raises(pl.BadPage, match="unknown change op"):
        pl.check_page({"changes": [{"op": "purge", "entity": "incident", "id": rid, "rev": 5}],
                       "next_cursor": 5, "has_more": False}, 0)
    # A repeated key: Python keeps the last copy ("scope_removed"), SQLite the first ("purge").
    raw = ('{"changes":[{"op":"purge","op":"scope_removed","entity":"incident","id":"' + rid + '","rev":5}],'
           '"next_cursor":5,"has_more":false}').encode()
    page = json.loads(raw)
    changes = pl.check_page(page, 0)  # Python's reading is a valid marker
    with Store(tmp_path / "c.db") as store:
        store.write_sync(ensure_device)
        with pytest.raises(pl.BadPage, match="unknown change op"):
            store.write_sync(lambda c: pl.stage_page(c, changes, 5, 5, raw, 0))
        assert store.read(pl.staged_changes) == []
        assert store.read(read_state)["staging_cursor"] in (0, None)


def test_moved_out_and_back_between_two_syncs_the_record_stays_at_its_newest_state(consoles):
    s1, leader = consoles("officer_s1"), consoles("leader")
    rid = s1.create("incident", incident(world.STREET1, title="北京街往返移交"))
    s1.sync()
    leader.sync()
    leader.patch("incident", rid, {"org_unit_id": world.STREET2})
    leader.sync()
    leader.patch("incident", rid, {"org_unit_id": world.STREET1, "summary": "又交回北京街"})
    leader.sync()
    s1.sync()  # one pull holds the marker and, at a later revision, the row itself
    got = s1.get("incident", rid)
    assert got is not None and got["summary"] == "又交回北京街"
    assert rid in _hits(s1, "往返移交")
