"""Small local settings and cached facts (offline verifiers, device key, last user)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from app.store.schema import local_kv


def kv_get(conn: sa.Connection, key: str) -> Any:
    return conn.execute(sa.select(local_kv.c.value).where(local_kv.c.key == key)).scalar()


def kv_put(conn: sa.Connection, key: str, value: Any) -> None:
    conn.execute(sa.text("INSERT INTO local_kv (key, value) VALUES (:k, :v) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
                 {"k": key, "v": json.dumps(value, ensure_ascii=False)})
