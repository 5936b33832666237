"""Wire schema of the sync API (SYNC_PROTOCOL.md), shared by the console and the server.

Request models forbid unknown keys (mass assignment, SYNC_RESEARCH.md §5); response
models ignore unknown keys so an older console can read a newer server's answer.
The names here are the contract: change one only together with docs/protocol.md.

Shapes as sent
--------------
Push request ``POST /api/v1/sync/push``::

    {"device_id": "uuid", "schema_version": 1,
     "mutations": [{"mutation_id": "uuid", "device_seq": 17, "entity": "incident",
                    "entity_id": "uuid", "op": "patch", "payload": {"status": "responding"},
                    "base_rev": {"status": 1203}, "client_time": "2026-11-23T08:15:02+08:00",
                    "author_id": "uuid-or-null"}]}

Push response (200)::

    {"results": [{"mutation_id": "…", "outcome": "applied", "rev": 1450, "code": null,
                  "message": null, "conflict_ids": [], "problems": []}],
     "server_rev": 1450, "last_device_seq": 17, "server_epoch": "uuid", "server_time": "…"}

A 409 (``sequence_gap``) or 422 (``idempotency_key_reuse``) stops the batch at the offending
mutation; the body is the error plus the results of the mutations before it, which are
committed: ``{"error": {"code", "message", "expected_device_seq"}, "results": [...]}``.

Pull row (``GET /api/v1/sync/pull``)::

    {"entity": "incident", "id": "uuid", "rev": 1450, "deleted": false,
     "data": {...record fields..., "created_by": "uuid", "updated_by": "uuid",
              "updated_at": "ISO"},
     "field_rev": {"title": 1200, "status": 1450}}

``data`` is ``{}`` for a tombstone. ``field_rev`` is a sibling of ``data`` (never inside it)
and is empty for append-only entities; consoles send it back as ``base_rev`` when patching.

Outbox export for sneakernet transfer (``POST /api/v1/sync/import``)
--------------------------------------------------------------------
``{"device_id", "schema_version", "mutations": [...as in push...], "signature"}``.
The device key is ``HMAC-SHA256(server_secret, "command-desk/outbox/v1|" + device_id)``,
handed to the console at login as ``device_key`` (hex) and kept in the OS keyring.
``signature`` is the hex ``HMAC-SHA256(device_key, canonical)`` where ``canonical`` is
the UTF-8 of ``json.dumps({"device_id", "schema_version", "mutations"}, sort_keys=True,
ensure_ascii=False, separators=(",", ":"))`` over the parsed mutation objects exactly as
they appear in the file (use :func:`outbox_signature`). The import goes through the same
ledger as a push, so importing a file twice changes nothing.

Device signatures, the push hash chain and quarantine (docs/protocol.md)
-------------------------------------------------------------------------
Optional, added fields: ``device_public_key`` on login/refresh (enrols the console's
Ed25519 key on first use), ``prev_hash``/``hash`` on each mutation and ``batch_sig`` on the
push (app.sync.signing). A new outcome ``quarantined`` holds a mutation for a shift leader
(``GET /api/v1/quarantine``, ``POST /api/v1/quarantine/{mutation_id}/approve|decline``).

Error body, every status ≥ 400: ``{"error": {"code": "…", "message": "…", ...}}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1  # the record schema the server speaks
MIN_SCHEMA_VERSION = 1  # oldest console schema still accepted; older ones get 426

MAX_MUTATIONS = 500  # per push; more is 413
MAX_PUSH_BYTES = 5 * 1024 * 1024  # body size checked before parsing
MAX_PAYLOAD_DEPTH = 16  # nesting of a mutation payload (json fields such as checklists)
DEFAULT_PULL_LIMIT = 1000
MAX_PULL_LIMIT = 5000

Op = Literal["create", "patch", "append", "delta", "delete"]
Outcome = Literal["applied", "applied_with_conflict", "rejected", "quarantined"]
OUTCOMES: tuple[str, ...] = ("applied", "applied_with_conflict", "rejected", "quarantined")

# Per-mutation rejection codes (MutationResult.code).
REJECT_CODES = (
    "unknown_entity", "bad_op", "forbidden", "out_of_scope", "server_owned", "unknown_field",
    "invalid", "not_found", "exists", "deleted", "append_only", "id_mismatch", "bad_reference",
    "server_error", "author_unverified", "quarantine_declined",
)
# Why a mutation was quarantined (MutationResult.code when outcome is "quarantined").
QUARANTINE_CODES = ("author_unverified", "author_role", "client_time_outside_window")

_HASH_PATTERN = r"^[0-9a-f]{64}$"
_B64_PATTERN = r"^[A-Za-z0-9+/]+={0,2}$"
_UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100_000)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _depth(value: Any, limit: int, level: int = 0) -> bool:
    if level > limit:
        return False
    if isinstance(value, dict):
        return all(_depth(v, limit, level + 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth(v, limit, level + 1) for v in value)
    return True


# ---- Push


class Mutation(_Request):
    mutation_id: str = Field(pattern=_UUID_PATTERN)
    device_seq: int = Field(ge=1, le=2**53)
    entity: str = Field(min_length=1, max_length=64)
    entity_id: str = Field(pattern=_UUID_PATTERN)
    op: Op
    payload: dict[str, Any] = Field(default_factory=dict)
    base_rev: dict[str, int] | None = None  # field -> server revision the officer saw
    client_time: str | None = Field(default=None, max_length=64)  # for people only, never ordering
    author_id: str | None = Field(default=None, pattern=_UUID_PATTERN)
    # The device's hash chain (app.domain.outbox_chain); optional, required of enrolled devices.
    prev_hash: str | None = Field(default=None, pattern=_HASH_PATTERN)
    hash: str | None = Field(default=None, pattern=_HASH_PATTERN)

    @field_validator("payload")
    @classmethod
    def _payload_shape(cls, v: dict[str, Any]) -> dict[str, Any]:
        if len(v) > 200 or not _depth(v, MAX_PAYLOAD_DEPTH):
            raise ValueError("payload too large or too deeply nested")
        return v


class PushRequest(_Request):
    device_id: str = Field(pattern=_UUID_PATTERN)
    schema_version: int = SCHEMA_VERSION
    app_version: str | None = Field(default=None, max_length=64)
    mutations: list[Mutation] = Field(max_length=MAX_MUTATIONS)
    # Ed25519 signature (base64) over the last mutation's hash (app.sync.signing.batch_message).
    batch_sig: str | None = Field(default=None, max_length=128, pattern=_B64_PATTERN)


class Problem(_Response):
    field: str
    code: str
    message: str


class CurrentRecord(_Response):
    """The record as the server holds it, sent with a refused patch or delete (see push.py)."""

    rev: int
    deleted: bool
    data: dict[str, Any]
    field_rev: dict[str, int] = Field(default_factory=dict)


class MutationResult(_Response):
    mutation_id: str
    outcome: Outcome
    rev: int | None = None  # the server revision that carries the effect (None when rejected)
    code: str | None = None  # a REJECT_CODES value when rejected, a QUARANTINE_CODES value when quarantined
    message: str | None = None  # "中文 / English"
    conflict_ids: list[str] = Field(default_factory=list)  # sync_conflict rows raised
    problems: list[Problem] = Field(default_factory=list)  # per-field validation problems
    current: CurrentRecord | None = None  # rejected patch/delete of a visible record: what to show again


class PushResponse(_Response):
    results: list[MutationResult]
    server_rev: int  # current revision after the batch
    last_device_seq: int  # the server's ledger position for this device
    server_epoch: str
    server_time: str


# ---- Pull


class ChangeRow(_Response):
    entity: str
    id: str
    rev: int
    deleted: bool
    data: dict[str, Any]
    field_rev: dict[str, int] = Field(default_factory=dict)


class ScopeRemoved(_Response):
    """The row left the caller's scope: drop the local copy (docs/protocol.md "Scope changes")."""

    op: Literal["scope_removed"]
    entity: str
    id: str
    rev: int


