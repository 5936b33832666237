"""The per-device hash chain over queued mutations (SYNC_RESEARCH.md §5, docs/protocol.md).

``hash = sha256_hex(prev_hash ‖ canonical)``, where ``canonical`` is the compact, key-sorted
JSON (UTF-8, not ASCII-escaped) of the mutation's nine wire fields (a missing one is
``null``): exactly the text the server already hashes for its idempotency ledger, so
checking the chain costs the server one more SHA-256 per mutation. The console links each
outbox row to the one before it when it queues the row; the first row links to GENESIS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64
CHAIN_FIELDS = ("mutation_id", "device_seq", "entity", "entity_id", "op", "payload", "base_rev", "client_time",
                "author_id")

_canonical = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def canonical_mutation(m: Mapping[str, Any]) -> str:
    """The canonical text of a mutation as it goes on the wire (missing fields are null)."""
    return _canonical({k: m.get(k) for k in CHAIN_FIELDS})


def link(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def chain_hash(prev_hash: str, m: Mapping[str, Any]) -> str:
    return link(prev_hash, canonical_mutation(m))
