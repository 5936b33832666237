"""Hash chain over the duty log (过程留痕 made verifiable).

Each entry's hash covers the previous entry's hash and the canonical JSON of
the entry's content, so editing, deleting or reordering any entry behind the
console's back breaks the chain at exactly that entry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

GENESIS = "0" * 64

# The fields an entry's hash covers: what was said, when, by whom, about what.
CHAINED_FIELDS = ("id", "kind", "body", "occurred_at", "incident_id", "corrects_id",
                  "author_id", "device_id", "details")


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    content = {k: entry.get(k) for k in CHAINED_FIELDS}
    h = hashlib.sha256()
    h.update(prev_hash.encode("ascii"))
    h.update(canonical_json(content).encode("utf-8"))
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class ChainBreak:
    position: int  # 0-based index in the walked order
    entry_id: str
    reason: str  # "prev_hash" (link broken: entry removed or reordered) or "hash" (content edited)


def verify_chain(entries: Iterable[Mapping[str, Any]], start: str = GENESIS) -> ChainBreak | None:
    """Walk entries in chain order; return the first break, or None if the chain holds."""
    prev = start
    for i, e in enumerate(entries):
        if e.get("prev_hash") != prev:
            return ChainBreak(i, str(e.get("id")), "prev_hash")
        if entry_hash(prev, e) != e.get("hash"):
            return ChainBreak(i, str(e.get("id")), "hash")
        prev = e["hash"]
    return None
