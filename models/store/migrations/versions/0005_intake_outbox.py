"""the intake outbox; the leader's decision keyed for the waiting run

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_requests",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("handed_at", sa.DateTime(), nullable=True),
        sa.Column("flow_run", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"]),
        sa.PrimaryKeyConstraint("lead_id"),
    )
    op.create_index("ix_intake_requests_handed_at", "intake_requests", ["handed_at"])
    with op.batch_alter_table("triage_proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_key", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("triage_proposals", schema=None) as batch_op:
        batch_op.drop_column("decision_key")
    op.drop_index("ix_intake_requests_handed_at", table_name="intake_requests")
    op.drop_table("intake_requests")
