"""T1: a console killed mid-write keeps every write it acknowledged, in the log and the outbox alike."""

import os
import random
import signal
import subprocess
import sys
import textwrap

import sqlalchemy as sa

from app.store.db import Store
from app.store.schema import outbox, table_for

ITERATIONS = int(os.environ.get("COMMAND_DESK_KILL_ITERATIONS", "12"))

WRITER = textwrap.dedent("""
    import sys
    from app.store import records
    from app.store.db import Store
    store = Store(sys.argv[1])
    n = 0
    while True:
        n += 1
        body = f"{sys.argv[2]}-{n} 北京街巡查正常"
        store.write_sync(lambda c: records.create(
            c, "duty_log_entry", {"kind": "watch", "body": body, "occurred_at": "2026-11-23T08:00:00+08:00"},
            author_id=None, now="2026-11-23T08:00:00+08:00"))
        print("ack", body, flush=True)   # printed only after COMMIT returned
""")


def test_killed_writer_loses_no_acknowledged_write_and_leaves_no_orphans(tmp_path):
    path = tmp_path / "cache.db"
    Store(path).close()
    rng = random.Random(7)
    acknowledged: list[str] = []
    for it in range(ITERATIONS):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"run{it}"],
                                stdout=subprocess.PIPE, text=True)
        stop_after = rng.randint(1, 40)
        for _ in range(stop_after):
            line = proc.stdout.readline()
            assert line.startswith("ack "), line
            acknowledged.append(line.split(" ", 1)[1].strip())
        proc.send_signal(signal.SIGKILL)  # no clean-up of any kind
        proc.wait()
        proc.stdout.close()

    with Store(path) as store:
        log = table_for("duty_log_entry")
        bodies = store.read(lambda c: {r[0] for r in c.execute(sa.select(log.c.body))})
        ids = store.read(lambda c: {r[0] for r in c.execute(sa.select(log.c.id))})
        queued = store.read(lambda c: c.execute(sa.select(outbox.c.entity_id, outbox.c.device_seq)
                                                .order_by(outbox.c.device_seq)).all())
        assert store.read(lambda c: c.exec_driver_sql("PRAGMA integrity_check").scalar()) == "ok"
    assert set(acknowledged) <= bodies  # nothing the officer saw saved is gone
    assert {q[0] for q in queued} == ids  # every row has its mutation and no mutation lacks its row
    seqs = [q[1] for q in queued]
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free
