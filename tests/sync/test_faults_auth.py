"""Tokens expiring during an outage (SYNC_RESEARCH.md §4 T15), against a server issuing 2-second
access tokens (COMMAND_DESK_ACCESS_TTL). The refresh-token lifetime cannot be set from the
environment (config.py reads only the access TTL), so "30 days pass" is simulated by moving the
device's refresh tokens' expiry into the past in the server database.
"""

from __future__ import annotations

import asyncio

import pytest
import requests

from app.server.tables import refresh_token
from app.services import sync_status as S
from app.services.signin import sign_in
from app.sync import transport as T
from console_harness import NOW, LiveConsole
from faults import (
    FaultTransport,
    assert_nothing_lost_exactly_once,
    cli,
    ledger,
    module_server,
    server_records,
    wait_until,
)
from sync_world import STREET1, password, user_id

ACCESS_TTL_S = 2


database, server = module_server("auth", env={"COMMAND_DESK_ACCESS_TTL": str(ACCESS_TTL_S)})


@pytest.fixture
def console(server, tmp_path):
    made = []

    def make(username="officer_s1"):
        c = LiveConsole(server, tmp_path, username, FaultTransport(""))
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def entries(c, tag: str, n: int) -> None:
    for i in range(n):
        c.create("duty_log_entry", {"kind": "note", "body": f"{tag}-{i}", "occurred_at": NOW,
                                    "org_unit_id": STREET1})


def access_expired(server, token: str) -> bool:
    r = requests.get(f"{server.base}/api/v1/sync/device-state", headers={"Authorization": f"Bearer {token}"},
                     timeout=5)
    return r.status_code == 401


def expire_refresh_tokens(database, device_id: str) -> None:
    with database.engine.begin() as conn:
        conn.execute(refresh_token.update().where(refresh_token.c.device_id == device_id)
                     .values(expires_at=0))


def test_t15_expired_access_token_is_refreshed_once_and_the_queue_drains(console, server, database):
    """Pass: the access token expires during an outage; on healing the engine refreshes exactly
    once (with its device id) and pushes the whole queue in the same round."""
    c = console()
    faults = c.engine.transport.faults
    token = c.engine.transport.access_token
    faults.partitioned = True
    entries(c, "t15refresh", 4)
    wait_until(lambda: access_expired(server, token), timeout=ACCESS_TTL_S + 10, what="access token expiry")
    faults.partitioned = False
    c.sync()
    assert faults.count("/auth/refresh") == 1
    assert c.waiting() == 0
    assert_nothing_lost_exactly_once(database, c)


def test_t15_access_and_refresh_expired_offline_asks_for_sign_in_without_a_401_loop(console, server,
                                                                                   database):
    """Pass: access and refresh tokens both expire during the outage. Healed, each round makes at
    most one refresh attempt and at most two pushes, the engine settles in signin_needed and then
    stays quiet (no 401 loop), the queue is kept whole; after the same officer signs in again the
    queue drains, every mutation attributed to that officer, exactly once."""
    c = console()
    faults = c.engine.transport.faults
    c.sync()
    token = c.engine.transport.access_token
    faults.partitioned = True
    entries(c, "t15both", 5)
    wait_until(lambda: access_expired(server, token), timeout=ACCESS_TTL_S + 10, what="access token expiry")
    expire_refresh_tokens(database, c.ctx.device_id)
    faults.partitioned = False

    for _ in range(3):  # three rounds, e.g. three wake-ups by new local work
        refreshes, pushes = faults.count("/auth/refresh"), faults.count("/sync/push")
        with pytest.raises(T.AuthExpired):
            asyncio.run(c.engine.sync_once())
        assert faults.count("/auth/refresh") - refreshes <= 1
        assert faults.count("/sync/push") - pushes <= 2
        assert c.waiting() == 5

    async def run_loop():
        c.engine.start()
        try:
            while c.engine.status.state != S.SIGNIN_NEEDED:
                await asyncio.sleep(0.02)  # polling an observable condition, bounded by wait_for
            calls = len(faults.calls)
            # Quiet-period check, not synchronisation: the loop must make no request on its own
            # for longer than its first back-off step (1 s) once sign-in is needed.
            await asyncio.sleep(1.5)
            return len(faults.calls) - calls
        finally:
            c.engine.stop()

    assert asyncio.run(asyncio.wait_for(run_loop(), 30)) == 0
    assert c.engine.status.state == S.SIGNIN_NEEDED and c.engine.status.waiting == 5
    assert [m["status"] for m in c.outbox()][-5:] == ["pending"] * 5

    c.engine = type(c.engine)(c.ctx, c.engine.transport)  # the window's engine after sign-in
    c.ctx.sync = c.engine
    c.ctx.user = sign_in(c.ctx, "officer_s1", password("officer_s1"))
    c.engine.use_tokens(c.ctx.pending_tokens)
    c.sync()
    assert_nothing_lost_exactly_once(database, c)
    officer = user_id("officer_s1")
    assert {r.author_id for r in ledger(database, c.ctx.device_id)} == {officer}
    rows = server_records(database, "duty_log_entry", lambda d: d.get("body", "").startswith("t15both-"))
    assert len(rows) == 5 and {r.created_by for r in rows} == {officer}


