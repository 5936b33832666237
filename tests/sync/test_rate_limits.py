"""Rate limits (OWASP API4, app/server/ratelimit.py) against a real uvicorn server on 127.0.0.1.

The server is started with tiny limits through the environment (COMMAND_DESK_RATE_<KIND> =
"BURST,PER_SECOND"). Over the limit: 429 ``rate_limited`` with Retry-After and a JSON body,
and the refused request changed nothing. A real console (own cache, sync engine) that meets
a 429 keeps its queue untouched and drains it once Retry-After has passed.
"""

from __future__ import annotations

import json

import pytest
import requests
from websockets.sync.client import connect

import sync_world as world
from app.server.db import run_sql
from app.server.ratelimit import Rate, RateLimiter, TokenBuckets
from app.sync import transport as T
from sync_live import Console, ServerProcess, incident, new_id, wait_until

SLOW = "0.01"  # one token per 100 s: nothing refills during a test


@pytest.fixture
def limited(database, tmp_path, monkeypatch):
    """``limited(push="3,0.01", ...)``: a server whose given buckets are tiny (others default)."""
    started = []

    def start(**rates: str) -> ServerProcess:
        for kind, rate in rates.items():
            monkeypatch.setenv(f"COMMAND_DESK_RATE_{kind.upper()}", rate)
        proc = ServerProcess(database.url, tmp_path / "server.log").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


def _signed_in(server: ServerProcess, username: str) -> Console:
    c = Console(server, username)
    r = c.login()
    assert r.status_code == 200, r.text
    return c


def _assert_rate_limited(r: requests.Response) -> int:
    assert r.status_code == 429, r.text
    retry = r.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, r.headers
    err = r.json()["error"]
    assert err["code"] == "rate_limited"
    assert "请求过于频繁" in err["message"] and "too many requests" in err["message"]
    assert err["retry_after"] == int(retry)
    return int(retry)


def _count(database, sql: str, *params) -> int:
    with database.engine.connect() as conn:
        return run_sql(conn, sql, params).scalar()  # "?" placeholders on either database


# -- the buckets themselves ---------------------------------------------------------------------


