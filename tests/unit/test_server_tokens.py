"""Access tokens, lockout arithmetic, audit chain and wire models of the server."""

from __future__ import annotations

import pydantic
import pytest

from app.server import tokens
from app.server.audit import entry_hash
from app.server.auth import after_failure
from app.server.config import Settings
from app.server.errors import ApiError
from app.sync import wire

SECRET = "unit-secret"
CLAIMS = {"sub": "u1", "role": "officer", "org_unit_id": "o1", "device_id": "d1"}


def test_access_token_round_trip_and_expiry():
    token = tokens.sign_access(SECRET, CLAIMS, 900, now=1000.0)
    claims = tokens.verify_access(SECRET, token, now=1500.0)
    assert claims["sub"] == "u1" and claims["exp"] == 1900
    with pytest.raises(ApiError) as expired:
        tokens.verify_access(SECRET, token, now=1900.0)
    assert expired.value.status == 401 and expired.value.code == "token_expired"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "x",
        lambda t: t.replace("v1.", "v2."),
        lambda t: "a.b",
        lambda t: t.split(".")[0] + ".e30." + t.split(".")[2],
        lambda t: "é" * 5000,
    ],
)
def test_tampered_tokens_are_refused(mangle):
    token = tokens.sign_access(SECRET, CLAIMS, 900)
    with pytest.raises(ApiError) as bad:
        tokens.verify_access(SECRET, mangle(token))
    assert bad.value.status == 401


def test_other_secret_is_refused():
    with pytest.raises(ApiError):
        tokens.verify_access("other", tokens.sign_access(SECRET, CLAIMS, 900))


def test_device_keys_differ_per_device_and_secret():
    assert tokens.device_key(SECRET, "d1") != tokens.device_key(SECRET, "d2")
    assert tokens.device_key(SECRET, "d1") != tokens.device_key("other", "d1")
    assert len(bytes.fromhex(tokens.device_key(SECRET, "d1"))) == 32


def test_lockout_after_the_fifth_failure_and_a_fresh_count_after_it_expires():
    s = Settings()
    attempts, until = 0, None
    for _ in range(4):
        attempts, until = after_failure(attempts, until, 100.0, s)
        assert until is None
    attempts, until = after_failure(attempts, until, 100.0, s)
    assert (attempts, until) == (5, 100.0 + s.lockout_s)
    assert after_failure(attempts, until, until + 1, s) == (1, None)


def test_audit_hash_covers_every_field():
    entry = {"at": "t", "actor_id": "a", "action": "push:create", "rev": 3, "detail": {"x": 1}}
    assert entry_hash("0" * 64, entry) != entry_hash("0" * 64, dict(entry, rev=4))
    assert entry_hash("0" * 64, entry) != entry_hash("1" * 64, entry)


MUTATION = {
    "mutation_id": "6f1d3c2a-9b7e-4f51-8a43-2d0c5e7b9a10",
    "device_seq": 1,
    "entity": "incident",
    "entity_id": "6f1d3c2a-9b7e-4f51-8a43-2d0c5e7b9a11",
    "op": "patch",
    "payload": {"title": "x"},
    "base_rev": {"title": 3},
}


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def test_push_request_forbids_unknown_keys_and_bad_values():
    body = {"device_id": MUTATION["entity_id"], "mutations": [MUTATION]}
    assert wire.PushRequest.model_validate(body).mutations[0].base_rev == {"title": 3}
    for broken in (
        {**body, "role": "admin"},
        {**body, "mutations": [{**MUTATION, "rev": 9}]},
        {**body, "mutations": [{**MUTATION, "op": "upsert"}]},
        {**body, "mutations": [{**MUTATION, "device_seq": 0}]},
        {**body, "mutations": [{**MUTATION, "mutation_id": "x"}]},
        {**body, "mutations": [{**MUTATION, "payload": {"a": _nested(20)}}]},
    ):
        with pytest.raises(pydantic.ValidationError):
            wire.PushRequest.model_validate(broken)


def test_responses_ignore_keys_added_by_newer_servers():
    row = wire.ChangeRow.model_validate(
        {"entity": "incident", "id": "i", "rev": 3, "deleted": False, "data": {}, "future_key": 1}
    )
    assert row.field_rev == {}


def test_outbox_signature_is_stable_under_key_order():
    a = wire.outbox_signature("11" * 32, "d", 1, [{"b": 1, "a": "中"}])
    b = wire.outbox_signature("11" * 32, "d", 1, [{"a": "中", "b": 1}])
    assert a == b and a != wire.outbox_signature("22" * 32, "d", 1, [{"a": "中", "b": 1}])
