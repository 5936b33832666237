"""One console of the T22 soak (test_soak.py), in a subprocess the test can SIGKILL or SIGSTOP.

    python soak_child.py SERVER_BASE CACHE_DIR USERNAME SEED WAREHOUSE_ID

The real console without Qt: its cache, sign-in (online, or offline against the verifier
when the server is down), the SyncEngine's own background loop, over a FaultTransport. Two
tasks run beside the loop, both driven by ``random.Random(SEED)``:

* the officer: every 0.25-1 s one of create an incident, patch one of its fields (the
  fields test_model_based replays), append a duty-log entry (duty_log_writer.append_entry),
  move stock in WAREHOUSE_ID; prints ``ACK ENTITY ID [DELTA]`` once the commit has returned;
* the nemesis on its own link and clock: every 0.5-3 s a partition or its heal, a duplicated
  push (2-3 copies), a lost push answer, a delayed request, or a clock jump (±1 h, ±1 day,
  +10 years, or back to true time).

The server restarts, kills and pauses are the parent's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import pathlib
import random
import sys
import time

import sqlalchemy as sa

from app.bootstrap import open_context
from app.domain import clock
from app.services.changes import ChangeSet
from app.services.duty_log_writer import append_entry
from app.services.signin import sign_in
from app.services.sync_engine import SyncEngine
from app.store import records
from app.store.schema import table_for
from faults import FaultTransport, drop_response, duplicate
from sync_live import incident
from sync_world import ITEM1, STREET1, password

FIELDS = {"summary": ["甲", "乙", "丙"], "place": ["甲", "乙", "丙"], "dead": [0, 1, 2, 3],
          "injured": [0, 1, 2, 3]}  # test_model_based.FIELDS and their values
NEMESIS = ("partition", "heal", "duplicate", "drop", "delay", "clock")
JUMPS = [0, 3600, -3600, 86400, -86400, 10 * 365 * 86400]


def say(*parts) -> None:
    print(*parts, flush=True)


def delayed(seconds: float):
    def action(adapter, request, kw):
        time.sleep(seconds)  # a slow link: runs on the engine's network thread, not the loop
        return adapter.forward(request, kw)

    return action


class Console:
    def __init__(self, base: str, folder: pathlib.Path, username: str, rng: random.Random, warehouse: str):
        self.rng = rng
        self.warehouse = warehouse
        self.ctx = open_context(folder / f"{username}.db", base)
        self.ctx.user = sign_in(self.ctx, username, password(username))  # offline verifier if the server is down
        self.engine = SyncEngine(self.ctx, FaultTransport(base))
        self.engine.use_credentials(username, password(username))
        if self.ctx.pending_tokens:
            self.engine.use_tokens(self.ctx.pending_tokens)
        self.ctx.sync = self.engine
        self.faults = self.engine.transport.faults
        self.offset = dt.timedelta(0)
        real = clock.now
        clock.now = lambda: real() + self.offset  # clock.now_iso and the engine read it

    # -- the officer --------------------------------------------------------------------------
    def _write(self, fn):
        return self.ctx.store.write_sync(fn)

    def one_operation(self) -> tuple[str, str, str]:
        user, now = self.ctx.user, clock.now_iso()
        kind = self.rng.choice(["incident", "patch", "patch", "log", "log", "stock"])
        if kind == "patch":
            t = table_for("incident")
            ids = self.ctx.store.read(lambda c: [r[0] for r in c.execute(
                sa.select(t.c.id).where(t.c.deleted.is_(False)).order_by(t.c.id))])
            if ids:
                rid = self.rng.choice(ids)
                field = self.rng.choice(sorted(FIELDS))
                here = self.ctx.store.read(lambda c: c.execute(sa.select(t.c[field]).where(t.c.id == rid)).scalar())
                # A new value: re-saving the value shown leaves the console's updated_by for good (a known
                # bug, test_soak.test_patch_to_the_value_already_shown_converges), which would hide the rest.
                value = self.rng.choice([v for v in FIELDS[field] if v != here])
                self._write(lambda c: records.patch(c, "incident", rid, {field: value}, author_id=user.id,
                                                    now=now))
                return "incident", rid, ""
            kind = "incident"
        if kind == "incident":
            rid = self._write(lambda c: records.create(c, "incident", incident(STREET1, title="浸泡测试事件"),
                                                       author_id=user.id, now=now))
            return "incident", rid, ""
        if kind == "log":
            rid = self._write(lambda c: append_entry(c, kind="note", body="浸泡测试日志", author_id=user.id,
                                                     device_id=self.ctx.device_id, now=now, org_unit_id=STREET1))
            return "duty_log_entry", rid, ""
        delta = self.rng.choice([-7, -3, -1, 2, 5])
        rid = self._write(lambda c: records.create(c, "stock_movement", {
            "warehouse_id": self.warehouse, "item_id": ITEM1, "delta": delta,
            "reason": "inbound" if delta > 0 else "allocation"}, author_id=user.id, now=now))
        return "stock_movement", rid, str(delta)

    async def officer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.rng.uniform(0.25, 1.0))  # the officer's pace (5-20 ops/s over 5 consoles)
            entity, rid, extra = await loop.run_in_executor(None, self.one_operation)
            say("ACK", entity, rid, extra)
            self.ctx.publish(ChangeSet.of(entity, [rid]))  # wakes the sync loop

    # -- the nemesis on this console's link and clock -------------------------------------------
    async def nemesis(self) -> None:
        todo: list[str] = []  # every kind of fault comes up within a few rounds, in random order
        while True:
            await asyncio.sleep(self.rng.uniform(0.5, 3.0))
            if not todo:
                todo = list(NEMESIS)
                self.rng.shuffle(todo)
            what = todo.pop() if self.rng.random() < 0.5 else self.rng.choice([*NEMESIS, "heal"])
            if what == "partition":
                self.faults.partitioned = True
            elif what == "heal":
                self.faults.partitioned = False
                self.engine.wake()
            elif what == "duplicate":
                self.faults.once("/sync/push", duplicate(self.rng.randint(2, 3), concurrent=self.rng.random() < .5))
            elif what == "drop":
                self.faults.once("/sync/push", drop_response)
            elif what == "delay":
                self.faults.once("/sync/" + self.rng.choice(["push", "pull"]), delayed(self.rng.uniform(0.2, 2.0)))
            else:
                self.offset = dt.timedelta(seconds=self.rng.choice(JUMPS))
            say("NEMESIS", what)


async def run(c: Console) -> None:
    c.engine.start()
    say("READY", c.ctx.device_id)
    await asyncio.gather(c.officer(), c.nemesis())


def main(argv: list[str]) -> int:
    base, folder, username, seed, warehouse = argv
    # Warnings and crashes of the sync loop go to stderr (a file): the test reads them afterwards.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    c = Console(base, pathlib.Path(folder), username, random.Random(int(seed)), warehouse)
    asyncio.run(run(c))  # until killed
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
