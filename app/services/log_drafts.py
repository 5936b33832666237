"""Drafts of forms, saved as they are typed (the store's ``draft`` table): a crash loses nothing.

Drafts are local to this console and never synced. The entry bar saves its whole
state (the chosen kind and every kind's fields) under one key per user, so a
half-typed intake survives switching kinds, closing the panel or a power cut.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.store.schema import draft


def entry_bar_key(user_id: str | None) -> str:
    return f"duty_log.entry_bar:{user_id or 'anonymous'}"


def save_draft(conn: sa.Connection, form_key: str, fields: dict[str, Any], now: str) -> None:
    conn.execute(sa.text("INSERT INTO draft (form_key, fields, saved_at) VALUES (:k, json(:f), :t) "
                         "ON CONFLICT (form_key) DO UPDATE SET fields = excluded.fields, saved_at = excluded.saved_at"),
                 {"k": form_key, "f": _json(fields), "t": now})


def load_draft(conn: sa.Connection, form_key: str) -> dict[str, Any] | None:
    value = conn.execute(sa.select(draft.c.fields).where(draft.c.form_key == form_key)).scalar()
    return value if isinstance(value, dict) else None


def clear_draft(conn: sa.Connection, form_key: str) -> None:
    conn.execute(draft.delete().where(draft.c.form_key == form_key))


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
