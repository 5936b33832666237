"""Hypothesis fuzz of push bodies against one live server: never a 5xx, always the error shape."""

from __future__ import annotations

import uuid

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sync_world as W
from app.server import db
from sync_live import Console, ServerProcess

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "title",
        "status",
        "severity",
        "org_unit_id",
        "lon",
        "created_by",
        "rev",
        "team_id",
        "state",
        "delta",
        "warehouse_id",
        "body",
        "kind",
        "x",
    ]
) | st.text(max_size=8)
ops = st.sampled_from(["create", "patch", "append", "delta", "delete", "upsert", ""])
entities = st.sampled_from(
    ["incident", "dispatch", "stock_movement", "duty_log_entry", "org_unit", "sync_conflict", "user", "nope"]
)
ids = st.sampled_from([W.STREET1, W.TEAM1, W.WAREHOUSE1, str(uuid.uuid4()), "not-a-uuid"])


def mutation(device_seq):
    return st.fixed_dictionaries(
        {
            "mutation_id": st.uuids().map(str) | st.text(max_size=5),
            "device_seq": device_seq,
            "entity": entities,
            "entity_id": ids,
            "op": ops,
            "payload": st.dictionaries(field_names, json_values, max_size=6),
        },
        optional={
            "base_rev": st.dictionaries(field_names, st.integers(-5, 10**12), max_size=3) | json_values,
            "client_time": st.text(max_size=30),
            "junk": json_values,
        },
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{path / 'server.db'}"
    engine = db.make_engine(url)
    db.init_schema(engine)
    W.seed_world(engine)
    engine.dispose()
    server = ServerProcess(url, path / "server.log").start()
    c = Console(server, "officer_s1")
    assert c.login().status_code == 200
    yield c
    server.kill()
    assert "Traceback" not in (path / "server.log").read_text(errors="replace")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.fixed_dictionaries(
        {"mutations": st.lists(mutation(st.integers(-3, 40)), max_size=4)},
        optional={"device_id": st.text(max_size=40), "schema_version": json_values, "extra": json_values},
    ),
    in_order=st.booleans(),
)
def test_fuzzed_push_bodies_never_cause_a_server_error(live, body, in_order):
    body.setdefault("device_id", live.device_id)
    if in_order:  # well-numbered batches reach the per-mutation rules instead of stopping at 409
        state = requests.get(
            f"{live.base}/api/v1/sync/device-state", headers=live.headers(), timeout=10
        ).json()
        for i, m in enumerate(body["mutations"]):
            m["device_seq"] = state["last_device_seq"] + 1 + i
    r = requests.post(f"{live.base}/api/v1/sync/push", json=body, headers=live.headers(), timeout=30)
    assert r.status_code < 500, r.text
    data = r.json()
    if r.status_code == 200:
        for result in data["results"]:
            assert result["outcome"] in ("applied", "applied_with_conflict", "rejected")
            assert result["outcome"] != "rejected" or result["code"] not in (None, "server_error")
    else:
        assert set(data["error"]) >= {"code", "message"}


@pytest.mark.parametrize("raw", [
    b'"checklist": {"n": 1e400}', b'"checklist": ["a\\u0000b"]', b'"title": "x\\ud800y"',
])
def test_values_no_database_can_store_are_a_422_not_a_500(console, raw):
    c = console("officer_s1")
    body = (b'{"device_id": "' + c.device_id.encode() + b'", "schema_version": 1, "mutations": [{'
            b'"mutation_id": "' + str(uuid.uuid4()).encode() + b'", "device_seq": 1, "entity": "plan", '
            b'"entity_id": "' + str(uuid.uuid4()).encode() + b'", "op": "patch", "payload": {' + raw + b'}}]}')
    r = c.http.post(f"{c.base}/api/v1/sync/push", data=body, headers=dict(c.headers(), **{
        "Content-Type": "application/json"}), timeout=30)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] in ("bad_json", "invalid_characters")
