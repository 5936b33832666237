"""The server's fast paths against their plain definitions, in process, on SQLite and PostgreSQL.

* A push batch decided in memory and written in a few statements (app.server.state) must
  leave exactly what the careful path leaves (every mutation in its own savepoint, its
  writes issued at once): the same results, the same rows, the same ledger and audit.
* When the fast path meets something unexpected the batch is replayed carefully, and a
  mutation whose write the database refuses ends ``rejected`` (server_error) alone.
* A pull page assembled as JSON text by the database equals the page built from decoded
  rows (``change_row``), for every scope, page size and awkward stored value.
"""

from __future__ import annotations

import json
import logging
import uuid

import pytest
import sqlalchemy as sa

import sync_world as W
from app.server import auth, push, state
from app.server import pull as pull_module
from app.server.audit import verify
from app.server.auth import Principal
from app.server.config import Settings
from app.server.db import allocate_rev, writer
from app.server.errors import ApiError
from app.server.tables import active_dispatch, audit_log, processed_mutation, record, stock_balance
from app.sync import wire
from sync_live import SECRET, incident

T0 = "2026-11-23T08:10:00+08:00"


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"command-desk-test/batch/{name}"))


def _device(engine: sa.Engine, username: str, name: str) -> Principal:
    device_id = _id(f"device/{name}")
    tokens = auth.login(engine, Settings(), SECRET, username, W.password(username), device_id)
    return auth.principal_from_token(engine, SECRET, tokens["access_token"])


class Pusher:
    """Numbered mutations from one device, pushed in process."""

    def __init__(self, engine: sa.Engine, username: str, name: str):
        self.engine, self.name = engine, name
        self.who = _device(engine, username, name)
        self.seq = 0

    def m(self, entity: str, entity_id: str, op: str, payload: dict | None = None,
          base_rev: dict | None = None, tag: str | None = None) -> dict:
        self.seq += 1
        out = {"mutation_id": _id(f"{self.name}/m{tag or self.seq}"), "device_seq": self.seq, "entity": entity,
               "entity_id": entity_id, "op": op, "payload": payload or {}, "client_time": T0}
        if base_rev is not None:
            out["base_rev"] = base_rev
        return out

    def push(self, mutations: list[dict], careful: bool = False) -> dict:
        ordered = sorted((wire.Mutation.model_validate(x) for x in mutations), key=lambda x: x.device_seq)
        hashes = [push.payload_sha256(x) for x in ordered]
        if careful:
            return push._push(self.engine, self.who, self.who.device_id, ordered, hashes, "push", None, careful=True)
        return push.push_batch(self.engine, self.who, self.who.device_id, ordered)


