"""duty-log indexes for corrections and per-kind / per-author filters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

The duty-log panel marks 已更正 on each page by looking up entries that correct the
ones shown (corrects_id), and filters by a rare kind or author without walking the
whole time index. Written out here, frozen; schema.py declares the same indexes.
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_duty_log_entry_corrects_id ON duty_log_entry (corrects_id) "
               "WHERE corrects_id IS NOT NULL")
    op.execute("CREATE INDEX IF NOT EXISTS ix_duty_log_entry_kind_time ON duty_log_entry (kind, occurred_at)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_duty_log_entry_author_time "
               "ON duty_log_entry (author_id, occurred_at)")


def downgrade() -> None:
    for name in ("ix_duty_log_entry_corrects_id", "ix_duty_log_entry_kind_time", "ix_duty_log_entry_author_time"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
