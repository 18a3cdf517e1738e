"""officers' requests to see a reporter, and the custodian's grants

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reporter_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reporter_requests_lead_id", "reporter_requests", ["lead_id"])
    op.create_index("ix_reporter_requests_username", "reporter_requests", ["username"])


def downgrade() -> None:
    op.drop_index("ix_reporter_requests_username", table_name="reporter_requests")
    op.drop_index("ix_reporter_requests_lead_id", table_name="reporter_requests")
    op.drop_table("reporter_requests")
