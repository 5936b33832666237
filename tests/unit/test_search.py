"""Chinese full-text search returns exactly the rows that contain the query, at any length."""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store import records
from app.store.search import search
from app.store.textindex import normalise

NOW = "2026-11-23T08:00:00+08:00"
BODIES = [
    "越秀区北京街发生火灾，无人员伤亡",
    "东山街道署前路水浸约30厘米",
    "接市民报告：3号楼燃气泄漏",
    "13号地铁口人员聚集",
    'A1 通道 "quoted" AND OR NEAR *',
    "广州市越秀区应急管理局值班室",
    "火",
    "流花街 危险化学品 运输车辆侧翻",
    "100% 完成； O'Brien's 50_50 \\ 路",
]


@pytest.fixture
def filled(store):
    ids = {}

    def fill(conn):
        for body in BODIES:
            ids[body] = records.create(conn, "duty_log_entry",
                                       {"kind": "note", "body": body, "occurred_at": NOW},
                                       author_id=None, now=NOW)
    store.write_sync(fill)
    return store, ids


def found(store, query):
    return {h.id for h in store.read(search, query)}


def expected(ids, query):
    terms = normalise(query).lower().split()
    return {i for body, i in ids.items() if all(t in normalise(body).lower() for t in terms)}


@pytest.mark.parametrize("query", [
    "火", "火灾", "越秀", "越秀区", "水浸", "3号", "13号", "号", "a1", "A1", '"quoted"', "AND", "OR",
    "NEAR", "*", "通道", "北京街 火灾", "越秀 应急", "危险化学品", "不存在", "'", "%", "_", "\\",
    "O'Brien's", "50_50", "100%", "；",
])
def test_search_finds_exactly_the_rows_containing_the_query(filled, query):
    store, ids = filled
    assert found(store, query) == expected(ids, query)


def test_search_follows_updates_and_deletes(filled):
    store, ids = filled
    target = ids["越秀区北京街发生火灾，无人员伤亡"]
    store.write_sync(lambda c: c.exec_driver_sql(
        "UPDATE duty_log_entry SET body = '改为燃气泄漏' WHERE id = ?", (target,)))
    assert target not in found(store, "火灾")
    assert target in found(store, "燃气")
    store.write_sync(lambda c: c.exec_driver_sql("DELETE FROM duty_log_entry WHERE id = ?", (target,)))
    assert target not in found(store, "燃气")


def test_search_spans_incidents_and_resources_and_can_be_narrowed(store):
    def fill(conn):
        inc = records.create(conn, "incident", {
            "title": "11·23 越秀北京街火灾", "category": "accident", "severity": "IV", "status": "reported",
            "occurred_at": NOW}, author_id=None, now=NOW)
        team = records.create(conn, "team", {
            "name": "越秀区消防救援大队", "type": "fire", "headcount": 60, "status": "standby"},
            author_id=None, now=NOW)
        return inc, team
    inc, team = store.write_sync(fill)
    assert found(store, "越秀") == {inc, team}
    assert {h.id for h in store.read(search, "越秀", ["team"])} == {team}


CJK = st.sampled_from(list("越秀区北京街火灾水浸燃气泄漏人员伤亡东山流花应急值班"))
TEXT = st.text(alphabet=st.one_of(CJK, st.sampled_from(list("ab1 \"'*%_-"))), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(TEXT.filter(str.strip), min_size=1, max_size=8), query=TEXT)
def test_search_agrees_with_substring_matching(tmp_path_factory, bodies, query):
    from app.store.db import Store

    with Store(tmp_path_factory.mktemp("s") / f"{uuid.uuid4()}.db") as store:
        ids = {}

        def fill(conn):
            for b in bodies:
                ids[records.create(conn, "duty_log_entry", {"kind": "note", "body": b, "occurred_at": NOW},
                                   author_id=None, now=NOW)] = b
        store.write_sync(fill)
        terms = normalise(query).lower().split()
        want = {i for i, b in ids.items() if terms and all(t in normalise(b).lower() for t in terms)}
        assert found(store, query) == want
