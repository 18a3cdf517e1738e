"""the ledger's indexes: leads by state and time, and the units a reader's scope names

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The new index begins with state: the old one would only cost writes.
    op.drop_index("ix_leads_state", table_name="leads")
    op.create_index("ix_leads_state_received", "leads", ["state", "received_at"])
    # A unit's readers: the leads it has jurisdiction over, is assigned or was proposed.
    op.create_index("ix_leads_jurisdiction_unit_id", "leads", ["jurisdiction_unit_id"])
    op.create_index("ix_assignments_unit_id", "assignments", ["unit_id"])
    op.create_index(
        "ix_triage_proposals_jurisdiction_unit_id", "triage_proposals", ["jurisdiction_unit_id"]
    )
    op.create_index(
        "ix_rectifications_open_deadline", "rectifications", ["struck_off_at", "deadline"]
    )


def downgrade() -> None:
    op.drop_index("ix_rectifications_open_deadline", table_name="rectifications")
    op.drop_index("ix_triage_proposals_jurisdiction_unit_id", table_name="triage_proposals")
    op.drop_index("ix_assignments_unit_id", table_name="assignments")
    op.drop_index("ix_leads_jurisdiction_unit_id", table_name="leads")
    op.drop_index("ix_leads_state_received", table_name="leads")
    op.create_index("ix_leads_state", "leads", ["state"])
