"""Putting the cache into the states the sync panel shows: queued, refused, conflicting.

Each state is reached the way it arrives in real life: a local change through
app.store.records (one transaction with its outbox row), the server's verdict through
app.store.outbox.record_results (what the engine writes after a push), and a conflict
as a pulled sync_conflict record through app.store.pull stage_page/apply_staged.
"""

from __future__ import annotations

import dataclasses
import uuid

import sqlalchemy as sa

from app.domain import clock
from app.services import sync_status as S
from app.services.changes import ChangeSet
from app.services.context import SignedInUser
from app.store import outbox, records
from app.store import pull as pl
from app.store.device import read_state
from app.store.schema import outbox as outbox_table

LEADER = SignedInUser(id="00000000-0000-4000-8000-0000000000b2", username="liming", name="李明", role="leader")
OFFICER = SignedInUser(id="00000000-0000-4000-8000-0000000000a1", username="zhangsan", name="张三",
                       role="officer")


def new_incident(ctx, title: str = "11·23 解放北路树木倒伏", **over) -> str:
    data = {"title": title, "category": "natural", "severity": "IV", "status": "reported",
            "occurred_at": clock.now_iso(), "place": "解放北路", **over}
    rid = ctx.store.write_sync(lambda c: records.create(c, "incident", data, author_id=ctx.user.id,
                                                        now=clock.now_iso()))
    ctx.publish(ChangeSet.of("incident", [rid]))
    return rid


def patch(ctx, entity: str, rid: str, changes: dict) -> None:
    ctx.store.write_sync(lambda c: records.patch(c, entity, rid, changes, author_id=ctx.user.id,
                                                 now=clock.now_iso()))
    ctx.publish(ChangeSet.of(entity, [rid]))


def outbox_rows(ctx) -> list[dict]:
    return ctx.read(lambda c: [dict(r) for r in c.execute(
        sa.select(outbox_table).order_by(outbox_table.c.device_seq)).mappings()])


def last_mutation(ctx) -> dict:
    return outbox_rows(ctx)[-1]


def server_says(ctx, mutation_id: str, outcome: str, **result) -> None:
    """Record the server's verdict on one mutation, as the engine does after a push."""
    answer = {"mutation_id": mutation_id, "outcome": outcome, **result}
    if outcome != "rejected":
        answer.setdefault("rev", 1)
    ctx.store.write_sync(outbox.record_results, [answer], clock.now_iso())


def reject(ctx, mutation_id: str, code: str = "out_of_scope", zh: str = "无权在该辖区创建记录",
           en: str = "org unit outside your scope", problems: list[dict] | None = None) -> None:
    server_says(ctx, mutation_id, "rejected", code=code, message=f"{zh} / {en}", problems=problems or [])


def pulled_conflict(ctx, entity: str, entity_id: str, field: str, winning, losing,
                    kind: str = "concurrent_edit") -> str:
    """A sync_conflict record arriving in a pull page, applied as the engine applies pages."""
    cid = str(uuid.uuid4())
    cursor = ctx.read(read_state).get("pull_cursor") or 0
    change = {"entity": "sync_conflict", "id": cid, "rev": cursor + 1, "deleted": False,
              "data": {"entity": entity, "entity_id": entity_id, "field": field, "kind": kind,
                       "winning_value": winning, "losing_value": losing, "status": "open",
                       "losing_mutation_id": str(uuid.uuid4()), "losing_author_id": OFFICER.id}}

    page = {"changes": [change], "next_cursor": cursor + 1, "has_more": False, "high_watermark": cursor + 1}

    def apply(conn):
        pl.stage_page(conn, pl.check_page(page, cursor), page["next_cursor"], page["high_watermark"])
        return pl.apply_staged(conn)

    for name, ids in ctx.store.write_sync(apply).items():
        ctx.publish(ChangeSet.of(name, ids, origin="sync"))
    return cid


class FakeSync:
    """What the UI uses of the sync engine, recording the calls."""

    def __init__(self, state: str = S.SYNCED):
        self.status = S.SyncStatus(state=state)
        self.subscribers = []
        self.woken = 0
        self.credentials = None
        self.tokens = None
        self.transport = None  # sign_in builds its own when the engine has none

    def subscribe(self, fn):
        self.subscribers.append(fn)

    def publish(self, **changes):
        self.status = dataclasses.replace(self.status, **changes)
        for fn in self.subscribers:
            fn(self.status)

    def wake(self):
        self.woken += 1

    def use_credentials(self, username, password):
        self.credentials = (username, password)

    def use_tokens(self, answer):
        self.tokens = answer