def test_t15_queue_of_one_officer_is_never_re_attributed_to_the_next(console, server, database):
    """Pass: A's offline entries, pushed after B signed in on the same console, are recorded
    as written by A (or held for a leader), never silently as B's."""
    c = console()
    c.engine.transport.faults.partitioned = True
    entries(c, "t15handover", 3)
    c.engine.transport.faults.partitioned = False
    c.ctx.user = sign_in(c.ctx, "officer_s1b", password("officer_s1b"))  # the next shift signs in
    c.engine.use_tokens(c.ctx.pending_tokens)
    c.sync()
    rows = server_records(database, "duty_log_entry", lambda d: d.get("body", "").startswith("t15handover-"))
    assert len(rows) == 3
    assert {r.created_by for r in rows} == {user_id("officer_s1")}
    assert {r.author_id for r in ledger(database, c.ctx.device_id)} >= {user_id("officer_s1")}


def test_t15_a_change_naming_an_author_never_signed_in_on_the_device_is_refused_not_taken_over(
        server, database):
    """Pass: a mutation whose author never signed in on the pushing device is not recorded (as
    the pusher's or anyone's): it is quarantined (author_unverified) for a shift leader, visibly,
    with nothing written; the same device's own officer's next mutation goes through in order."""
    from sync_live import Console, new_id

    w = Console(server, "officer_s1b")
    assert w.login().status_code == 200
    rid = new_id()
    forged = w.mutation("duty_log_entry", rid, "append", {"kind": "note", "body": "t15forged", "occurred_at": NOW,
                                                           "org_unit_id": STREET1})
    forged["author_id"] = user_id("officer_s2")  # another street's officer, never on this device
    own = w.mutation("duty_log_entry", new_id(), "append", {"kind": "note", "body": "t15own", "occurred_at": NOW,
                                                           "org_unit_id": STREET1})
    first, second = w.push(forged, own)["results"]
    assert (first["outcome"], first["code"]) == ("quarantined", "author_unverified")
    assert second["outcome"] == "applied"
    assert server_records(database, "duty_log_entry", lambda d: d.get("body") == "t15forged") == []
    [row] = server_records(database, "duty_log_entry", lambda d: d.get("body") == "t15own")
    assert row.created_by == user_id("officer_s1b")


def test_t15_revoked_device_with_an_expired_access_token_is_told_it_is_revoked(console, server, database):
    """Pass: a revoked console whose access token has expired gets 403 device_revoked (T.Forbidden),
    not a request to sign in again; its queue stays whole."""
    c = console()
    c.sync()
    token = c.engine.transport.access_token
    entries(c, "t15revoked-expired", 2)
    cli(database.url, "device", "revoke", c.ctx.device_id)
    wait_until(lambda: access_expired(server, token), timeout=ACCESS_TTL_S + 10, what="access token expiry")
    with pytest.raises(T.Forbidden):
        c.sync()
    assert c.waiting() == 2
