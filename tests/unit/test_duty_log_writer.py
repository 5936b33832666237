"""The shared way to write a log entry keeps one unbroken chain per console."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.hashchain import GENESIS, verify_chain
from app.services.duty_log_writer import append_entry, chain_head, chain_head_key
from app.store.schema import local_kv, outbox, table_for

NOW = "2026-11-23T08:00:00+08:00"
U1 = "00000000-0000-4000-8000-000000000001"
DEV_A = "00000000-0000-4000-8000-00000000000a"
DEV_B = "00000000-0000-4000-8000-00000000000b"


def _write(store, device, body, **kw):
    return store.write_sync(lambda c: append_entry(c, kind="note", body=body, author_id=U1,
                                                   device_id=device, now=NOW, **kw))


def _chain(store, device):
    t = table_for("duty_log_entry")

    def run(c):
        rows = {r["prev_hash"]: dict(r) for r in c.execute(sa.select(t).where(t.c.device_id == device)).mappings()}
        out, head = [], GENESIS
        while head in rows:
            out.append(rows[head])
            head = rows[head]["hash"]
        return out
    return store.read(run)


def test_entries_chain_per_device_and_queue_for_sync(store):
    for i in range(3):
        _write(store, DEV_A, f"甲{i}")
    _write(store, DEV_B, "乙")
    a = _chain(store, DEV_A)
    assert [e["body"] for e in a] == ["甲0", "甲1", "甲2"]
    assert verify_chain(a) is None
    assert [e["body"] for e in _chain(store, DEV_B)] == ["乙"]
    assert store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(outbox)).scalar()) == 4


def test_head_recovered_when_the_kv_is_gone(store):
    _write(store, DEV_A, "一")
    _write(store, DEV_A, "二")
    store.write_sync(lambda c: c.execute(local_kv.delete().where(local_kv.c.key == chain_head_key(DEV_A))))
    assert store.read(chain_head, DEV_A) == _chain(store, DEV_A)[-1]["hash"]
    _write(store, DEV_A, "三")
    chain = _chain(store, DEV_A)
    assert [e["body"] for e in chain] == ["一", "二", "三"] and verify_chain(chain) is None


def test_a_failed_write_does_not_move_the_head(store):
    _write(store, DEV_A, "一")
    head = store.read(chain_head, DEV_A)
    try:
        _write(store, DEV_A, "")  # body is required: refused, nothing written
    except Exception:
        pass
    assert store.read(chain_head, DEV_A) == head
