"""A console writing duty-log entries until the power is cut (T2, test_faults_power.py).

    python power_child.py SERVER_BASE CACHE_DIR USERNAME SYNCHRONOUS STOP_AFTER

Run under the lossyfs shim. Opens the cache with the app's own Store (SYNCHRONOUS ``full`` as
shipped; ``normal`` overrides the pragma after the app has set it, for the control run), prints
``SYNC n`` with the writer connection's PRAGMA synchronous, then writes entries through
duty_log_writer.append_entry in ctx.store.write_sync, printing ``ACK <id>`` only after each
commit has returned. With STOP_AFTER > 0 it prints ``IDLE`` after that many and waits to be
killed; with 0 it writes until killed.
"""

from __future__ import annotations

import pathlib
import sys
import threading
import types


def say(*parts) -> None:
    print(*parts, flush=True)


def main(argv: list[str]) -> int:
    base, folder, username, synchronous, stop_after = argv
    if synchronous == "normal":
        from app.store import db

        shipped = db._set_pragmas

        def normal(dbapi_conn, record):  # the control: what we would get without FULL
            shipped(dbapi_conn, record)
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

        db._set_pragmas = normal  # make_engine looks it up when the Store is opened
    from app.domain.clock import now_iso
    from app.services.duty_log_writer import append_entry
    from console_harness import LiveConsole

    c = LiveConsole(types.SimpleNamespace(base=base), pathlib.Path(folder), username)
    ctx = c.ctx
    say("SYNC", ctx.store.write_sync(lambda conn: conn.exec_driver_sql("PRAGMA synchronous").scalar()))
    i = 0
    while not int(stop_after) or i < int(stop_after):
        now = now_iso()
        eid = ctx.store.write_sync(lambda conn, i=i, now=now: append_entry(
            conn, kind="note", body=f"断电测试 power-{i}", author_id=ctx.user.id, device_id=ctx.device_id,
            now=now, org_unit_id=ctx.user.org_unit_id))
        say("ACK", eid)  # the commit (and, under FULL, its fsync) has returned
        i += 1
    say("IDLE")
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
