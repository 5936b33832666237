"""Operator moves between org units (``command-desk-server org …``) and the purge of scope_move rows.

Real server (uvicorn subprocess), the real CLI run as a separate process against the same
database while the server runs, and real consoles (own cache, sync engine). After ``org
move-record`` the old street's console drops the record on its next (incremental) pull and the
new street's console gets it; after ``org move-user`` the user's console resyncs into its new
unit; ``purge-tombstones`` removes scope_move rows at or below the horizon, and a console behind
the horizon resyncs from 0 (410) with its queue intact.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import sqlalchemy as sa

import sync_world as world
from app.server.audit import verify
from app.server.db import run_sql
from app.server.tables import scope_move
from faults import pull_only
from sync_live import ROOT, Console, incident, new_id


def cli(database, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "app.server", *args, "--database-url", database.url],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _ids(console, entity: str = "incident") -> set[str]:
    return console.store.read(lambda c: {r[0] for r in c.exec_driver_sql(
        f"SELECT id FROM {entity} WHERE NOT deleted")})  # noqa: S608 - fixed entity names only


def _scalar(database, sql: str, *params):
    with database.engine.connect() as conn:
        return run_sql(conn, sql, params).scalar()  # "?" placeholders on either database


def _moves(database) -> list[tuple]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(scope_move).order_by(scope_move.c.rev))]


def test_move_record_drops_it_from_the_old_street_and_brings_it_to_the_new(server, database, consoles):
    s1, s2 = consoles("officer_s1"), consoles("officer_s2")
    moved = s1.create("incident", incident(world.STREET1, title="北京街塌方甲"))
    stays = s1.create("incident", incident(world.STREET1, title="北京街积水乙"))
    s1.sync()
    s2.sync()
    assert {moved, stays} <= _ids(s1) and moved not in _ids(s2)
    wire = Console(server, "officer_s1")  # a bare client, to see the marker itself
    assert wire.login().status_code == 200
    _rows, cursor = wire.pull_all()

    done = cli(database, "org", "move-record", "incident", moved, "--to", world.STREET2)
    assert done.returncode == 0, done.stderr
    rev = _scalar(database, "SELECT server_rev FROM record WHERE entity = 'incident' AND id = ?", moved)
    assert f"at rev {rev}" in done.stdout
    assert _moves(database) == [("incident", moved, rev, world.STREET1)], "one scope_move row, same revision"
    assert _scalar(database, "SELECT scope_id FROM record WHERE id = ?", moved) == world.STREET2
    with database.engine.connect() as conn:
        assert verify(conn) is None, "the move's audit line breaks the chain"

    page = wire.pull_page(cursor).json()
    assert {"op": "scope_removed", "entity": "incident", "id": moved, "rev": rev} in page["changes"]

    s1.sync()
    s2.sync()
    assert moved not in _ids(s1), "the old street's console still holds the moved record"
    assert stays in _ids(s1)
    assert s2.get("incident", moved)["org_unit_id"] == world.STREET2
    assert s2.get("incident", moved)["title"] == "北京街塌方甲"

    # The new street edits it: an ordinary patch on top of the operator's revision, no conflict.
    s2.patch("incident", moved, {"summary": "人民街道已接手"})
    s2.sync()
    assert all(m["status"] == "applied" for m in s2.outbox())
    assert _scalar(database, "SELECT count(*) FROM record WHERE entity = 'sync_conflict'") == 0


def test_move_record_refuses_what_it_cannot_move_and_writes_nothing(server, database, consoles):
    s1 = consoles("officer_s1")
    rid = s1.create("incident", incident(world.STREET1))
    s1.sync()
    rev = _scalar(database, "SELECT current_rev FROM sync_meta")
    for args, says in (
            (("incident", rid, "--to", new_id()), "no org unit"),
            (("incident", new_id(), "--to", world.STREET2), "no incident"),
            (("nonsense", rid, "--to", world.STREET2), "unknown entity"),
            (("user", world.user_id("officer_s1"), "--to", world.STREET2), "no org unit (reference data")):
        done = cli(database, "org", "move-record", *args)
        assert done.returncode == 1 and says in done.stderr, (args, done.stderr)
    same = cli(database, "org", "move-record", "incident", rid, "--to", world.STREET1)
    assert same.returncode == 0 and "nothing changed" in same.stdout
    missing_user = cli(database, "org", "move-user", "nobody", "--to", world.STREET1)
    assert missing_user.returncode == 1 and "no account" in missing_user.stderr
    assert _scalar(database, "SELECT current_rev FROM sync_meta") == rev, "a refused move spent a revision"
    assert _moves(database) == []


def test_move_user_resyncs_their_console_into_the_new_unit(server, database, consoles):
    s1, s2 = consoles("officer_s1"), consoles("officer_s2")
    mine = s2.create("incident", incident(world.STREET2, title="人民街火情"))
    theirs = s1.create("incident", incident(world.STREET1, title="北京街火情"))
    s2.sync()
    s1.sync()
    s2.sync()
    assert mine in _ids(s2) and theirs not in _ids(s2)

    done = cli(database, "org", "move-user", "officer_s2", "--to", world.STREET1)
    assert done.returncode == 0, done.stderr
    assert _scalar(database, "SELECT org_unit_id FROM account WHERE username = 'officer_s2'") == world.STREET1

    s2.sync()  # same token: scope is read from the account on every request
    assert theirs in _ids(s2) and mine not in _ids(s2), "the console did not follow its user to the new unit"
    s1.sync()
    user_row = s1.get("user", world.user_id("officer_s2"))
    assert user_row is not None and user_row["org_unit_id"] == world.STREET1, "the synced user record did not move"

    s2.create("incident", incident(world.STREET1, title="转岗后上报"))  # writes where they now work
    s2.sync()
    assert s2.waiting() == 0 and all(m["status"] == "applied" for m in s2.outbox())


def test_purge_drops_scope_moves_at_or_below_the_horizon_and_late_consoles_resync(server, database, consoles):
    s1 = consoles("officer_s1")
    first = s1.create("incident", incident(world.STREET1, title="先移走的"))
    second = s1.create("incident", incident(world.STREET1, title="后移走的"))
    s1.sync()
    assert cli(database, "org", "move-record", "incident", first, "--to", world.STREET2).returncode == 0
    assert cli(database, "org", "move-record", "incident", second, "--to", world.STREET2).returncode == 0
    (_, _, rev1, _), (_, _, rev2, _) = _moves(database)

    purged = cli(database, "purge-tombstones", "--up-to-rev", str(rev1))
    assert purged.returncode == 0, purged.stderr
    assert [m[2] for m in _moves(database)] == [rev2], "only the rows at or below the horizon may go"
    assert cli(database, "purge-tombstones", "--up-to-rev", str(rev2)).returncode == 0
    horizon = _scalar(database, "SELECT min_valid_cursor FROM sync_meta")
    assert horizon >= rev2
    assert _scalar(database, "SELECT count(*) FROM scope_move WHERE rev <= ?", horizon) == 0

    # s1's cursor is older than the horizon: its markers are gone, so it must resync from 0 (410),
    # keeping what it typed meanwhile.
    typed = s1.create("incident", incident(world.STREET1, title="离线时录入"))
    assert s1.waiting() == 1
    asyncio.run(pull_only(s1))
    assert _ids(s1) >= {typed} and not ({first, second} & _ids(s1)), "moved records survived the resync"
    assert s1.waiting() == 1, "the resync lost the queued change"
    assert s1.get("incident", typed)["title"] == "离线时录入"
    s1.sync()
    assert s1.waiting() == 0 and typed in _ids(s1)
