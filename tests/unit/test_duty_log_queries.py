"""The duty log's queries: keyset pages, filters, search hits, corrections, chain verification."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.services import duty_log_queries as Q
from app.services.duty_log_writer import append_entry
from app.store import records

DEV = "00000000-0000-4000-8000-00000000000a"
U1 = "00000000-0000-4000-8000-000000000001"
U2 = "00000000-0000-4000-8000-000000000002"


def _t(i: int) -> str:
    return f"2026-11-23T{8 + i // 60:02d}:{i % 60:02d}:00+08:00"


def _fill(store, n=30):
    ids = []

    def run(conn):
        for i in range(n):
            ids.append(append_entry(conn, kind=("note", "receive", "report")[i % 3], body=f"第{i}条 越秀北路积水",
                                    author_id=(U1, U2)[i % 2], device_id=DEV, now=_t(i), occurred_at=_t(i % 10)))
    store.write_sync(run)
    return ids


def test_keyset_pages_cover_every_row_once_in_time_order(store):
    ids = _fill(store, 30)  # ten distinct times, three rows each: the rowid breaks the ties
    seen, after = [], None
    while True:
        rows = store.read(Q.page, Q.LogFilter(), after, 7)
        seen += rows
        if len(rows) < 7:
            break
        after = rows[-1].key
    assert sorted(r.id for r in seen) == sorted(ids) and len(seen) == 30
    keys = [r.key for r in seen]
    assert keys == sorted(keys, reverse=True)
    up = store.read(Q.page, Q.LogFilter(ascending=True), None, 100)
    assert [r.key for r in up] == sorted(keys)


def test_filters_combine(store):
    _fill(store, 30)
    rows = store.read(Q.page, Q.LogFilter(kinds=("receive",), author_id=U2), None, 100)
    assert rows and all(r.kind == "receive" and r.author_id == U2 for r in rows)
    rows = store.read(Q.page, Q.LogFilter(since=_t(3), until=_t(5)), None, 100)
    assert {r.occurred_at for r in rows} == {_t(3), _t(4)} and len(rows) == 6


def test_search_hits_filter_the_list(store):
    ids = _fill(store, 12)
    hits = store.read(Q.search_ids, "第7条")
    assert hits == (ids[7],)
    assert [r.id for r in store.read(Q.page, Q.LogFilter(hit_ids=hits), None, 100)] == [ids[7]]
    assert len(store.read(Q.search_ids, "积")) == 12  # one character
    assert store.read(Q.search_ids, "不存在的词") == ()


def test_corrections_are_found(store):
    ids = _fill(store, 3)
    fix = store.write_sync(lambda c: append_entry(c, kind="correction", body="更正", author_id=U1, device_id=DEV,
                                                  now=_t(50), corrects_id=ids[1]))
    assert store.read(Q.corrected_ids) == {ids[1]: [fix]}


def test_verify_intact_edited_and_forked(store):
    ids = _fill(store, 20)
    [report] = store.read(Q.verify_chains)
    assert report.ok and report.checked == report.total == 20
    from app.store.schema import table_for

    t = table_for("duty_log_entry")
    store.write_sync(lambda c: c.execute(t.update().where(t.c.id == ids[12]).values(
        details={"added": "later"})))
    [report] = store.read(Q.verify_chains)
    assert not report.ok and report.broken.id == ids[12] and report.reason == "hash" and report.checked == 12


def test_verify_can_be_cancelled_and_reports_progress(store):
    _fill(store, 5)
    seen = []
    store.read(Q.verify_chains, lambda d, n: seen.append((d, n)))
    assert seen[-1] == (5, 5)
    def stop():
        return True
    store.write_sync(lambda c: [append_entry(c, kind="note", body=str(i), author_id=U1, device_id=DEV, now=_t(1))
                                for i in range(2100)])
    with pytest.raises(Q.Cancelled):
        store.read(Q.verify_chains, None, stop)


def test_rows_join_incident_title_and_author(store):
    inc = store.write_sync(lambda c: records.create(c, "incident", {
        "title": "11·23越秀北路水浸", "category": "natural", "severity": "IV", "status": "reported",
        "occurred_at": _t(0)}, author_id=U1, now=_t(0)))
    store.write_sync(lambda c: records.bulk_load(c, [("user", {"id": U1, "username": "z", "name": "张三",
                                                                "role": "officer"})]))
    eid = store.write_sync(lambda c: append_entry(c, kind="receive", body="接报", author_id=U1, device_id=DEV,
                                                  now=_t(1), incident_id=inc))
    row = store.read(Q.rows_by_id, [eid])[eid]
    assert row.incident_title == "11·23越秀北路水浸" and row.author_name == "张三"
    assert store.read(lambda c: c.execute(sa.text("SELECT count(*) FROM outbox")).scalar()) == 2


def test_another_consoles_chain_held_in_parts_is_checked_piece_by_piece(store):
    # A street console holds only the entries in its scope: the district console's chain arrives with
    # gaps. Each piece is still verified (an edit is found); the gap alone is no tampering alarm —
    # but the console's own chain must be whole.
    from app.store.schema import table_for

    ids = _fill(store, 20)
    t = table_for("duty_log_entry")
    store.write_sync(lambda c: c.execute(t.delete().where(t.c.id.in_(ids[5:8]))))  # out of scope, never pulled
    own = "00000000-0000-4000-8000-0000000000ff"
    [report] = store.read(Q.verify_chains, None, None, own)
    assert report.ok and report.gaps == 1 and report.checked == report.total == 17
    [strict] = store.read(Q.verify_chains, None, None, DEV)  # were these our own entries, it is a break
    assert not strict.ok and strict.reason == "prev_hash"

    store.write_sync(lambda c: c.execute(t.update().where(t.c.id == ids[15]).values(body="改过的")))
    [report] = store.read(Q.verify_chains, None, None, own)
    assert not report.ok and report.broken.id == ids[15] and report.reason == "hash"
