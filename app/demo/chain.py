"""The duty log's hash chain, computed fast enough for a hundred-fold district.

``app.domain.hashchain.entry_hash`` is the definition; at scale 100 it is the
single largest cost of the generator (its ``json.dumps`` with ``sort_keys``
takes ~9 µs an entry). ``entry_hash_fast`` writes the same canonical JSON by
hand — the hashed keys are few and fixed, so their sorted order is known —
and hashes the same bytes. On import it is checked against ``entry_hash`` on
probe entries; if the definition ever changes and they disagree, the
generator falls back to ``entry_hash`` rather than emit a chain that does not
verify. The tests verify the emitted chains with ``verify_chain`` too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import Any

from app.domain.hashchain import CHAINED_FIELDS, GENESIS, canonical_json, entry_hash

_KEYS = tuple(sorted(CHAINED_FIELDS))
_HEADS = tuple(("{" if i == 0 else ",") + encode_basestring(k) + ":" for i, k in enumerate(_KEYS))


def _value(v: Any) -> str:
    """Canonical JSON of ``v``: by hand for what log entries hold, else the definition's own."""
    t = type(v)
    if t is str:
        return encode_basestring(v)
    if v is None:
        return "null"
    if t is int:
        return str(v)
    if t is dict and all(type(k) is str for k in v):
        return "{" + ",".join([encode_basestring(k) + ":" + _value(v[k]) for k in sorted(v)]) + "}"
    if t is list:
        return "[" + ",".join([_value(x) for x in v]) + "]"
    return canonical_json(v)


_FIELDS = tuple(zip(_HEADS, _KEYS, strict=True))


def entry_hash_fast(prev_hash: str, entry: Mapping[str, Any]) -> str:
    get = entry.get
    parts = [prev_hash]
    for head, key in _FIELDS:
        v = get(key)
        parts.append(head)
        # Most values are text or absent; only those skip the general path.
        parts.append(encode_basestring(v) if type(v) is str else "null" if v is None else _value(v))
    parts.append("}")
    return hashlib.sha256("".join(parts).encode("utf-8")).hexdigest()


_PROBES: tuple[dict, ...] = (
    {"id": "b810c94f-883c-4c7f-a7d7-4f63931b5006", "kind": "receive",
     "body": "14:32 接市民来电：越秀区北京街文德路12号，\"地下车库\"水浸约30厘米\n\t\\ 😀", "occurred_at":
     "2025-06-04T10:12:52+08:00", "author_id": "431565e5-fe14-53b2-b4b7-3bf72ffcb7f8",
     "device_id": "352adf96-7207-5675-8a0d-7fe36c422912",
     "incident_id": "431565e5-fe14-53b2-b4b7-3bf72ffcb7f8",
     "details": {"source": "市民来电", "n": 3, "ok": True, "x": None, "f": 1.5, "list": ["a", {"b": 2}]}},
    {"id": "x", "kind": "note", "body": "", "occurred_at": "2025-06-04T10:12:52+08:00", "unrelated": 1},
)


def _agrees() -> bool:
    try:
        return all(entry_hash_fast(GENESIS, p) == entry_hash(GENESIS, p) for p in _PROBES)
    except (TypeError, ValueError):
        return False


HASH: Callable[[str, Mapping[str, Any]], str] = entry_hash_fast if _agrees() else entry_hash
