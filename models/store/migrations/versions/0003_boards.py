"""the boards: closure time, month indexes, escalation runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_received_at"), ["received_at"], unique=False)
    with op.batch_alter_table("disposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disposals_decided_at"), ["decided_at"], unique=False)
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcomes_decided_at"), ["decided_at"], unique=False)
    op.create_table(
        "escalation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("decisions", JSON, nullable=False),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_runs")),
        sa.UniqueConstraint("kind", "period", name=op.f("uq_escalation_runs_kind_period")),
    )


def downgrade() -> None:
    op.drop_table("escalation_runs")
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcomes_decided_at"))
    with op.batch_alter_table("disposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disposals_decided_at"))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_received_at"))
        batch_op.drop_index(batch_op.f("ix_leads_closed_at"))
        batch_op.drop_column("closed_at")
