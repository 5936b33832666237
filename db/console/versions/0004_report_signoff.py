"""report_signoff: a leader's 签发 (or return) of a report, synced, append-only

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

An officer's report is written to incident_report at once (signed by nobody) and a
leader on any console signs it off with a row here. Written out here, frozen, with
the same columns and bookkeeping as every synced table of 0001.
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_signoff",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_unit_id", sa.String(length=36), nullable=True),
        sa.Column("report_id", sa.String(length=36), nullable=True),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("signed_by", sa.String(length=36), nullable=True),
        sa.Column("signed_at", sa.String(length=40), nullable=True),
        sa.Column("decision", sa.String(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("server_rev", sa.Integer(), nullable=True),
        sa.Column("field_rev", sa.JSON(), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_signoff_report_id", "report_signoff", ["report_id"], unique=False)
    op.create_index("ix_report_signoff_incident_id", "report_signoff", ["incident_id"], unique=False)
    op.create_index("ix_report_signoff_org_unit_id", "report_signoff", ["org_unit_id"], unique=False)
    op.create_index("ix_report_signoff_server_rev", "report_signoff", ["server_rev"], unique=False)


def downgrade() -> None:
    for name in ("ix_report_signoff_server_rev", "ix_report_signoff_org_unit_id", "ix_report_signoff_incident_id",
                 "ix_report_signoff_report_id"):
        op.drop_index(name, table_name="report_signoff")
    op.drop_table("report_signoff")