def _scenario(engine: sa.Engine, careful: bool) -> list[list[dict]]:
    """Everything a batch can meet, twice: mixed outcomes, in-batch reads of in-batch writes."""
    leader, officer = Pusher(engine, "leader", "leader"), Pusher(engine, "officer_s1", "officer")
    x = _id("incident-x")
    first = leader.push([leader.m("incident", x, "create", incident(W.STREET1))])["body"]
    rev_x = first["results"][0]["rev"]
    leader.push([leader.m("incident", x, "patch", {"summary": "领导更新"}, {"summary": rev_x})])
    a, log1, d1, d2 = _id("incident-a"), _id("log-1"), _id("dispatch-1"), _id("dispatch-2")
    order = {"team_id": W.TEAM1, "state": "ordered", "ordered_at": T0, "org_unit_id": W.STREET1}
    log = {"kind": "note", "body": "现场报告", "occurred_at": T0, "org_unit_id": W.STREET1}
    stock = {"warehouse_id": W.WAREHOUSE1, "item_id": W.ITEM1, "reason": "allocation"}
    o = officer.m
    batch = [
        o("incident", a, "create", incident(W.STREET1)),
        o("incident", a, "patch", {"title": "改名"}, {}),  # own earlier write: never a conflict
        o("incident", x, "patch", {"summary": "我的"}, {"summary": rev_x}),  # concurrent edit
        o("incident", x, "patch", {"status": "responding"}, {"status": rev_x}),
        o("incident", x, "patch", {"status": "reported"}, {"status": rev_x}),  # illegal transition
        o("duty_log_entry", log1, "append", log),
        o("duty_log_entry", log1, "append", log),  # the same entry again: a no-op
        o("duty_log_entry", log1, "append", dict(log, body="改过")),  # append_only
        o("dispatch", d1, "create", dict(order, incident_id=a)),
        o("dispatch", d2, "create", dict(order, incident_id=x)),  # unit_taken, stored cancelled
        o("dispatch", d1, "patch", {"state": "returned"}, {"state": 0}),  # frees the team
        o("dispatch", d2, "patch", {"state": "en_route"}, {"state": 0}),  # takes it
        o("stock_movement", _id("move-1"), "delta", dict(stock, delta=-5)),  # negative: conflict
        o("stock_movement", _id("move-2"), "delta", dict(stock, delta=3)),
        o("stock_movement", _id("move-3"), "delta", dict(stock, warehouse_id=W.WAREHOUSE2, delta=1)),
        o("incident", _id("incident-s2"), "create", incident(W.STREET2)),  # out_of_scope
        o("nope", _id("nope"), "create", {}),  # unknown_entity
        o("incident", _id("missing"), "patch", {"title": "x"}, {}),  # not_found
        o("incident", a, "delete"),  # forbidden for an officer
        o("incident", _id("incident-b"), "create", dict(incident(W.STREET1), rev=5)),  # server_owned
        o("sync_conflict", _id("conflict"), "create", {}),  # forbidden
    ]
    batch.append(dict(batch[5]))  # the very same mutation twice in one batch: the stored result
    answers = [officer.push(batch, careful)["body"]["results"]]
    answers.append(officer.push(batch, careful)["body"]["results"])  # replayed from the ledger
    for results in answers:  # a refused patch/delete carries the record: drop its wall-clock stamp
        for r in results:
            if r.get("current"):
                r["current"]["data"].pop("updated_at", None)
    return answers