class PullResponse(_Response):
    changes: list[ChangeRow | ScopeRemoved]
    next_cursor: int
    has_more: bool
    high_watermark: int
    min_valid_cursor: int = 0
    server_epoch: str
    scope_key: str | None = None  # fingerprint of the caller's org units; a change means full resync
    server_time: str


class DeviceState(_Response):
    device_id: str
    last_device_seq: int
    server_epoch: str
    current_rev: int


# ---- Auth


class LoginRequest(_Request):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    device_id: str = Field(pattern=_UUID_PATTERN)
    device_public_key: str | None = Field(default=None, max_length=64, pattern=_B64_PATTERN)  # Ed25519, raw, b64


class RefreshRequest(_Request):
    refresh_token: str = Field(min_length=16, max_length=256)
    device_id: str = Field(pattern=_UUID_PATTERN)
    device_public_key: str | None = Field(default=None, max_length=64, pattern=_B64_PATTERN)


class UserInfo(_Response):
    id: str
    name: str
    role: str
    org_unit_id: str | None = None


class TokenResponse(_Response):
    access_token: str
    refresh_token: str
    expires_in: int  # seconds of validity of access_token
    token_type: str = "bearer"
    user: UserInfo
    device_key: str | None = None  # hex key for signing outbox exports (see module docstring)


# ---- Quarantine


class QuarantineItem(_Response):
    """A mutation held for a shift leader (GET /api/v1/quarantine)."""

    device_id: str
    mutation_id: str
    device_seq: int
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any] = Field(default_factory=dict)
    author_id: str | None = None  # the officer the mutation names
    author_name: str | None = None
    pushed_by: str  # the officer whose token pushed it
    pushed_by_name: str | None = None
    code: str  # a QUARANTINE_CODES value
    message: str
    client_time: str | None = None
    received_at: str
    status: Literal["held", "approved", "declined"] = "held"
    decided_by: str | None = None
    decided_at: str | None = None


class QuarantineList(_Response):
    items: list[QuarantineItem]


class QuarantineDecision(_Request):
    comment: str | None = Field(default=None, max_length=500)


# ---- Health, events, errors


class Health(_Response):
    status: str
    schema_version: int
    min_schema_version: int = MIN_SCHEMA_VERSION
    server_time: str
    server_epoch: str


class RevEvent(_Response):
    type: Literal["rev"] = "rev"
    rev: int


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. expected_device_seq, min_valid_cursor
    code: str
    message: str


class ErrorBody(_Response):
    error: ErrorDetail


class BlobInfo(_Response):
    sha256: str
    size: int


# ---- Sneakernet


class OutboxExport(_Request):
    device_id: str = Field(pattern=_UUID_PATTERN)
    schema_version: int = SCHEMA_VERSION
    mutations: list[Mutation] = Field(max_length=MAX_MUTATIONS)
    signature: str = Field(pattern=r"^[0-9a-f]{64}$")


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def outbox_signature(device_key_hex: str, device_id: str, schema_version: int,
                     mutations: list[dict[str, Any]]) -> str:
    body = canonical_bytes({"device_id": device_id, "schema_version": schema_version,
                            "mutations": mutations})
    return hmac.new(bytes.fromhex(device_key_hex), body, hashlib.sha256).hexdigest()
