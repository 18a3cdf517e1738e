"""the issuing commission, named by the organisation rather than the policy

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:50:00

A database whose policy in force named the commission (``numbering.issuer`` and
``issuer_name``) keeps that name: it is carried into the new table, so documents go on
being issued under it until an organisation file names the commission.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    commission = op.create_table(
        "commission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("abbreviation", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    body = op.get_bind().scalar(sa.text("SELECT body FROM policies ORDER BY id DESC LIMIT 1"))
    numbering = (json.loads(body) if isinstance(body, str) else body or {}).get("numbering", {})
    if numbering.get("issuer") and numbering.get("issuer_name"):
        op.bulk_insert(
            commission,
            [{"id": 1, "name": numbering["issuer_name"], "abbreviation": numbering["issuer"]}],
        )


def downgrade() -> None:
    op.drop_table("commission")
