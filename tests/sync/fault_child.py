"""A console in a subprocess, so a fault test can SIGKILL it at a chosen instant.

    python fault_child.py MODE SERVER_BASE CACHE_DIR USERNAME [ARGS…]

Modes (each prints a line when it reaches the instant the parent waits for, then blocks):

* ``push-hang`` — push the outbox; once the server has answered, print ``sent N`` and
  hang before the answer is stored (T3: killed after sending, before storing results).
* ``pull-hang PAGE_SIZE AT_CALL`` — catch up in pages of PAGE_SIZE; at the AT_CALL-th page
  request, wait until the previous page is staged, print ``staged CURSOR`` and hang before
  the swap (T7: killed mid catch-up).
* ``write-sync N TAG`` — N times: write a duty-log entry, sync; print ``done`` (T21: two
  processes syncing one cache).
"""

from __future__ import annotations

import sys
import threading
import types

from app.services import sync_engine
from app.store.device import read_state
from app.sync import transport as T
from console_harness import NOW, LiveConsole

FOREVER = threading.Event()


def say(*parts) -> None:
    print(*parts, flush=True)


class HangAfterPush(T.SyncTransport):
    def push(self, body):
        answer = super().push(body)
        say("sent", len(body["mutations"]))
        FOREVER.wait()  # the engine never gets to store the results
        return answer


class HangMidPull(T.SyncTransport):
    def __init__(self, base_url, at_call, store_of):
        super().__init__(base_url)
        self.calls = 0
        self.at_call = at_call
        self.store_of = store_of

    def pull(self, cursor, limit):
        self.calls += 1
        if self.calls >= self.at_call:
            store = self.store_of()
            # The engine asks for page k before staging page k-1: wait until it is durable.
            while store.read(read_state)["staging_cursor"] != cursor:
                FOREVER.wait(0.01)
            say("staged", cursor)
            FOREVER.wait()
        return super().pull(cursor, limit)


def main(argv: list[str]) -> int:
    mode, base, folder, username, *rest = argv
    server = types.SimpleNamespace(base=base)
    import pathlib

    folder = pathlib.Path(folder)
    if mode == "push-hang":
        c = LiveConsole(server, folder, username, HangAfterPush(base))
        c.sync()
    elif mode == "pull-hang":
        sync_engine.PAGE_SIZE = int(rest[0])
        holder: dict = {}
        c = LiveConsole(server, folder, username, HangMidPull(base, int(rest[1]), lambda: holder["c"].store))
        holder["c"] = c
        c.sync()
    elif mode == "write-sync":
        c = LiveConsole(server, folder, username)
        for i in range(int(rest[0])):
            c.create("duty_log_entry", {"kind": "note", "body": f"{rest[1]}-{i}", "occurred_at": NOW})
            c.sync()
        say("done")
        c.close()
    else:
        raise SystemExit(f"unknown mode {mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
