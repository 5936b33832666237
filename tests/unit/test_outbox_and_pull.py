"""The outbox is written with each change; pulled pages apply atomically and never revert local edits."""

import uuid

import pytest
import sqlalchemy as sa

from app.store import outbox, records
from app.store import pull as pl
from app.store.device import ensure_device, read_state
from app.store.schema import outbox as outbox_table
from app.store.schema import table_for

NOW = "2026-11-23T08:00:00+08:00"
INCIDENT = {"title": "11·23 越秀北京街火灾", "category": "accident", "severity": "IV",
            "status": "reported", "occurred_at": NOW}


def outbox_rows(store):
    return store.read(lambda c: [dict(r) for r in c.execute(
        sa.select(outbox_table).order_by(outbox_table.c.device_seq)).mappings()])


def test_every_change_queues_one_mutation_with_gap_free_sequence(store):
    inc = store.write_sync(lambda c: records.create(c, "incident", INCIDENT, author_id=None, now=NOW))
    store.write_sync(lambda c: records.patch(c, "incident", inc, {"status": "verified"}, author_id=None, now=NOW))
    store.write_sync(lambda c: records.create(c, "duty_log_entry", {
        "kind": "receive", "body": "接报", "occurred_at": NOW, "incident_id": inc}, author_id=None, now=NOW))
    rows = outbox_rows(store)
    assert [r["device_seq"] for r in rows] == [1, 2, 3]
    assert [r["op"] for r in rows] == ["create", "patch", "append"]
    assert rows[1]["payload"] == {"status": "verified"}
    assert rows[1]["base_rev"] == {"status": 0}
    assert store.read(outbox.waiting_count) == 3


def test_invalid_record_is_refused_with_nothing_queued(store):
    from app.domain.validate import ValidationError

    with pytest.raises(ValidationError) as err:
        store.write_sync(lambda c: records.create(c, "team", {"name": "x", "type": "fire", "headcount": -3,
                                                              "status": "standby"}, author_id=None, now=NOW))
    assert any(p.field == "headcount" and "负" in p.message_zh for p in err.value.problems)
    assert outbox_rows(store) == []


def page(cursor, changes, next_cursor, has_more=False, hw=None):
    return {"changes": changes, "next_cursor": next_cursor, "has_more": has_more,
            "high_watermark": hw if hw is not None else next_cursor, "server_epoch": str(uuid.uuid4())}


def change(entity, rid, rev, **data):
    return {"entity": entity, "id": rid, "rev": rev, "deleted": False, "data": data}


def test_pulled_rows_become_visible_only_when_the_catch_up_is_applied(store):
    store.write_sync(ensure_device)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    p1 = page(0, [change("team", a, 5, name="北京街应急分队", type="part_time", headcount=15, status="standby")],
              5, has_more=True, hw=9)
    p2 = page(5, [change("team", b, 9, name="消防救援大队", type="fire", headcount=60, status="standby",
                         lon=113.27, lat=23.13)], 9)
    team = table_for("team")
    count = lambda: store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(team)).scalar())  # noqa: E731
    store.write_sync(pl.stage_page, pl.check_page(p1, 0), 5, 9)
    assert count() == 0  # staged, not visible
    assert store.read(read_state)["staging_cursor"] == 5
    store.write_sync(pl.stage_page, pl.check_page(p2, 5), 9, 9)
    touched = store.write_sync(pl.apply_staged)
    assert touched == {"team": {a, b}}
    assert count() == 2
    row = store.read(records.get, "team", b)
    assert (row["name"], row["headcount"], row["server_rev"], row["lon"]) == ("消防救援大队", 60, 9, 113.27)
    assert store.read(read_state)["pull_cursor"] == 9


@pytest.mark.parametrize("bad", [
    {"changes": "nope", "next_cursor": 3},
    {"changes": [{"entity": "bank_account", "id": str(uuid.uuid4()), "rev": 2, "data": {}}], "next_cursor": 2},
    {"changes": [{"entity": "team", "id": "1; DROP TABLE team", "rev": 2, "data": {}}], "next_cursor": 2},
    {"changes": [{"entity": "team", "id": str(uuid.uuid4()), "rev": 9, "data": {}}], "next_cursor": 4},
    {"changes": [], "next_cursor": 1},  # cursor going backwards
    {"changes": [{"entity": "team", "id": str(uuid.uuid4()), "rev": 4, "data": []}], "next_cursor": 4},
])
def test_hostile_page_is_refused_before_anything_is_written(store, bad):
    store.write_sync(ensure_device)
    with pytest.raises(pl.BadPage):
        pl.check_page(bad, 3)


