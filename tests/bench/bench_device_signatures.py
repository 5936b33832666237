"""What device signatures cost: uploading 10,000 queued changes signed (enrolled console) vs unsigned.

Same server process, same world, in the same run: one console enrolled (its pushes carry the
chain hashes and one Ed25519 signature per batch, the server checks both), one console whose
key is never loaded (an old console: no key, no hash, no signature, no checks). The difference
is the whole cost of §3.13's protections on the upload path. Also the primitive costs per
mutation (chain hash) and per batch (sign, verify), against a bare hashlib.sha256 baseline.

Run: .venv/bin/python -m tests.bench.bench_device_signatures [N]
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "sync"))

from app.server import db as server_db  # noqa: E402
from app.sync import signing  # noqa: E402
from tests.bench.common import median_of, report, timed  # noqa: E402

NOW = "2026-11-23T08:00:00+08:00"


def upload(server, folder: Path, username: str, n: int, signed: bool) -> float:
    from app.store import records
    from console_harness import LiveConsole
    from sync_world import STREET1

    install = signing.install
    if not signed:
        signing.install = lambda device_id, key: None  # an old console: no key loaded, nothing signed
    try:
        console = LiveConsole(server, folder, username)
    finally:
        signing.install = install
    rows = [{"kind": "note", "body": f"离线期间记录第{i}条", "occurred_at": NOW, "org_unit_id": STREET1}
            for i in range(n)]

    def queue(c):
        for r in rows:
            records.create(c, "duty_log_entry", r, author_id=console.ctx.user.id, now=NOW)
    console.store.write_sync(queue)
    t = timed(lambda: asyncio.run(console.engine._push_all()))
    assert console.waiting() == 0
    outbox = console.outbox()
    assert all(m["status"] == "applied" for m in outbox)
    console.close()
    return t


def primitives() -> list[str]:
    from app.domain.outbox_chain import chain_hash

    m = {"mutation_id": "0" * 36, "device_seq": 17, "entity": "duty_log_entry", "entity_id": "1" * 36,
         "op": "create", "payload": {"kind": "note", "body": "接市民报告越秀区北京街12号水浸约30厘米，已通知街道",
                                     "occurred_at": NOW, "org_unit_id": "2" * 36},
         "base_rev": None, "client_time": NOW, "author_id": "3" * 36}
    key = signing.DeviceKey.generate()
    prev = signing.GENESIS
    text = "x" * 400
    n = 10_000
    t_chain = median_of(lambda: [chain_hash(prev, m) for _ in range(n)], 3) / n
    t_sha = median_of(lambda: [hashlib.sha256(text.encode()).hexdigest() for _ in range(n)], 3) / n
    sig = key.sign("dev", prev)
    t_sign = median_of(lambda: [key.sign("dev", prev) for _ in range(200)], 3) / 200
    t_verify = median_of(lambda: [signing.verify_batch(key.public_b64, "dev", prev, sig) for _ in range(200)], 3) / 200
    return [report("chain hash of one mutation (console enqueue)", t_chain * 1e6, t_sha * 1e6, "µs",
                   "sha256 of 400 bytes"),
            report("sign one batch (console push)", t_sign * 1e6, t_sha * 1e6, "µs", "sha256 of 400 bytes"),
            report("verify one batch signature (server)", t_verify * 1e6, t_sha * 1e6, "µs", "sha256 of 400 bytes")]


def run(n: int = 10_000) -> list[str]:
    from sync_live import ServerProcess
    from sync_world import seed_world

    out = primitives()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        url = f"sqlite:///{folder / 'server.db'}"
        engine = server_db.make_engine(url)
        server_db.init_schema(engine)
        seed_world(engine)
        engine.dispose()
        server = ServerProcess(url, folder / "server.log").start()
        try:
            # Alternate (which goes first too), three times each, so drift of the shared machine hits
            # both alike; the best of each is reported, every run is printed.
            unsigned, signed = [], []
            for i in range(3):
                for sign in ((False, True) if i % 2 == 0 else (True, False)):
                    (signed if sign else unsigned).append(
                        upload(server, folder / f"{'s' if sign else 'u'}{i}", "officer_s1", n, signed=sign))
            print("  signed runs:", ", ".join(f"{t:.2f} s" for t in signed),
                  "| unsigned runs:", ", ".join(f"{t:.2f} s" for t in unsigned))
            out.append(report(f"upload {n:,} queued changes, signed + chain-checked", min(signed), min(unsigned),
                              "s", "same upload unsigned (old console)"))
        finally:
            server.kill()
    return out


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
