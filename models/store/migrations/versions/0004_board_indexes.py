"""the boards' covering indexes: leads by unit and time, returns by indicator and unit

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 01:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The new index begins with lead_unit_id: the old one would only cost writes.
    op.drop_index("ix_leads_lead_unit_id", table_name="leads")
    op.create_index(
        "ix_leads_unit_received_closed", "leads", ["lead_unit_id", "received_at", "closed_at"]
    )
    op.create_index(
        "ix_monthly_returns_indicator_unit",
        "monthly_returns",
        ["indicator", "unit_id", "period", "value"],
    )


def downgrade() -> None:
    op.drop_index("ix_monthly_returns_indicator_unit", table_name="monthly_returns")
    op.drop_index("ix_leads_unit_received_closed", table_name="leads")
    op.create_index("ix_leads_lead_unit_id", "leads", ["lead_unit_id"])
