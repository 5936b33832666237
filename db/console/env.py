"""Alembic environment for the console cache (run by app.store.migrate, not the alembic CLI)."""

from alembic import context

from app.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations through app.store.migrate (it passes the connection)")

# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