def test_unconfirmed_local_edit_survives_a_pull_of_the_same_incident(store):
    store.write_sync(ensure_device)
    rid = str(uuid.uuid4())
    base = dict(INCIDENT, status="reported")
    store.write_sync(pl.stage_page, [change("incident", rid, 3, **base)], 3, 3)
    store.write_sync(pl.apply_staged)
    store.write_sync(lambda c: records.patch(c, "incident", rid, {"status": "responding"}, author_id=None, now=NOW))
    # Someone else changed the summary on the server; our status change is still queued.
    store.write_sync(pl.stage_page, [change("incident", rid, 7, **dict(base, summary="现场浓烟"))], 7, 7)
    store.write_sync(pl.apply_staged)
    row = store.read(records.get, "incident", rid)
    assert row["summary"] == "现场浓烟"
    assert row["status"] == "responding"
    assert row["server_rev"] == 7


def test_pulled_rows_are_searchable_and_renames_and_tombstones_follow(store):
    from app.store.search import search

    store.write_sync(ensure_device)
    rid = str(uuid.uuid4())
    store.write_sync(pl.stage_page, [change("team", rid, 3, name="北京街应急分队", type="part_time",
                                            headcount=15, status="standby")], 3, 3)
    store.write_sync(pl.apply_staged)
    assert [h.id for h in store.read(search, "北京街")] == [rid]
    store.write_sync(pl.stage_page, [change("team", rid, 8, name="洪桥街应急分队", type="part_time",
                                            headcount=15, status="standby")], 8, 8)
    store.write_sync(pl.apply_staged)
    assert store.read(search, "北京街") == []
    assert [h.id for h in store.read(search, "洪桥")] == [rid]
    gone = {"entity": "team", "id": rid, "rev": 9, "deleted": True, "data": {}}
    store.write_sync(pl.stage_page, [gone], 9, 9)
    store.write_sync(pl.apply_staged)
    assert store.read(search, "洪桥") == []


def test_every_searchable_field_of_the_catalogue_has_its_index_trigger(store):
    from app.domain.entities import ENTITIES

    sql = store.read(lambda c: dict(c.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all()))
    for name, ent in ENTITIES.items():
        if ent.searchable:
            body = sql[f"{name}_search_upd"]
            assert all(f"new.{f}" in body for f in ent.searchable), name


def test_a_large_pull_is_searchable_at_the_swap_and_the_deferred_index_catches_up(store, monkeypatch):
    """Above DEFER_INDEX_ROWS the swap leaves the search texts for later: search must answer
    exactly the same before and after the catch-up, and an edit of a not-yet-indexed row in
    between must leave the index whole (FTS5 integrity check on a fresh connection)."""
    import pysqlite3.dbapi2 as sqlite

    from app.store import index
    from app.store.search import search

    monkeypatch.setattr(pl, "DEFER_INDEX_ROWS", 2)
    store.write_sync(ensure_device)
    ids = [str(uuid.uuid4()) for _ in range(6)]
    bodies = ["北京街3号水浸", "越秀北路树倒", "ＡＢＣ大厦停电", "北京街口车祸", "人民路积水", "3号楼火警"]
    changes = [change("duty_log_entry", rid, n + 1, kind="receive", body=body, occurred_at=NOW)
               for n, (rid, body) in enumerate(zip(ids, bodies, strict=True))]
    store.write_sync(pl.stage_page, changes, 6, 6)
    store.write_sync(pl.apply_staged)
    assert store.read(index.backlog) is not None  # nothing of the texts indexed yet

    queries = ["北京街", "北", "3号", "abc大厦", "水", "火警 3号", "不存在"]

    def answers():
        return {q: sorted(h.id for h in store.read(search, q)) for q in queries}

    during = answers()
    assert during["北京街"] == sorted([ids[0], ids[3]]) and during["abc大厦"] == [ids[2]]
    assert during["3号"] == sorted([ids[0], ids[5]]) and during["不存在"] == []
    # An officer edits a row whose text is not indexed yet: the live trigger indexes it.
    store.write_sync(lambda c: c.execute(sa.text("UPDATE duty_log_entry SET body = '北京街5号水浸' WHERE id = :i"),
                                         {"i": ids[4]}))
    during = answers()
    assert during["北京街"] == sorted([ids[0], ids[3], ids[4]])
    while store.write_sync(index.index_backlog_chunk, 2)[0]:
        pass
    assert store.read(index.backlog) is None
    assert answers() == during
    conn = sqlite.connect(str(store.path))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM search_doc").fetchone()[0] == 6
    finally:
        conn.close()