def test_a_bucket_grants_its_burst_then_refills_at_its_rate():
    now = [100.0]
    buckets = TokenBuckets(Rate(3, 2), clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token comes back in 1/2 s
    assert buckets.take("b") == 0.0, "another key has its own bucket"
    now[0] += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    now[0] += 60
    assert [buckets.take("a") for _ in range(4)][:3] == [0.0, 0.0, 0.0], "refill stops at the burst"


def test_buckets_keep_bounded_memory():
    buckets = TokenBuckets(Rate(1, 0.001), max_keys=100)
    for i in range(1000):
        buckets.take(i)
    assert len(buckets) == 100


def test_an_unset_rate_is_no_limit():
    limiter = RateLimiter({"push": None, "pull": Rate(1, 0)})
    for _ in range(10):
        limiter.check("push", "k")
    limiter.check("pull", "k")
    with pytest.raises(Exception, match="rate_limited"):
        limiter.check("pull", "k")


def test_default_limits_allow_what_a_busy_district_does():
    """bench_server's busiest console: ~200 pushes and ~400 pulls in a few seconds; a shift change
    signs in 50 consoles behind one address; an initial sync of 1,000,000 rows is 200 pages."""
    from app.server.config import Settings

    now = [0.0]
    limiter = RateLimiter(Settings().rates(), clock=lambda: now[0])
    me = ("user", "device")
    for _ in range(200):
        limiter.check("push", me)
    for _ in range(400):
        limiter.check("pull", me)
    for i in range(50):
        limiter.check_login("10.0.0.1", f"officer{i % 5}")
    for _ in range(10):
        limiter.check("events", me)


# -- against the real server -------------------------------------------------------------------


def test_a_push_burst_over_the_limit_gets_429_and_changes_nothing(limited, database):
    server = limited(push=f"3,{SLOW}")
    c = _signed_in(server, "officer_s1")
    ids = [new_id() for _ in range(5)]
    answers = [c.push_raw([c.mutation("incident", rid, "create", incident(world.STREET1, title=f"积水{i}"))])
               for i, rid in enumerate(ids)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    assert all(r.json()["results"][0]["outcome"] == "applied" for r in answers[:3])
    for r in answers[3:]:
        assert _assert_rate_limited(r) > 60  # a token every 100 s

    # The refused pushes left no trace: no row, no ledger entry, no audit line, no sequence move.
    stored = {rid for rid in ids if _count(database, "SELECT count(*) FROM record WHERE entity = 'incident' "
                                                     "AND id = ?", rid)}
    assert stored == set(ids[:3])
    assert _count(database, "SELECT count(*) FROM processed_mutation WHERE device_id = ?", c.device_id) == 3
    assert _count(database, "SELECT last_device_seq FROM device WHERE device_id = ?", c.device_id) == 3
    audit = _count(database, "SELECT count(*) FROM audit_log")

    # Per principal: the same officer on another console, and the same console's pulls, go on.
    other = _signed_in(server, "officer_s1")
    assert other.push_raw([other.mutation("incident", new_id(), "create", incident(world.STREET1))]).status_code \
        == 200
    assert c.pull_page(0).status_code == 200
    # A retry of the refused mutation (same device_seq 4) is still refused, and still leaves nothing.
    _assert_rate_limited(c.push_raw([c.mutation("incident", ids[3], "create", incident(world.STREET1))]))
    assert _count(database, "SELECT count(*) FROM audit_log") == audit + 1  # the other console's create only


def test_pull_device_state_blobs_and_event_sockets_are_limited_per_principal(limited):
    server = limited(pull=f"2,{SLOW}", blobs=f"1,{SLOW}", events=f"1,{SLOW}")
    c = _signed_in(server, "officer_s1")
    assert c.pull_page(0).status_code == 200
    r = c.http.get(f"{c.base}/api/v1/sync/device-state", headers=c.headers(), timeout=10)
    assert r.status_code == 200, "device-state shares the pull bucket"
    _assert_rate_limited(c.pull_page(0))
    _assert_rate_limited(c.http.get(f"{c.base}/api/v1/sync/device-state", headers=c.headers(), timeout=10))
    assert _signed_in(server, "officer_s2").pull_page(0).status_code == 200, "another principal is not limited"

    blob = b"\x89PNG photo of the flooded street"
    import hashlib

    sha = hashlib.sha256(blob).hexdigest()
    put = c.http.put(f"{c.base}/api/v1/blobs/{sha}", data=blob, headers=c.headers(), timeout=10)
    assert put.status_code in (200, 201), put.text
    _assert_rate_limited(c.http.get(f"{c.base}/api/v1/blobs/{sha}", headers=c.headers(), timeout=10))

    url = f"{c.base.replace('http', 'ws', 1)}/api/v1/events?token={c.token}"
    with connect(url, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "rev"
    with connect(url, open_timeout=10) as ws:
        refused = json.loads(ws.recv(timeout=10))
        assert refused["type"] == "error" and refused["code"] == "rate_limited" and refused["retry_after"] >= 1
        with pytest.raises(Exception):  # noqa: B017 - the server closes the socket (code 4429)
            ws.recv(timeout=10)
        assert ws.close_code == 4429


def test_login_is_limited_per_username_and_per_client_address(limited, database):
    server = limited(login_user=f"2,{SLOW}", login_ip=f"5,{SLOW}")
    assert Console(server, "officer_s1").login().status_code == 200
    assert Console(server, "officer_s1").login().status_code == 200
    _assert_rate_limited(Console(server, "officer_s1").login())  # the right password, still refused

    # A refused attempt is not even checked: a wrong password then costs the account nothing.
    before = _count(database, "SELECT failed_attempts FROM account WHERE username = 'officer_s1'")
    _assert_rate_limited(Console(server, "officer_s1").login(password="guess-1"))
    assert _count(database, "SELECT failed_attempts FROM account WHERE username = 'officer_s1'") == before

    # Another name from the same address: allowed until the address's own bucket is empty (every
    # attempt from it counts there, refused ones included).
    assert Console(server, "officer_s2").login().status_code == 200  # the 5th attempt from 127.0.0.1
    _assert_rate_limited(Console(server, "leader").login())


@pytest.fixture
def live_console(tmp_path):
    from console_harness import LiveConsole

    made = []

    def make(server: ServerProcess, username: str) -> LiveConsole:
        made.append(LiveConsole(server, tmp_path, username))
        return made[-1]

    yield make
    for c in made:
        c.close()


def test_a_console_that_meets_429_keeps_its_queue_and_drains_it_later(limited, live_console, database):
    server = limited(push="1,0.5")  # one push, then one every 2 s
    s1 = live_console(server, "officer_s1")
    created = []
    refused = None
    for i in range(8):  # the first round pushes; one of the next is refused (a 2 s refill at most)
        created.append(s1.create("incident", incident(world.STREET1, title=f"排水{i}")))
        try:
            s1.sync()
        except T.RateLimited as e:
            refused = e
            break
    assert refused is not None, "no push was ever rate limited"
    assert 1 <= refused.retry_after <= 2
    waiting = [m for m in s1.outbox() if m["status"] == "pending"]
    assert [m["entity_id"] for m in waiting] == created[-1:], "the refused mutation must stay queued"
    assert waiting[0]["attempts"] == 0 and not waiting[0]["last_error"], "a 429 is not a failed attempt"
    assert s1.get("incident", created[-1])["title"] == f"排水{len(created) - 1}"

    # Until Retry-After has passed the console sends nothing: the next round stops at once.
    with pytest.raises(T.RateLimited):
        s1.sync()
    assert _count(database, "SELECT count(*) FROM record WHERE entity = 'incident' AND id = ?", created[-1]) == 0

    def drained() -> bool:
        try:
            s1.sync()
        except T.RateLimited:
            return False
        return True

    wait_until(drained, timeout=15, interval=0.2, what="the queue to drain after Retry-After")
    assert s1.waiting() == 0 and all(m["status"] == "applied" for m in s1.outbox())
    assert _count(database, "SELECT count(*) FROM record WHERE entity = 'incident' AND id = ?", created[-1]) == 1