def _snapshot(engine: sa.Engine) -> dict[str, list]:
    """Every row the scenario can touch, without wall-clock columns (and hashes over them)."""
    out = {}
    with engine.connect() as conn:
        for table, drop in ((record, {"updated_at"}), (active_dispatch, set()), (stock_balance, set()),
                            (processed_mutation, {"received_at"}),
                            (audit_log, {"seq", "at", "prev_hash", "entry_hash"})):
            rows = [{k: v for k, v in r._mapping.items() if k not in drop} for r in conn.execute(sa.select(table))]
            out[table.name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
        assert verify(conn) is None
    return out


def test_a_batch_decided_in_memory_ends_exactly_like_the_careful_path(database, tmp_path, caplog):
    (tmp_path / "careful").mkdir()
    careful_db = type(database)(database.backend, tmp_path / "careful")  # seeded like the other
    try:
        fast = _scenario(database.engine, careful=False)
        assert "replayed" not in caplog.text  # the fast path itself decided every batch
        careful = _scenario(careful_db.engine, careful=True)
        assert fast == careful
        assert fast[1] == fast[0]  # a replayed batch answers from the ledger, verbatim
        outcomes = [(r["outcome"], r["code"]) for r in fast[0]]
        assert ("applied_with_conflict", None) in outcomes and ("rejected", "append_only") in outcomes
        assert {c for _, c in outcomes} >= {"out_of_scope", "unknown_entity", "not_found", "forbidden",
                                           "server_owned"}
        # The officer's refused delete of incident a comes back with a as the server keeps it
        # (after the batch: its title patch applied); a refused create or append carries nothing.
        [refused_delete] = [r for r in fast[0] if r["code"] == "forbidden" and r.get("current")]
        assert refused_delete["current"]["data"]["title"] == "改名"
        assert refused_delete["current"]["deleted"] is False
        assert all("current" not in r for r in fast[0] if r["code"] in ("append_only", "out_of_scope"))
        assert _snapshot(database.engine) == _snapshot(careful_db.engine)
    finally:
        careful_db.close()


def test_an_unexpected_failure_replays_the_batch_and_rejects_only_the_failing_mutation(database, monkeypatch,
                                                                                   caplog):
    officer = Pusher(database.engine, "officer_s1", "officer")
    log = {"kind": "note", "body": "正常", "occurred_at": T0, "org_unit_id": W.STREET1}
    bad = _id("log-bad")
    batch = [officer.m("duty_log_entry", rid, "append", log) for rid in (_id("log-0"), bad, _id("log-1"), _id("log-2"))]
    real_write = state.BatchState._write

    def refusing_write(self, ch):  # the database refuses one row (as PostgreSQL refuses \u0000)
        if any(rid == bad for _, rid in ch.records):
            raise sa.exc.DataError("INSERT", {}, Exception("refused"))
        return real_write(self, ch)

    monkeypatch.setattr(state.BatchState, "_write", refusing_write)
    with caplog.at_level(logging.WARNING, logger="command_desk.server.push"):
        results = officer.push(batch)["body"]["results"]
    assert "replayed mutation by mutation" in caplog.text
    assert [(r["outcome"], r["code"]) for r in results] == [
        ("applied", None), ("rejected", "server_error"), ("applied", None), ("applied", None)]
    rev = results[0]["rev"]
    assert {r["rev"] for r in results if r["outcome"] == "applied"} == {rev}  # still one revision
    with database.engine.connect() as conn:
        ids = set(conn.execute(sa.select(record.c.id).where(record.c.entity == "duty_log_entry")).scalars())
        assert bad not in ids and len(ids) == 3
        ledger = conn.execute(sa.select(sa.func.count()).select_from(processed_mutation)).scalar()
        assert ledger == 4  # the rejected one is in the ledger too: a retry gets the same answer
        assert verify(conn) is None
    monkeypatch.setattr(state.BatchState, "_write", real_write)
    assert officer.push(batch)["body"]["results"] == results


def test_stop_conditions_keep_what_came_before(database):
    officer = Pusher(database.engine, "officer_s1", "officer")
    log = {"kind": "note", "body": "正常", "occurred_at": T0, "org_unit_id": W.STREET1}
    one = officer.m("duty_log_entry", _id("log-1"), "append", log)
    officer.push([one])
    reused = dict(officer.m("duty_log_entry", _id("log-2"), "append", log), mutation_id=one["mutation_id"])
    with pytest.raises(push.StopBatch) as stop:
        officer.push([reused])
    assert stop.value.error.code == "idempotency_key_reuse"
    officer.seq = 1
    two = officer.m("duty_log_entry", _id("log-3"), "append", log)
    officer.seq += 1  # device_seq 3 never sent
    gap = officer.m("duty_log_entry", _id("log-4"), "append", log)
    with pytest.raises(push.StopBatch) as stop:
        officer.push([two, gap])
    assert stop.value.error.code == "sequence_gap" and stop.value.error.extra["expected_device_seq"] == 3
    assert [r["outcome"] for r in stop.value.error.extra["_top"]["results"]] == ["applied"]
    assert stop.value.committed_rev is not None


def test_a_revoked_device_is_refused_before_anything_is_decided(database):
    officer = Pusher(database.engine, "officer_s1", "officer")
    with writer(database.engine) as conn, conn.begin():
        conn.execute(sa.text("UPDATE device SET revoked_at = 'now' WHERE device_id = :d"),
                     {"d": officer.who.device_id})
    with pytest.raises(ApiError) as refused:
        officer.push([officer.m("duty_log_entry", _id("log"), "append", {})])
    assert refused.value.code == "device_revoked"


# ---- pull ------------------------------------------------------------------------------------


def _reference_pull(engine: sa.Engine, who: Principal, cursor: int, limit: int) -> dict:
    """The pull of the first server version: SQLAlchemy rows, change_row, dicts."""
    from app.server.db import meta, reader
    from app.server.scope import allowed_units

    cols = (record.c.entity, record.c.id, record.c.server_rev, record.c.deleted, record.c.data,
            record.c.field_rev, record.c.created_by, record.c.updated_by, record.c.updated_at)
    with reader(engine) as conn, conn.begin():
        m = meta(conn)
        units = allowed_units(conn, who.role, who.org_unit_id)
        visible = sa.true() if units is None else sa.or_(record.c.scope_id.is_(None),
                                                         record.c.scope_id.in_(sorted(units)))
        order = (record.c.server_rev, record.c.entity, record.c.id)
        rows = conn.execute(sa.select(*cols).where(record.c.server_rev > cursor, visible)
                            .order_by(*order).limit(limit + 1)).all()
        has_more = len(rows) > limit
        page = rows[:limit]
        if has_more and rows[limit].server_rev == page[-1].server_rev:
            last = page[-1]
            page += conn.execute(sa.select(*cols).where(
                record.c.server_rev == last.server_rev, visible,
                sa.tuple_(record.c.entity, record.c.id) > sa.tuple_(last.entity, last.id)).order_by(*order)).all()
            has_more = conn.execute(sa.select(record.c.id).where(
                record.c.server_rev > last.server_rev, visible).limit(1)).first() is not None
        return {"changes": [pull_module.change_row(r) for r in page],
                "next_cursor": page[-1].server_rev if has_more else max(cursor, m.current_rev),
                "has_more": has_more, "high_watermark": m.current_rev, "min_valid_cursor": m.min_valid_cursor,
                "server_epoch": m.server_epoch, "scope_key": pull_module.scope_key(units)}


def test_pull_pages_built_by_the_database_equal_pages_built_from_rows(database):
    from app.server import seed

    awkward = ['"quoted"', "back\\slash", "tab\there\nline", "控制\x01字符", "emoji 😀", "</script>",
               "\u2028", "", " "]
    rows = [("duty_log_entry", {"id": _id(f"row-{i}"), "kind": "note", "body": awkward[i % len(awkward)] + str(i),
                                "occurred_at": T0, "org_unit_id": [W.STREET1, W.STREET2, W.COMMUNITY1][i % 3],
                                "details": {"n": i * 1.5, "nested": [1, {"x": awkward[i % 9]}], "big": 2**60}})
            for i in range(120)]
    seed.bulk_load(database.engine, rows, validate="none", chunk=7)
    ids = [d["id"] for _, d in rows]
    with writer(database.engine) as conn, conn.begin():  # tombstones, empty data, null field_rev
        rev = allocate_rev(conn)
        conn.execute(record.update().where(record.c.id.in_(ids[:10])).values(deleted=True, server_rev=rev))
        conn.execute(record.update().where(record.c.id.in_(ids[10:15]))
                     .values(data={}, created_by=None, server_rev=rev))
        conn.execute(record.update().where(record.c.id.in_(ids[15:18])).values(field_rev=None, server_rev=rev))
    who = [Principal(W.user_id(u), u, u, role, org, _id(f"device/{u}"))
           for u, (role, org) in W.USERS.items()] + [Principal(_id("nobody"), "n", "n", "officer", None, "d")]
    for p in who:
        for limit in (1, 4, 7, 50, 1000):
            cursor = 0
            while True:
                want = _reference_pull(database.engine, p, cursor, limit)
                got = json.loads(pull_module.pull_json(database.engine, p, cursor, limit))
                assert got.pop("server_time")
                assert [c["rev"] for c in got["changes"]] == sorted(c["rev"] for c in got["changes"])
                got["changes"].sort(key=lambda c: (c["rev"], c["entity"], c["id"]))  # any order within a rev
                assert got == want, (p.username, limit, cursor)
                cursor = got["next_cursor"]
                if not got["has_more"]:
                    break
