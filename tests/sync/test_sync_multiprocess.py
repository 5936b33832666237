"""Two server processes on one database: revisions stay in commit order, events cross over."""

from __future__ import annotations

import json
import threading

import pytest
from websockets.sync.client import connect

import sync_world as W
from sync_live import Console, ServerProcess, incident, new_id


@pytest.fixture
def second_server(database, tmp_path):
    proc = ServerProcess(database.url, tmp_path / "server2.log").start()
    yield proc
    proc.kill()


def test_cursor_never_skips_a_row_while_two_processes_take_writes(server, second_server, console):
    writers = [console("officer_s1"), console("officer_s1b")]
    writers[1].server = second_server  # same login, pushes through the other process
    assert writers[1].login().status_code == 200
    reader = console("leader")
    stop = threading.Event()
    seen: dict[str, int] = {}
    cursor = 0

    def follow():  # a console pulling small pages while commits land on both processes
        nonlocal cursor
        while not stop.is_set():
            body = reader.pull_page(cursor, limit=3).json()
            for ch in body["changes"]:
                seen[ch["id"]] = ch["rev"]
            cursor = body["next_cursor"]

    created: list[str] = []

    def write(c):
        for _ in range(15):
            ids = [new_id(), new_id()]
            c.push(*[c.mutation("incident", i, "create", incident(W.STREET1)) for i in ids])
            created.extend(ids)

    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=write, args=(c,)) for c in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    stop.set()
    follower.join(timeout=60)
    rest, _ = reader.pull_all(cursor)  # catch up from where the follower stopped
    seen.update({k[1]: r["rev"] for k, r in rest.items()})
    assert set(created) <= set(seen)  # nothing committed behind the cursor was skipped


def test_events_from_one_process_reach_listeners_of_the_other(server, second_server, console):
    writer = console("officer_s1")
    listener = Console(second_server, "viewer")
    assert listener.login().status_code == 200
    url = second_server.base.replace("http://", "ws://") + f"/api/v1/events?token={listener.token}"
    with connect(url, open_timeout=10) as ws:
        json.loads(ws.recv(timeout=10))
        rev = writer.push_one("incident", new_id(), "create", incident(W.STREET1))["rev"]
        while True:
            msg = json.loads(ws.recv(timeout=10))  # the other process's poller picks the commit up
            if msg["rev"] >= rev:
                break
        assert msg["rev"] == rev
